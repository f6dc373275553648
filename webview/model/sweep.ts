/**
 * The "converged loss vs η" chart as plain data: observed points with ±1 SE error bars, the fitted
 * line with its 95% band, the predicted line, for random reshuffling the i.i.d. upper bound and the
 * quadratic-model curve, and with a finite-η prediction (THEORY.md §4, §6) the predicted curve
 * L* + (L(η) − L*) and both stability limits as vertical lines. Pure: the DOM layer only maps this onto
 * Chart.js datasets.
 */
import type { AnalysisResult } from '../../src/core/result/schema';
import { fitAt, fitLine } from '../../src/core/report/fitLine';
import { formatNumber, isFiniteNumber } from '../../src/core/report/format';

export interface XY {
  x: number;
  y: number;
}

export interface SweepPoint extends XY {
  yMin: number;
  yMax: number;
  runId: string;
  name: string;
  usedInFit: boolean;
  /** Tooltip lines. */
  detail: string[];
}

export interface Marker {
  x: number;
  label: string;
  kind: 'focus' | 'limit' | 'mean';
}

export interface SweepModel {
  logX: boolean;
  xDomain: [number, number];
  fitted: SweepPoint[];
  excluded: SweepPoint[];
  /** Runs that cannot be drawn, with the reason (no η, no converged loss, η ≤ 0 on a log axis). */
  unplotted: { name: string; reason: string }[];
  fit: XY[] | null;
  bandLo: XY[] | null;
  bandHi: XY[] | null;
  predicted: XY[] | null;
  upperBound: XY[] | null;
  reshuffleCurve: XY[] | null;
  /** The finite-η curve L* + (L(η) − L*), anchored where the predicted line is (the fitted intercept). */
  finiteCurve: XY[] | null;
  /** The finite-η block has limits beyond the observed η range (the "η to the limits" toggle shows them). */
  limitsBeyond: boolean;
  markers: Marker[];
  /** Why a line is missing, one sentence each (shown under the chart). */
  notes: string[];
  /** Short description for the canvas's aria-label. */
  summary: string;
}

/** Samples per drawn line: the band is curved (a square root of a quadratic in η). */
const SAMPLES = 48;

/** Evenly spaced in η, or in log η on a log axis, so curves look smooth on either scale. */
export function sampleLr(lo: number, hi: number, logX: boolean, n = SAMPLES): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = i / (n - 1);
    out.push(logX ? Math.exp(Math.log(lo) + t * (Math.log(hi) - Math.log(lo))) : lo + t * (hi - lo));
  }
  return out;
}

function domain(lrs: number[], logX: boolean): [number, number] {
  const pos = lrs.filter((x) => x > 0);
  if (pos.length === 0) return logX ? [1e-4, 1] : [0, 1];
  const lo = Math.min(...pos);
  const hi = Math.max(...pos);
  if (logX) return lo === hi ? [lo / 2, hi * 2] : [lo / 1.4, hi * 1.4];
  return [0, hi * 1.08];
}

/** The finite-η block's limits that are known, largest last. */
function finiteLimits(result: AnalysisResult): { x: number; label: string }[] {
  const fe = result.predicted?.finite_eta;
  if (!fe) return [];
  const out: { x: number; label: string }[] = [];
  if (isFiniteNumber(fe.limits.mean_square) && fe.limits.mean_square > 0) out.push({ x: fe.limits.mean_square, label: `mean-square limit ${formatNumber(fe.limits.mean_square)}` });
  if (isFiniteNumber(fe.limits.deterministic) && fe.limits.deterministic > 0) out.push({ x: fe.limits.deterministic, label: `2/λ_max limit ${formatNumber(fe.limits.deterministic)}` });
  return out.sort((a, b) => a.x - b.x);
}

