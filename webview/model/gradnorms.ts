/**
 * The per-example gradient-norm charts as plain data: the histogram of log10 ‖g_b‖² with the mean
 * marked, and each weight's share of E‖g_b‖² (squared norms of different weights add up, so the
 * shares are exact fractions of the total).
 */
import type { GradNormSummary } from '../../src/core/result/schema';
import { formatNumber, intText, isFiniteNumber } from '../../src/core/report/format';
import type { Marker } from './sweep';

export interface HistogramBar {
  /** Bin centre in log10 ‖g_b‖². */
  x: number;
  y: number;
  lo: number;
  hi: number;
}

export interface HistogramModel {
  bars: HistogramBar[];
  /** Bin width in log10 units (the bars are drawn touching). */
  width: number;
  markers: Marker[];
  xDomain: [number, number];
  notes: string[];
  summary: string;
}

export function histogramModel(g: GradNormSummary): HistogramModel {
  const { log10_edges: edges, counts, zeros } = g.histogram;
  const bars: HistogramBar[] = [];
  for (let i = 0; i < counts.length && i + 1 < edges.length; i++) {
    const lo = edges[i];
    const hi = edges[i + 1];
    if (!isFiniteNumber(lo) || !isFiniteNumber(hi) || !isFiniteNumber(counts[i])) continue;
    bars.push({ x: (lo + hi) / 2, y: counts[i], lo, hi });
  }
  const notes: string[] = [];
  if (zeros > 0) notes.push(`${zeros} example${zeros === 1 ? ' has' : 's have'} ‖g_b‖² = 0 (not on the log axis).`);
  const markers: Marker[] = [];
  const meanLog = g.mean_sq_norm > 0 ? Math.log10(g.mean_sq_norm) : null;
  if (meanLog !== null) markers.push({ x: meanLog, label: `mean ${formatNumber(g.mean_sq_norm)}`, kind: 'mean' });
  else notes.push('The mean ‖g_b‖² is 0 and cannot be marked on a log axis.');
  const xs = bars.flatMap((b) => [b.lo, b.hi]).concat(meanLog === null ? [] : [meanLog]);
  const xDomain: [number, number] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [-1, 1];
  const width = bars.length ? Math.min(...bars.map((b) => b.hi - b.lo)) : 1;
  return {
    bars,
    width,
    markers,
    xDomain,
    notes,
    summary: `Histogram of ‖g_b‖² over ${intText(g.n)} examples on a log axis; mean ${formatNumber(g.mean_sq_norm)}.`,
  };
}

export interface WeightBar {
  name: string;
  share: number;
  meanSqNorm: number;
  size: number;
}

export interface WeightsModel {
  bars: WeightBar[];
  notes: string[];
  summary: string;
}

/** At most this many bars; the rest are summed into one "others" bar so labels stay readable. */
export const MAX_WEIGHT_BARS = 24;

export function weightsModel(g: GradNormSummary): WeightsModel {
  const valid = g.per_weight.filter((w) => isFiniteNumber(w.mean_sq_norm) && w.mean_sq_norm >= 0);
  const total = valid.reduce((s, w) => s + w.mean_sq_norm, 0);
  const notes: string[] = [];
  if (total <= 0) {
    return { bars: [], notes: ['No per-weight contributions (all zero or missing).'], summary: 'No per-weight contributions.' };
  }
  const sorted = [...valid].sort((a, b) => b.mean_sq_norm - a.mean_sq_norm);
  const shown = sorted.length > MAX_WEIGHT_BARS ? sorted.slice(0, MAX_WEIGHT_BARS - 1) : sorted;
  const bars: WeightBar[] = shown.map((w) => ({ name: w.name, share: w.mean_sq_norm / total, meanSqNorm: w.mean_sq_norm, size: w.size }));
  if (sorted.length > shown.length) {
    const rest = sorted.slice(shown.length);
    const sum = rest.reduce((s, w) => s + w.mean_sq_norm, 0);
    bars.push({ name: `${rest.length} other weights`, share: sum / total, meanSqNorm: sum, size: rest.reduce((s, w) => s + w.size, 0) });
    notes.push(`The ${rest.length} smallest contributions are summed into one bar; the table lists every weight.`);
  }
  const top = bars[0];
  return { bars, notes, summary: `Share of E‖g_b‖² per weight; largest: ${top.name} (${(top.share * 100).toFixed(1)}%).` };
}
