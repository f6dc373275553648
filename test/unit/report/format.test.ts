import { strict as assert } from 'node:assert';
import { cellText, count, DASH, formatNumber, formatRatio, num, percent, plusMinus, yesNo } from '../../../src/core/report/format';

describe('report/format', () => {
  it('formats with significant figures, switching to exponents outside [1e-3, 1e6) (oracle: hand-written strings)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [0.0264441, '0.02644'],
      [1.5e-5, '1.5e-5'],
      [-2.3e-7, '-2.3e-7'],
      [123456, '123500'],
      [2e6, '2e6'],
      [0.001, '0.001'],
      [1, '1'],
    ];
    for (const [x, s] of cases) assert.equal(formatNumber(x), s, String(x));
  });

  it('rounds "value ± SE" to the SE’s second significant figure (oracle: hand-written strings)', () => {
    assert.equal(plusMinus(0.213045, 0.000021, '').text, '0.213045 ± 0.000021');
    assert.equal(plusMinus(0.21304, 0.0012, '').text, '0.2130 ± 0.0012');
    assert.equal(plusMinus(1234.5, 35, '').text, '1235 ± 35');
    assert.equal(plusMinus(2.3e-7, 1e-8, '').text, '2.3e-7 ± 1e-8');
    assert.equal(plusMinus(0.5, null, '').text, '0.5');
  });

  it('shows ratios near 1 with three decimals so 1.001 is not "1"', () => {
    assert.equal(formatRatio(1.001), '1.001');
    assert.equal(formatRatio(0.045), '0.045');
    assert.equal(formatRatio(0.0004), '4e-4');
  });

  it('never prints NaN, Infinity, null or undefined: a dash with the reason instead', () => {
    const bad = [null, undefined, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (const x of bad) {
      for (const c of [num(x, 'why'), count(x, 'why'), plusMinus(x, 0.1, 'why'), percent(x, 'why')]) {
        assert.equal(c.text, DASH);
        assert.equal(c.missing, 'why');
        assert.equal(cellText(c), `${DASH} (why)`);
      }
    }
    assert.equal(yesNo(null, 'untested').missing, 'untested');
    assert.equal(formatNumber(Number.NaN), DASH);
  });
});
