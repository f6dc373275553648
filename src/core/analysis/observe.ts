/**
 * The observed half of an analysis: which tag is the training loss, each run's converged loss, and the
 * observed slope — from a sweep fit when the runs cover several η, from the step changes of runs with a
 * learning-rate schedule otherwise (THEORY.md §5).
 */
import type { Run, ScalarSeries } from '../runs/model';
import { classifyTags, lrGroupTags } from '../runs/tags';
import type { Observed, ObservedPoint, ResultWarning, ScheduleEvent } from '../result/schema';
import { convergedLoss, type ConvergedLoss } from '../stats/converged';
import { analyseSchedule, lrOverWindow } from '../stats/schedule';
import { chooseLossTag, type LossTagChoice, type LossTagInfo } from '../stats/tags';
import { fitSweep, observedFitOfSweep, type SweepFit } from '../stats/sweep-fit';
import { pooledEventSlope } from '../stats/schedule';
import { chiSquareSurvival } from '../stats/distributions';
import { maxOf, minOf } from '../stats/extent';

/** A logged lr series whose largest/smallest value exceed this ratio is a schedule, not a constant η. */
const SCHEDULE_RATIO = 1.05;

export interface RunObservation {
  run: Run;
  lr: number | null;
  lrSource: string | null;
  /** The run's logged learning rate changes inside the converged-loss window: it is analysed through its step events. */
  hasSchedule: boolean;
  /** How η was found from a logged series, when it was: the window, its groups, a change inside it. */
  lrNotes: string[];
  tag: string | null;
  converged: ConvergedLoss | null;
  point: ObservedPoint;
}

export interface ObservationOptions {
  tag?: string;
  excludeRuns?: ReadonlySet<string>;
}

function tagInfos(run: Run): LossTagInfo[] {
  return classifyTags(run).map((t) => ({ name: t.tag, kind: t.kind, count: t.count, basis: t.basis }));
}

/**
 * One tag for the whole sweep, so every point measures the same quantity: the best training-loss tag
 * among those every run logs; failing that, each run's own best (with a warning).
 */
export function chooseSweepTag(runs: Run[], requested?: string): LossTagChoice & { perRun: boolean } {
  if (runs.length === 0) return { tag: null, kind: null, reason: 'no runs', perRun: false };
  const infos = runs.map(tagInfos);
  const common = infos[0].filter((t) => infos.every((list) => list.some((u) => u.name === t.name)));
  const merged = common.map((t) => ({ ...t, count: Math.min(...infos.map((list) => list.find((u) => u.name === t.name)?.count ?? 0)) }));
  const choice = chooseLossTag(merged, requested);
  if (choice.tag !== null || requested !== undefined || runs.length === 1) return { ...choice, perRun: false };
  const own = infos.map((list) => chooseLossTag(list));
  if (own.some((c) => c.tag !== null)) {
    return { tag: null, kind: null, reason: `the runs share no training-loss tag; each run uses its own best (${own.map((c) => c.tag ?? '—').join(', ')})`, perRun: true };
  }
  return { ...choice, perRun: false };
}

function lrSeries(run: Run): ScalarSeries | undefined {
  return run.lrTag ? run.scalars[run.lrTag] : undefined;
}

function isSchedule(series: ScalarSeries | undefined): boolean {
  if (!series) return false;
  const v = series.values.filter((x) => Number.isFinite(x) && x > 0);
  if (v.length < 2) return false;
  return maxOf(v) / minOf(v) > SCHEDULE_RATIO;
}

/** η the user stated for this run (flag or runs view): never replaced by a logged value. */
const USER_LR_SOURCES = new Set(['flag --set-lr', 'set by the user in the runs view']);
/** Relative spread of logged values still read as one constant η (float32 rounding). */
const SAME_LR = 1e-4;

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}

interface LrResolution {
  lr: number | null;
  source: string | null;
  hasSchedule: boolean;
  notes: string[];
}

/**
 * The run's η over the window where its converged loss is measured. A logged learning-rate series gives
 * the value in force over that window (a warmup or decay before it does not matter); when η changes
 * inside the window the run is not one η: it goes to the step-change analysis of its constant-η
 * segments. Parameter groups (Lightning `lr-SGD/pg<N>`, YOLO `x/lr<N>`, `lr/pg<N>`) give one η when they
 * agree over the window; otherwise the first group's, with a note. With no series, the stated η.
 */
