/**
 * Streaming accumulation of per-example gradient statistics. Memory is O(P + k + bins), independent of
 * N; partial states from several workers merge exactly (sums add, top-k lists merge, fixed histogram
 * bins add), so splitting the examples does not change the result beyond float64 summation order.
 */
import type { GradStats as TheoryGradStats } from '../theory/predict';

/** Fixed log10 bins (width 0.05 over [−40, 40]) so partial histograms from workers can be added. */
const HIST_MIN = -40;
const HIST_MAX = 40;
const HIST_WIDTH = 0.05;
const HIST_BINS = Math.round((HIST_MAX - HIST_MIN) / HIST_WIDTH);

/**
 * Which engine computed the statistics: the ONNX gradient program run by ONNX Runtime (`onnx`; its exact
 * per-example loop `onnx-loop`), or TensorFlow.js' exact per-example loop (`naive`).
 */
export type EngineName = 'naive' | 'onnx' | 'onnx-loop';

export interface TopEntry {
  index: number;
  sqNorm: number;
}

/** A worker's (or a range's) partial sums; plain data so it can cross a worker_threads boundary. */
export interface PartialStats {
  n: number;
  /** Σ_b ℓ_b (regulariser included). */
  lossSum: number;
  /** Σ_b ‖g_b‖². */
  sqSum: number;
  /** Σ_b ‖g_b‖⁴ (for the spread of ‖g_b‖²). */
  sqSqSum: number;
  /** Σ_b ‖g_b restricted to weight tensor w‖², per weight tensor. */
  perWeightSq: number[];
  /** Σ_b h_b where g_b = h_b + r (r: the penalty gradient, added back in finalize). */
  hSum: Float64Array;
  /** Σ_b h_b² per parameter, when the diagonal second moment was asked for. */
  hSqSum: Float64Array | null;
  top: TopEntry[];
  hist: Float64Array;
  zeros: number;
}

export function emptyPartial(paramCount: number, weightCount: number, diagonal: boolean): PartialStats {
  return {
    n: 0,
    lossSum: 0,
    sqSum: 0,
    sqSqSum: 0,
    perWeightSq: new Array(weightCount).fill(0),
    hSum: new Float64Array(paramCount),
    hSqSum: diagonal ? new Float64Array(paramCount) : null,
    top: [],
    hist: new Float64Array(HIST_BINS),
    zeros: 0,
  };
}

/** Keeps the k largest (ties: the smaller index first, so results do not depend on chunking). */
function better(a: TopEntry, b: TopEntry): boolean {
  return a.sqNorm > b.sqNorm || (a.sqNorm === b.sqNorm && a.index < b.index);
}

export function pushTop(top: TopEntry[], e: TopEntry, k: number): void {
  if (k <= 0) return;
  if (top.length === k && !better(e, top[k - 1])) return;
  let i = top.length < k ? top.length : k - 1;
  if (top.length < k) top.push(e);
  while (i > 0 && better(e, top[i - 1])) {
    top[i] = top[i - 1];
    i--;
  }
  top[i] = e;
}

function histBin(sq: number): number {
  const b = Math.floor((Math.log10(sq) - HIST_MIN) / HIST_WIDTH);
  return Math.min(HIST_BINS - 1, Math.max(0, b));
}

/** Adds one chunk of examples: their losses and per-weight squared norms (full g_b, penalty included). */
export function addExamples(
  s: PartialStats,
  start: number,
  losses: ArrayLike<number>,
  perWeightSq: ArrayLike<number>[],
  topK: number,
  out?: Float64Array,
): void {
  const B = losses.length;
  for (let b = 0; b < B; b++) {
    let sq = 0;
    for (let w = 0; w < perWeightSq.length; w++) {
      const v = perWeightSq[w][b];
      s.perWeightSq[w] += v;
      sq += v;
    }
    s.lossSum += losses[b];
    s.sqSum += sq;
    s.sqSqSum += sq * sq;
    if (out) out[b] = sq;
    if (sq > 0) s.hist[histBin(sq)]++;
    else s.zeros++;
    pushTop(s.top, { index: start + b, sqNorm: sq }, topK);
  }
  s.n += B;
}

