/**
 * Add, Sub, Mul, Div with numpy broadcasting. A weight operand (a bias, a learned positional table, a
 * scale) gets its per-example gradient by summing over the axes it was broadcast along, except the batch.
 */
import type { OpRule, VjpContext } from './types';
import { perExampleUnbroadcast, unbroadcast } from './broadcast';

/** ∂out/∂input_i · dy before any unbroadcasting, for the two operands. */
type Local = (ctx: VjpContext, dy: string, i: number) => string;

function binary(local: Local): OpRule {
  return {
    vjp(ctx) {
      const dy = ctx.dy[0];
      if (!dy) return [undefined, undefined];
      const out = ctx.node.outputs[0];
      return ctx.node.inputs.map((x, i) => (ctx.needs[i] ? unbroadcast(ctx.em, local(ctx, dy, i), ctx.shape(out), ctx.shape(x)) : undefined));
    },
    perExample(ctx, k) {
      const dy = ctx.dy[0];
      if (!dy) return undefined;
      const out = ctx.node.outputs[0];
      return { kind: 'dense', g: perExampleUnbroadcast(ctx.em, local(ctx, dy, k), ctx.shape(out), ctx.shape(ctx.node.inputs[k])) };
    },
  };
}

export const add = binary((_ctx, dy) => dy);
export const sub = binary((ctx, dy, i) => (i === 0 ? dy : ctx.em.neg(dy)));
export const mul = binary((ctx, dy, i) => ctx.em.mul(dy, ctx.node.inputs[1 - i]));
export const div = binary((ctx, dy, i) => {
  const b = ctx.node.inputs[1];
  const em = ctx.em;
  // d(a/b)/da = 1/b; d(a/b)/db = −(a/b)/b.
  return i === 0 ? em.div(dy, b) : em.neg(em.div(em.mul(dy, ctx.node.outputs[0]), b));
});
