/**
 * Ops the Keras/TF.js front-end emits for Keras' own activations and layers: Selu, Softsign,
 * ThresholdedRelu, PRelu (a learned slope: per-example form), nearest-neighbour Resize with integer
 * factors (UpSampling2D), and GreaterOrEqual (a mask: no gradient).
 */
import { floatAttr, stringAttr } from '../../graph/types';
import { perExampleUnbroadcast, unbroadcast } from './broadcast';
import type { OpRule, VjpContext } from './types';

const x0 = (ctx: VjpContext) => ctx.node.inputs[0];
const s = (ctx: VjpContext, v: number) => ctx.em.scalarOf(v, ctx.dtype(x0(ctx)));

/** selu′ = γ for x > 0, y + γα otherwise (y = γα(eˣ − 1)). */
export const selu: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const em = ctx.em;
    const alpha = floatAttr(ctx.node, 'alpha', 1.67326319217681884765625);
    const gamma = floatAttr(ctx.node, 'gamma', 1.05070102214813232421875);
    const slope = em.one('Where', [em.one('Greater', [x0(ctx), s(ctx, 0)]), s(ctx, gamma), em.add(ctx.node.outputs[0], s(ctx, gamma * alpha))]);
    return [em.mul(dy, slope)];
  },
};

/** softsign′ = 1/(1 + |x|)². */
export const softsign: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const em = ctx.em;
    const d = em.add(s(ctx, 1), em.one('Abs', [x0(ctx)]));
    return [em.div(dy, em.mul(d, d))];
  },
};

/** thresholded relu′ = [x > α]. */
export const thresholdedRelu: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return [undefined];
    const em = ctx.em;
    return [em.one('Where', [em.one('Greater', [x0(ctx), s(ctx, floatAttr(ctx.node, 'alpha', 1))]), dy, s(ctx, 0)])];
  },
};

/** y = x for x > 0, slope·x otherwise; slope broadcasts (a learned weight in Keras' PReLU). */
export const prelu: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy) return [undefined, undefined];
    const em = ctx.em;
    const [x, slope] = ctx.node.inputs;
    const pos = em.one('Greater', [x, s(ctx, 0)]);
    const dx = ctx.needs[0] ? em.one('Where', [pos, dy, em.mul(dy, slope)]) : undefined;
    const dslope = ctx.needs[1] ? unbroadcast(em, em.one('Where', [pos, s(ctx, 0), em.mul(dy, x)]), ctx.shape(ctx.node.outputs[0]), ctx.shape(slope)) : undefined;
    return [dx, dslope];
  },
  perExample(ctx, k) {
    const dy = ctx.dy[0];
    if (!dy || k !== 1) return undefined;
    const em = ctx.em;
    const [x, slope] = ctx.node.inputs;
    const local = em.one('Where', [em.one('Greater', [x, s(ctx, 0)]), s(ctx, 0), em.mul(dy, x)]);
    return { kind: 'dense', g: perExampleUnbroadcast(em, local, ctx.shape(ctx.node.outputs[0]), ctx.shape(slope)) };
  },
};

/**
 * Nearest-neighbour Resize by integer factors with asymmetric coordinates and floor rounding: every
 * input element is repeated in a block, so its cotangent is the sum of the block.
 */
export const resize: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    if (!dy || !ctx.needs[0]) return ctx.node.inputs.map(() => undefined);
    const n = ctx.node;
    const inShape = ctx.shape(x0(ctx));
    const outShape = ctx.shape(n.outputs[0]);
    const exact = stringAttr(n, 'mode', 'nearest') === 'nearest' && stringAttr(n, 'coordinate_transformation_mode', 'half_pixel') === 'asymmetric' && stringAttr(n, 'nearest_mode', 'round_prefer_floor') === 'floor';
    const factors = outShape.map((o, i) => o / inShape[i]);
    if (!exact || factors.some((f) => !Number.isInteger(f))) {
      throw new Error(`Resize '${n.name}': only nearest-neighbour upsampling by integer factors (asymmetric, floor) has a gradient rule`);
    }
    const em = ctx.em;
    const split = inShape.flatMap((d, i) => [d, factors[i]]);
    const summed = em.reduce('ReduceSum', em.reshape(dy, split), inShape.map((_, i) => 2 * i + 1), false);
    return [em.reshape(summed, inShape), ...n.inputs.slice(1).map(() => undefined)];
  },
};
