/**
 * The loss-curve chart as plain data: one line per run (gaps where the log has no finite value), the
 * logged η schedule on a second axis when some run changes η, and a marker at every schedule event
 * with its observed and predicted drop (THEORY.md §5, single run with step decays).
 */
import type { AnalysisResult } from '../../src/core/result/schema';
import { formatNumber, formatRatio, intText, isFiniteNumber } from '../../src/core/report/format';
import { eventDrop, predictedDrop } from '../../src/core/report/tables';

export interface GapXY {
  x: number;
  /** null breaks the line (a NaN or missing value in the log). */
  y: number | null;
}

export interface CurveSeries {
  runId: string;
  label: string;
  /** Position of the run in `result.runs`: picks its colour, stable when others are hidden. */
  colorIndex: number;
  loss: GapXY[];
  /** The logged η, drawn as steps; null when the run logs none. */
  lr: { x: number; y: number }[] | null;
}

export interface EventMarker {
  runId: string;
  colorIndex: number;
  x: number;
  y: number;
  detail: string[];
}

export interface CurvesModel {
  series: CurveSeries[];
  events: EventMarker[];
  /** True when some drawn run's η changes: only then is the η axis worth its space. */
  showLrAxis: boolean;
  logLoss: boolean;
  /** Loss-axis bounds when zoomed to the tail; null for the automatic full range. */
  yRange: [number, number] | null;
  notes: string[];
  summary: string;
}

/** The tail is the last 80% of each run's steps: past the initial transient, which is what a sweep compares. */
export const TAIL_FRACTION = 0.8;

function quantile(sorted: number[], p: number): number {
  const i = (sorted.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

/**
 * Loss-axis bounds covering the 1st–99th percentile of the tail values of the drawn runs (and every
 * event marker), padded by 8% (in log space on a log axis). TensorBoard's "ignore outliers" does the
 * same kind of thing; the chart says so, and the toggle turns it off.
 */
export function tailRange(series: CurveSeries[], events: EventMarker[], logLoss: boolean): [number, number] | null {
  const vals: number[] = [];
  for (const s of series) {
    const xs = s.loss.map((p) => p.x);
    if (xs.length === 0) continue;
    const from = xs[0] + (1 - TAIL_FRACTION) * (xs[xs.length - 1] - xs[0]);
    for (const p of s.loss) if (p.x >= from && p.y !== null) vals.push(logLoss ? Math.log10(p.y) : p.y);
  }
  if (vals.length < 2) return null;
  vals.sort((a, b) => a - b);
  let lo = quantile(vals, 0.01);
  let hi = quantile(vals, 0.99);
  for (const e of events) {
    const y = logLoss ? Math.log10(e.y) : e.y;
    lo = Math.min(lo, y);
    hi = Math.max(hi, y);
  }
  if (!(hi > lo)) return null;
  const pad = 0.08 * (hi - lo);
  return logLoss ? [10 ** (lo - pad), 10 ** (hi + pad)] : [lo - pad, hi + pad];
}

export function curvesModel(result: AnalysisResult, opts: { logLoss: boolean; zoomTail: boolean; hiddenRuns: readonly string[] }): CurvesModel {
  const hidden = new Set(opts.hiddenRuns);
  const notes: string[] = [];
  let dropped = 0;
  const series: CurveSeries[] = [];
  const colorOf = new Map<string, number>();
  result.runs.forEach((r, i) => colorOf.set(r.id, i));
  let showLrAxis = false;
  for (const [i, r] of result.runs.entries()) {
    if (hidden.has(r.id)) continue;
    const n = Math.min(r.curve.steps.length, r.curve.values.length);
    const loss: GapXY[] = [];
    for (let k = 0; k < n; k++) {
      const x = r.curve.steps[k];
      if (!isFiniteNumber(x)) continue;
      const v = r.curve.values[k];
      let y = isFiniteNumber(v) ? v : null;
      if (y !== null && opts.logLoss && y <= 0) {
        y = null;
        dropped++;
      }
      loss.push({ x, y });
    }
    let lr: { x: number; y: number }[] | null = null;
    if (r.lr_curve) {
      lr = [];
      const m = Math.min(r.lr_curve.steps.length, r.lr_curve.values.length);
      for (let k = 0; k < m; k++) {
        const x = r.lr_curve.steps[k];
        const y = r.lr_curve.values[k];
        if (isFiniteNumber(x) && isFiniteNumber(y) && y > 0) lr.push({ x, y });
      }
      if (new Set(lr.map((p) => p.y)).size > 1) showLrAxis = true;
    }
    const label = isFiniteNumber(r.lr) ? `${r.name} (η = ${formatNumber(r.lr)})` : r.name;
    series.push({ runId: r.id, label, colorIndex: i, loss, lr });
  }
  if (dropped > 0) notes.push(`${dropped} loss value${dropped === 1 ? '' : 's'} ≤ 0 left out on the log scale.`);

  const events: EventMarker[] = [];
  for (const e of result.observed.events) {
    if (hidden.has(e.run)) continue;
    const y = isFiniteNumber(e.loss_before) ? e.loss_before : e.loss_after;
    if (!isFiniteNumber(y) || (opts.logLoss && y <= 0)) continue;
    const { drop, se } = eventDrop(e);
    const pd = predictedDrop(result, e);
    const detail = [
      `step ${intText(e.step)}: η ${formatNumber(e.lr_before)} → ${formatNumber(e.lr_after)}`,
      isFiniteNumber(drop) ? `observed drop ${formatNumber(drop)}${isFiniteNumber(se) ? ` ± ${formatNumber(se, 2)}` : ''}` : 'observed drop: a level is missing',
      isFiniteNumber(pd) ? `predicted drop ${formatNumber(pd)}` : 'predicted drop: no prediction',
    ];
    if (isFiniteNumber(drop) && isFiniteNumber(pd) && pd !== 0) detail.push(`observed / predicted = ${formatRatio(drop / pd)}`);
    if (!e.settled) detail.push('the level after the change had not settled');
    events.push({ runId: e.run, colorIndex: colorOf.get(e.run) ?? 0, x: e.step, y, detail });
  }

  const yRange = opts.zoomTail ? tailRange(series, events, opts.logLoss) : null;
  if (yRange) notes.push('Loss axis zoomed to the last 80% of each run (1st–99th percentile); turn off “zoom to tail” to see the whole curves.');

  const summary =
    `Loss curves of ${series.length} run${series.length === 1 ? '' : 's'}` +
    (hidden.size ? ` (${hidden.size} hidden)` : '') +
    (events.length ? `, ${events.length} learning-rate step${events.length === 1 ? '' : 's'} marked` : '') +
    '.';
  return { series, events, showLrAxis, logLoss: opts.logLoss, yRange, notes, summary };
}
