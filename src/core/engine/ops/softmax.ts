/** Softmax and LogSoftmax along one axis (opset ≥ 13 semantics). */
import { intAttr } from '../../graph/types';
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
    const s = em.reduce('ReduceSum', em.mul(dy, y), [axisOf(ctx)], true);
    return [em.mul(y, em.sub(dy, s))];
  },
};

/** dx = dy − softmax(x) ⊙ Σ_axis dy, softmax(x) = exp(y). */
export const logSoftmax: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const em = ctx.em;
    const p = em.one('Exp', [ctx.node.outputs[0]]);
    return [em.sub(dy, em.mul(p, em.reduce('ReduceSum', dy, [axisOf(ctx)], true)))];
  },
};
