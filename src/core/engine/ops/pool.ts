/**
 * Pooling (N-d, NC…): MaxPool routes each output cotangent to the input element ORT picked (the second
 * output `Indices` of a MaxPool recomputed on the same input, flat over N·C·spatial, placed by
 * MaxUnpool where windows are disjoint, else scattered with ScatterElements add; ORT keeps the first
 * maximum of a window, as PyTorch does); AveragePool spreads
 * dy/count over each window by a depthwise ConvTranspose with a ones kernel (count per output position
 * computed here from the geometry, as ORT counts: with count_include_pad the window clipped to the
 * padded input, without it the window clipped to the input); GlobalAveragePool / GlobalMaxPool.
 */
import { attr, intAttr, intsAttr } from '../../graph/types';
import { convGeometry, convTransposeBack, floatConst, floatType, masked, prod, zeros } from './common';
import type { OpRule } from './types';

export const maxPool: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy || !ctx.needs[0]) return out;
    const em = ctx.em;
    const x = ctx.node.inputs[0];
    const xs = ctx.shape(x);
    if (intAttr(ctx.node, 'storage_order', 0) !== 0) throw new Error(`MaxPool '${ctx.node.name}': storage_order 1 is not supported by the gradient program`);
    let indices = ctx.node.outputs[1];
    if (!indices) {
      const attrs = { ...ctx.node.attrs };
      indices = em.node('MaxPool', [x], attrs, 2, 'MaxPool_indices')[1];
    }
    const kernel = intsAttr(ctx.node, 'kernel_shape', []);
    const geo = convGeometry(ctx.node, xs.slice(2), kernel);
    if (floatType(ctx, x) === 'float32' && geo.strides.every((s, i) => s >= kernel[i]) && geo.dilations.every((d) => d === 1)) {
      // Disjoint windows: every input element is the maximum of at most one window, so placing each dy
      // at its index (MaxUnpool, zeros elsewhere, the output shape given) equals the scatter-add. ORT's
      // MaxUnpool: 13.5 vs 31.4 ms for ScatterElements in one profile (dy 256×16×13×13 into 26×26);
      // it has no double kernel (float64 programs scatter).
      out[0] = em.one('MaxUnpool', [dy, indices, em.i64(xs)], {
        kernel_shape: attr.ints(kernel),
        strides: attr.ints(geo.strides),
        pads: attr.ints([...geo.padBegin, ...geo.padEnd]),
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
    const scaled = em.mul(dy, em.scalarOf(1 / prod(xs.slice(2)), ctx.dtype(x)));
    return [em.one('Expand', [scaled, em.i64(xs)])];
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
