/** Softmax and LogSoftmax along one axis (opset ≥ 13 semantics). */
import { intAttr } from '../../graph/types';
import { floatType } from './common';
import { rowwise } from './last-axis';
import type { OpRule, VjpContext } from './types';

function axisOf(ctx: VjpContext): number {
  const rank = ctx.shape(ctx.node.inputs[0]).length;
  const a = intAttr(ctx.node, 'axis', -1);
  return a < 0 ? a + rank : a;
}

/** dx = y ⊙ (dy − Σ_axis dy ⊙ y). */
export const softmax: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const em = ctx.em;
    const y = ctx.node.outputs[0];
    const shape = ctx.shape(y);
    const axis = axisOf(ctx);
    const s = em.reduce('ReduceSum', em.mul(dy, y), [axis], true);
    // Along the last axis, the per-row s in the form ORT runs fast (last-axis.ts; attention's softmax VJP).
    return [em.mul(y, axis === shape.length - 1 ? rowwise(em, 'Sub', dy, s, shape, floatType(ctx, y)) : em.sub(dy, s))];
  },
};

/** dx = dy − softmax(x) ⊙ Σ_axis dy, softmax(x) = exp(y). */
export const logSoftmax: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const em = ctx.em;
    const y = ctx.node.outputs[0];
    const shape = ctx.shape(y);
    const axis = axisOf(ctx);
    const p = em.one('Exp', [y]);
    const s = em.reduce('ReduceSum', dy, [axis], true);
    return [em.sub(dy, axis === shape.length - 1 ? rowwise(em, 'Mul', p, s, shape, floatType(ctx, y)) : em.mul(p, s))];
  },
};
