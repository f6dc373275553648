import { strict as assert } from 'node:assert';
import { formatInterval, formatPercent, formatSig, formatSigned, formatValue } from '../../../src/server/lens/format';

// Oracle: the strings below were written by hand from the rounding rules (2 significant figures,
// trailing zeros kept, U+2212 minus); exact string equality, no tolerance.
describe('server/lens/format', () => {
  it('formatSig keeps trailing zeros so the precision shows (0.05 → "0.050")', () => {
    assert.equal(formatSig(0.05), '0.050');
    assert.equal(formatSig(0.005000000000000001), '0.0050');
    assert.equal(formatSig(0.0025), '0.0025');
    assert.equal(formatSig(1.5), '1.5');
    assert.equal(formatSig(2), '2.0');
  });

  it('formatSig rounds before choosing the notation (0.09996 → "0.10", 9.96 → "10")', () => {
    assert.equal(formatSig(0.09996), '0.10');
    assert.equal(formatSig(9.96), '10');
    assert.equal(formatSig(99.6), '100');
  });

  it('formatSig writes large numbers without an exponent up to 1e5, rounded to the figures', () => {
    assert.equal(formatSig(123), '120');
    assert.equal(formatSig(12345), '12000');
    assert.equal(formatSig(123456), '1.2e5');
  });

  it('formatSig switches to exponent form below 1e-4', () => {
    assert.equal(formatSig(0.0001), '0.00010');
    assert.equal(formatSig(0.000015), '1.5e-5');
    assert.equal(formatSig(7.5e-7), '7.5e-7');
  });

  it('formatSig uses the minus sign U+2212, writes zero as "0" and names non-finite values', () => {
    assert.equal(formatSig(-0.0025), '\u22120.0025');
    assert.equal(formatSig(0), '0');
    assert.equal(formatSig(Infinity), '∞');
    assert.equal(formatSig(-Infinity), '\u2212∞');
    assert.equal(formatSig(NaN), 'NaN');
  });

  it('formatSig honours other figure counts', () => {
    assert.equal(formatSig(1.04, 3), '1.04');
    assert.equal(formatSig(0.95, 3), '0.950');
    assert.equal(formatSig(1234.5, 3), '1230');
  });

  it('formatSigned prefixes + for positive values and − for negative ones', () => {
    assert.equal(formatSigned(0.005000000000000001), '+0.0050');
    assert.equal(formatSigned(-0.0025), '\u22120.0025');
    assert.equal(formatSigned(0), '0');
    assert.equal(formatSigned(1.5e-5), '+1.5e-5');
  });

  it('formatValue writes settings unrounded, as people write them', () => {
    assert.equal(formatValue(0.1), '0.1');
    assert.equal(formatValue(0.001), '0.001');
    assert.equal(formatValue(0.0625), '0.0625');
    assert.equal(formatValue(32), '32');
    assert.equal(formatValue(3e-4), '3e-4');
    assert.equal(formatValue(1.5e-5), '1.5e-5');
    assert.equal(formatValue(20000), '2e4');
    assert.equal(formatValue(-0.5), '\u22120.5');
  });

  it('formatPercent and formatInterval', () => {
    assert.equal(formatPercent(0.2234), '22%');
    assert.equal(formatPercent(0.05 / 0.45), '11%');
    assert.equal(formatInterval(0.0461, 0.0539), '0.046\u20130.054');
    assert.equal(formatInterval(-0.001, 0.002, true), '\u22120.0010\u2013+0.0020');
  });
});
