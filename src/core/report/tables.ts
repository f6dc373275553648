/**
 * Every chart's data as a table: the panel's "table view" (accessibility, copying numbers), the HTML
 * report and the Markdown report all render these, so a figure reads the same everywhere.
 */
import type { AnalysisResult, ScheduleEvent } from '../result/schema';
import { type Cell, count, formatNumber, intText, isFiniteNumber, missing, num, percent, plusMinus, ratio as ratioCell, yesNo } from './format';
import { fitAt, fitLine } from './fitLine';

export interface Table {
  /** Stable id, also used for file names of exports. */
  id: string;
  caption: string;
  columns: string[];
  rows: Cell[][];
  /** Shown under the table (what the columns mean, what was left out). */
  note?: string;
}

const text = (t: string): Cell => ({ text: t });

/** L(η) predicted by the predicted slope, anchored at the fitted intercept (the η → 0 level). */
export function predictedLossAt(result: AnalysisResult, lr: number): number | null {
  const s = result.predicted?.slope;
  const a = result.observed.intercept;
  return isFiniteNumber(s) && isFiniteNumber(a) ? a + s * lr : null;
}

export function pointsTable(result: AnalysisResult): Table {
  const line = fitLine(result.observed);
  const rows = result.observed.points.map((p): Cell[] => {
    const fitted =
      'reason' in line ? missing(line.reason) : isFiniteNumber(p.lr) ? num(fitAt(line, p.lr).y, '') : missing('no η');
    const predicted = isFiniteNumber(p.lr)
      ? num(predictedLossAt(result, p.lr), result.predicted ? 'no predicted slope or intercept' : 'no prediction')
      : missing('no η');
    const note = [p.excluded_reason ?? '', ...p.flags].filter(Boolean).join('; ');
    return [
      text(p.name),
      num(p.lr, 'η unknown'),
      plusMinus(p.loss, p.stderr, 'no converged loss'),
      count(p.n_used, 'unknown'),
      yesNo(p.stationary, 'unknown'),
      yesNo(p.used_in_fit, 'unknown'),
      fitted,
      predicted,
      note ? text(note) : text(''),
    ];
  });
  return {
    id: 'sweep',
    caption: 'Converged loss vs learning rate',
    columns: ['Run', 'η', 'Converged loss ± SE', 'Values averaged', 'Stationary', 'In fit', 'Fitted L(η)', 'Predicted L(η)', 'Note'],
    rows,
    note: 'SE: standard error of the tail mean (batch means). Predicted L(η) = fitted intercept + predicted slope · η.',
  };
}

/** ΔL and its standard error for one schedule event (independent plateaus: variances add). */
export function eventDrop(e: ScheduleEvent): { drop: number | null; se: number | null } {
  if (!isFiniteNumber(e.loss_before) || !isFiniteNumber(e.loss_after)) return { drop: null, se: null };
  const se =
    isFiniteNumber(e.loss_before_stderr) && isFiniteNumber(e.loss_after_stderr)
      ? Math.hypot(e.loss_before_stderr, e.loss_after_stderr)
      : null;
  return { drop: e.loss_before - e.loss_after, se };
}

/** Predicted drop s·Δη at a step change η_before → η_after (THEORY.md §5, single run with step decays). */
export function predictedDrop(result: AnalysisResult, e: ScheduleEvent): number | null {
  const s = result.predicted?.slope;
  return isFiniteNumber(s) && isFiniteNumber(e.lr_before) && isFiniteNumber(e.lr_after) ? s * (e.lr_before - e.lr_after) : null;
}

export function eventsTable(result: AnalysisResult): Table {
  const runName = new Map(result.runs.map((r) => [r.id, r.name]));
  const rows = result.observed.events.map((e): Cell[] => {
    const { drop, se } = eventDrop(e);
    const pd = predictedDrop(result, e);
    const ratio = isFiniteNumber(drop) && isFiniteNumber(pd) && pd !== 0 ? drop / pd : null;
    return [
      text(runName.get(e.run) ?? e.run),
      count(e.step, 'unknown'),
      text(`${formatNumber(e.lr_before)} → ${formatNumber(e.lr_after)}`),
      plusMinus(e.loss_before, e.loss_before_stderr, 'plateau not measured'),
      plusMinus(e.loss_after, e.loss_after_stderr, 'level not measured'),
      plusMinus(drop, se, 'a level is missing'),
      num(pd, result.predicted ? 'no predicted slope' : 'no prediction'),
      ratioCell(ratio, 'needs both drops'),
      yesNo(e.settled, 'unknown'),
    ];
  });
  return {
    id: 'events',
    caption: 'Learning-rate steps: observed vs predicted loss drop',
    columns: ['Run', 'Step', 'η before → after', 'Loss before ± SE', 'Loss after ± SE', 'Observed drop ± SE', 'Predicted drop s·Δη', 'Observed / predicted', 'Settled'],
    rows,
    note: 'Settled: the level after the change stopped moving before the next change or the end of the run.',
  };
}

