/** Layout ops: the cotangent is the output cotangent laid out as the input (Reshape back, inverse Transpose). */
import { intsAttr } from '../../graph/types';
import type { OpRule } from './types';

/** Reshape, Flatten, Squeeze, Unsqueeze: dx = reshape(dy, shape(x)). */
export const reshapeLike: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    return ctx.node.inputs.map((x, i) => (i === 0 && dy && ctx.needs[0] ? ctx.em.reshape(dy, ctx.shape(x)) : undefined));
  },
};

export const transpose: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const rank = ctx.shape(ctx.node.inputs[0]).length;
    const perm = intsAttr(ctx.node, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return [ctx.em.transpose(dy, inverse)];
  },
};
