/**
 * Observed slope from one run with learning-rate step changes (THEORY.md §5, "single run with step
 * decays"): after a change η₁ → η₂ the loss relaxes to a new level; ΔL/Δη between the plateau before
 * the change and the settled level after it estimates the slope, with standard errors from the
 * converged-loss machinery on each segment.
 */
import type { ScalarSeries } from '../runs/model';
import type { ScheduleEvent } from '../result/schema';
import { convergedLoss, type ConvergedLoss, type ConvergedLossOptions } from './converged';
import { chiSquareSurvival } from './distributions';
import { maxOf, minOf } from './extent';

/**
 * A stated piecewise-constant schedule: `values[0]` before `boundaries[0]`, `values[i]` on
 * [boundaries[i−1], boundaries[i]), the last value after the last boundary. Steps in the loss series' units.
 */
export interface StatedSchedule {
  boundaries: number[];
  values: number[];
}

/** PyTorch MultiStepLR / Keras PiecewiseConstantDecay style: lr0·γ^k after the k-th milestone. */
export function multiStepSchedule(lr0: number, milestones: number[], gamma: number): StatedSchedule {
  const b = [...milestones].sort((x, y) => x - y);
  return { boundaries: b, values: [lr0, ...b.map((_, i) => lr0 * gamma ** (i + 1))] };
}

export interface ScheduleEventOptions {
  /** Run id written into each event. */
  run?: string;
  /** Relative change below which consecutive logged lr values count as the same plateau. Default 1e-4 (float32 logs). */
  relTol?: number;
  /** Smallest lr ratio (larger/smaller) that counts as a step change. Default 1.05. */
  minChangeRatio?: number;
  /** Both segments around a change need this many loss values for an event. Default 10. */
  minSegmentPoints?: number;
  /** Passed to convergedLoss for each segment. */
  converged?: ConvergedLossOptions;
}

export interface ScheduleEventDetail {
  event: ScheduleEvent;
  before: ConvergedLoss;
  after: ConvergedLoss;
  notes: string[];
}

export interface ScheduleAnalysis {
  events: ScheduleEvent[];
  details: ScheduleEventDetail[];
  /** Plateaus of constant lr found: first step (null for the first, open-ended one) and value. */
  plateaus: { step: number | null; lr: number; loss_points: number }[];
  notes: string[];
}

interface Plateau {
  step: number;
  lr: number;
}

function isStated(x: ScalarSeries | StatedSchedule): x is StatedSchedule {
  return (x as StatedSchedule).boundaries !== undefined;
}

/** Maximal runs of (relatively) constant lr; each starts at the first step logged with its value. */
function plateausOf(lr: ScalarSeries | StatedSchedule, relTol: number): Plateau[] {
  if (isStated(lr)) {
    if (lr.values.length !== lr.boundaries.length + 1) {
      throw new Error(`stated schedule: ${lr.values.length} values for ${lr.boundaries.length} boundaries (need one more value)`);
    }
    return lr.values.map((v, i) => ({ step: i === 0 ? Number.NEGATIVE_INFINITY : lr.boundaries[i - 1], lr: v }));
  }
  const out: Plateau[] = [];
  for (let i = 0; i < lr.values.length; i++) {
    const v = lr.values[i];
    if (!Number.isFinite(v)) continue;
    const cur = out[out.length - 1];
    if (cur && Math.abs(v - cur.lr) <= relTol * Math.max(Math.abs(cur.lr), Math.abs(v))) continue;
    out.push({ step: out.length === 0 ? Number.NEGATIVE_INFINITY : lr.steps[i], lr: v });
  }
  return out;
}

function segment(loss: ScalarSeries, from: number, to: number): ScalarSeries {
  const steps: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < loss.steps.length; i++) {
    if (loss.steps[i] >= from && loss.steps[i] < to) {
      steps.push(loss.steps[i]);
      values.push(loss.values[i]);
    }
  }
  return { steps, values };
}

