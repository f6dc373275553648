/**
 * Nonlinear elementwise ops: tangent = f'(x)·dx, f' written with the primal output y where that is
 * cheaper (exp, sqrt, tanh, sigmoid, reciprocal) and with the primal input otherwise. ReLU's derivative
 * is taken as the gradient program's own (0 at x ≤ 0, the VJP rule's mask), so the tangent is the exact
 * derivative of the piecewise-smooth gradient the program computes, kinks included.
 */
import { floatAttr } from '../../graph/types';
import { NoTangentRule, type JvpContext, type JvpRule } from './types';

/** A one-input op whose tangent `deriv` forms from dx (f'(x)·dx). */
function elementwise(deriv: (ctx: JvpContext, t: string) => string): JvpRule {
  return (ctx) => {
    const t = ctx.t[0];
    return [t ? deriv(ctx, t) : undefined];
  };
}

const x0 = (ctx: JvpContext) => ctx.node.inputs[0];
const y0 = (ctx: JvpContext) => ctx.node.outputs[0];

export const UNARY_RULES: Record<string, JvpRule> = {
  // Relu: dx where x > 0. Where(x > 0, dx, 0) rather than dx·sign(y): no product, exact zeros.
  Relu: elementwise((ctx, t) => ctx.em.one('Where', [ctx.em.one('Greater', [x0(ctx), ctx.scalar(0, x0(ctx))]), t, ctx.scalar(0, x0(ctx))])),
  LeakyRelu: elementwise((ctx, t) => {
    const x = x0(ctx);
    const alpha = floatAttr(ctx.node, 'alpha', 0.01);
    return ctx.em.one('Where', [ctx.em.one('Greater', [x, ctx.scalar(0, x)]), t, ctx.em.mul(t, ctx.scalar(alpha, x))]);
  }),
  Abs: elementwise((ctx, t) => ctx.em.mul(t, ctx.em.one('Sign', [x0(ctx)]))),
  Exp: elementwise((ctx, t) => ctx.em.mul(t, y0(ctx))),
  Log: elementwise((ctx, t) => ctx.em.div(t, x0(ctx))),
  // d√x = dx / (2√x)
  Sqrt: elementwise((ctx, t) => ctx.em.div(t, ctx.em.add(y0(ctx), y0(ctx)))),
  // d(1/x) = −dx·y²
  Reciprocal: elementwise((ctx, t) => ctx.em.neg(ctx.em.mul(t, ctx.em.mul(y0(ctx), y0(ctx))))),
  // d tanh = dx·(1 − y²)
  Tanh: elementwise((ctx, t) => ctx.em.sub(t, ctx.em.mul(t, ctx.em.mul(y0(ctx), y0(ctx))))),
  // dσ = dx·y·(1 − y)
  Sigmoid: elementwise((ctx, t) => {
    const y = y0(ctx);
    return ctx.em.mul(t, ctx.em.mul(y, ctx.em.sub(ctx.scalar(1, y), y)));
  }),
  // d erf = dx·(2/√π)·exp(−x²)
  Erf: elementwise((ctx, t) => {
    const x = x0(ctx);
    const g = ctx.em.one('Exp', [ctx.em.neg(ctx.em.mul(x, x))]);
    return ctx.em.mul(t, ctx.em.mul(g, ctx.scalar(2 / Math.sqrt(Math.PI), x)));
  }),
  Softplus: elementwise((ctx, t) => ctx.em.mul(t, ctx.em.one('Sigmoid', [x0(ctx)]))),
};

/** Pow(x, p) with a constant exponent: d = p·x^(p−1)·dx. A tangent on the exponent is not supported. */
export const pow: JvpRule = (ctx) => {
  const [x, p] = ctx.node.inputs;
  const [tx, tp] = ctx.t;
  if (tp) throw new NoTangentRule('Pow', ctx.node.name, 'has a tangent on its exponent (only constant exponents have a rule)');
  if (!tx) return [undefined];
  const dt = ctx.dtype(x);
  const pc = ctx.dtype(p) === dt ? p : ctx.em.cast(p, dt === 'float64' ? 'float64' : 'float32');
  const d = ctx.em.mul(pc, ctx.em.one('Pow', [x, ctx.em.sub(pc, ctx.scalar(1, x))]));
  return [ctx.expandTo(ctx.em.mul(tx, d), ctx.node.outputs[0])];
};
