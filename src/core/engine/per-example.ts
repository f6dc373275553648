/**
 * From a weight's per-example gradient form (ops/types.ts PerExampleGrad) to the statistics the theory
 * needs, as program outputs: per-example ‖g_b‖² (plus 2⟨g_b, r⟩ + ‖r‖² when the weight carries a penalty
 * with gradient r), Σ_b g_b and, optionally, Σ_b g_b² elementwise (Adam's diagonal, THEORY.md §2).
 * Factored forms never build the [B, weight] tensor unless the ghost norm would cost more.
 */
import { attr } from '../graph/types';
import type { Emitter } from './emitter';
import { memo } from './ops/common';
import type { PerExampleGrad } from './ops/types';

export interface WeightStatsNames {
  /** [B] per-example squared norm, penalty included. */
  sq: string;
  /** Weight-shaped Σ_b h_b (penalty not included). */
  sum: string;
  /** Weight-shaped Σ_b h_b² (when asked for). */
  sumSq?: string;
}

export interface WeightStatsRequest {
  form: PerExampleGrad;
  /** Dims of the weight value the form is about. */
  dims: number[];
  B: number;
  shape(name: string): number[];
  /** The penalty gradient r as a constant of the weight's dims (absent: no penalty). */
  penaltyGrad?: string;
  /** ‖r‖², when the caller knows it (saves a reduction and a broadcast). */
  penaltySq?: number;
  /** r = scale·W (an L2-only penalty): lets a form with a linear output skip the product with r. */
  penaltyScale?: number;
  diagonal: boolean;
  /** Largest one-hot [B·T, V] for an embedding's Σ_b g_b (default ONE_HOT_MAX_ELEMENTS; tests set it to reach the other branch). */
  oneHotMaxElements?: number;
}

const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * Σ_b x_b of a [B, N] float32 value, as a product with a row of ones: ORT's ReduceSum over the leading axis
 * is slow (one thread, B = 256: 189 vs 42 µs at N = 256, 271 vs 194 µs at 4608, 61 vs 49 µs at 144).
 */
function batchSum(em: Emitter, x: string, B: number, N: number): string {
  // A 1-D row of ones gives a 1-D [N] result (a bias needs no Reshape after it).
  const ones = memo(em, `ones_batch\u0000${B}`, () => em.constant({ dims: [B], dtype: 'float32', data: new Float32Array(B).fill(1) }, 'ones'));
  const y = em.one('MatMul', [ones, em.view(x, [B, N])]);
  em.shapes.set(y, [N]);
  return y;
}

/** The form as a dense [B, ...dims] tensor (used for shared weights and by tests). */
export function materialize(em: Emitter, form: PerExampleGrad, dims: number[], B: number, shape: (n: string) => number[]): string {
  switch (form.kind) {
    case 'dense':
      return form.g;
    case 'outer': {
      const [x, y] = form.layout === 'KM' ? [form.a, form.d] : [form.d, form.a];
      const g = em.one('MatMul', [em.transpose(x, [0, 2, 1]), y]);
      return em.reshape(g, [B, ...dims]);
    }
    case 'gather': {
      const [, T, D] = shape(form.d);
      const zeros = em.constant({ dims: [B, dims[0], D], dtype: 'float32', data: new Float32Array(B * dims[0] * D) }, 'zeros');
      const idx = em.one('Expand', [em.unsqueeze(form.ids, [2]), em.i64([B, T, D])]);
      return em.one('ScatterElements', [zeros, idx, form.d], { axis: attr.int(1), reduction: attr.string('add') });
    }
  }
}

function denseStats(em: Emitter, g: string, req: WeightStatsRequest): WeightStatsNames {
  const P = prod(req.dims);
  const g2 = em.view(g, [req.B, P]);
  let sq = em.rowSumSquares(g2, req.B, P);
  if (req.penaltyGrad) {
    const r2 = em.reshape(twice(em, req.penaltyGrad), [1, P]);
    sq = penaltyTerms(em, sq, em.reduce('ReduceSum', em.mul(g2, r2), [1], false), req);
  }
  const sum = em.reshape(batchSum(em, g2, req.B, P), req.dims);
  const sumSq = req.diagonal ? em.reshape(em.reduce('ReduceSumSquare', g2, [0], false), req.dims) : undefined;
  return { sq, sum, sumSq };
}

/** 2r, folded by ORT into a constant (so ⟨h, 2r⟩ comes out of one product, with no doubling node). */
function twice(em: Emitter, r: string): string {
  const r2 = em.mul(r, em.scalar(2));
  const dims = em.shapeOf(r);
  if (dims) em.shapes.set(r2, dims);
  return r2;
}

/**
 * ‖h + r‖² = ‖h‖² + 2⟨h, r⟩ + ‖r‖², given dot2 = ⟨h, 2r⟩. ‖r‖² is the same for every example (a layout
 * chain does not change it): given as `penaltySq`, it is a [B] constant (a rank-0 operand broadcasts
 * slowly in ORT), else the program reduces r.
 */