/**
 * Step changes of the learning rate and the loss drop at each. The lr logged at step s is taken to be
 * in force from s until the next logged value (how PyTorch schedulers and Keras callbacks log it).
 */
export function analyseSchedule(lr: ScalarSeries | StatedSchedule, loss: ScalarSeries, opts: ScheduleEventOptions = {}): ScheduleAnalysis {
  const relTol = opts.relTol ?? 1e-4;
  const minRatio = opts.minChangeRatio ?? 1.05;
  const minSeg = opts.minSegmentPoints ?? 10;
  const run = opts.run ?? '';
  const notes: string[] = [];
  const plateaus = plateausOf(lr, relTol);
  const segs = plateaus.map((p, i) => segment(loss, p.step, i + 1 < plateaus.length ? plateaus[i + 1].step : Number.POSITIVE_INFINITY));
  const summary = plateaus.map((p, i) => ({ step: Number.isFinite(p.step) ? p.step : null, lr: p.lr, loss_points: segs[i].values.length }));
  const details: ScheduleEventDetail[] = [];
  const tooShort = segs.filter((s) => s.values.length < minSeg).length;
  if (plateaus.length > 1 && tooShort > plateaus.length / 2) {
    notes.push(`the learning rate changes almost continuously (${plateaus.length} distinct values, ${tooShort} held for fewer than ${minSeg} loss values): no step changes to measure`);
  }
  for (let i = 0; i + 1 < plateaus.length; i++) {
    const a = plateaus[i];
    const b = plateaus[i + 1];
    const ratio = Math.max(a.lr, b.lr) / Math.min(a.lr, b.lr);
    if (!(ratio >= minRatio) || a.lr <= 0 || b.lr <= 0) continue;
    if (segs[i].values.length < minSeg || segs[i + 1].values.length < minSeg) continue;
    const before = convergedLoss(segs[i], opts.converged);
    const after = convergedLoss(segs[i + 1], opts.converged);
    const evNotes: string[] = [];
    const dEta = a.lr - b.lr;
    let slope: number | null = null;
    let slopeSe: number | null = null;
    if (before.mean !== null && after.mean !== null) {
      slope = (before.mean - after.mean) / dEta;
      if (before.stderr !== null && after.stderr !== null) slopeSe = Math.sqrt(before.stderr ** 2 + after.stderr ** 2) / Math.abs(dEta);
    }
    const settled = after.mean !== null && !after.flags.includes('trend') && !after.flags.includes('diverged') && after.n_used >= 4;
    if (!settled) evNotes.push(`the loss after the change at step ${b.step} had not settled (${after.flags.join(', ') || 'too few values'})`);
    if (before.flags.includes('trend')) evNotes.push(`the plateau before step ${b.step} still drifts: the drop mixes the η change with ongoing training`);
    if (before.flags.includes('too_short') || after.flags.includes('too_short')) evNotes.push('a segment is short: standard errors ignore autocorrelation');
    details.push({
      event: {
        run,
        step: b.step,
        lr_before: a.lr,
        lr_after: b.lr,
        loss_before: before.mean,
        loss_after: after.mean,
        loss_before_stderr: before.stderr,
        loss_after_stderr: after.stderr,
        slope,
        slope_stderr: slopeSe,
        settled,
      },
      before,
      after,
      notes: evNotes,
    });
  }
  if (plateaus.length <= 1) notes.push('the learning rate never changes');
  return { events: details.map((d) => d.event), details, plateaus: summary, notes };
}

/** The events alone (see analyseSchedule for per-segment details and notes). */
export function findScheduleEvents(lr: ScalarSeries | StatedSchedule, loss: ScalarSeries, opts: ScheduleEventOptions = {}): ScheduleEvent[] {
  return analyseSchedule(lr, loss, opts).events;
}

export interface PooledSlope {
  slope: number | null;
  slope_stderr: number | null;
  n_events: number;
  /** Heterogeneity: Σ (s_i − s̄)²/se_i² over the pooled events, with n − 1 dof. */
  chi2: number | null;
  dof: number | null;
  p_value: number | null;
  /** Indices (into the input) of the events pooled. */
  used: number[];
  notes: string[];
}

