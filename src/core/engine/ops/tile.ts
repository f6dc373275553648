/**
 * Tile and Expand: sums of the output cotangent over the copies. A weight tiled or expanded over the
 * batch (a class token [1, 1, D] → [B, 1, D]) gets a `dense` per-example form: the same sums, except
 * over the batch copies.
 */
import { perExampleUnbroadcast, unbroadcast } from './broadcast';
import type { VjpContext } from './types';
import type { OpRule } from './types';

/**
 * Tile: y[t·d + j] = x[j] per axis: reshape dy to [r0, d0, r1, d1, …] and sum the r axes (per example:
 * all but the batch copies r0 = B of a weight with d0 = 1).
 */
function untile(ctx: VjpContext, dy: string, perExample: boolean): string | undefined {
  const em = ctx.em;
  const xs = ctx.shape(ctx.node.inputs[0]);
  const ys = ctx.shape(ctx.node.outputs[0]);
  // The repeats from the shapes (the repeats input need not be a constant).
  const reps = ys.map((d, i) => d / xs[i]);
  const B = ys[0];
  if (perExample && !(xs[0] === 1 && reps[0] === B)) return undefined;
  const shape: number[] = [];
  const axes: number[] = [];
  xs.forEach((d, i) => {
    if (reps[i] !== 1) {
      if (!(perExample && i === 0)) axes.push(shape.length);
      shape.push(reps[i]);
    }
    shape.push(d);
  });
  if (perExample) return em.reshape(em.reduce('ReduceSum', em.reshape(dy, shape), axes, false), [B, ...xs]);
  return axes.length ? em.reshape(em.reduce('ReduceSum', em.reshape(dy, shape), axes, false), xs) : dy;
}

export const tile: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy || !ctx.needs[0]) return out;
    out[0] = untile(ctx, dy, false);
    return out;
  },
  perExample(ctx, k) {
    const dy = ctx.dy[0];
    const g = dy && k === 0 ? untile(ctx, dy, true) : undefined;
    return g ? { kind: 'dense', g } : undefined;
  },
};

export const expand: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy || !ctx.needs[0]) return out;
    out[0] = unbroadcast(ctx.em, dy, ctx.shape(ctx.node.outputs[0]), ctx.shape(ctx.node.inputs[0]));
    return out;
  },
  perExample(ctx, k) {
    const dy = ctx.dy[0];
    if (!dy || k !== 0) return undefined;
    return { kind: 'dense', g: perExampleUnbroadcast(ctx.em, dy, ctx.shape(ctx.node.outputs[0]), ctx.shape(ctx.node.inputs[0])) };
  },
};
