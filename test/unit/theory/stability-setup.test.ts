import { strict as assert } from 'node:assert';
import { stabilityLimit, stabilityLimitFromEigenvalue } from '../../../src/core/theory/stability';
import { setupFromHparams, optimizerFamily } from '../../../src/core/theory/setup';
import { predictSlope } from '../../../src/core/theory/predict';
import { emptyHparams } from '../../../src/core/runs/model';
import { HeatcapError } from '../../../src/core/errors';
import { flat, GOLDEN_PROBLEM, lsqStats } from '../../support/oracle/lsq-problem';
import { gradStatsOf, relClose, sgdSetup } from './helpers';

/** Spectral radius of the deterministic 2×2 recursion on (e, v) along a direction of curvature h. */
function radius(eta: number, h: number, beta: number, d: number, nesterov: boolean): number {
  const gain = nesterov ? 1 + beta * (1 - d) : 1 - d;
  const a = 1 - eta * h * gain;
  const b = nesterov ? -eta * beta * beta : -eta * beta;
  const c = (1 - d) * h;
  const tr = a + beta;
  const det = a * beta - b * c;
  const disc = tr * tr - 4 * det;
  if (disc >= 0) return Math.max(Math.abs((tr + Math.sqrt(disc)) / 2), Math.abs((tr - Math.sqrt(disc)) / 2));
  return Math.sqrt(det);
}

function numericLimit(h: number, beta: number, d: number, nesterov: boolean): number {
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (radius(mid, h, beta, d, nesterov) < 1) lo = mid;
    else hi = mid;
  }
  return lo;
}

describe('stability limit', () => {
  it('golden problem: 2/λ_max(H) = 0.8152089039132809 (THEORY.md §4.1; tol 1e-12)', () => {
    relClose(stabilityLimit(flat(lsqStats(GOLDEN_PROBLEM).H)) as number, 0.8152089039132809, 1e-12, 'η_max');
  });

  for (const [beta, d, nesterov] of [[0.9, 0, false], [0.5, 0.3, false], [0.9, 0, true], [0.5, 0.3, true], [0.8, 0.8, false]] as [number, number, boolean][]) {
    it(`${nesterov ? 'Nesterov' : 'heavy ball'} β=${beta} d=${d}: closed form equals the bisected spectral-radius limit (tol 1e-9)`, () => {
      const h = 1.7;
      relClose(stabilityLimitFromEigenvalue(h, { momentum: beta, dampening: d, nesterov }) as number, numericLimit(h, beta, d, nesterov), 1e-9, 'η_max');
    });
  }
});

describe('training setup from hyperparameters', () => {
  it('takes stated values with their sources, applies overrides, never invents B or N, and names defaults', () => {
    const h = emptyHparams();
    h.optimizer = { value: 'torch.optim.SGD', source: 'hparams.yaml: optimizer' };
    h.momentum = { value: 0.9, source: 'hparams.yaml: momentum' };
    const { setup, warnings } = setupFromHparams(h, { batch_size: { value: 32, source: 'flag --batch-size' } });
    assert.equal(setup.optimizer, 'sgd');
    assert.equal(setup.batch_size, 32);
    assert.equal(setup.sources.batch_size, 'flag --batch-size');
    assert.equal(setup.sources.momentum, 'hparams.yaml: momentum');
    assert.equal(setup.dataset_size, null);
    assert.equal(setup.sampling, 'reshuffle');
    assert.match(setup.sources.sampling, /^default/);
    assert.ok(warnings.some((w) => w.code === 'sampling_assumed'));
    assert.equal(setupFromHparams(emptyHparams()).setup.batch_size, null);
  });

  it('recognises optimizer families and reads Adam hyperparameters from raw keys', () => {
    assert.deepEqual(optimizerFamily('keras.optimizers.AdamW'), { family: 'adamw', nesterov: false });
    assert.deepEqual(optimizerFamily('NAG'), { family: 'sgd', nesterov: true });
    assert.equal(optimizerFamily('RMSprop').family, 'rmsprop');
    const h = emptyHparams();
    h.optimizer = { value: 'Adam', source: 's' };
    h.raw.epsilon = { value: 1e-7, source: 'keras config: epsilon' };
    const { setup } = setupFromHparams(h);
    assert.equal(setup.adam?.eps, 1e-7);
    assert.equal(setup.weight_decay_mode, 'coupled');
    assert.equal(setupFromHparams({ ...h, optimizer: { value: 'AdamW', source: 's' } }).setup.weight_decay_mode, 'decoupled');
  });
});

