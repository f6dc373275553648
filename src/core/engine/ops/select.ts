/**
 * Selection ops with numpy broadcasting: Where (the condition is not differentiated), Clip (mask of
 * min ≤ x ≤ max, as PyTorch's clamp; a non-constant bound gets the cotangent of the elements it
 * clipped), elementwise Max / Min over 2+ inputs (each input gets dy where it equals the result; ties
 * split evenly between the tied inputs, as PyTorch's maximum/minimum do for two). Weight operands of
 * Where, Max and Min get `dense` per-example forms.
 */
import { masked } from './common';
import { perExampleUnbroadcast, unbroadcast } from './broadcast';
import type { OpRule, VjpContext } from './types';

/** ∂y/∂input_i · dy in the output's shape, before unbroadcasting. */
type Local = (ctx: VjpContext, dy: string, i: number) => string | undefined;

function selector(local: Local, first: number): OpRule {
  return {
    vjp(ctx) {
      const dy = ctx.dy[0];
      const ys = ctx.shape(ctx.node.outputs[0]);
      return ctx.node.inputs.map((x, i) => {
        if (!dy || i < first || !x || !ctx.needs[i]) return undefined;
        const l = local(ctx, dy, i);
        return l && unbroadcast(ctx.em, l, ys, ctx.shape(x));
      });
    },
    perExample(ctx, k) {
      const dy = ctx.dy[0];
      const x = ctx.node.inputs[k];
      if (!dy || k < first || !x) return undefined;
      const l = local(ctx, dy, k);
      return l ? { kind: 'dense', g: perExampleUnbroadcast(ctx.em, l, ctx.shape(ctx.node.outputs[0]), ctx.shape(x)) } : undefined;
    },
  };
}

const zeroOf = (ctx: VjpContext) => ctx.em.scalarOf(0, ctx.dtype(ctx.node.outputs[0]));

export const where = selector((ctx, dy, i) => {
  const cond = ctx.node.inputs[0];
  return ctx.em.one('Where', i === 1 ? [cond, dy, zeroOf(ctx)] : [cond, zeroOf(ctx), dy]);
}, 1);

export const clip: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const [x, lo, hi] = ctx.node.inputs;
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy) return out;
    const em = ctx.em;
    const dt = ctx.dtype(x);
    const xs = ctx.shape(x);
    if (ctx.needs[0]) {
      const conds = [...(lo ? [em.one('GreaterOrEqual', [x, lo])] : []), ...(hi ? [em.one('LessOrEqual', [x, hi])] : [])];
      const mask = conds.length === 2 ? em.one('And', conds) : conds[0];
      out[0] = mask ? masked(em, mask, dy, dt) : dy;
    }
    if (lo && ctx.needs[1]) out[1] = unbroadcast(em, masked(em, em.one('Less', [x, lo]), dy, dt), xs, ctx.shape(lo));
    if (hi && ctx.needs[2]) out[2] = unbroadcast(em, masked(em, em.one('Greater', [x, hi]), dy, dt), xs, ctx.shape(hi));
    return out;
  },
};

function extremum(): OpRule {
  return selector((ctx, dy, i) => {
    const em = ctx.em;
    const y = ctx.node.outputs[0];
    const dt = ctx.dtype(y);
    const ins = ctx.node.inputs;
    if (ins.length === 1) return dy;
    const to = dt === 'float64' ? 'float64' : 'float32';
    const masks = ins.map((x) => em.one('Equal', [x, y]));
    const count = em.one('Sum', masks.map((m) => em.cast(m, to)));
    return masked(em, masks[i], em.div(dy, count), dt);
  }, 0);
}

export const max = extremum();
export const min = extremum();
