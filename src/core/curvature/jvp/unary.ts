/**
 * Nonlinear elementwise ops: tangent = f'(x)·dx, f' written with the primal output y where that is
 * cheaper (exp, sqrt, tanh, sigmoid, reciprocal) and with the primal input otherwise. ReLU's derivative
 * is taken as the gradient program's own (0 at x ≤ 0, the VJP rule's mask), so the tangent is the exact
 * derivative of the piecewise-smooth gradient the program computes, kinks included.
 */
import { floatAttr } from '../../graph/types';
import { type JvpContext, type JvpRule } from './types';

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

/**
 * Pow(x, p) (numpy broadcasting): d(x^p) = p·x^(p−1)·dx + y·ln(x)·dp, y = x^p the primal output. The
 * exponent's term is the VJP's ∂/∂p = y·log x (engine/ops/pow.ts) transposed, except where y = 0 (x = 0,
 * p > 0, or underflow): there y·ln x is 0·(−∞) = NaN but x^p is flat in p, so the term is 0 (PyTorch's
 * pow masks the same way). x < 0 has no real derivative in p: ln x is NaN there, as in the VJP's.
 * With dp absent (a constant exponent) and x < 0 an integer p works: ORT's Pow of a negative base by an
 * integral float exponent is real.
 */
export const pow: JvpRule = (ctx) => {
  const { em } = ctx;
  const [x, p] = ctx.node.inputs;
  const [tx, tp] = ctx.t;
  const y = ctx.node.outputs[0];
  const fx = ctx.dtype(x) === 'float64' ? 'float64' : 'float32';
  const terms: string[] = [];
  if (tx) {
    const pc = ctx.dtype(p) === fx ? p : em.cast(p, fx);
    terms.push(em.mul(tx, em.mul(pc, em.one('Pow', [x, em.sub(pc, ctx.scalar(1, x))]))));
  }
  if (tp) {
    const zero = ctx.scalar(0, y);
    const dlog = em.one('Where', [em.one('Equal', [y, zero]), zero, em.mul(y, em.one('Log', [x]))]);
    terms.push(em.mul(ctx.dtype(p) === fx ? tp : em.cast(tp, fx), dlog));
  }
  if (!terms.length) return [undefined];
  return [ctx.expandTo(terms.length === 2 ? em.add(terms[0], terms[1]) : terms[0], y)];
};
