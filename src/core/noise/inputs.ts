/**
 * The analysis's gradient statistics from gradient noise logged during training, for a unit with no
 * checkpoint, no --model and no gradstats.json: tr Σ (and ‖G‖²) estimated along the trajectory
 * (./estimate.ts), shaped as the pipeline's GradientInputs, plus the edits the result needs so it never
 * reads as if Σ had been computed at Φ*.
 */
import type { GradientInputs } from '../analysis/gradients';
import { decideVerdict } from '../analysis/verdict';
import type { AnalysisResult, GradNormSummary } from '../result/schema';
import type { Run } from '../runs/model';
import { slopeRatioCi } from '../stats/ratio';
import { estimateUnitNoise, type NoiseEstimate, type NoiseSkip } from './estimate';

export const LOGGED_NOISE_WARNING = 'gradient_noise_along_trajectory';

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}

/** `logged gradient noise (tags …), along the trajectory, not at Φ*`: the result's gradnorms.source. */
export function loggedNoiseSource(tags: string[]): string {
  return `logged gradient noise (tags ${tags.join(', ')}), along the trajectory, not at Φ*`;
}

export function loggedNoiseCaveat(e: NoiseEstimate): string {
  return (
    `tr Σ = ${fmt(e.trace_cov)}${e.trace_cov_stderr !== null ? ` ± ${fmt(e.trace_cov_stderr)}` : ''} was estimated from gradient noise logged during training (${e.tags.join(', ')}; McCandlish et al. 2018, appendix A), ` +
    `averaged over the stationary tail of the run${e.runs.length > 1 ? 's' : ''}: it is the noise along SGD's trajectory at the runs' η, not at the optimum Φ* the law uses, so the prediction carries an O(η) bias besides its standard error. ` +
    'Load the checkpoint (--model/--data) or a gradstats.json for the statistics at Φ*.'
  );
}

export interface LoggedNoiseInputs {
  inputs: GradientInputs;
  estimate: NoiseEstimate;
  skipped: NoiseSkip[];
}

/**
 * GradientInputs from the unit's logged gradient noise, or null (with the reasons runs were skipped)
 * when no run logs usable noise scalars.
 */
export function loggedNoiseInputs(runs: Run[]): { result: LoggedNoiseInputs | null; skipped: NoiseSkip[] } {
  const { estimate: e, skipped } = estimateUnitNoise(runs);
  if (!e) return { result: null, skipped };
  const traceCov = Math.max(0, e.trace_cov);
  const grad = e.grad_sq_norm !== null ? Math.max(0, e.grad_sq_norm) : 0;
  // n: the training set when the runs state it (so no finite-sample error is claimed), else the examples the tail drew.
  const stated = runs.map((r) => r.hparams.dataset_size?.value).find((v): v is number => v !== undefined && Number.isInteger(v) && v >= 1);
  const drawn = Math.max(1, Math.round(e.runs.reduce((a, r) => a + r.n_used * (r.b_big ?? runs.find((x) => x.id === r.run)?.hparams.batch_size?.value ?? 1), 0)));
  const n = stated ?? drawn;
  const caveat = loggedNoiseCaveat(e);
  const source = loggedNoiseSource(e.tags);
  const summary: GradNormSummary = {
    n,
    mean_loss: 0,
    mean_sq_norm: traceCov + grad,
    mean_grad_sq_norm: grad,
    trace_cov: traceCov,
    per_weight: [],
    top: [],
    histogram: { log10_edges: [], counts: [], zeros: 0 },
    backend: 'training logs',
    engine: `two-batch-size gradient noise estimator (McCandlish et al. 2018): ${e.runs.map((r) => r.method).filter((m, i, a) => a.indexOf(m) === i).join(', ')}`,
    seconds: 0,
    model: 'no checkpoint loaded',
    data: `${e.n_used} logged steps over the stationary tail of ${e.runs.length} run(s)`,
    source,
    logged_noise: {
      method: e.runs[0].method,
      tags: e.tags,
      trace_cov_stderr: e.trace_cov_stderr,
      grad_sq_norm: e.grad_sq_norm,
      grad_sq_norm_stderr: e.grad_sq_norm_stderr,
      combination: e.combination,
      runs: e.runs.map((r) => ({ run: r.run, lr: r.lr, trace_cov: r.trace_cov as number, trace_cov_stderr: r.trace_cov_stderr, n_used: r.n_used, tail_start_step: r.tail_start_step, stationary: r.stationary })),
      caveat,
    },
  };
  const warnings = [`Gradient statistics from ${source}: ${e.combination}.`, ...e.notes, ...e.runs.flatMap((r) => r.notes.map((x) => `${r.run}: ${x}`))];
  if (e.grad_sq_norm === null) warnings.push('‖G‖² is not logged: taken as 0 (the mean gradient vanishes at Φ*, and is O(η) along a stationary trajectory).');
  return {
    result: {
      inputs: {
        stats: { n, meanLoss: Number.NaN, meanSqNorm: traceCov + grad, meanGradSqNorm: grad, traceCov },
        summary,
        model: { hasBatchNorm: false, hasRegularizers: false },
        warnings,
        fromTrainingLogs: true,
      },
      estimate: e,
      skipped,
    },
    skipped,
  };
}

/**
 * Makes an analysis result built from logged noise say so: the assumption about where Σ was computed,
 * the caveat as a warning and in the verdict, no comparison with a checkpoint loss that does not exist,
 * and the ratio's interval widened by the standard error of tr Σ.
 */
export function markLoggedNoiseResult(result: AnalysisResult, e: NoiseEstimate): AnalysisResult {
  const caveat = loggedNoiseCaveat(e);
  result.warnings = result.warnings.filter((w) => w.code !== 'intercept_mismatch');
  result.warnings.push({ code: LOGGED_NOISE_WARNING, severity: 'warning', message: caveat });
  const p = result.predicted;
  if (!p) return result;
  const where = `Σ estimated along the training trajectory from logged gradient noise (${e.tags.join(', ')}; ${e.n_used} logged steps), not at Φ*`;
  p.assumptions = [where, ...p.assumptions.filter((a) => !/^Σ (computed on|estimated from) /.test(a))];
  p.sources = { ...p.sources, trace_cov: loggedNoiseSource(e.tags) };
  const o = result.observed;
  const relSe = e.trace_cov_stderr !== null && e.trace_cov > 0 ? e.trace_cov_stderr / e.trace_cov : null;
  if (p.regime === 'linear' && p.slope !== null && p.slope > 0 && o.slope !== null && o.slope_stderr !== null && relSe !== null) {
    // Both errors: Fieller's interval with the prediction's standard error (∝ that of tr Σ).
    const r = slopeRatioCi(o.slope, o.slope_stderr, p.slope, o.fit.dof || undefined, p.slope * relSe);
    result.ratio = r.ratio;
    result.ratio_ci = r.ci;
    result.verdict = decideVerdict(o, p, r.ratio, r.ci);
    o.fit.notes.push(`ratio interval includes the ${(100 * relSe).toFixed(1)}% standard error of the logged tr Σ`);
  }
  if (!result.verdict.message.includes('along the trajectory')) {
    result.verdict = { ...result.verdict, message: `${result.verdict.message} (Predicted from gradient noise logged along the trajectory, not at Φ*.)` };
  }
  return result;
}
