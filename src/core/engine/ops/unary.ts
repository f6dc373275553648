/** Elementwise activations: dx = dy · f′(x), written from the saved input or output (whichever is exact). */
import { attr, floatAttr } from '../../graph/types';
import type { OpRule, VjpContext } from './types';

function unary(local: (ctx: VjpContext, dy: string) => string): OpRule {
  return {
    vjp(ctx) {
      const dy = ctx.dy[0];
      return [dy && ctx.needs[0] ? local(ctx, dy) : undefined];
    },
  };
}

const x0 = (ctx: VjpContext) => ctx.node.inputs[0];
const y0 = (ctx: VjpContext) => ctx.node.outputs[0];
const zeroLike = (ctx: VjpContext) => ctx.em.scalarOf(0, ctx.dtype(x0(ctx)));
const one = (ctx: VjpContext) => ctx.em.scalarOf(1, ctx.dtype(x0(ctx)));
const positive = (ctx: VjpContext) => ctx.em.one('Greater', [x0(ctx), zeroLike(ctx)]);

/**
 * Relu′ = [x > 0] (0 at the kink, as PyTorch and TF take it), read from the output (y > 0 ⇔ x > 0) so
 * the forward MatMul/Conv and its Relu stay fusable in ORT (nothing else reads the pre-activation).
 */
export const relu = unary((ctx, dy) => ctx.em.one('Where', [ctx.em.one('Greater', [y0(ctx), zeroLike(ctx)]), dy, zeroLike(ctx)]));

export const leakyRelu = unary((ctx, dy) => {
  const alpha = ctx.em.scalarOf(floatAttr(ctx.node, 'alpha', 0.01), ctx.dtype(x0(ctx)));
  return ctx.em.one('Where', [positive(ctx), dy, ctx.em.mul(dy, alpha)]);
});

/** Elu′ = 1 for x > 0, y + α otherwise. */
export const elu = unary((ctx, dy) => {
  const alpha = ctx.em.scalarOf(floatAttr(ctx.node, 'alpha', 1), ctx.dtype(x0(ctx)));
  return ctx.em.one('Where', [positive(ctx), dy, ctx.em.mul(dy, ctx.em.add(y0(ctx), alpha))]);
});

/** σ′ = y(1 − y). */
export const sigmoid = unary((ctx, dy) => ctx.em.mul(dy, ctx.em.mul(y0(ctx), ctx.em.sub(one(ctx), y0(ctx)))));

/** tanh′ = 1 − y². */
export const tanh = unary((ctx, dy) => ctx.em.mul(dy, ctx.em.sub(one(ctx), ctx.em.mul(y0(ctx), y0(ctx)))));

export const exp = unary((ctx, dy) => ctx.em.mul(dy, y0(ctx)));

export const log = unary((ctx, dy) => ctx.em.div(dy, x0(ctx)));

/** √′ = 1/(2y). */
export const sqrt = unary((ctx, dy) => ctx.em.div(dy, ctx.em.mul(y0(ctx), ctx.em.scalarOf(2, ctx.dtype(x0(ctx))))));

export const neg = unary((ctx, dy) => ctx.em.neg(dy));

/** erf′ = (2/√π)·exp(−x²). */
export const erf = unary((ctx, dy) => {
  const em = ctx.em;
  const x = x0(ctx);
  return em.mul(dy, em.mul(em.scalarOf(2 / Math.sqrt(Math.PI), ctx.dtype(x)), em.one('Exp', [em.neg(em.mul(x, x))])));
});

/** softplus′ = σ(x). */
export const softplus = unary((ctx, dy) => ctx.em.mul(dy, ctx.em.one('Sigmoid', [x0(ctx)])));

/** Identity-like ops pass the cotangent through (Dropout in inference, Identity, float→float Cast). */
export const passThrough: OpRule = {
  vjp(ctx) {
    return ctx.node.inputs.map((x, i) => {
      if (i > 0 || !ctx.needs[0] || !ctx.dy[0]) return undefined;
      // A float cast (e.g. float64 → float32) casts the cotangent back.
      return ctx.dtype(x) === ctx.dtype(ctx.node.outputs[0]) ? ctx.dy[0] : ctx.em.one('Cast', [ctx.dy[0]], { to: attr.int(ctx.dtype(x) === 'float64' ? 11 : 1) });
    });
  },
};

/** Ops with no gradient (shape arithmetic, comparisons, index ops): nothing flows back. */
export const notDifferentiable: OpRule = {
  vjp(ctx) {
    return ctx.node.inputs.map(() => undefined);
  },
};
