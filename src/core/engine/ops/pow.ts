/**
 * Pow with numpy broadcasting: ∂/∂x = p·x^(p−1) (a constant exponent is folded: p = 2 is 2x, p = 1 the
 * identity), ∂/∂p = y·log x for an exponent that is not a constant.
 */
import { floatConst, floatType } from './common';
import { unbroadcast } from './broadcast';
import type { OpRule } from './types';

export const pow: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const [x, p] = ctx.node.inputs;
    if (!dy) return [undefined, undefined];
    const em = ctx.em;
    const ys = ctx.shape(ctx.node.outputs[0]);
    const dt = floatType(ctx, x);
    let dx: string | undefined;
    if (ctx.needs[0]) {
      const known = ctx.constant(p);
      let local: string;
      if (known) {
        const vals = Array.from(known.data as ArrayLike<number | bigint>, Number);
        if (vals.every((v) => v === 1)) local = dy;
        else if (vals.every((v) => v === 2)) local = em.mul(dy, em.mul(x, em.scalarOf(2, dt)));
        else {
          const pc = floatConst(em, known.dims, vals, dt, 'exponent');
          const pm1 = floatConst(em, known.dims, vals.map((v) => v - 1), dt, 'exponent_m1');
          local = em.mul(dy, em.mul(pc, em.one('Pow', [x, pm1])));
        }
      } else {
        const pf = ctx.dtype(p) === dt ? p : em.cast(p, dt);
        local = em.mul(dy, em.mul(pf, em.one('Pow', [x, em.sub(pf, em.scalarOf(1, dt))])));
      }
      dx = unbroadcast(em, local, ys, ctx.shape(x));
    }
    const dp = ctx.needs[1] && !ctx.constant(p) ? unbroadcast(em, em.mul(dy, em.mul(ctx.node.outputs[0], em.one('Log', [x]))), ys, ctx.shape(p)) : undefined;
    return [dx, dp];
  },
};