export function histogramTable(result: AnalysisResult): Table | null {
  const g = result.gradnorms;
  if (!g) return null;
  const { log10_edges: edges, counts, zeros } = g.histogram;
  const rows: Cell[][] = [];
  for (let i = 0; i < counts.length && i + 1 < edges.length; i++) {
    rows.push([text(`${formatNumber(10 ** edges[i], 3)} – ${formatNumber(10 ** edges[i + 1], 3)}`), count(counts[i], 'unknown')]);
  }
  if (zeros > 0) rows.push([text('exactly 0'), count(zeros, 'unknown')]);
  return {
    id: 'histogram',
    caption: 'Per-example squared gradient norm ‖g_b‖²',
    columns: ['‖g_b‖² range', 'Examples'],
    rows,
    note: `${intText(g.n)} examples; mean ‖g_b‖² = ${formatNumber(g.mean_sq_norm)}; bins are equal in log10 ‖g_b‖².`,
  };
}

export function topTable(result: AnalysisResult): Table | null {
  const g = result.gradnorms;
  if (!g) return null;
  const rows = g.top.map((t, i): Cell[] => [
    count(i + 1, ''),
    count(t.index, 'unknown'),
    t.label === undefined || t.label === null ? missing('no label') : text(String(t.label)),
    num(t.sq_norm, 'unknown'),
    num(g.mean_sq_norm > 0 ? t.sq_norm / g.mean_sq_norm : null, 'mean is zero', 3),
  ]);
  return {
    id: 'top',
    caption: 'Examples with the largest ‖g_b‖²',
    columns: ['Rank', 'Index', 'Label', '‖g_b‖²', '× mean'],
    rows,
  };
}

export function perWeightTable(result: AnalysisResult): Table | null {
  const g = result.gradnorms;
  if (!g) return null;
  const total = g.per_weight.reduce((s, w) => s + (isFiniteNumber(w.mean_sq_norm) ? w.mean_sq_norm : 0), 0);
  const rows = g.per_weight.map((w): Cell[] => [
    text(w.name),
    count(w.size, 'unknown'),
    num(w.mean_sq_norm, 'unknown'),
    percent(total > 0 && isFiniteNumber(w.mean_sq_norm) ? w.mean_sq_norm / total : null, 'total is zero'),
  ]);
  return {
    id: 'weights',
    caption: 'Contribution of each weight to E‖g_b‖²',
    columns: ['Weight', 'Size', 'Mean ‖g_b‖²', 'Share'],
    rows,
    note: 'Squared norms of different weights add up, so the shares sum to 100%.',
  };
}

export function runsTable(result: AnalysisResult): Table {
  const rows = result.runs.map((r): Cell[] => [
    text(r.name),
    text(r.path),
    text(r.format),
    r.lr_source && isFiniteNumber(r.lr) ? text(`${formatNumber(r.lr)} (${r.lr_source})`) : num(r.lr, 'not stated in any log or config'),
    num(r.batch_size, 'unknown', 6),
    num(r.momentum, 'unknown'),
    r.tag ? text(r.tag) : missing('no loss tag'),
    plusMinus(r.converged_loss, r.converged_stderr, 'not converged or no loss'),
    yesNo(r.stationary, 'not tested'),
    text(r.warnings.join('; ')),
  ]);
  return {
    id: 'runs',
    caption: 'Runs',
    columns: ['Run', 'Path', 'Format', 'η (source)', 'B', 'Momentum', 'Loss tag', 'Converged loss ± SE', 'Stationary', 'Warnings'],
    rows,
  };
}

/** The loss-curve chart summarised per run: the full series are in the JSON export. */
export function curvesTable(result: AnalysisResult): Table {
  const rows = result.runs.map((r): Cell[] => {
    const vals: number[] = [];
    let first: number | null = null;
    let last: number | null = null;
    for (let i = 0; i < r.curve.values.length; i++) {
      const v = r.curve.values[i];
      if (!isFiniteNumber(v)) continue;
      vals.push(v);
      if (first === null) first = v;
      last = v;
    }
    const steps = r.curve.steps;
    const min = vals.length ? vals.reduce((a, b) => Math.min(a, b)) : null;
    const lrs = r.lr_curve ? new Set(r.lr_curve.values.filter(isFiniteNumber)).size : 0;
    return [
      text(r.name),
      steps.length ? text(`${steps[0]} – ${steps[steps.length - 1]}`) : missing('no values'),
      count(vals.length, ''),
      num(first, 'no values'),
      num(last, 'no values'),
      num(min, 'no values'),
      r.lr_curve ? count(lrs, '') : missing('no logged η series'),
    ];
  });
  return {
    id: 'curves',
    caption: 'Loss curves',
    columns: ['Run', 'Steps', 'Points drawn', 'First loss', 'Last loss', 'Lowest loss', 'Distinct η values'],
    rows,
    note: 'Per-run summary of the drawn curves; the full series are in the JSON export.',
  };
}