function penaltyTerms(em: Emitter, sq: string, dot2: string, req: WeightStatsRequest): string {
  const rAll =
    req.penaltySq !== undefined
      ? em.constant({ dims: [req.B], dtype: 'float32', data: new Float32Array(req.B).fill(req.penaltySq) }, 'penalty_sq')
      : em.one('ReduceSumSquare', [req.penaltyGrad!], { keepdims: attr.int(0) });
  return em.add(em.add(sq, dot2), rAll);
}

function outerStats(em: Emitter, form: Extract<PerExampleGrad, { kind: 'outer' }>, req: WeightStatsRequest): WeightStatsNames {
  const [B, T, K] = req.shape(form.a);
  const M = req.shape(form.d)[2];
  const P = prod(req.dims);
  // Batch and positions as rows: [B·T, K] and [B·T, M] (for T = 1 the layer's own 2-D values, no copies).
  const a2 = em.view(form.a, [B * T, K]);
  const d2 = em.view(form.d, [B * T, M]);
  const [x2, y2] = form.layout === 'KM' ? [a2, d2] : [d2, a2];
  // The per-example gradients [B, P], built at most once and only where a form needs them.
  let perExample: string | undefined;
  // Conv kernels (MK) with many positions: the per-example product as a_bᵀd_b ([B, K, M], the weight's
  // transpose; Σ_b and the diagonal are transposed back at weight size). Measured under taskset -c 0 in
  // ORT's profile on the benchmark CNN (B = 256): 7.3 vs 9.0 ms at T = 121, K = 144, M = 32 and 2.3 vs
  // 3.1 ms at T = 676, K = 9, M = 16; slower at resnet_tiny's T ≤ 64, which keeps d_bᵀa_b.
  const swap = form.layout === 'MK' && T >= 100;
  const [x3, y3] = form.layout === 'KM' ? [form.a, form.d] : [form.d, form.a];
  const materialized = () =>
    (perExample ??= swap ? em.reshape(em.one('MatMul', [em.transpose(y3, [0, 2, 1]), x3]), [B, P]) : em.reshape(materialize(em, form, req.dims, B, req.shape), [B, P]));
  let sq: string;
  if (T === 1) {
    sq = em.mul(em.rowSumSquares(a2, B, K), em.rowSumSquares(d2, B, M));
  } else if (2 * T * T * (K + M) < T * K * M) {
    // Ghost norm: ‖a_bᵀd_b‖² = ⟨a_b a_bᵀ, d_b d_bᵀ⟩, cost ∝ T²(K+M) instead of T·K·M.
    const ga = em.one('MatMul', [form.a, em.transpose(form.a, [0, 2, 1])]);
    const gd = em.one('MatMul', [form.d, em.transpose(form.d, [0, 2, 1])]);
    sq = em.reduce('ReduceSum', em.mul(ga, gd), [1, 2], false);
  } else {
    sq = em.rowSumSquares(materialized(), B, P);
  }
  // r = s·W: ⟨G_b, 2r⟩ = 2s·⟨G_b, W⟩ = 2s·Σ y·dy over example b's elements (y = A·W, already computed).
  // Reading y costs ORT its MatMul + bias (+ activation) fusion: measured on the digits MLP at B = 1797,
  // 64→32 saves 110 µs of product for ≈ 65 µs of unfused Add and Tanh, 32→10 saves 34 µs for 35 µs; so only
  // where the product's K·M outweighs the per-row cost of an unfused add (≈ 20 + M elementwise steps).
  if (req.penaltyGrad && req.penaltyScale !== undefined && form.linear && K * M >= 32 * (M + 20)) {
    const { y, dy } = form.linear;
    const ys = req.shape(y);
    const per = em.reduce('ReduceSum', em.mul(y, dy), ys.slice(1).map((_, i) => i + 1), false);
    const scale = em.constant({ dims: [B], dtype: 'float32', data: new Float32Array(B).fill(2 * req.penaltyScale) }, 'penalty_scale');
    sq = penaltyTerms(em, sq, em.mul(per, scale), req);
  } else if (req.penaltyGrad) {
    // ⟨a_bᵀd_b, 2R⟩ = Σ_t (a_b,t·2R)·d_b,t (KM); for MK, R is M×K and the roles swap. Rows = B·T: one
    // 2-D MatMul with the constant 2R (ORT pre-packs it), then per example the sum over its T rows.
    const [rows, cols] = form.layout === 'KM' ? [K, M] : [M, K];
    const R = em.reshape(twice(em, req.penaltyGrad), [rows, cols]);
    const prodRows = em.reduce('ReduceSum', em.mul(em.one('MatMul', [x2, R]), y2), [1], false);
    const dot = T === 1 ? prodRows : em.reduce('ReduceSum', em.reshape(prodRows, [B, T]), [1], false);
    sq = penaltyTerms(em, sq, dot, req);
  }
  let sumSq: string | undefined;
  if (req.diagonal) {
    // Σ_b (a_b ⊗ d_b)² = (A∘A)ᵀ(D∘D) for one position (THEORY.md §2); else from the per-example gradients.
    if (T === 1) sumSq = em.reshape(em.one('Gemm', [em.mul(x2, x2), em.mul(y2, y2)], { transA: attr.int(1) }), req.dims);
    else {
      const s0 = em.reduce('ReduceSumSquare', materialized(), [0], false);
      sumSq = swap ? em.reshape(em.transpose(em.reshape(s0, [req.shape(y3)[2], req.shape(x3)[2]]), [1, 0]), req.dims) : em.reshape(s0, req.dims);
    }
  }
  // Σ_b g_b: the batch sum of the per-example gradients when they exist (no second large product), else AᵀD.
  let sum: string;
  if (perExample && swap) {
    const [xc, yc] = [req.shape(x3)[2], req.shape(y3)[2]];
    sum = em.reshape(em.transpose(em.reshape(batchSum(em, perExample, B, xc * yc), [yc, xc]), [1, 0]), req.dims);
  } else if (perExample) sum = em.reshape(batchSum(em, perExample, B, prod(req.dims)), req.dims);
  else {
    const g = em.one('Gemm', [x2, y2], { transA: attr.int(1) });
    em.shapes.set(g, form.layout === 'KM' ? [K, M] : [M, K]);
    sum = em.reshape(g, req.dims);
  }
  return { sq, sum, sumSq };
}