/**
 * Inverse-variance weighted mean of the events' slopes (settled events only, when any), with a
 * heterogeneity χ²; when the events disagree beyond their errors (p < 0.05) the standard error is
 * scaled by √(χ²/dof), as for the sweep fit.
 */
export function pooledEventSlope(events: ScheduleEvent[]): PooledSlope {
  const finite = events
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.slope !== null && e.slope_stderr !== null && Number.isFinite(e.slope) && (e.slope_stderr as number) > 0);
  const notes: string[] = [];
  let pool = finite.filter(({ e }) => e.settled);
  if (pool.length === 0 && finite.length > 0) {
    pool = finite;
    notes.push('no event had settled: pooled the unsettled ones, which overstates the drop if the loss was still falling');
  } else if (pool.length < finite.length) {
    notes.push(`${finite.length - pool.length} unsettled event(s) left out`);
  }
  if (pool.length === 0) return { slope: null, slope_stderr: null, n_events: 0, chi2: null, dof: null, p_value: null, used: [], notes: [...notes, 'no event with a slope and a standard error'] };
  let sw = 0;
  let swx = 0;
  for (const { e } of pool) {
    const w = 1 / (e.slope_stderr as number) ** 2;
    sw += w;
    swx += w * (e.slope as number);
  }
  const slope = swx / sw;
  let se = Math.sqrt(1 / sw);
  const dof = pool.length - 1;
  let chi2: number | null = null;
  let p: number | null = null;
  if (dof >= 1) {
    chi2 = pool.reduce((s, { e }) => s + (((e.slope as number) - slope) / (e.slope_stderr as number)) ** 2, 0);
    p = chiSquareSurvival(chi2, dof);
    if (p < 0.05 && chi2 > dof) {
      se *= Math.sqrt(chi2 / dof);
      notes.push(`events disagree beyond their errors (χ² = ${chi2.toPrecision(3)} on ${dof} dof): standard error scaled by √(χ²/dof); the slope may vary with η (the law is linear only at small η)`);
    }
  }
  return { slope, slope_stderr: se, n_events: pool.length, chi2, dof, p_value: p, used: pool.map(({ i }) => i), notes };
}

export interface LrWindow {
  /** The value in force when the window opens: the last finite value logged at or before `from`, else the first inside. */
  atStart: number | undefined;
  /** Every finite value in force inside the window, in step order (the one at its start first). */
  values: number[];
  /** Steps inside the window where the logged value changes (relative change above `relTol`), with the new value. */
  changes: { step: number; lr: number }[];
  min: number | undefined;
  max: number | undefined;
}

/**
 * The learning rate in force over the steps [from, to] (how schedulers and callbacks log it: a value
 * logged at s is in force from s until the next one). The window is where the converged loss is measured.
 */
export function lrOverWindow(lr: ScalarSeries, from: number, to: number, relTol = 1e-4): LrWindow {
  let atStart: number | undefined;
  const values: number[] = [];
  const changes: { step: number; lr: number }[] = [];
  for (let i = 0; i < lr.steps.length; i++) {
    const s = lr.steps[i];
    const v = lr.values[i];
    if (!Number.isFinite(v)) continue;
    if (s <= from) {
      atStart = v;
      continue;
    }
    if (s > to) break;
    if (values.length === 0) {
      if (atStart === undefined) atStart = v;
      values.push(atStart);
    }
    const prev = values[values.length - 1];
    if (Math.abs(v - prev) > relTol * Math.max(Math.abs(v), Math.abs(prev))) changes.push({ step: s, lr: v });
    values.push(v);
  }
  if (values.length === 0 && atStart !== undefined) values.push(atStart);
  return {
    atStart,
    values,
    changes,
    min: values.length ? minOf(values) : undefined,
    max: values.length ? maxOf(values) : undefined,
  };
}