function resolveLr(run: Run, loss: ScalarSeries | undefined, converged: ConvergedLoss | null): LrResolution {
  const stated = run.hparams.lr;
  const fromSeries = stated?.source.startsWith('logged series ') ?? false;
  const statedOut = { lr: stated?.value ?? null, source: stated?.source ?? null };
  const s = lrSeries(run);
  if (!s || !run.lrTag) return { ...statedOut, hasSchedule: false, notes: [] };
  const notes: string[] = [];
  const lossEnd = loss && loss.steps.length ? loss.steps[loss.steps.length - 1] : Number.POSITIVE_INFINITY;
  const tailStart = converged?.tail_start_step ?? (loss && loss.steps.length ? loss.steps[0] : Number.NEGATIVE_INFINITY);
  const windowText = Number.isFinite(tailStart) && Number.isFinite(lossEnd) ? `steps ${tailStart}–${lossEnd}` : 'the whole run';
  let tag = run.lrTag;
  let w = lrOverWindow(s, tailStart, lossEnd, SAME_LR);
  const groups = lrGroupTags(run.scalars, run.lrTag);
  if (groups.length > 1) {
    const per = groups.map((g) => ({ g, w: lrOverWindow(run.scalars[g], tailStart, lossEnd, SAME_LR) })).filter((x) => x.w.atStart !== undefined);
    const agree = per.every((x) => x.w.values.length === per[0].w.values.length && x.w.values.every((v, i) => Math.abs(v - per[0].w.values[i]) <= SAME_LR * Math.max(Math.abs(v), Math.abs(per[0].w.values[i]))));
    if (per.length > 0) {
      tag = per[0].g;
      w = per[0].w;
      if (!agree) {
        notes.push(`its ${per.length} parameter groups have different learning rates over ${windowText} (${per.map((x) => `${x.g} = ${fmt(x.w.values[x.w.values.length - 1])}`).join(', ')}): η is the first group's, '${tag}'`);
      }
    }
  }
  if (w.atStart === undefined || w.min === undefined || w.max === undefined || !(w.min > 0)) {
    return { ...statedOut, hasSchedule: false, notes };
  }
  const user = stated && USER_LR_SOURCES.has(stated.source);
  if (w.max / w.min > SCHEDULE_RATIO) {
    const path = [w.values[0], ...w.changes.map((c) => c.lr)];
    const shown = path.length <= 4 ? path.map(fmt).join(' → ') : `${fmt(path[0])} → … → ${fmt(path[path.length - 1])}`;
    notes.push(`η changed inside the window where the converged loss is measured (${windowText}: '${tag}' ${shown}, ${w.changes.length} change${w.changes.length === 1 ? '' : 's'}): not fitted as one η; its constant-η segments are measured as step changes instead`);
    return { lr: user || !fromSeries ? statedOut.lr : null, source: user || !fromSeries ? statedOut.source : null, hasSchedule: true, notes };
  }
  let value: number;
  let source: string;
  if (w.max / w.min <= 1 + SAME_LR) {
    value = w.values[w.values.length - 1];
    source = `logged series '${tag}', in force over the converged-loss window (${windowText})`;
  } else {
    value = w.values.reduce((a, b) => a + b, 0) / w.values.length;
    source = `logged series '${tag}', mean over the converged-loss window (${windowText})`;
    notes.push(`η drifts by ${(((w.max - w.min) / w.min) * 100).toFixed(1)}% over ${windowText} ('${tag}' ${fmt(w.min)}–${fmt(w.max)}): its mean, ${fmt(value)}, is used`);
  }
  const all = s.values.filter((v) => Number.isFinite(v) && v > 0);
  if (all.length && maxOf(all) / minOf(all) > SCHEDULE_RATIO) {
    notes.push(`η changed before the converged-loss window (warmup or decay; '${tag}' ranges ${fmt(minOf(all))}–${fmt(maxOf(all))} over the run): the value in force over ${windowText}, ${fmt(value)}, is used`);
  }
  if (user) return { ...statedOut, hasSchedule: false, notes };
  if (stated && !fromSeries && Math.abs(stated.value - value) > SAME_LR * Math.max(stated.value, value)) {
    notes.push(`${stated.source} states η = ${fmt(stated.value)}, but the logged '${tag}' in force over ${windowText} is ${fmt(value)}: using the logged value`);
  }
  return { lr: value, source, hasSchedule: false, notes };
}

