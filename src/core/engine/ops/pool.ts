/**
 * Pooling (N-d, NC…): MaxPool routes each output cotangent to the input element ORT picks (the first
 * maximum of a window in row-major order, as PyTorch does). Disjoint windows in float32 without padding:
 * the rank of that element is found from the forward's own output y and max pools of the window's
 * prefixes (below), its flat index built from the rank, and dy placed by MaxUnpool. Otherwise the second
 * output `Indices` of a MaxPool recomputed on the same input (flat over N·C·spatial) places dy: by
 * MaxUnpool where windows are disjoint, else scattered with ScatterElements add. Why not always Indices:
 * ORT's MaxPool with Indices is a plain loop, not the MLAS kernel of its MaxPool without them; in one
 * profile of the benchmark CNN's program (NCHW, 256×16×26×26 into the first 2×2 pool, 1 thread) it took
 * 18.6 ms per run (ORT had merged the forward's pool into it), against 3.0 ms for the forward's MLAS pool
 * plus 4.8 ms for the three MLAS prefix pools of a 2×2 window and ≈ 3 ms of comparisons and sums. A/B of
 * the whole gradient program (batch 256, 1 thread, 15 interleaved rounds, same norms bit for bit): CPU ms
 * per batch 70.9 → 57.5 on that CNN (8.6× → 7.0× its forward), 83.7 → 73.8 on bench/onnx.ts's model.json
 * CNN (11.3× → 10.0×). AveragePool spreads
 * dy/count over each window by a depthwise ConvTranspose with a ones kernel (count per output position
 * computed here from the geometry, as ORT counts: with count_include_pad the window clipped to the
 * padded input, without it the window clipped to the input); GlobalAveragePool / GlobalMaxPool.
 */
import { attr, intAttr, intsAttr } from '../../graph/types';
import { convGeometry, convTransposeBack, floatConst, floatType, masked, prod, zeros, type ConvGeometry } from './common';
import { expandTrailing } from './last-axis';
import type { OpRule, VjpContext } from './types';

/** Output size of a floor-mode pool along one axis without padding. */
const poolOut = (size: number, k: number, s: number) => Math.floor((size - k) / s) + 1;

/**
 * The first maximum of each window without indices, for float32, disjoint windows (strides ≥ kernel,
 * dilation 1) and no padding; undefined where that does not apply. In row-major order over the window,
 * the prefix up to rank p is the union of boxes anchored at the window's corner (for 2-D: rows < i,
 * and rows ≤ i × columns ≤ j), so its maximum P_p is a max of MaxPools with smaller kernels and the
 * node's strides (ORT's MLAS kernel, as the forward's); the rank of the first maximum is #{p < K−1 :
 * P_p < y}, y the forward's output (P_p is nondecreasing in p and reaches y at that rank). Its flat index
 * is the window's first element plus Σ_p [P_p < y]·(offset(p+1) − offset(p)), summed in float32 (exact
 * while C·spatial < 2^24), then MaxUnpool places dy. Ties go to the first maximum as ORT's Indices and
 * PyTorch do; −0 and +0 tie. A NaN that the forward's MaxPool dropped can only move the pick within its
 * window (the old Indices path skipped NaNs too), never out of it.
 */