/** Largest one-hot [B·T, V] matrix the embedding's Σ_b g_b is formed with (16 MB of float32); above it, ScatterElements. */
const ONE_HOT_MAX_ELEMENTS = 1 << 22;

function gatherStats(em: Emitter, form: Extract<PerExampleGrad, { kind: 'gather' }>, req: WeightStatsRequest): WeightStatsNames {
  const [B, T, D] = req.shape(form.d);
  const V = req.dims[0];
  // ‖Σ_t e_{id_t} d_tᵀ‖² = Σ_{t,t'} [id_t = id_t']·⟨d_t, d_t'⟩: no V-sized tensor per example.
  const same = em.cast(em.one('Equal', [em.unsqueeze(form.ids, [2]), em.unsqueeze(form.ids, [1])]), 'float32');
  const gd = em.one('MatMul', [form.d, em.transpose(form.d, [0, 2, 1])]);
  let sq = em.reduce('ReduceSum', em.mul(same, gd), [1, 2], false);
  if (req.penaltyGrad) {
    const dot = em.reduce('ReduceSum', em.mul(em.one('Gather', [twice(em, req.penaltyGrad), form.ids]), form.d), [1, 2], false);
    sq = penaltyTerms(em, sq, dot, req);
  }
  const rows = em.reshape(form.d, [B * T, D]);
  let sum: string;
  if (B * T * V <= (req.oneHotMaxElements ?? ONE_HOT_MAX_ELEMENTS)) {
    // Σ_{b,t} e_{id} d_tᵀ = onehotᵀ·D: ORT's ScatterElements with reduction add runs serially (transformer_tiny,
    // B·T = 3072 rows of 16 into V = 20, one thread: 454 µs against 74 µs for Equal + Cast + Gemm).
    const vocab = em.constant({ dims: [1, V], dtype: 'int64', data: BigInt64Array.from({ length: V }, (_, v) => BigInt(v)) }, 'vocab');
    const oneHot = em.cast(em.one('Equal', [em.reshape(form.ids, [B * T, 1]), vocab]), 'float32');
    sum = em.one('Gemm', [oneHot, rows], { transA: attr.int(1) });
  } else {
    const zeros = em.constant({ dims: [V, D], dtype: 'float32', data: new Float32Array(V * D) }, 'zeros');
    const idx = em.one('Expand', [em.reshape(form.ids, [B * T, 1]), em.i64([B * T, D])]);
    sum = em.one('ScatterElements', [zeros, idx, rows], { axis: attr.int(0), reduction: attr.string('add') });
  }
  let sumSq: string | undefined;
  if (req.diagonal) {
    const g = materialize(em, form, req.dims, B, req.shape);
    sumSq = em.reduce('ReduceSumSquare', g, [0], false);
  }
  return { sq, sum: em.reshape(sum, req.dims), sumSq };
}

export function weightStats(em: Emitter, req: WeightStatsRequest): WeightStatsNames {
  switch (req.form.kind) {
    case 'dense':
      return denseStats(em, req.form.g, req);
    case 'outer':
      return outerStats(em, req.form, req);
    case 'gather':
      return gatherStats(em, req.form, req);
  }
}
