import { strict as assert } from 'node:assert';
import { SCHEMA_VERSION, type AnalysisResult } from '../../../src/core/result/schema';
import { assertValidResult, undeclaredKeys } from '../../support/resultSchema';

/** A result with every optional part present, typed by the TypeScript declaration. */
function fullResult(): AnalysisResult {
  return {
    schema_version: SCHEMA_VERSION,
    tool: { name: 'heatcap', version: '0.1.0' },
    generated_at: '2026-11-28T00:00:00.000Z',
    root: '/tmp/sweep',
    sweep: { id: 'sweep', name: 'sweep', path: '.' },
    observed: {
      tag: 'loss',
      tag_reason: 'only training-loss tag',
      points: [{ run: 'lr_0.01', name: 'lr_0.01', lr: 0.01, loss: 0.3, stderr: 0.001, n_used: 100, stationary: true, used_in_fit: false, excluded_reason: 'diverged', flags: ['diverged'] }],
      slope: 1,
      slope_stderr: 0.1,
      intercept: 0.2,
      intercept_stderr: 0.01,
      fit: { method: 'wls_sweep', n_points: 4, chi2: 1.2, dof: 2, p_value: 0.5, lr_max_used: 0.04, quadratic: { q: 1, q_stderr: 2 }, notes: ['n'] },
      events: [{ run: 'r', step: 100, lr_before: 0.1, lr_after: 0.01, loss_before: 0.5, loss_after: 0.4, loss_before_stderr: 0.01, loss_after_stderr: 0.01, slope: 1.1, slope_stderr: 0.2, settled: true }],
    },
    predicted: {
      slope: 1, trace_cov: 32, mean_sq_norm: 32, mean_grad_sq_norm: 0, batch_size: 8, momentum: 0, dampening: 0, nesterov: false,
      sampling: 'with_replacement', optimizer: 'sgd', weight_decay: 0, dataset_size: 1797, formula_id: 'iid_with_replacement',
      formula: 's = tr Σ/(4B)', assumptions: ['i.i.d.'], regime: 'linear', upper_bound: null,
      reshuffle_curve: { lr: [0.01], excess: [0.001] }, stability_lr: 0.5, sources: { batch_size: 'flag' },
      finite_eta: {
        status: 'ok', message: 'second-moment solve over all 650 parameters', parameters: 650, directions: 10, method: 'lanczos', hvp: 'exact_float64',
        eigenvalues: [{ value: 0.4656, residual: 1e-9 }], limits: { deterministic: 4.2956, mean_square: 2.572 }, form: 'second_moment_full',
        curve: { lr: [0.1, 1], excess: [0.0026, 0.035], linear: [0.0025, 0.025], additive: [0.0026, 0.03] }, cost_gradient_passes: 42, seconds: 1.5, notes: ['n'],
      },
    },
    ratio: 1,
    ratio_ci: [0.9, 1.1],
    verdict: { status: 'agree', message: 'agree' },
    gradnorms: {
      n: 10, mean_loss: 0.2, mean_sq_norm: 3, mean_grad_sq_norm: 0, trace_cov: 3, per_weight: [{ name: 'dense/kernel', mean_sq_norm: 2, size: 640 }],
      top: [{ index: 3, sq_norm: 10, label: 7 }], histogram: { log10_edges: [0, 1], counts: [10], zeros: 0 }, backend: 'wasm', engine: 'vectorized', seconds: 0.1,
      model: 'model.json', data: 'x.npy', source: 'logged gradient noise (tags gradient_noise/trace_cov), along the trajectory, not at Φ*',
      logged_noise: {
        method: 'logged_trace_cov', tags: ['gradient_noise/trace_cov'], trace_cov_stderr: 0.1, grad_sq_norm: null, grad_sq_norm_stderr: null, combination: 'tail mean',
        runs: [{ run: 'r', lr: 0.01, trace_cov: 3, trace_cov_stderr: 0.1, n_used: 1000, tail_start_step: 500, stationary: true }], caveat: 'along the trajectory, not at Φ*',
      },
    },
    runs: [{ id: 'r', name: 'r', path: 'r', format: 'tfevents', lr: 0.01, lr_source: 'hparams', batch_size: 8, momentum: 0, tag: 'loss', converged_loss: 0.3, converged_stderr: 0.01, stationary: true, curve: { steps: [1], values: [null] }, lr_curve: { steps: [1], values: [0.01] }, warnings: ['w'] }],
    warnings: [{ code: 'c', severity: 'warning', message: 'm', file: 'f', run: 'r' }],
  };
}

describe('analysis result schema', () => {
  it('accepts a fully populated result typed by schema.ts', () => {
    assertValidResult(fullResult());
  });

  it('declares every field that schema.ts declares (no drift between the two)', () => {
    assert.deepEqual(undeclaredKeys(JSON.parse(JSON.stringify(fullResult()))), []);
  });

  it('accepts a 1.1 result without predicted.finite_eta, and finite_eta null (readers accept any 1.x)', () => {
    const r = fullResult();
    delete (r.predicted as { finite_eta?: unknown }).finite_eta;
    assertValidResult({ ...r, schema_version: '1.1.0' });
    assertValidResult({ ...r, predicted: { ...r.predicted, finite_eta: null } });
  });

  it('rejects a finite_eta block with an unknown status or a missing limit', () => {
    const r = fullResult();
    const fe = r.predicted?.finite_eta as unknown as Record<string, unknown>;
    assert.throws(() => assertValidResult({ ...r, predicted: { ...r.predicted, finite_eta: { ...fe, status: 'fine' } } }), /finite_eta\/status/);
    assert.throws(() => assertValidResult({ ...r, predicted: { ...r.predicted, finite_eta: { ...fe, limits: { deterministic: 1 } } } }), /mean_square/);
  });

  it('rejects NaN-free violations: a string where a number belongs, and a missing required field', () => {
    const bad = fullResult() as unknown as Record<string, unknown>;
    (bad.observed as Record<string, unknown>).slope = 'steep';
    assert.throws(() => assertValidResult(bad), /slope/);
    const missing = fullResult() as unknown as Record<string, unknown>;
    delete missing.verdict;
    assert.throws(() => assertValidResult(missing), /verdict/);
  });
});