function maxPoolPrefixVjp(ctx: VjpContext, kernel: number[], geo: ConvGeometry): string | undefined {
  const node = ctx.node;
  const x = node.inputs[0];
  const y = node.outputs[0];
  const dy = ctx.dy[0]!;
  const xs = ctx.shape(x);
  const ys = ctx.shape(y);
  const d = kernel.length;
  const sp = geo.spatial;
  const S = geo.strides;
  if ([...geo.padBegin, ...geo.padEnd].some((p) => p !== 0)) return undefined;
  if (!S.every((s, i) => s >= kernel[i]) || geo.dilations.some((v) => v !== 1)) return undefined;
  if (xs[1] * prod(sp) >= 2 ** 24) return undefined;
  const outSp = ys.slice(2);
  // Only whole windows: the floor-mode output grid (a ceil_mode window that runs past the input takes the
  // Indices path; so does a ceil_mode grid that ONNX shape inference and ORT's kernel size differently).
  // Then every rank is an element of the input, whatever NaNs do to the comparisons.
  if (outSp.some((o, i) => poolOut(sp[i], kernel[i], S[i]) !== o)) return undefined;
  const em = ctx.em;
  const K = prod(kernel);
  // Window position of each rank (row-major) and its flat offset within x's plane.
  const pos = (p: number) => {
    const q: number[] = new Array<number>(d);
    for (let i = d - 1; i >= 0; i--) {
      q[i] = p % kernel[i];
      p = Math.floor(p / kernel[i]);
    }
    return q;
  };
  const planeStrides = sp.map((_, i) => prod(sp.slice(i + 1)));
  const offset = (p: number) => pos(p).reduce((a, q, i) => a + q * planeStrides[i], 0);
  const pools = new Map<string, string>();
  const pool = (k: number[]): string => {
    const key = k.join(',');
    if (!pools.has(key)) {
      // A smaller box can fit once more at the end of an axis (an input tail the full kernel does not
      // reach): that window is cut off (a Slice of the pooled output, a quarter of the input's size).
      const got = k.map((kk, i) => poolOut(sp[i], kk, S[i]));
      let m = em.one('MaxPool', [x], { kernel_shape: attr.ints(k), strides: attr.ints(S) }, 'prefix_max');
      if (got.some((g, i) => g < outSp[i])) throw new Error(`MaxPool '${node.name}': a smaller window gives fewer outputs`);
      if (got.some((g, i) => g > outSp[i])) m = em.one('Slice', [m, em.i64(outSp.map(() => 0)), em.i64(outSp), em.i64(outSp.map((_, i) => i + 2))]);
      pools.set(key, m);
    }
    return pools.get(key)!;
  };
  const terms: string[] = [];
  for (let p = 0; p < K - 1; p++) {
    const q = pos(p);
    const boxes: number[][] = [];
    for (let l = 0; l < d; l++) {
      if (q[l] === 0) continue;
      // Coordinates before l at most q, l below q[l], the rest free.
      boxes.push(kernel.map((k, i) => (i < l ? q[i] + 1 : i === l ? q[l] : k)));
    }
    boxes.push(q.map((v) => v + 1));
    const maxes = boxes.map(pool);
    const P = maxes.length === 1 ? maxes[0] : em.one('Max', maxes);
    const step = offset(p + 1) - offset(p);
    const below = em.cast(em.one('Less', [P, y]), 'float32');
    terms.push(step === 1 ? below : em.mul(below, em.scalar(step)));
  }
  // First element of each window, flat over C·spatial; the batch term is added in float32 too where exact.
  const C = xs[1];
  const plane = prod(sp);
  const starts = new Float32Array(C * prod(outSp));
  const outStrides = outSp.map((_, i) => prod(outSp.slice(i + 1)));
  for (let j = 0; j < starts.length; j++) {
    const c = Math.floor(j / prod(outSp));
    let rem = j % prod(outSp);
    let at = c * plane;
    for (let i = 0; i < d; i++) {
      at += Math.floor(rem / outStrides[i]) * S[i] * planeStrides[i];
      rem %= outStrides[i];
    }
    starts[j] = at;
  }
  const N = xs[0];
  const batchTerm = (dtype: 'float32' | 'int64') =>
    dtype === 'float32'
      ? em.constant({ dims: [N, 1, ...outSp.map(() => 1)], dtype, data: Float32Array.from({ length: N }, (_, n) => n * C * plane) }, 'batch_start')
      : em.constant({ dims: [N, 1, ...outSp.map(() => 1)], dtype, data: BigInt64Array.from({ length: N }, (_, n) => BigInt(n * C * plane)) }, 'batch_start');
  const winStart = em.constant({ dims: [1, C, ...outSp], dtype: 'float32', data: starts }, 'window_start');
  const exact = N * C * plane < 2 ** 24;
  let idx = em.cast(em.one('Sum', [...terms, winStart, ...(exact ? [batchTerm('float32')] : [])]), 'int64');
  if (!exact) idx = em.add(idx, batchTerm('int64'));
  return em.one('MaxUnpool', [dy, idx, em.i64(xs)], { kernel_shape: attr.ints(kernel), strides: attr.ints(S), pads: attr.ints(new Array<number>(2 * d).fill(0)) });
}

