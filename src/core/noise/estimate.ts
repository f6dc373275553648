/**
 * tr Σ and ‖G‖² from gradient noise logged during training (see ./tags.ts for what is read): a per-step
 * estimate, averaged over the run's stationary tail with a batch-means standard error (the converged-loss
 * machinery, src/core/stats/converged.ts), then combined over the runs of a sweep.
 *
 * What it measures: the noise of the iterates SGD actually visited, Φ_t drawn from the stationary
 * distribution at the run's η, not the noise at the optimum Φ* that the theorem uses (THEORY.md §1). Both
 * agree to O(η) (tr Σ is smooth and Φ_t − Φ* = O(√η) with mean O(η)); ‖G(Φ_t)‖² itself is O(η), not 0.
 */
import { chooseSweepTag } from '../analysis/observe';
import type { Run, ScalarSeries } from '../runs/model';
import { convergedLoss, type ConvergedLoss } from '../stats/converged';
import { B_BIG_KEYS, B_SMALL_KEYS, hparamNumber, loggedConstant, noiseTagsOf, type NoiseTagKind } from './tags';

export type NoiseMethod =
  /** ‖G_small‖², ‖G_big‖² and both batch sizes logged: the McCandlish estimator computed here per step. */
  | 'two_batch_sizes'
  /** A per-step tr Σ estimate logged (gradient_noise/trace_cov). */
  | 'logged_trace_cov'
  /** B_simple plus the full minibatch gradient norm at the run's batch size B: tr Σ = B·‖G_B‖²·B_simple/(B + B_simple). */
  | 'b_simple_and_grad_norm';

export interface RunNoiseEstimate {
  run: string;
  lr: number | null;
  method: NoiseMethod;
  /** Tags read, in the run's own spelling. */
  tags: string[];
  b_small: number | null;
  b_big: number | null;
  trace_cov: number | null;
  trace_cov_stderr: number | null;
  /** ‖G‖² along the trajectory over the same tail, when the logs allow it. */
  grad_sq_norm: number | null;
  grad_sq_norm_stderr: number | null;
  n_used: number;
  tail_start_step: number | null;
  stationary: boolean;
  notes: string[];
}

export interface NoiseEstimate {
  trace_cov: number;
  trace_cov_stderr: number | null;
  grad_sq_norm: number | null;
  grad_sq_norm_stderr: number | null;
  /** How the runs were combined. */
  combination: string;
  runs: RunNoiseEstimate[];
  tags: string[];
  /** Logged steps averaged, over all runs used. */
  n_used: number;
  notes: string[];
}

/** Why a run's noise could not be used (only for runs that log some noise tag). */
export interface NoiseSkip {
  run: string;
  reason: string;
}

function sq(s: ScalarSeries): ScalarSeries {
  return { steps: s.steps, values: s.values.map((v) => v * v) };
}

/** Values of two series at the steps both log, combined by f. */
function joinSteps(a: ScalarSeries, b: ScalarSeries, f: (x: number, y: number) => number): ScalarSeries {
  const at = new Map<number, number>();
  a.steps.forEach((s, i) => at.set(s, a.values[i]));
  const steps: number[] = [];
  const values: number[] = [];
  b.steps.forEach((s, i) => {
    const x = at.get(s);
    if (x !== undefined && Number.isFinite(x) && Number.isFinite(b.values[i])) {
      steps.push(s);
      values.push(f(x, b.values[i]));
    }
  });
  return { steps, values };
}

/** The value of `s` in force at each step of `at` (last logged value at or before it). */
function carryForward(s: ScalarSeries, at: ScalarSeries, f: (held: number, x: number) => number): ScalarSeries {
  const steps: number[] = [];
  const values: number[] = [];
  let j = -1;
  for (let i = 0; i < at.steps.length; i++) {
    while (j + 1 < s.steps.length && s.steps[j + 1] <= at.steps[i]) j++;
    if (j >= 0 && Number.isFinite(s.values[j]) && Number.isFinite(at.values[i])) {
      steps.push(at.steps[i]);
      values.push(f(s.values[j], at.values[i]));
    }
  }
  return { steps, values };
}

/** First step of the run's stationary loss tail (the window its converged loss is averaged over). */
function lossTailStart(run: Run): number | undefined {
  const tag = chooseSweepTag([run]).tag;
  const s = tag ? run.scalars[tag] : undefined;
  if (!s || s.values.length === 0) return undefined;
  const c = convergedLoss(s);
  return c.mean !== null && c.tail_start_step !== null ? c.tail_start_step : undefined;
}

