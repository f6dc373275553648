/** Concat and Split: each is the other's VJP (output cotangents without a consumer count as zeros). */
import { attr, intAttr } from '../../graph/types';
import { floatType, normAxis, zeros } from './common';
import type { OpRule } from './types';

/** dx_i = the slice of dy that input i filled (one Split node for all inputs). */
export const concat: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const ins = ctx.node.inputs;
    if (!dy || !ctx.needs.some((n) => n)) return ins.map(() => undefined);
    const rank = ctx.shape(ins[0]).length;
    const axis = normAxis(intAttr(ctx.node, 'axis', 0), rank);
    const sizes = ins.map((x) => ctx.shape(x)[axis]);
    const parts = ctx.em.node('Split', [dy, ctx.em.i64(sizes)], { axis: attr.int(axis) }, ins.length, 'Split');
    return ins.map((_, i) => (ctx.needs[i] ? parts[i] : undefined));
  },
};

/** dx = Concat of the output cotangents along the split axis. */
export const split: OpRule = {
  vjp(ctx) {
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!ctx.needs[0] || ctx.dy.every((d) => !d)) return out;
    const x = ctx.node.inputs[0];
    const axis = normAxis(intAttr(ctx.node, 'axis', 0), ctx.shape(x).length);
    // Sizes from the outputs' own shapes (split input, num_outputs or equal parts alike).
    const pieces = ctx.node.outputs.map((o, i) => ctx.dy[i] ?? zeros(ctx.em, ctx.shape(o), floatType(ctx, x)));
    out[0] = pieces.length === 1 ? pieces[0] : ctx.em.one('Concat', pieces, { axis: attr.int(axis) });
    return out;
  },
};