describe('predictSlope diagnostics and rows without a finite prediction', () => {
  const stats = gradStatsOf(lsqStats(GOLDEN_PROBLEM).g);
  const codes = (r: ReturnType<typeof predictSlope>): string[] => r.warnings.map((w) => w.code);

  it('formula shows the numbers: s = tr Σ/(4B) = 1.774/(4·1) = 0.4434 (golden slope, THEORY.md §4.1)', () => {
    const r = predictSlope(sgdSetup(), stats);
    assert.equal(r.predicted.formula, 's = tr Σ/(4B) = 1.774/(4·1) = 0.4434');
    relClose(r.predicted.slope as number, 0.4434156378600823, 1e-12, 'slope');
    assert.ok((r.diagnostics.optimum_ratio as number) < 1e-20);
  });

  it('formula lists symbols, then numbers, then the value, for momentum without replacement', () => {
    const r = predictSlope(sgdSetup({ batch_size: 2, dataset_size: 6, sampling: 'without_replacement', momentum: 0.9 }), stats);
    assert.equal(r.predicted.formula, 's = tr Σ·(N−B)/(4B(N−1)) · (1−d)/(1−β) = 1.774·(6−2)/(4·2·(6−1)) · (1−0)/(1−0.9) = 1.774');
  });

  it('warns far_from_optimum from ‖ḡ‖²/E‖g_b‖² and still uses the covariance', () => {
    const off = { ...stats, meanSqNorm: stats.meanSqNorm + 1, meanGradSqNorm: 1 };
    const r = predictSlope(sgdSetup(), off);
    assert.ok(codes(r).includes('far_from_optimum'));
    relClose(r.predicted.slope as number, stats.traceCov / 4, 1e-12, 'slope uses tr Σ');
  });

  it('BatchNorm + weight decay: no finite slope; unknown B: no slope; unsupported optimizer: no slope', () => {
    const bn = predictSlope(sgdSetup({ weight_decay: 1e-4, has_batchnorm: true }), stats);
    assert.equal(bn.predicted.regime, 'no_finite_slope');
    assert.equal(bn.predicted.slope, null);
    assert.ok(codes(bn).includes('batchnorm_weight_decay'));
    const nob = predictSlope(sgdSetup({ batch_size: null }), stats);
    assert.equal(nob.predicted.slope, null);
    assert.ok(codes(nob).includes('unknown_batch_size'));
    assert.ok(codes(predictSlope(sgdSetup({ optimizer: 'lion' }), stats)).includes('unsupported_optimizer'));
    assert.ok(codes(predictSlope(sgdSetup({ optimizer: 'adam' }), { ...stats, diagSecondMoment: undefined })).includes('adam_needs_diagonal'));
  });

  it('reshuffling without a Hessian: regime reshuffle_suppressed, i.i.d. figure as upper bound, slope null', () => {
    const r = predictSlope(sgdSetup({ sampling: 'reshuffle', dataset_size: 6, batch_size: 2 }), stats);
    assert.equal(r.predicted.regime, 'reshuffle_suppressed');
    assert.equal(r.predicted.slope, null);
    relClose(r.predicted.upper_bound as number, (stats.traceCov * 4) / (4 * 2 * 5), 1e-12, 'upper bound (without replacement)');
    assert.ok(codes(r).includes('reshuffle_linear_law_fails'));
  });

  it('reshuffling with a Hessian: a curve at the sweep η and a chord slope below the upper bound', () => {
    const s = lsqStats(GOLDEN_PROBLEM);
    const r = predictSlope(sgdSetup({ sampling: 'reshuffle', dataset_size: 6, batch_size: 1, lrs: [0.01, 0.02, 0.05] }), stats, { hessian: flat(s.H), perExampleGrads: flat(s.g) });
    assert.equal(r.predicted.reshuffle_curve?.lr.length, 3);
    // N = 6, B = 1: η·h·N/B ≲ 0.3 here, deep in the suppressed regime.
    assert.ok((r.predicted.slope as number) < 0.5 * (r.predicted.upper_bound as number));
    assert.equal(r.predicted.stability_lr !== null && Math.abs(r.predicted.stability_lr - 0.8152089039132809) < 1e-12, true);
    // 0.6 is below 2/λmax = 0.815 but above half of it.
    const near = predictSlope(sgdSetup({ lrs: [0.6] }), stats, { hessian: flat(s.H) });
    assert.ok(codes(near).includes('lr_near_stability'));
    const above = predictSlope(sgdSetup({ lrs: [0.9] }), stats, { hessian: flat(s.H), perExampleGrads: flat(s.g) });
    assert.ok(codes(above).includes('lr_above_stability'));
  });

  it('normalises optimizer names as written (torch.optim.SGD, nesterov)', () => {
    const r = predictSlope(sgdSetup({ optimizer: 'nesterov', momentum: 0.9 }), stats);
    assert.equal(r.predicted.optimizer, 'sgd');
    assert.equal(r.predicted.nesterov, true);
    assert.equal(r.predicted.formula_id, 'iid_with_replacement+nesterov');
    assert.equal(predictSlope(sgdSetup({ optimizer: 'torch.optim.SGD' }), stats).predicted.formula_id, 'iid_with_replacement');
  });

  it('rejects malformed statistics with a HeatcapError', () => {
    assert.throws(() => predictSlope(sgdSetup(), { ...stats, traceCov: Number.NaN }), HeatcapError);
    assert.throws(() => predictSlope(sgdSetup(), { ...stats, n: 0 }), HeatcapError);
    assert.throws(() => predictSlope(sgdSetup({ momentum: 1 }), stats), HeatcapError);
  });

  it('subsampled statistics give the prediction a standard error (oracle: SE of a mean with finite-population correction)', () => {
    const r = predictSlope(sgdSetup({ dataset_size: 60 }), stats);
    assert.equal(r.diagnostics.subsampled, true);
    const expected = ((stats.sqNormSd as number) / Math.sqrt(6)) * Math.sqrt(1 - 6 / 60) / stats.traceCov * (r.predicted.slope as number);
    relClose(r.diagnostics.slope_stderr as number, expected, 1e-12, 'SE');
  });
});