function tailMean(s: ScalarSeries, tailStartStep: number | undefined): ConvergedLoss {
  // No blow-up test: a noise level may rise by more than 10× as the loss falls.
  const opts = { blowUpFactor: Number.POSITIVE_INFINITY };
  if (tailStartStep !== undefined) {
    const inTail = s.steps.filter((x) => x >= tailStartStep).length;
    if (inTail >= 40) return convergedLoss(s, { ...opts, tailStartStep });
  }
  return convergedLoss(s, opts);
}

function batchSize(run: Run, tags: Partial<Record<NoiseTagKind, string>>, kind: 'b_small' | 'b_big', notes: string[]): number | undefined {
  const tag = tags[kind];
  const logged = tag ? loggedConstant(run.scalars[tag]) : undefined;
  if (logged !== undefined && logged > 0) return logged;
  const h = hparamNumber(run, kind === 'b_small' ? B_SMALL_KEYS : B_BIG_KEYS);
  if (h) {
    notes.push(`${kind === 'b_small' ? 'B_small' : 'B_big'} = ${h.value} from ${h.source}`);
    return h.value;
  }
  if (kind === 'b_big' && run.hparams.batch_size) {
    notes.push(`B_big = the run's batch size ${run.hparams.batch_size.value} (${run.hparams.batch_size.source}): the big gradient taken to be the all-reduced minibatch gradient`);
    return run.hparams.batch_size.value;
  }
  return undefined;
}

/**
 * The per-step tr Σ (and ‖G‖²) series a run's logs allow, or why none. Null when the run logs no
 * gradient-noise tag at all.
 */
export function runNoiseSeries(run: Run):
  | { method: NoiseMethod; tags: string[]; trace: ScalarSeries; grad: ScalarSeries | null; bSmall: number | null; bBig: number | null; notes: string[] }
  | { skip: string }
  | null {
  const t = noiseTagsOf(run);
  const kinds = Object.keys(t) as NoiseTagKind[];
  if (kinds.length === 0 || (kinds.length === 1 && kinds[0] === 'grad_norm')) return null;
  const notes: string[] = [];
  const small = t.sq_small ? run.scalars[t.sq_small] : t.norm_small ? sq(run.scalars[t.norm_small]) : undefined;
  const big = t.sq_big ? run.scalars[t.sq_big] : t.norm_big ? sq(run.scalars[t.norm_big]) : undefined;
  if (small && big) {
    const bs = batchSize(run, t, 'b_small', notes);
    const bb = batchSize(run, t, 'b_big', notes);
    const tags = [t.sq_small ?? t.norm_small, t.sq_big ?? t.norm_big, t.b_small, t.b_big].filter((x): x is string => x !== undefined);
    if (bs === undefined || bb === undefined) {
      return { skip: `logs ${tags.join(', ')} but not ${bs === undefined ? 'B_small' : 'B_big'} (log gradient_noise/b_small and gradient_noise/b_big, or put b_small/b_big in the hyperparameters)` };
    }
    if (!(bb > bs)) return { skip: `B_big = ${bb} is not larger than B_small = ${bs}` };
    if (t.norm_small && !t.sq_small) notes.push(`${t.norm_small} is a norm: squared`);
    if (t.norm_big && !t.sq_big) notes.push(`${t.norm_big} is a norm: squared`);
    const trace = joinSteps(small, big, (s, b) => (s - b) / (1 / bs - 1 / bb));
    const grad = joinSteps(small, big, (s, b) => (bb * b - bs * s) / (bb - bs));
    return { method: 'two_batch_sizes', tags, trace, grad, bSmall: bs, bBig: bb, notes };
  }
  if (t.trace_cov) {
    const tags = [t.trace_cov, ...(t.grad_sq_norm ? [t.grad_sq_norm] : [])];
    return { method: 'logged_trace_cov', tags, trace: run.scalars[t.trace_cov], grad: t.grad_sq_norm ? run.scalars[t.grad_sq_norm] : null, bSmall: null, bBig: null, notes };
  }
  if (t.b_simple && t.grad_norm) {
    const B = run.hparams.batch_size?.value;
    if (!(B !== undefined && B > 0)) return { skip: `logs ${t.b_simple} and ${t.grad_norm} but no batch size to relate them` };
    notes.push(
      `tr Σ = B·‖G_B‖²·B_simple/(B + B_simple) with B = ${B} (${run.hparams.batch_size?.source}), ‖G_B‖ from ${t.grad_norm} (the full minibatch gradient, before clipping) and B_simple from ${t.b_simple} (a smoothed ratio; its smoothing lags)`,
    );
    const gn = run.scalars[t.grad_norm];
    const trace = carryForward(run.scalars[t.b_simple], gn, (bsimple, g) => (B * g * g * Math.max(0, bsimple)) / (B + Math.max(0, bsimple)));
    const grad = carryForward(run.scalars[t.b_simple], gn, (bsimple, g) => (g * g * B) / (B + Math.max(0, bsimple)));
    return { method: 'b_simple_and_grad_norm', tags: [t.b_simple, t.grad_norm], trace, grad, bSmall: null, bBig: B, notes };
  }
  if (t.b_simple) return { skip: `logs only ${t.b_simple} (B_simple = tr Σ/‖G‖², a ratio): tr Σ needs ‖G‖² or a gradient norm at a known batch size as well` };
  return { skip: `logs ${kinds.map((k) => t[k]).join(', ')}: not enough for tr Σ (needs both batch sizes' squared norms, or a trace_cov series)` };
}

