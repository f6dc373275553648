/**
 * Converged loss of one run: the mean of a logged loss over its stationary tail, with an honest
 * standard error (THEORY.md §5). Logged losses are autocorrelated, so the standard error comes from
 * batch means (≥ 20 batches), never from √n; the initial transient is dropped by MSER-5; a remaining
 * trend is tested by regressing the batch means on step.
 */
import { HeatcapError } from '../errors';
import type { ScalarSeries } from '../runs/model';
import { lag1Autocorrelation, mean, median, olsLine, sampleVariance } from './describe';
import { twoSidedTPValue } from './distributions';
import { mserTruncation } from './mser';

export interface ConvergedLossOptions {
  /** Fewer tail points than this: flagged `too_short`, SE by the naive formula. Default 40 (20 batches of 2). */
  minPoints?: number;
  /** Number of batch means; at least 20 (THEORY.md §5). Default 20. */
  batches?: number;
  /** First step of the tail, when the caller knows it; otherwise MSER-5 chooses. */
  tailStartStep?: number;
  /** Largest fraction of the series MSER-5 may drop as transient. Default 0.5. */
  maxTransientFraction?: number;
  /** Two-sided level of the trend test on the tail. Default 0.01. */
  trendAlpha?: number;
  /** Final level this many times the initial level (and above it) counts as a blow-up. Default 10. */
  blowUpFactor?: number;
  /** Named in errors about malformed input. */
  file?: string;
}

export type ConvergedLossMethod = 'batch_means' | 'naive_short' | 'none';

export interface ConvergedLoss {
  /** Mean of the tail, in the loss's own units; null when diverged or empty. */
  mean: number | null;
  /** Standard error of `mean` (batch means with `dof` degrees of freedom). */
  stderr: number | null;
  /** Degrees of freedom of `stderr` (number of batches − 1). */
  dof: number | null;
  /** Number of logged values averaged. */
  n_used: number;
  /** First step of the averaged tail. */
  tail_start_step: number | null;
  /** True only when the trend test ran on enough data and found no trend. */
  stationary: boolean;
  /** `diverged`, `nan_values`, `too_short`, `trend`, `batches_correlated`, `empty`. */
  flags: string[];
  method: ConvergedLossMethod;
  notes: string[];
  /** Regression of the batch means on step over the tail. */
  trend: { slope_per_step: number; t: number | null; p_value: number; drift_over_tail: number; drift_stderr: number } | null;
  /** Second-half minus first-half mean of the tail, and that difference in standard errors. */
  halves: { difference: number; z: number } | null;
  /** Tail variance / stderr²: how many independent values the tail is worth. */
  effective_sample_size: number | null;
  /** Lag-1 autocorrelation of the batch means (≈ 0 when batches are long enough). */
  batch_lag1_autocorrelation: number | null;
}

const DEFAULTS = {
  minPoints: 40,
  batches: 20,
  maxTransientFraction: 0.5,
  trendAlpha: 0.01,
  blowUpFactor: 10,
};

function emptyResult(flags: string[], notes: string[]): ConvergedLoss {
  return {
    mean: null,
    stderr: null,
    dof: null,
    n_used: 0,
    tail_start_step: null,
    stationary: false,
    flags,
    method: 'none',
    notes,
    trend: null,
    halves: null,
    effective_sample_size: null,
    batch_lag1_autocorrelation: null,
  };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}