export function observeRun(run: Run, tag: string | null, opts: ObservationOptions): RunObservation {
  const series = tag ? run.scalars[tag] : undefined;
  const converged = series ? convergedLoss(series, { file: run.files[0] }) : null;
  const { lr, source, hasSchedule, notes: lrNotes } = resolveLr(run, series, converged);
  const flags = [...(converged?.flags ?? [])];
  if (!series) flags.push('no_loss_tag');
  // A constant tail has no noise to measure: its "standard error" is float rounding, and weighting
  // by it would let one frozen or constant logged value dictate the fit.
  let stderr = converged?.stderr ?? null;
  if (converged && converged.mean !== null && stderr !== null && stderr <= 1e-12 * Math.max(1, Math.abs(converged.mean))) {
    flags.push('zero_variance');
    stderr = null;
  }
  const point: ObservedPoint = {
    run: run.id,
    name: run.name,
    lr,
    loss: converged?.mean ?? null,
    stderr,
    n_used: converged?.n_used ?? 0,
    stationary: converged?.stationary ?? false,
    used_in_fit: false,
    flags,
  };
  if (opts.excludeRuns?.has(run.id)) point.excluded_reason = 'excluded by the user';
  else if (hasSchedule) point.excluded_reason = 'learning-rate schedule: η changes inside the converged-loss window; measured through its constant-η segments (step changes) instead';
  return { run, lr, lrSource: source, hasSchedule, lrNotes, tag, converged, point };
}

export interface ObservedWithFit {
  observed: Observed;
  sweepFit: SweepFit | null;
  /** Degrees of freedom of the slope's standard error (t interval), null for a normal one. */
  slopeDof: number | null;
  warnings: ResultWarning[];
}

/**
 * The observed slope of a set of runs: WLS over the runs with a constant η when they cover ≥ 2 values;
 * otherwise the pooled ΔL/Δη of the step changes in runs with a schedule.
 */
