import { strict as assert } from 'node:assert';
import { analyzeUnit, type AnalysisUnit } from '../../../src/core/analysis/analyzeUnit';
import type { GradientInputs } from '../../../src/core/analysis/gradients';
import { formatAnalysis } from '../../../src/cli/format/analysisText';
import { renderMarkdownReport } from '../../../src/core/report/markdown';
import type { AnalysisResult } from '../../../src/core/result/schema';
import type { Run } from '../../../src/core/runs/model';
import { Rng } from '../../support/oracle/rng';
import { assertValidResult } from '../../support/resultSchema';

/**
 * Issue #10, numerics: degenerate and hostile inputs give clear warnings and a valid result in which no
 * NaN/Infinity is ever shown as a number (in the JSON, the CLI text or the Markdown report).
 */

function run(id: string, lr: number | undefined, values: number[], extra: Partial<Run> = {}): Run {
  return {
    id,
    path: id,
    absPath: `/ws/${id}`,
    name: id,
    format: 'csv',
    files: [`/ws/${id}/metrics.csv`],
    hparams: { raw: {}, ...(lr !== undefined ? { lr: { value: lr, source: 'hparams.yaml: lr' } } : {}), batch_size: { value: 8, source: 'hparams.yaml: batch_size' }, sampling: { value: 'with_replacement', source: 'hparams.yaml: sampling' } },
    scalars: { full_train_loss: { steps: values.map((_, i) => i * 10), values } },
    warnings: [],
    ...extra,
  };
}

function noisy(seed: number, mean: number, n = 400, sd = 1e-3): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => mean + sd * rng.normal());
}

const gradients = (meanGradSqNorm = 0): GradientInputs => ({
  stats: { n: 100, meanLoss: 0.3, meanSqNorm: 1, meanGradSqNorm, traceCov: 1 - meanGradSqNorm },
  summary: {
    n: 100, mean_loss: 0.3, mean_sq_norm: 1, mean_grad_sq_norm: meanGradSqNorm, trace_cov: 1 - meanGradSqNorm,
    per_weight: [], top: [], histogram: { log10_edges: [0, 1], counts: [100], zeros: 0 }, backend: 'test', engine: 'test', seconds: 0, model: 'm', data: 'd',
  },
  model: { hasBatchNorm: false, hasRegularizers: false },
  warnings: [],
});

function analyse(runs: Run[], g: GradientInputs | null = gradients()): AnalysisResult {
  const unit: AnalysisUnit = { sweep: runs.length > 1 ? { id: 'sweep', name: 'sweep', path: '.' } : null, runs, warnings: [] };
  return analyzeUnit(unit, { root: '/ws' }, g, { root: '/ws', toolVersion: 'test' });
}

/** Every way a result reaches a person or a program, checked for non-numbers shown as numbers. */
function assertNoNonFiniteShown(r: AnalysisResult): void {
  const json = JSON.stringify(r, (_k, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`non-finite number ${v} in the result`);
    return v;
  });
  assertValidResult(JSON.parse(json));
  for (const text of [formatAnalysis(r), renderMarkdownReport(r)]) {
    assert.doesNotMatch(text, /\bNaN\b|\bInfinity\b|undefined|\[object Object\]/, text);
  }
}

describe('hostile numbers through the whole analysis (issue #10)', () => {
  it('a run whose loss becomes NaN/Infinity: flagged diverged, left out, others still fitted', () => {
    const bad = [...noisy(1, 0.31, 200), ...new Array(200).fill(NaN)];
    const r = analyse([run('a', 0.01, noisy(2, 0.301)), run('b', 0.02, noisy(3, 0.302)), run('c', 0.04, noisy(4, 0.304)), run('d', 0.08, bad)]);
    assertNoNonFiniteShown(r);
    const d = r.observed.points.find((p) => p.run === 'd')!;
    assert.equal(d.used_in_fit, false);
    assert.ok(d.flags.includes('diverged') || d.flags.includes('nan_values'), d.flags.join(','));
    assert.ok(r.observed.slope !== null);
    assert.ok(r.warnings.some((w) => w.code === 'diverged' && w.run === 'd'));
  });

  it('zero-variance runs (a constant loss): a finite result, no division by a zero standard error', () => {
    const r = analyse([run('a', 0.01, new Array(400).fill(0.3)), run('b', 0.02, new Array(400).fill(0.31)), run('c', 0.04, new Array(400).fill(0.32))]);
    assertNoNonFiniteShown(r);
    assert.equal(r.warnings.filter((w) => w.code === 'zero_variance').length, 3);
    assert.ok(r.observed.points.every((p) => p.stderr === null && p.flags.includes('zero_variance')));
    // Without standard errors the fit falls back to ordinary least squares and says so.
    assert.match(r.observed.fit.notes.join(' '), /ordinary least squares/);
  });

  it('a single run at one η: no slope, says why, verdict no_observation', () => {
    const r = analyse([run('only', 0.01, noisy(5, 0.3))]);
    assertNoNonFiniteShown(r);
    assert.equal(r.observed.slope, null);
    assert.equal(r.verdict.status, 'no_observation');
    assert.match(r.observed.fit.notes.join(' '), /only 1 learning rate/);
  });

  it('two runs with the same η: no slope from one distinct η', () => {
    const r = analyse([run('a', 0.01, noisy(6, 0.3)), run('b', 0.01, noisy(7, 0.3))]);
    assertNoNonFiniteShown(r);
    assert.equal(r.observed.slope, null);
  });

  it('zero and negative η: excluded with the reason, the rest fitted', () => {
    const r = analyse([run('zero', 0, noisy(8, 0.3)), run('neg', -0.01, noisy(9, 0.3)), run('a', 0.01, noisy(10, 0.301)), run('b', 0.02, noisy(11, 0.302)), run('c', 0.04, noisy(12, 0.304))]);
    assertNoNonFiniteShown(r);
    for (const id of ['zero', 'neg']) {
      const p = r.observed.points.find((x) => x.run === id)!;
      assert.equal(p.used_in_fit, false);
      assert.match(p.excluded_reason ?? '', /not positive/);
    }
  });

  it('runs with no learning rate and no loss tag: warnings that say what to do', () => {
    const r = analyse([run('a', undefined, noisy(13, 0.3)), { ...run('b', undefined, []), scalars: { accuracy: { steps: [1], values: [0.9] } } }]);
    assertNoNonFiniteShown(r);
    assert.ok(r.warnings.some((w) => /--set-lr/.test(w.message)));
  });

  it('a checkpoint far from an optimum: a warning, and the covariance is used', () => {
    const r = analyse([run('a', 0.01, noisy(14, 0.301)), run('b', 0.02, noisy(15, 0.302)), run('c', 0.04, noisy(16, 0.304))], gradients(0.5));
    assertNoNonFiniteShown(r);
    assert.ok(r.warnings.some((w) => w.code === 'far_from_optimum' && w.severity === 'warning'));
    assert.equal(r.predicted?.trace_cov, 0.5);
  });

  it('an empty unit (a run with no values at all)', () => {
    const r = analyse([run('empty', 0.01, [])]);
    assertNoNonFiniteShown(r);
  });
});
