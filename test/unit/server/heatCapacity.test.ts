import { strict as assert } from 'node:assert';
import type { AnalysisResult, FiniteEta, Predicted } from '../../../src/core/result/schema';
import { heatCapacityAt, interpolate, Z95 } from '../../../src/server/lens/heatCapacity';
import { analyzeLensTitle, lensTitle } from '../../../src/server/lens/lensTitle';
import { analysisSetup, rescaleFor, type AnalysisSetup } from '../../../src/server/lens/setup';
import { fixtureAnalysis } from '../../fixtures/lsp/analysisFixture';

const close = (a: number, b: number, rel: number, what = '') =>
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what} ${a} vs ${b} (relative tolerance ${rel})`);

function withPredicted(patch: Partial<Predicted>, observedSlope: number | null = null): AnalysisResult {
  const r = fixtureAnalysis();
  r.observed.slope = observedSlope;
  r.observed.slope_stderr = null;
  r.predicted = { ...r.predicted!, ...patch };
  return r;
}

describe('server/lens/heatCapacity', () => {
  // Oracle: hand arithmetic on the fixture (s = 0.050 ± 0.002, η = 0.1): s·η = 0.005, −s·η/2 = −0.0025,
  // CI s ± 1.959964·0.002. Tolerance 1e-12 relative: a few float roundings.
  it('observed slope: s·η, −s·η/2 and the 95% interval', () => {
    const v = heatCapacityAt(fixtureAnalysis(), 0.1);
    assert.equal(v.kind, 'linear');
    if (v.kind !== 'linear') return;
    assert.equal(v.source, 'observed');
    close(v.deltaLoss, 0.005, 1e-12, 's·η');
    close(v.halvingChange, -0.0025, 1e-12, '−s·η/2');
    close(v.slopeCi![0], 0.05 - 1.959964 * 0.002, 1e-6, 'CI low');
    close(v.slopeCi![1], 0.05 + 1.959964 * 0.002, 1e-6, 'CI high');
    close(v.deltaLossCi![1], 0.1 * (0.05 + Z95 * 0.002), 1e-12, 'ΔL CI high');
    assert.equal(v.extrapolated, false);
  });

  it('the lens text: η=0.1 · dL/dη = 0.050 (observed) · excess loss ≈ +0.0050 · halving η: −0.0025', () => {
    assert.equal(
      lensTitle(heatCapacityAt(fixtureAnalysis(), 0.1)),
      'η=0.1 · dL/dη = 0.050 (observed) · excess loss ≈ +0.0050 · halving η: \u22120.0025',
    );
    assert.equal(analyzeLensTitle(3e-4), 'η=3e-4 · Analyze dL/dη…');
  });

  it('above the fitted range the lens says it extrapolates', () => {
    const v = heatCapacityAt(fixtureAnalysis(), 0.4);
    assert.ok(v.kind === 'linear' && v.extrapolated);
    assert.match(lensTitle(v), / · extrapolated: fit used η ≤ 0\.2$/);
  });

  it('without an observed slope the predicted one is shown, and says so', () => {
    const v = heatCapacityAt(withPredicted({}), 0.1);
    assert.ok(v.kind === 'linear' && v.source === 'predicted' && v.slopeCi === null);
    assert.equal(lensTitle(v), 'η=0.1 · dL/dη = 0.048 (predicted) · excess loss ≈ +0.0048 · halving η: \u22120.0024');
  });

  it('at or above the stability limit no number is given', () => {
    const v = heatCapacityAt(fixtureAnalysis(), 0.45);
    assert.deepEqual(v, { kind: 'unstable', lr: 0.45, stabilityLr: 0.45, limitKind: 'deterministic' });
    assert.equal(lensTitle(v), 'η = 0.45 is at the stability limit 0.45: SGD will not settle near the minimum');
  });

  describe('finite η (predicted.finite_eta)', () => {
    // Oracle: hand arithmetic on a curve through (0, 0); limits chosen by hand (mean-square 0.29 < 2/λ_max 0.45).
    const withCurve = (status: FiniteEta['status'] = 'ok'): AnalysisResult =>
      withPredicted({
        stability_lr: 0.29,
        finite_eta: {
          status,
          message: 'm',
          parameters: 650,
          directions: 10,
          method: 'lanczos',
          hvp: 'exact_float64',
          eigenvalues: [{ value: 4.4, residual: 1e-9 }],
          limits: { deterministic: 0.45, mean_square: 0.29 },
          form: 'second_moment_subspace',
          curve: { lr: [0.05, 0.1, 0.2, 0.26], excess: [0.0026, 0.0055, 0.012, 0.0175], linear: [0.0024, 0.0048, 0.0096, 0.0125], additive: [0.0025, 0.0051, 0.011, 0.015] },
          cost_gradient_passes: 40,
          seconds: 1,
          notes: [],
        },
      });

    it('the lens reads the curve, the linear law and the share of the mean-square limit', () => {
      const v = heatCapacityAt(withCurve(), 0.1);
      assert.equal(v.kind, 'finite_eta');
      assert.equal(lensTitle(v), 'η = 0.1: predicted excess loss 0.0055 (linear law 0.0048) · 34% of the mean-square stability limit');
      // Between grid points: linear interpolation, 0.0055 + (0.012 − 0.0055)/2 at η = 0.15.
      const mid = heatCapacityAt(withCurve(), 0.15);
      assert.ok(mid.kind === 'finite_eta');
      close(mid.excess, 0.00875, 1e-12, 'excess(0.15)');
      close(mid.linear!, 0.0072, 1e-12, 'linear(0.15)');
    });

    it('above the mean-square limit: SGD leaves the minimum, no prediction', () => {
      const v = heatCapacityAt(withCurve(), 0.5);
      assert.deepEqual(v, { kind: 'unstable', lr: 0.5, stabilityLr: 0.29, limitKind: 'mean_square' });
      assert.equal(lensTitle(v), 'η = 0.5 is above the mean-square stability limit 0.29: SGD leaves the minimum, no prediction');
    });

    it('beyond the curve (it stops short of the limit), or without a curve, the small-η law is shown', () => {
      assert.equal(heatCapacityAt(withCurve(), 0.27).kind, 'linear');
      assert.equal(heatCapacityAt(withCurve('not_near_minimum'), 0.1).kind, 'linear');
    });

    it('a measurement beats a prediction: inside the observed fit range (η ≤ 0.2) the observed slope stays; beyond it, the curve', () => {
      const r = withCurve();
      r.observed.slope = 0.05;
      r.observed.slope_stderr = 0.002;
      const inside = heatCapacityAt(r, 0.1);
      assert.ok(inside.kind === 'linear' && inside.source === 'observed');
      const beyond = heatCapacityAt(r, 0.25);
      assert.equal(beyond.kind, 'finite_eta');
      assert.ok(beyond.kind === 'finite_eta' && beyond.slope?.source === 'observed' && beyond.slope.extrapolated);
      // 0.012 + (0.0175 − 0.012)·(0.05/0.06) at η = 0.25; 0.25/0.29 = 86%.
      assert.equal(lensTitle(beyond), 'η = 0.25: predicted excess loss 0.017 (linear law 0.012) · 86% of the mean-square stability limit');
    });
  });

  it('reshuffling: no linear number even with an observed slope; the model curve is interpolated', () => {
    const r = withPredicted(
      { regime: 'reshuffle_suppressed', sampling: 'reshuffle', upper_bound: 0.05, reshuffle_curve: { lr: [0.2, 0, 0.1], excess: [0.004, 0, 0.001] } },
      0.01,
    );
    const v = heatCapacityAt(r, 0.1);
    assert.equal(v.kind, 'reshuffle');
    if (v.kind !== 'reshuffle') return;
    // Oracle: linear interpolation by hand, excess(0.1) = 0.001, excess(0.05) = 0.0005.
    close(v.curve!.excess, 0.001, 1e-12);
    close(v.curve!.halvingChange, -0.0005, 1e-12);
    assert.match(lensTitle(v), /^η=0\.1 · random reshuffling: loss is not linear in η here/);
    const outside = heatCapacityAt(r, 0.3);
    assert.ok(outside.kind === 'reshuffle' && outside.curve === null, 'η beyond the curve: no model number');
  });

  it('no finite slope and nothing at all are said in words', () => {
    assert.equal(lensTitle(heatCapacityAt(withPredicted({ regime: 'no_finite_slope' }), 0.1)), 'η=0.1 · no finite dL/dη (scale-invariant weights with weight decay)');
    const none = withPredicted({ slope: null });
    assert.equal(lensTitle(heatCapacityAt(none, 0.1)), 'η=0.1 · dL/dη unavailable: no observed or predicted slope');
  });

  it('interpolate stays inside the sampled range', () => {
    assert.equal(interpolate([0, 1], [0, 10], 0.25), 2.5);
    assert.equal(interpolate([0, 1], [0, 10], 1.5), undefined);
    assert.equal(interpolate([], [], 0), undefined);
  });
});

describe('server/lens/setup: rescaling to a setting’s own B and β (THEORY.md §2)', () => {
  const setup = (patch: Partial<AnalysisSetup>): AnalysisSetup => ({
    batchSize: 1,
    batchSizeSource: null,
    momentum: 0,
    dampening: 0,
    sampling: 'with_replacement',
    optimizer: 'sgd',
    datasetSize: 6,
    ...patch,
  });
  // Oracle: THEORY.md §4.1 golden numbers (exact least squares, N = 6): secants (L(η) − L*)/η at
  // η = 0.001. Their ratios equal the slope ratios up to the O(η) curvature term, which moves the B = 1
  // secant 0.23% above its slope (0.44443 vs 0.44342): tolerance 0.5%.
  const secant = { b1: 4.444335984e-4 / 0.001, b2With: 2.220932938e-4 / 0.001, b2Without: 1.776548873e-4 / 0.001, heavy: 4.486763458e-3 / 0.001 };

  it('SGD with replacement, B 1 → 2: × B/B′ = ½ (golden ratio 0.4997)', () => {
    const r = rescaleFor(setup({}), { batchSize: 2 });
    close(r!.factor, secant.b2With / secant.b1, 0.005);
  });

  it('SGD without replacement, B 1 → 2 of N = 6: × (N−B′)B/((N−B)B′) = 0.4 (golden ratio 0.3997)', () => {
    const r = rescaleFor(setup({ sampling: 'without_replacement' }), { batchSize: 2 });
    close(r!.factor, secant.b2Without / secant.b1, 0.005);
  });

  // Oracle: heavy-ball β = 0.9 golden secant against 10 × the exact B = 1 slope 0.4434156 (THEORY.md
  // §4.1). With β = 0.9 the effective step is η/(1−β) = 0.01, where the B = 1 secant is 2.3% above its
  // slope: tolerance 2.5%.
  it('heavy-ball momentum 0 → 0.9: × (1−β)/(1−β′) = 10', () => {
    const r = rescaleFor(setup({}), { momentum: 0.9 });
    close(r!.factor * 0.4434156378600823, secant.heavy, 0.025);
  });

  it('Adam: × √(B/B′) (closed form: 32 → 128 halves s); EMA momentum changes nothing', () => {
    assert.equal(rescaleFor(setup({ optimizer: 'adam', batchSize: 32 }), { batchSize: 128 })!.factor, 0.5);
    assert.equal(rescaleFor(setup({ optimizer: 'adam', batchSize: 32 }), { momentum: 0.5 }), undefined);
  });

  it('no factor for reshuffling, unknown optimizers or nothing different', () => {
    assert.equal(rescaleFor(setup({ sampling: 'reshuffle' }), { batchSize: 2 }), undefined);
    assert.equal(rescaleFor(setup({ optimizer: null }), { batchSize: 2 }), undefined);
    assert.equal(rescaleFor(setup({}), { batchSize: 1, momentum: 0 }), undefined);
    assert.equal(rescaleFor(setup({}), { momentum: 1 }), undefined);
  });

  it('analysisSetup reads the prediction, else the runs when they agree', () => {
    const r = fixtureAnalysis();
    assert.deepEqual(analysisSetup(r), {
      batchSize: 32,
      batchSizeSource: 'hparams.yaml: batch_size',
      momentum: 0,
      dampening: 0,
      sampling: 'with_replacement',
      optimizer: 'sgd',
      datasetSize: 1797,
    });
    r.predicted = null;
    assert.equal(analysisSetup(r).batchSize, 32);
    r.runs[0].batch_size = 64;
    assert.equal(analysisSetup(r).batchSize, null);
  });
});
