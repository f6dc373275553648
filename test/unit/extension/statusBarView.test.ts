import { strict as assert } from 'node:assert';
import { statusBarView, twoFigures } from '../../../src/extension/statusBarView';
import { fixtureResult, withChanges } from './support/results';

describe('extension: status bar text', () => {
  it('is hidden when nothing is analysed or running', () => {
    assert.equal(statusBarView(null, null).text, null);
  });

  it('shows the observed heat capacity to two figures, with its sources in the tooltip', () => {
    const r = fixtureResult('iid-sweep');
    const v = statusBarView(r, null);
    assert.equal(v.text, `$(flame) dL/dη = ${twoFigures(r.observed.slope!)}`);
    assert.equal(v.text, '$(flame) dL/dη = 0.026');
    assert.ok(v.tooltip.includes(`Observed: 0.02648 ± 0.00030 (wls_sweep, ${r.observed.fit.n_points} points)`), v.tooltip);
    assert.match(v.tooltip, /Predicted: 0\.026 \(\w+\)/);
    assert.match(v.tooltip, /Observed \/ predicted: 1\.00 \[0\.979, 1\.02\]/);
    assert.match(v.tooltip, /Click to open the analysis panel\./);
  });

  it('falls back to the prediction, labelled, when there is no observed slope', () => {
    const r = withChanges(fixtureResult('iid-sweep'), (x) => {
      x.observed.slope = null;
      x.observed.slope_stderr = null;
    });
    assert.equal(statusBarView(r, null).text, '$(flame) dL/dη = 0.026 (predicted)');
  });

  it('says when there is neither', () => {
    const r = withChanges(fixtureResult('no-prediction'), (x) => (x.observed.slope = null));
    assert.equal(statusBarView(r, null).text, '$(flame) dL/dη = ?');
    assert.match(statusBarView(fixtureResult('no-prediction'), null).tooltip, /Predicted: none \(select a checkpoint/);
  });

  it('shows a spinner with the progress while a job runs', () => {
    const v = statusBarView(fixtureResult('iid-sweep'), { message: 'reading runs/a', fraction: 0.42, cancellable: true });
    assert.equal(v.text, '$(loading~spin) Heat capacity 42%');
    assert.match(v.tooltip, /^reading runs\/a/);
    assert.equal(statusBarView(null, { message: 'x', fraction: null, cancellable: true }).text, '$(loading~spin) Heat capacity');
  });

  it('keeps trailing zeros and switches to exponents for tiny or huge slopes', () => {
    assert.equal(twoFigures(0.05), '0.050');
    assert.equal(twoFigures(1.234), '1.2');
    assert.equal(twoFigures(2.5e-5), '2.5e-5');
    assert.equal(twoFigures(-0.0123), '-0.012');
    assert.equal(twoFigures(0), '0');
  });

  it('a hostile sweep name cannot inject codicons or line breaks into the tooltip header', () => {
    const v = statusBarView(fixtureResult('hostile'), null);
    assert.ok(v.text?.startsWith('$(flame)'));
    assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(v.tooltip));
  });
});