export function mergePartials(parts: PartialStats[], topK: number): PartialStats {
  const first = parts[0];
  const m = emptyPartial(first.hSum.length, first.perWeightSq.length, first.hSqSum !== null);
  for (const p of parts) {
    m.n += p.n;
    m.lossSum += p.lossSum;
    m.sqSum += p.sqSum;
    m.sqSqSum += p.sqSqSum;
    p.perWeightSq.forEach((v, i) => (m.perWeightSq[i] += v));
    for (let i = 0; i < p.hSum.length; i++) m.hSum[i] += p.hSum[i];
    if (m.hSqSum && p.hSqSum) for (let i = 0; i < p.hSqSum.length; i++) m.hSqSum[i] += p.hSqSum[i];
    for (let i = 0; i < HIST_BINS; i++) m.hist[i] += p.hist[i];
    m.zeros += p.zeros;
    for (const t of p.top) pushTop(m.top, t, topK);
  }
  return m;
}

export interface Histogram {
  /** Bin edges in log10 ‖g_b‖² (one more than counts). */
  log10Edges: number[];
  counts: number[];
  /** Examples with ‖g_b‖² = 0 (no logarithm). */
  zeros: number;
}

/** The occupied part of the fixed histogram, in bins of 0.25 decades (5 fixed bins each). */
export function condenseHistogram(hist: Float64Array, zeros: number): Histogram {
  let lo = hist.findIndex((c) => c > 0);
  if (lo < 0) return { log10Edges: [], counts: [], zeros };
  let hi = HIST_BINS - 1;
  while (hist[hi] === 0) hi--;
  const group = 5;
  lo = Math.floor(lo / group) * group;
  const edges: number[] = [];
  const counts: number[] = [];
  for (let b = lo; b <= hi; b += group) {
    edges.push(Number((HIST_MIN + b * HIST_WIDTH).toFixed(4)));
    let c = 0;
    for (let k = b; k < Math.min(b + group, HIST_BINS); k++) c += hist[k];
    counts.push(c);
  }
  edges.push(Number((HIST_MIN + (lo + counts.length * group) * HIST_WIDTH).toFixed(4)));
  return { log10Edges: edges, counts, zeros };
}

export interface ParamDescription {
  name: string;
  shape: number[];
  size: number;
  offset: number;
}

/**
 * The theory's statistics (THEORY.md notation; population normalisation 1/N; mean loss with the
 * regularisers) plus what the engine reports about how it got them.
 */
export interface GradStats extends TheoryGradStats {
  perWeight: { name: string; meanSqNorm: number; size: number }[];
  /** ḡ per parameter (always computed by the engine). */
  meanGrad: Float64Array;
  sqNormSd: number;
  top: TopEntry[];
  histogram: Histogram;
  backend: string;
  engine: EngineName;
  /** Engine time only (no process start, no model or data loading). */
  seconds: number;
  /** Inferences and fallbacks, in words (loss source, label interpretation, per-layer forms, …). */
  notes: string[];
  params: ParamDescription[];
}

/**
 * Final statistics from the merged sums and the penalty gradient r (g_b = h_b + r):
 * ḡ = Σh/N + r; E g_i² = Σh_i²/N + 2 r_i Σh_i/N + r_i² (THEORY.md, notation; §2 table).
 */
export function finalize(
  s: PartialStats,
  r: Float64Array,
  params: ParamDescription[],
  meta: { backend: string; engine: EngineName; seconds: number; notes: string[] },
): GradStats {
  const N = s.n;
  const P = s.hSum.length;
  const meanGrad = new Float64Array(P);
  let gbar2 = 0;
  for (let i = 0; i < P; i++) {
    meanGrad[i] = s.hSum[i] / N + r[i];
    gbar2 += meanGrad[i] * meanGrad[i];
  }
  let diag: Float64Array | undefined;
  if (s.hSqSum) {
    diag = new Float64Array(P);
    for (let i = 0; i < P; i++) diag[i] = s.hSqSum[i] / N + (2 * r[i] * s.hSum[i]) / N + r[i] * r[i];
  }
  const meanSqNorm = s.sqSum / N;
  return {
    n: N,
    meanLoss: s.lossSum / N,
    meanSqNorm,
    meanGradSqNorm: gbar2,
    traceCov: meanSqNorm - gbar2,
    perWeight: params.map((p, i) => ({ name: p.name, meanSqNorm: s.perWeightSq[i] / N, size: p.size })),
    ...(diag ? { diagSecondMoment: diag } : {}),
    meanGrad,
    sqNormSd: Math.sqrt(Math.max(0, s.sqSqSum / N - meanSqNorm * meanSqNorm)),
    top: s.top,
    histogram: condenseHistogram(s.hist, s.zeros),
    ...meta,
    params,
  };
}