/** One run's estimate over its stationary tail, or why there is none (null: no noise tags). */
export function estimateRunNoise(run: Run): RunNoiseEstimate | NoiseSkip | null {
  const s = runNoiseSeries(run);
  if (s === null) return null;
  if ('skip' in s) return { run: run.id, reason: s.skip };
  if (s.trace.values.length < 4) return { run: run.id, reason: `only ${s.trace.values.length} logged value(s) of ${s.tags.join(', ')}` };
  const start = lossTailStart(run);
  const c = tailMean(s.trace, start);
  if (c.mean === null) return { run: run.id, reason: `no usable tail of ${s.tags.join(', ')} (${c.notes.join('; ')})` };
  const notes = [...s.notes, ...c.notes];
  if (start !== undefined && c.tail_start_step !== null && c.tail_start_step >= start) notes.unshift(`averaged over the training loss's stationary tail (from step ${c.tail_start_step})`);
  let g: ConvergedLoss | null = null;
  if (s.grad && s.grad.values.length >= 4 && c.tail_start_step !== null) g = convergedLoss(s.grad, { blowUpFactor: Number.POSITIVE_INFINITY, tailStartStep: c.tail_start_step });
  if (c.flags.includes('trend')) notes.push('the noise level still drifts over the tail');
  return {
    run: run.id,
    lr: run.hparams.lr?.value ?? null,
    method: s.method,
    tags: s.tags,
    b_small: s.bSmall,
    b_big: s.bBig,
    trace_cov: c.mean,
    trace_cov_stderr: c.stderr,
    grad_sq_norm: g?.mean ?? null,
    grad_sq_norm_stderr: g?.stderr ?? null,
    n_used: c.n_used,
    tail_start_step: c.tail_start_step,
    stationary: c.stationary,
    notes,
  };
}

function weightedMean(xs: { v: number; se: number | null }[]): { mean: number; se: number | null; chi2: number | null } {
  const ok = xs.filter((x) => x.se !== null && x.se > 0);
  if (ok.length === 0 || ok.length < xs.length) {
    const mean = xs.reduce((a, x) => a + x.v, 0) / xs.length;
    const ses = xs.map((x) => x.se);
    const se = ses.every((s): s is number => s !== null) ? Math.sqrt(ses.reduce((a, s) => a + s * s, 0)) / xs.length : null;
    return { mean, se, chi2: null };
  }
  let sw = 0;
  let swx = 0;
  for (const x of ok) {
    const w = 1 / (x.se as number) ** 2;
    sw += w;
    swx += w * x.v;
  }
  const mean = swx / sw;
  const chi2 = ok.reduce((a, x) => a + ((x.v - mean) / (x.se as number)) ** 2, 0);
  return { mean, se: Math.sqrt(1 / sw), chi2 };
}

/**
 * tr Σ for a unit (a sweep or one run) from the runs that log gradient noise. Each run gives its tail
 * mean; several are combined by inverse-variance weighting when they agree (χ² with p ≥ 0.01), else the
 * run at the smallest η (the nearest to Φ*) is used. Null when no run logs usable gradient noise.
 */