export function convergedLoss(series: ScalarSeries, opts: ConvergedLossOptions = {}): ConvergedLoss {
  const o = { ...DEFAULTS, ...opts };
  if (series.steps.length !== series.values.length) {
    throw new HeatcapError(opts.file, `loss series has ${series.steps.length} steps but ${series.values.length} values`);
  }
  if (o.batches < 20) throw new Error(`convergedLoss: batches must be ≥ 20 (THEORY.md §5), got ${o.batches}`);
  const flags: string[] = [];
  const notes: string[] = [];
  const n0 = series.values.length;
  if (n0 === 0) return emptyResult(['empty'], ['the series has no values']);

  // Divergence: a non-finite value that never recovers, or a final level far above the initial one.
  const lastFiniteIdx = (() => {
    for (let i = n0 - 1; i >= 0; i--) if (Number.isFinite(series.values[i])) return i;
    return -1;
  })();
  if (lastFiniteIdx < n0 - 1) {
    const firstBad = series.values.findIndex((v, i) => i > lastFiniteIdx && !Number.isFinite(v));
    return emptyResult(['diverged'], [`loss became ${series.values[firstBad]} at step ${series.steps[firstBad]} and stayed non-finite`]);
  }
  const steps: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n0; i++) {
    if (Number.isFinite(series.values[i]) && Number.isFinite(series.steps[i])) {
      steps.push(series.steps[i]);
      values.push(series.values[i]);
    }
  }
  if (values.length < n0) {
    flags.push('nan_values');
    notes.push(`${n0 - values.length} non-finite value(s) skipped`);
  }
  const n = values.length;
  const edge = Math.max(1, Math.floor(n / 10));
  const head = median(values, 0, edge);
  const last = median(values, n - edge, n);
  if (head > 0 && last > o.blowUpFactor * head) {
    return {
      ...emptyResult([...flags, 'diverged'], [...notes, `loss blew up: final level ${fmt(last)} vs initial ${fmt(head)}`]),
    };
  }

  // Tail: the caller's start step, or MSER-5's truncation point.
  let start: number;
  if (o.tailStartStep !== undefined) {
    start = steps.findIndex((s) => s >= (o.tailStartStep as number));
    if (start < 0) return emptyResult([...flags, 'too_short'], [...notes, `no values at or after step ${o.tailStartStep}`]);
    notes.push(`tail starts at the requested step ${o.tailStartStep}`);
  } else if (n >= o.minPoints) {
    // MSER-5 stops where the remaining bias is about one standard error (measured here: 0.7 SE on an
    // exponential transient, 90% coverage); doubling its cut removes the slow end of a relaxation
    // (e^(−2ηht), THEORY.md §5) at a modest cost in variance.
    const mser = mserTruncation(values, o.maxTransientFraction);
    start = Math.min(2 * mser, Math.floor(n * o.maxTransientFraction));
    notes.push(mser > 0 ? `initial transient: MSER-5 cut at value ${mser}, doubled to ${start} of ${n} values` : 'MSER-5 found no initial transient');
  } else {
    // Too few points for MSER: average the second half, the usual conservative choice.
    start = Math.floor(n / 2);
    notes.push(`only ${n} values: averaged the second half`);
  }
  const tailN = n - start;
  const tailStartStep = steps[start];

  if (tailN < o.minPoints) {
    flags.push('too_short');
    const m = mean(values, start, n);
    const sd = Math.sqrt(sampleVariance(values, start, n));
    const stderr = tailN >= 2 ? sd / Math.sqrt(tailN) : null;
    notes.push(`${tailN} values in the tail (< ${o.minPoints}): standard error by √n, which ignores autocorrelation`);
    let trend: ConvergedLoss['trend'] = null;
    if (tailN >= 4) {
      const fit = olsLine(steps.slice(start), values.slice(start));
      const t = fit.slope / fit.slopeStderr;
      const p = twoSidedTPValue(t, fit.dof);
      const span = steps[n - 1] - tailStartStep;
      trend = { slope_per_step: fit.slope, t, p_value: p, drift_over_tail: fit.slope * span, drift_stderr: fit.slopeStderr * span };
      if (p < o.trendAlpha) flags.push('trend');
    }
    return {
      mean: m,
      stderr: stderr !== null && Number.isFinite(stderr) ? stderr : null,
      dof: tailN >= 2 ? tailN - 1 : null,
      n_used: tailN,
      tail_start_step: tailStartStep,
      stationary: false,
      flags,
      method: 'naive_short',
      notes,
      trend,
      halves: null,
      effective_sample_size: null,
      batch_lag1_autocorrelation: null,
    };
  }

  // Batch means: k equal batches; the remainder (< k values) is dropped from the start of the tail,
  // the end farthest from the transient being the most trustworthy.
  const k = o.batches;
  const b = Math.floor(tailN / k);
  const first = n - k * b;
  const bm = new Float64Array(k);
  const bs = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    bm[j] = mean(values, first + j * b, first + (j + 1) * b);
    bs[j] = mean(steps, first + j * b, first + (j + 1) * b);
  }
  const grand = mean(bm);
  const stderr = Math.sqrt(sampleVariance(bm) / k);
  const dof = k - 1;
  const used = k * b;
  notes.push(`batch means: ${k} batches of ${b} values`);

  // Trend: OLS of batch means on step, t with k − 2 dof (batch means are ~independent when stationary).
  const fit = olsLine(bs, bm);
  let trend: ConvergedLoss['trend'] = null;
  if (Number.isFinite(fit.slopeStderr) && fit.slopeStderr > 0) {
    const t = fit.slope / fit.slopeStderr;
    const p = twoSidedTPValue(t, fit.dof);
    const span = steps[n - 1] - steps[first];
    trend = { slope_per_step: fit.slope, t, p_value: p, drift_over_tail: fit.slope * span, drift_stderr: fit.slopeStderr * span };
    if (p < o.trendAlpha) {
      flags.push('trend');
      notes.push(`the tail still drifts: ${fmt(trend.drift_over_tail)} ± ${fmt(trend.drift_stderr)} over the tail (t = ${t.toFixed(1)}, p = ${p.toExponential(1)})`);
    }
  } else if (fit.slope !== 0 && Number.isFinite(fit.slope)) {
    // A perfectly straight line of batch means: the residual SE is 0, the trend is certain.
    trend = { slope_per_step: fit.slope, t: null, p_value: 0, drift_over_tail: fit.slope * (steps[n - 1] - steps[first]), drift_stderr: 0 };
    flags.push('trend');
  }
  const h = Math.floor(k / 2);
  const m1 = mean(bm, 0, h);
  const m2 = mean(bm, h, k);
  const seHalves = Math.sqrt(sampleVariance(bm, 0, h) / h + sampleVariance(bm, h, k) / (k - h));
  const halves = { difference: m2 - m1, z: seHalves > 0 ? (m2 - m1) / seHalves : 0 };

  const r1 = lag1Autocorrelation(bm);
  // Under independence r1 ≈ N(−1/k, 1/k); 0.5 is > 2.5 sd for k = 20.
  if (r1 > 0.5 && !flags.includes('trend')) {
    flags.push('batches_correlated');
    notes.push(`batch means are correlated (lag-1 ${r1.toFixed(2)}): the run is short compared with its correlation time and the standard error is too small`);
  }
  const tailVar = sampleVariance(values, first, n);
  const ess = stderr > 0 ? tailVar / (stderr * stderr) : null;
  return {
    mean: grand,
    stderr,
    dof,
    n_used: used,
    tail_start_step: steps[first],
    stationary: !flags.includes('trend'),
    flags,
    method: 'batch_means',
    notes,
    trend,
    halves,
    effective_sample_size: ess,
    batch_lag1_autocorrelation: r1,
  };
}
