/**
 * More elementwise activations: HardSigmoid, HardSwish, Gelu (opset 20; approximate 'none' | 'tanh'),
 * Abs, Reciprocal. Kinks take the derivative PyTorch takes (0 outside the open linear piece of
 * HardSigmoid; HardSwish x/3 + 1/2 on [−3, 3]; Abs′(0) = 0).
 */
import { floatAttr, stringAttr } from '../../graph/types';
import type { OpRule, VjpContext } from './types';

function unary(local: (ctx: VjpContext, dy: string, x: string, dt: string) => string): OpRule {
  return {
    vjp(ctx) {
      const dy = ctx.dy[0];
      const x = ctx.node.inputs[0];
      return [dy && ctx.needs[0] ? local(ctx, dy, x, ctx.dtype(x)) : undefined];
    },
  };
}

/** y = max(0, min(1, αx + β)): dx = α·dy where 0 < αx + β < 1. */
export const hardSigmoid = unary((ctx, dy, x, dt) => {
  const em = ctx.em;
  const alpha = floatAttr(ctx.node, 'alpha', 0.2);
  const z = em.add(em.mul(x, em.scalarOf(alpha, dt)), em.scalarOf(floatAttr(ctx.node, 'beta', 0.5), dt));
  const inside = em.one('And', [em.one('Greater', [z, em.scalarOf(0, dt)]), em.one('Less', [z, em.scalarOf(1, dt)])]);
  return em.one('Where', [inside, em.mul(dy, em.scalarOf(alpha, dt)), em.scalarOf(0, dt)]);
});

/** y = x·HardSigmoid(x; 1/6, 1/2): y′ = 0 for x < −3, x/3 + 1/2 on [−3, 3], 1 above. */
export const hardSwish = unary((ctx, dy, x, dt) => {
  const em = ctx.em;
  const mid = em.add(em.mul(x, em.scalarOf(1 / 3, dt)), em.scalarOf(0.5, dt));
  const slope = em.one('Where', [em.one('Less', [x, em.scalarOf(-3, dt)]), em.scalarOf(0, dt), em.one('Where', [em.one('LessOrEqual', [x, em.scalarOf(3, dt)]), mid, em.scalarOf(1, dt)])]);
  return em.mul(dy, slope);
});

/**
 * Gelu: 'none' y = x·Φ(x): y′ = Φ(x) + x·φ(x); 'tanh' y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³):
 * y′ = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
 */
export const gelu = unary((ctx, dy, x, dt) => {
  const em = ctx.em;
  const c = (v: number) => em.scalarOf(v, dt);
  const x2 = em.mul(x, x);
  if (stringAttr(ctx.node, 'approximate', 'none') === 'tanh') {
    const k = Math.sqrt(2 / Math.PI);
    const t = em.one('Tanh', [em.mul(c(k), em.add(x, em.mul(c(0.044715), em.mul(x2, x))))]);
    const du = em.mul(c(k), em.add(c(1), em.mul(c(3 * 0.044715), x2)));
    const d = em.add(em.mul(c(0.5), em.add(c(1), t)), em.mul(em.mul(c(0.5), x), em.mul(em.sub(c(1), em.mul(t, t)), du)));
    return em.mul(dy, d);
  }
  const cdf = em.mul(c(0.5), em.add(c(1), em.one('Erf', [em.mul(x, c(Math.SQRT1_2))])));
  const pdf = em.mul(c(1 / Math.sqrt(2 * Math.PI)), em.one('Exp', [em.mul(x2, c(-0.5))]));
  return em.mul(dy, em.add(cdf, em.mul(x, pdf)));
});

/** Abs′ = sign(x) (0 at 0, as PyTorch). */
export const abs = unary((ctx, dy, x) => ctx.em.mul(dy, ctx.em.one('Sign', [x])));

/** (1/x)′ = −y². */
export const reciprocal = unary((ctx, dy) => {
  const y = ctx.node.outputs[0];
  return ctx.em.neg(ctx.em.mul(dy, ctx.em.mul(y, y)));
});
