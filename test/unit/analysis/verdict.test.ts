import { strict as assert } from 'node:assert';
import { decideVerdict } from '../../../src/core/analysis/verdict';

const fit = { method: 'wls_sweep' as const, n_points: 4, chi2: 1, dof: 2, p_value: 0.6, lr_max_used: 0.02, quadratic: null, notes: [] };
const obs = (slope: number | null, se: number | null) => ({ slope, slope_stderr: se, fit });
const linear = { slope: 1, regime: 'linear' as const, upper_bound: null };

describe('decideVerdict (decision table, oracle: THEORY.md §5 tolerance max(CI, 3%))', () => {
  it('agrees when the CI contains 1', () => {
    assert.equal(decideVerdict(obs(1.05, 0.05), linear, 1.05, [0.95, 1.15]).status, 'agree');
  });
  it('agrees within the 3% model tolerance even with a CI that excludes 1', () => {
    assert.equal(decideVerdict(obs(1.02, 0.001), linear, 1.02, [1.018, 1.022]).status, 'agree');
  });
  it('disagrees outside both, and says in which direction', () => {
    const v = decideVerdict(obs(0.5, 0.01), linear, 0.5, [0.48, 0.52]);
    assert.equal(v.status, 'disagree');
    assert.match(v.message, /smaller than predicted/);
  });
  it('refuses to compare under random reshuffling and quotes the fraction of the i.i.d. bound', () => {
    const v = decideVerdict(obs(0.1, 0.01), { slope: 0.05, regime: 'reshuffle_suppressed', upper_bound: 1 }, 0.1, [0.08, 0.12]);
    assert.equal(v.status, 'not_comparable');
    assert.match(v.message, /10% of the i\.i\.d\. figure/);
  });
  it('under reshuffling, compares the excess loss with the reshuffling model when its curve was fitted', () => {
    const pred = { slope: 0.05, regime: 'reshuffle_suppressed' as const, upper_bound: 1 };
    const ok = decideVerdict(obs(0.02, 0.01), pred, 1.01, [0.99, 1.03], true);
    assert.equal(ok.status, 'agree');
    assert.match(ok.message, /linear law does not apply .*2% of the i\.i\.d\. figure.*reshuffling model of THEORY\.md §3 explains the runs/);
    assert.equal(decideVerdict(obs(0.02, 0.01), pred, 0.5, [0.45, 0.55], true).status, 'disagree');
  });

  it('reports no_prediction and no_observation, never a number it does not have', () => {
    assert.equal(decideVerdict(obs(1, 0.1), null, null, null).status, 'no_prediction');
    assert.equal(decideVerdict(obs(null, null), linear, null, null).status, 'no_observation');
    const none = decideVerdict(obs(null, null), null, null, null);
    assert.equal(none.status, 'no_observation');
    assert.doesNotMatch(none.message, /NaN|null|undefined/);
  });
});