export function observeUnit(obs: RunObservation[], tagChoice: { tag: string | null; reason: string }, lossAtZero: number | null = null): ObservedWithFit {
  const warnings: ResultWarning[] = [];
  for (const o of obs) for (const n of o.lrNotes ?? []) warnings.push({ code: 'lr_series', severity: 'info', message: `Run "${o.run.name}": ${n}.`, run: o.run.id });
  const constant = obs.filter((o) => !o.hasSchedule && o.point.excluded_reason === undefined);
  const distinctLrs = new Set(constant.map((o) => o.lr).filter((x): x is number => x !== null && x > 0));
  const events: ScheduleEvent[] = [];
  // Step changes are measured in every run whose logged η changes, also before its converged-loss window
  // (such a run joins a sweep at the η of its window; its events serve when there is no sweep).
  for (const o of obs.filter((x) => (x.hasSchedule || isSchedule(lrSeries(x.run))) && x.tag && x.point.excluded_reason !== 'excluded by the user')) {
    const a = analyseSchedule(lrSeries(o.run) as ScalarSeries, o.run.scalars[o.tag as string], { run: o.run.id });
    events.push(...a.events);
  }
  const base: Observed = {
    tag: tagChoice.tag,
    tag_reason: tagChoice.reason,
    points: obs.map((o) => o.point),
    slope: null,
    slope_stderr: null,
    intercept: null,
    intercept_stderr: null,
    fit: { method: 'none', n_points: 0, chi2: null, dof: null, p_value: null, lr_max_used: null, quadratic: null, notes: [] },
    events,
  };

  if (distinctLrs.size >= 2) {
    const fit = fitSweep(
      constant.map((o) => ({ run: o.run.id, lr: o.lr, loss: o.point.loss, stderr: o.point.stderr, flags: o.point.flags, stationary: o.point.stationary })),
      { knownLossAtZero: lossAtZero },
    );
    for (const d of fit.points) {
      const p = base.points.find((x) => x.run === d.run);
      if (!p) continue;
      p.used_in_fit = d.used_in_fit;
      if (d.excluded_reason) p.excluded_reason = d.excluded_reason;
    }
    base.fit = observedFitOfSweep(fit);
    base.slope = fit.slope;
    base.slope_stderr = fit.slope_stderr;
    let slopeDof = fit.slope_dof;
    if (lossAtZero !== null && fit.quadratic && Number.isFinite(fit.quadratic.slope_stderr) && fit.quadratic.slope_stderr > 0) {
      // With L* known the secants (L − L*)/η = s + qη remove the O(η) bias of a straight line over a
      // finite range at little cost in precision (THEORY.md §5): report s from that fit.
      base.slope = fit.quadratic.slope;
      base.slope_stderr = fit.quadratic.slope_stderr;
      slopeDof = null;
      for (const p of base.points) {
        const usable = fit.points.find((d) => d.run === p.run);
        if (usable && !usable.used_in_fit && usable.excluded_reason?.startsWith('beyond the linear range')) {
          p.used_in_fit = true;
          delete p.excluded_reason;
        }
      }
      const used = base.points.filter((p) => p.used_in_fit && p.lr !== null && p.loss !== null && p.stderr !== null && p.stderr > 0);
      // χ² of the secant fit itself: Σ ((L − L* − sη − qη²)/SE)² on n − 2 dof.
      const q = fit.quadratic.q;
      const chi2 = used.reduce((a, p) => a + (((p.loss as number) - lossAtZero - (base.slope as number) * (p.lr as number) - q * (p.lr as number) ** 2) / (p.stderr as number)) ** 2, 0);
      const dof = used.length - 2;
      const pValue = dof > 0 ? chiSquareSurvival(chi2, dof) : null;
      const birge = pValue !== null && pValue < 0.05 && chi2 > dof ? Math.sqrt(chi2 / dof) : null;
      if (birge !== null) {
        base.slope_stderr = (base.slope_stderr as number) * birge;
        slopeDof = dof;
      }
      base.intercept = lossAtZero;
      base.intercept_stderr = 0;
      base.slope_intercept_cov = 0;
      base.fit = {
        method: 'wls_sweep',
        n_points: used.length,
        chi2: dof > 0 ? chi2 : null,
        dof: dof > 0 ? dof : null,
        p_value: pValue,
        lr_max_used: maxOf(used.map((p) => p.lr as number)),
        quadratic: { q, q_stderr: fit.quadratic.q_stderr },
        notes: [
          `slope at η → 0 from the secants (L − L*)/η = s + qη with L* = ${lossAtZero.toPrecision(6)}, the checkpoint's loss (THEORY.md §5)`,
          `a straight line through L* over the linear range gives ${fit.slope?.toPrecision(4)} ± ${fit.slope_stderr?.toPrecision(2)}`,
          ...(birge !== null ? [`standard error scaled by the Birge ratio √(χ²/dof) = ${birge.toFixed(2)}`] : []),
        ],
      };
    }
    base.intercept = fit.intercept;
    base.intercept_stderr = fit.intercept_stderr;
    if (fit.slope_intercept_cov !== null) base.slope_intercept_cov = fit.slope_intercept_cov;
    return { observed: base, sweepFit: fit, slopeDof, warnings };
  }

  if (events.length > 0) {
    const pooled = pooledEventSlope(events);
    base.fit = {
      method: 'schedule_events',
      n_points: pooled.n_events,
      chi2: pooled.chi2,
      dof: pooled.dof,
      p_value: pooled.p_value,
      lr_max_used: null,
      quadratic: null,
      notes: pooled.notes,
    };
    base.slope = pooled.slope;
    base.slope_stderr = pooled.slope_stderr;
    return { observed: base, sweepFit: null, slopeDof: null, warnings };
  }

  const why =
    constant.length === 0 && obs.length > 0
      ? 'no run with a usable learning rate and loss'
      : `only ${distinctLrs.size} learning rate${distinctLrs.size === 1 ? '' : 's'}: a slope needs a sweep over ≥ 2 values of η, or a run with step decays`;
  base.fit.notes.push(why);
  if (obs.some((o) => o.lr === null && !o.hasSchedule)) {
    warnings.push({ code: 'lr_unknown', severity: 'warning', message: `No learning rate stated for ${obs.filter((o) => o.lr === null && !o.hasSchedule).map((o) => o.run.name).join(', ')}: set it (heatcap analyze --set-lr <run>=<η>, or "Set Learning Rate of Run…" in the runs view).` });
  }
  return { observed: base, sweepFit: null, slopeDof: null, warnings };
}