export const maxPool: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy || !ctx.needs[0]) return out;
    const em = ctx.em;
    const x = ctx.node.inputs[0];
    const xs = ctx.shape(x);
    if (intAttr(ctx.node, 'storage_order', 0) !== 0) throw new Error(`MaxPool '${ctx.node.name}': storage_order 1 is not supported by the gradient program`);
    const kernel = intsAttr(ctx.node, 'kernel_shape', []);
    const geo = convGeometry(ctx.node, xs.slice(2), kernel);
    const float32 = floatType(ctx, x) === 'float32';
    let indices = ctx.node.outputs[1];
    if (!indices && float32) {
      const dx = maxPoolPrefixVjp(ctx, kernel, geo);
      if (dx) {
        out[0] = dx;
        return out;
      }
    }
    if (!indices) {
      const attrs = { ...ctx.node.attrs };
      indices = em.node('MaxPool', [x], attrs, 2, 'MaxPool_indices')[1];
    }
    if (float32 && geo.strides.every((s, i) => s >= kernel[i]) && geo.dilations.every((d) => d === 1)) {
      // Disjoint windows: every input element is the maximum of at most one window, so placing each dy
      // at its index (MaxUnpool, zeros elsewhere, the output shape given) equals the scatter-add. ORT's
      // MaxUnpool: 13.5 vs 31.4 ms for ScatterElements in one profile (dy 256×16×13×13 into 26×26);
      // it has no double kernel (float64 programs scatter).
      // MaxUnpool checks the given shape against (out − 1)·stride + kernel − pads: a ceil_mode window
      // that runs past the padded input counts as more end padding.
      const ys = ctx.shape(ctx.node.outputs[0]).slice(2);
      const padEnd = geo.padEnd.map((p, i) => p + Math.max(0, (ys[i] - 1) * geo.strides[i] + kernel[i] - geo.padBegin[i] - p - geo.spatial[i]));
      out[0] = em.one('MaxUnpool', [dy, indices, em.i64(xs)], {
        kernel_shape: attr.ints(kernel),
        strides: attr.ints(geo.strides),
        pads: attr.ints([...geo.padBegin, ...padEnd]),
      });
      return out;
    }
    const n = prod(xs);
    const dyFlat = em.reshape(dy, [-1]);
    const flat = em.one('ScatterElements', [zeros(em, [n], floatType(ctx, x)), em.reshape(indices, [-1]), dyFlat], { axis: attr.int(0), reduction: attr.string('add') });
    out[0] = em.reshape(flat, xs);
    return out;
  },
};

/** Number of window taps counted by ORT's AveragePool at each output position along one axis. */
function axisCounts(size: number, out: number, k: number, s: number, pb: number, pe: number, includePad: boolean): number[] {
  const counts: number[] = [];
  for (let o = 0; o < out; o++) {
    const start = o * s - pb;
    const lo = includePad ? start : Math.max(start, 0);
    const hi = Math.min(start + k, includePad ? size + pe : size);
    counts.push(Math.max(0, hi - lo));
  }
  return counts;
}

export const averagePool: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy || !ctx.needs[0]) return out;
    const em = ctx.em;
    const x = ctx.node.inputs[0];
    const xs = ctx.shape(x);
    const ys = ctx.shape(ctx.node.outputs[0]);
    const kernel = intsAttr(ctx.node, 'kernel_shape', []);
    const geo = convGeometry(ctx.node, xs.slice(2), kernel);
    if (geo.dilations.some((d) => d !== 1)) throw new Error(`AveragePool '${ctx.node.name}': dilations are not supported by the gradient program`);
    const includePad = intAttr(ctx.node, 'count_include_pad', 0) === 1;
    const outSpatial = ys.slice(2);
    const perAxis = geo.spatial.map((size, i) => axisCounts(size, outSpatial[i], kernel[i], geo.strides[i], geo.padBegin[i], geo.padEnd[i], includePad));
    // 1/count over the output grid (outer product of the per-axis counts), broadcast over N and C.
    const inv = new Array<number>(prod(outSpatial));
    for (let j = 0; j < inv.length; j++) {
      let rem = j;
      let c = 1;
      for (let i = outSpatial.length - 1; i >= 0; i--) {
        c *= perAxis[i][rem % outSpatial[i]];
        rem = Math.floor(rem / outSpatial[i]);
      }
      inv[j] = c > 0 ? 1 / c : 0;
    }
    const dt = floatType(ctx, x);
    const scaled = em.mul(dy, floatConst(em, [1, 1, ...outSpatial], inv, dt, 'inv_count'));
    const C = xs[1];
    const ones = floatConst(em, [C, 1, ...kernel], new Array<number>(C * prod(kernel)).fill(1), dt, 'ones_kernel');
    out[0] = convTransposeBack(em, scaled, ones, geo, outSpatial, C);
    return out;
  },
};

export const globalAveragePool: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const em = ctx.em;
    const x = ctx.node.inputs[0];
    const xs = ctx.shape(x);
    return [expandTrailing(em, dy, xs, xs.length - 2, 1 / prod(xs.slice(2)), floatType(ctx, x))];
  },
};

/** The whole cotangent to the maxima of each (n, c) plane, split evenly between tied maxima. */
export const globalMaxPool: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const em = ctx.em;
    const x = ctx.node.inputs[0];
    const xs = ctx.shape(x);
    const mask = em.one('Equal', [x, ctx.node.outputs[0]]);
    const maskF = em.one('Cast', [mask], { to: attr.int(ctx.dtype(x) === 'float64' ? 11 : 1) });
    const count = em.reduce('ReduceSum', maskF, xs.slice(2).map((_, i) => i + 2), true);
    return [masked(em, mask, em.div(em.one('Expand', [dy, em.i64(xs)]), count), ctx.dtype(x))];
  },
};