export function estimateUnitNoise(runs: Run[]): { estimate: NoiseEstimate | null; skipped: NoiseSkip[] } {
  const used: RunNoiseEstimate[] = [];
  const skipped: NoiseSkip[] = [];
  for (const r of runs) {
    const e = estimateRunNoise(r);
    if (e === null) continue;
    if ('reason' in e) skipped.push(e);
    else if (e.trace_cov !== null) used.push(e);
  }
  if (used.length === 0) return { estimate: null, skipped };
  const notes: string[] = [];
  let chosen = used;
  let combination: string;
  if (used.length === 1) {
    combination = `tail mean of run "${used[0].run}"`;
  } else {
    const w = weightedMean(used.map((u) => ({ v: u.trace_cov as number, se: u.trace_cov_stderr })));
    const dof = used.length - 1;
    // χ² upper 1% point, Wilson–Hilferty.
    const crit = dof * (1 - 2 / (9 * dof) + 2.326 * Math.sqrt(2 / (9 * dof))) ** 3;
    const line = etaLine(used);
    notes.push(`per run: ${used.map((u) => `${u.run}${u.lr !== null ? ` (η = ${u.lr})` : ''}: ${fmt(u.trace_cov as number)} ± ${u.trace_cov_stderr !== null ? fmt(u.trace_cov_stderr) : '?'}`).join('; ')}`);
    if (line && Math.abs(line.slope / line.slopeSe) > 2) {
      // The trajectory's noise depends on η (an O(η) term): extrapolate to η → 0, where the law is stated.
      const tagsUsed = [...new Set(used.flatMap((u) => u.tags))];
      const g = gradMean(used);
      return {
        estimate: {
          trace_cov: line.intercept,
          trace_cov_stderr: line.interceptSe,
          grad_sq_norm: g ? g.mean : null,
          grad_sq_norm_stderr: g ? g.se : null,
          combination: `weighted least-squares line of the ${used.length} runs' tr Σ on η, extrapolated to η → 0 (slope ${fmt(line.slope)} ± ${fmt(line.slopeSe)} per unit η: the trajectory's noise depends on η)`,
          runs: used,
          tags: tagsUsed,
          n_used: used.reduce((a, u) => a + u.n_used, 0),
          notes,
        },
        skipped,
      };
    }
    if (w.chi2 !== null && w.chi2 > crit) {
      const withLr = used.filter((u) => u.lr !== null).sort((a, b) => (a.lr as number) - (b.lr as number));
      chosen = [withLr[0] ?? used[0]];
      combination = `run "${chosen[0].run}"${chosen[0].lr !== null ? ` (the smallest η, ${chosen[0].lr})` : ''}: the runs' tr Σ differ by more than their errors (χ² = ${w.chi2.toFixed(1)} on ${dof} dof), as the trajectory's noise depends on η`;
    } else {
      combination = `inverse-variance weighted mean over ${used.length} runs${w.chi2 !== null ? ` (consistent: χ² = ${w.chi2.toFixed(1)} on ${dof} dof${line ? `; no significant trend with η: ${fmt(line.slope)} ± ${fmt(line.slopeSe)}` : ''})` : ''}`;
    }
  }
  const tc = chosen.length === 1 ? { mean: chosen[0].trace_cov as number, se: chosen[0].trace_cov_stderr } : weightedMean(chosen.map((u) => ({ v: u.trace_cov as number, se: u.trace_cov_stderr })));
  const g = gradMean(chosen);
  if (tc.mean <= 0) notes.push(`the estimated tr Σ is ${fmt(tc.mean)} (≤ 0): the two batch sizes' norms are too noisy or mislabelled`);
  return {
    estimate: {
      trace_cov: tc.mean,
      trace_cov_stderr: tc.se,
      grad_sq_norm: g ? g.mean : null,
      grad_sq_norm_stderr: g ? g.se : null,
      combination,
      runs: used,
      tags: [...new Set(chosen.flatMap((u) => u.tags))],
      n_used: chosen.reduce((a, u) => a + u.n_used, 0),
      notes,
    },
    skipped,
  };
}

function gradMean(runs: RunNoiseEstimate[]): { mean: number; se: number | null } | null {
  const withG = runs.filter((u) => u.grad_sq_norm !== null);
  return withG.length === runs.length && withG.length > 0 ? weightedMean(withG.map((u) => ({ v: u.grad_sq_norm as number, se: u.grad_sq_norm_stderr }))) : null;
}

/** Weighted least squares of tr Σ on η over ≥ 3 runs with η and a standard error (weights 1/SE²). */
function etaLine(runs: RunNoiseEstimate[]): { intercept: number; interceptSe: number; slope: number; slopeSe: number } | null {
  const pts = runs.filter((u) => u.lr !== null && u.trace_cov_stderr !== null && u.trace_cov_stderr > 0);
  if (pts.length < 3 || new Set(pts.map((u) => u.lr)).size < 2) return null;
  let sw = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const u of pts) {
    const w = 1 / (u.trace_cov_stderr as number) ** 2;
    const x = u.lr as number;
    const y = u.trace_cov as number;
    sw += w;
    sx += w * x;
    sy += w * y;
    sxx += w * x * x;
    sxy += w * x * y;
  }
  const det = sw * sxx - sx * sx;
  if (!(det > 0)) return null;
  const slope = (sw * sxy - sx * sy) / det;
  const intercept = (sxx * sy - sx * sxy) / det;
  return { intercept, interceptSe: Math.sqrt(sxx / det), slope, slopeSe: Math.sqrt(sw / det) };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}