export function sweepModel(result: AnalysisResult, opts: { logX: boolean; focusLr: number | null; toLimits?: boolean }): SweepModel {
  const { logX, focusLr } = opts;
  const obs = result.observed;
  const fitted: SweepPoint[] = [];
  const excluded: SweepPoint[] = [];
  const unplotted: { name: string; reason: string }[] = [];
  const notes: string[] = [];

  for (const p of obs.points) {
    if (!isFiniteNumber(p.lr)) {
      unplotted.push({ name: p.name, reason: p.excluded_reason ?? 'η unknown' });
      continue;
    }
    if (!isFiniteNumber(p.loss)) {
      unplotted.push({ name: p.name, reason: p.excluded_reason ?? 'no converged loss' });
      continue;
    }
    if (logX && p.lr <= 0) {
      unplotted.push({ name: p.name, reason: 'η ≤ 0 cannot be drawn on a log axis' });
      continue;
    }
    const se = isFiniteNumber(p.stderr) ? p.stderr : 0;
    const detail = [
      `η = ${formatNumber(p.lr)}`,
      `loss = ${formatNumber(p.loss, 6)}${isFiniteNumber(p.stderr) ? ` ± ${formatNumber(p.stderr, 2)}` : ' (SE unknown)'}`,
      p.used_in_fit ? 'used in fit' : `not in fit: ${p.excluded_reason ?? 'excluded'}`,
    ];
    if (p.flags.length) detail.push(`flags: ${p.flags.join(', ')}`);
    const pt: SweepPoint = { x: p.lr, y: p.loss, yMin: p.loss - se, yMax: p.loss + se, runId: p.run, name: p.name, usedInFit: p.used_in_fit, detail };
    (p.used_in_fit ? fitted : excluded).push(pt);
  }

  const drawn = [...fitted, ...excluded];
  const lrs = drawn.map((p) => p.x);
  if (isFiniteNumber(focusLr) && focusLr > 0) lrs.push(focusLr);
  const limits = finiteLimits(result);
  if (opts.toLimits) lrs.push(...limits.map((l) => l.x));
  const [x0, x1] = domain(lrs, logX);
  const limitsBeyond = limits.some((l) => l.x > x1);

  let fit: XY[] | null = null;
  let bandLo: XY[] | null = null;
  let bandHi: XY[] | null = null;
  const line = fitLine(obs);
  if ('reason' in line) {
    notes.push(`No fitted line: ${line.reason}.`);
  } else {
    // Draw the fit only over the range it was fitted on; beyond lr_max_used the linear law was rejected.
    const maxUsed = isFiniteNumber(obs.fit.lr_max_used) ? obs.fit.lr_max_used : fitted.length ? Math.max(...fitted.map((p) => p.x)) : x1;
    const xs = sampleLr(x0, maxUsed > x0 ? Math.min(maxUsed, x1) : x1, logX);
    const at = xs.map((x) => ({ x, ...fitAt(line, x) }));
    fit = at.map(({ x, y }) => ({ x, y }));
    if (line.bandReason) notes.push(`No confidence band: ${line.bandReason}.`);
    else {
      bandLo = at.map(({ x, lo }) => ({ x, y: lo as number }));
      bandHi = at.map(({ x, hi: h }) => ({ x, y: h as number }));
    }
  }

  const pred = result.predicted;
  let predicted: XY[] | null = null;
  let upperBound: XY[] | null = null;
  let reshuffleCurve: XY[] | null = null;
  const a = obs.intercept;
  const xs = sampleLr(x0, x1, logX);
  if (!pred) notes.push('No predicted line: no checkpoint was analysed.');
  else if (!isFiniteNumber(a)) notes.push('No predicted line: it is anchored at the fitted intercept, which is unknown.');
  else {
    if (isFiniteNumber(pred.slope)) predicted = xs.map((x) => ({ x, y: a + (pred.slope as number) * x }));
    else notes.push('No predicted line: this regime has no finite slope.');
    if (pred.regime === 'reshuffle_suppressed' && isFiniteNumber(pred.upper_bound)) {
      upperBound = xs.map((x) => ({ x, y: a + (pred.upper_bound as number) * x }));
    }
    const rc = pred.reshuffle_curve;
    if (rc && rc.lr.length === rc.excess.length) {
      reshuffleCurve = rc.lr
        .map((x, i) => ({ x, y: a + rc.excess[i] }))
        .filter((p) => isFiniteNumber(p.x) && isFiniteNumber(p.y) && (!logX || p.x > 0))
        .sort((p, q) => p.x - q.x);
      if (reshuffleCurve.length < 2) reshuffleCurve = null;
    }
  }

  let finiteCurve: XY[] | null = null;
  const fe = pred?.finite_eta;
  if (fe?.status === 'ok' && fe.curve && isFiniteNumber(a)) {
    const c = fe.curve;
    const pts = c.lr
      .map((x, i) => ({ x, y: a + c.excess[i] }))
      .filter((p) => isFiniteNumber(p.x) && isFiniteNumber(p.y) && p.x > 0 && p.x <= x1 * (1 + 1e-12));
    // The curve starts at L* (η = 0) on a linear axis.
    finiteCurve = [...(logX ? [] : [{ x: 0, y: a }]), ...pts].sort((p, q) => p.x - q.x);
    if (finiteCurve.length < 2) finiteCurve = null;
  } else if (fe && fe.status !== 'skipped') {
    notes.push(`No finite-η curve: ${fe.message}`);
  }
  if (fe?.status === 'ok' && fe.curve && !isFiniteNumber(a)) notes.push('No finite-η curve drawn: it is anchored at the fitted intercept, which is unknown.');

  const markers: Marker[] = [];
  if (isFiniteNumber(focusLr)) {
    if (logX && focusLr <= 0) notes.push(`The focused η = ${formatNumber(focusLr)} cannot be drawn on a log axis.`);
    else markers.push({ x: focusLr, label: `η = ${formatNumber(focusLr)}`, kind: 'focus' });
  }
  if (limits.length) {
    for (const l of limits) if (l.x <= x1 && l.x >= x0) markers.push({ x: l.x, label: l.label, kind: 'limit' });
    if (limitsBeyond) notes.push(`Beyond the η range drawn: ${limits.filter((l) => l.x > x1).map((l) => l.label).join(', ')} (“η to the limits” shows them).`);
  } else if (pred && isFiniteNumber(pred.stability_lr) && pred.stability_lr <= x1 && pred.stability_lr >= x0) {
    markers.push({ x: pred.stability_lr, label: 'stability limit', kind: 'limit' });
  }

  const summary =
    `Converged loss against learning rate: ${fitted.length} run${fitted.length === 1 ? '' : 's'} in the fit, ` +
    `${excluded.length} excluded, ${unplotted.length} not drawn.` +
    (isFiniteNumber(obs.slope) ? ` Observed slope ${formatNumber(obs.slope)}.` : '') +
    (pred && isFiniteNumber(pred.slope) ? ` Predicted slope ${formatNumber(pred.slope)}.` : '') +
    (finiteCurve ? ' Finite-η predicted curve drawn.' : '') +
    (limits.length ? ` Stability limits: ${limits.map((l) => l.label).join(', ')}.` : '');

  return { logX, xDomain: [x0, x1], fitted, excluded, unplotted, fit, bandLo, bandHi, predicted, upperBound, reshuffleCurve, finiteCurve, limitsBeyond, markers, notes, summary };
}
