/** Tile and Expand: sums of the output cotangent over the copies. */
import { requireConst } from './common';
import { unbroadcast } from './broadcast';
import type { OpRule } from './types';

/** Tile: y[t·d + j] = x[j] per axis: reshape dy to [r0, d0, r1, d1, …] and sum the r axes. */
export const tile: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy || !ctx.needs[0]) return out;
    const em = ctx.em;
    const [x, repeatsName] = ctx.node.inputs;
    const xs = ctx.shape(x);
    const reps = requireConst(ctx, repeatsName, 'repeats');
    const shape: number[] = [];
    const axes: number[] = [];
    xs.forEach((d, i) => {
      if (reps[i] !== 1) {
        axes.push(shape.length);
        shape.push(reps[i]);
      }
      shape.push(d);
    });
    out[0] = axes.length ? em.reshape(em.reduce('ReduceSum', em.reshape(dy, shape), axes, false), xs) : dy;
    return out;
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
};
