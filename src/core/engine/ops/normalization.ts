/**
 * BatchNormalization (inference form: running statistics) and LayerNormalization (opset 17). The
 * normalised input x̂ is recomputed (BatchNormalization's by the op itself, LayerNormalization's from basic
 * ops). Per example (PERFORMANCE-NOTES.md): scale-grad =
 * Σ dy·x̂ and bias-grad = Σ dy over the axes other than the batch and the feature axes, `dense`.
 */
import { attr, floatAttr, intAttr } from '../../graph/types';
import type { Emitter } from '../emitter';
import { floatConst, floatType, memo, normAxis, type FloatType } from './common';
import { columnScale, rowwise } from './last-axis';
import { perExampleUnbroadcast, unbroadcast } from './broadcast';
import type { OpRule, PerExampleGrad, VjpContext } from './types';

function invStd(em: Emitter, v: string, eps: number, dtype: string): string {
  return em.one('Reciprocal', [em.one('Sqrt', [em.add(v, em.scalarOf(eps, dtype))])]);
}

interface BnParts {
  x: string;
  /** Axes other than the channel axis, and the spatial axes alone. */
  allAxes: number[];
  spatialAxes: number[];
  inv: string;
  xhat: string;
  C: number;
}

function bnParts(ctx: VjpContext): BnParts {
  const em = ctx.em;
  if (intAttr(ctx.node, 'training_mode', 0) !== 0) {
    throw new Error(`BatchNormalization '${ctx.node.name}': training_mode=1 (batch statistics) is not supported by the gradient program; export the model in eval mode`);
  }
  const [x, , , mean, variance] = ctx.node.inputs;
  const xs = ctx.shape(x);
  const C = xs[1];
  const spatialAxes = xs.slice(2).map((_, i) => i + 2);
  const dt = ctx.dtype(x);
  const eps = floatAttr(ctx.node, 'epsilon', 1e-5);
  const inv = memo(em, `${ctx.node.outputs[0]}\u0000bn_inv`, () => invStd(em, variance, eps, dt));
  // x̂ by ORT's own BatchNormalization with scale 1 and bias 0: one pass instead of a Sub and a Mul broadcast
  // along the channel axis, which ORT runs row by row (resnet_tiny's [256, 16, 4, 4], one thread: 29 vs 155 µs).
  const xhat = memo(em, `${ctx.node.outputs[0]}\u0000bn_xhat`, () =>
    em.one('BatchNormalization', [x, filled(em, C, 1, floatType(ctx, x)), filled(em, C, 0, floatType(ctx, x)), mean, variance], { epsilon: attr.float(eps) }),
  );
  return { x, allAxes: [0, ...spatialAxes], spatialAxes, inv, xhat, C };
}

/** A [C] constant of `value`, one per channel count and type. */
const filled = (em: Emitter, C: number, value: number, dt: FloatType): string => memo(em, `filled\u0000${C}\u0000${value}\u0000${dt}`, () => floatConst(em, [C], new Array<number>(C).fill(value), dt, 'filled'));

/**
 * x · c[channel], by a BatchNormalization with mean 0, variance 1 and epsilon 0 (so its 1/√(var + ε) is 1
 * and x·c + 0 is exact): the channel-axis broadcast of a Mul is the slow form in ORT (see x̂ above).
 */
function channelScale(em: Emitter, x: string, c: string, C: number, dt: FloatType): string {
  const zeros = filled(em, C, 0, dt);
  return em.one('BatchNormalization', [x, c, zeros, zeros, filled(em, C, 1, dt)], { epsilon: attr.float(0) });
}

export const batchNormalization: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy) return out;
    const em = ctx.em;
    const p = bnParts(ctx);
    const scale = ctx.node.inputs[1];
    const dt = ctx.dtype(p.x);
    if (ctx.needs[0]) out[0] = channelScale(em, dy, em.mul(scale, p.inv), p.C, floatType(ctx, p.x));
    const sumDyXhat = ctx.needs[1] || ctx.needs[4] ? em.reduce('ReduceSum', em.mul(dy, p.xhat), p.allAxes, false) : undefined;
    const sumDy = ctx.needs[2] || ctx.needs[3] ? em.reduce('ReduceSum', dy, p.allAxes, false) : undefined;
    if (ctx.needs[1]) out[1] = sumDyXhat;
    if (ctx.needs[2]) out[2] = sumDy;
    // Statistics are constants in an exported model; when they are not, their exact cotangents:
    // ∂/∂mean = −scale·inv·Σdy, ∂/∂var = −½·scale·inv²·Σ dy·x̂.
    if (ctx.needs[3] && sumDy) out[3] = em.neg(em.mul(sumDy, em.mul(scale, p.inv)));
    if (ctx.needs[4] && sumDyXhat) out[4] = em.mul(em.mul(sumDyXhat, em.mul(scale, em.mul(p.inv, p.inv))), em.scalarOf(-0.5, dt));
    return out;
  },
  perExample(ctx, k): PerExampleGrad | undefined {
    const dy = ctx.dy[0];
    if (!dy || (k !== 1 && k !== 2)) return undefined;
    const em = ctx.em;
    const p = bnParts(ctx);
    const g = k === 1 ? em.mul(dy, p.xhat) : dy;
    return { kind: 'dense', g: em.reduce('ReduceSum', g, p.spatialAxes, false) };
  },
};

interface LnParts {
  x: string;
  axes: number[];
  inv: string;
  xhat: string;
  /** a − s or a · s with s one value per normalised row. */
  perRow: (op: 'Sub' | 'Mul', a: string, s: string) => string;
}

function lnParts(ctx: VjpContext): LnParts {
  const em = ctx.em;
  const x = ctx.node.inputs[0];
  const rank = ctx.shape(x).length;
  const axis = normAxis(intAttr(ctx.node, 'axis', -1), rank);
  const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
  const dt = ctx.dtype(x);
  const eps = floatAttr(ctx.node, 'epsilon', 1e-5);
  const key = `${ctx.node.outputs[0]}\u0000ln`;
  const shape = ctx.shape(x);
  // Normalised over the last axis alone (the usual case): per-row values in the form ORT runs fast (last-axis.ts).
  const lastOnly = axes.length === 1;
  const perRow = (op: 'Sub' | 'Mul', a: string, s: string) => (lastOnly ? rowwise(em, op, a, s, shape, floatType(ctx, x)) : em.one(op, [a, s]));
  const xc = memo(em, `${key}_xc`, () => perRow('Sub', x, em.reduce('ReduceMean', x, axes, true)));
  const inv = memo(em, `${key}_inv`, () => invStd(em, em.reduce('ReduceMean', em.mul(xc, xc), axes, true), eps, dt));
  const xhat = memo(em, `${key}_xhat`, () => perRow('Mul', xc, inv));
  return { x, axes, inv, xhat, perRow };
}

export const layerNormalization: OpRule = {
  vjp(ctx) {
    const dy = ctx.dy[0];
    const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
    if (!dy) return out;
    const em = ctx.em;
    const p = lnParts(ctx);
    const [, scale, bias] = ctx.node.inputs;
    const ys = ctx.shape(ctx.node.outputs[0]);
    if (ctx.needs[0]) {
      // dx = inv·(g − mean(g) − x̂·mean(g·x̂)), g = dy·scale, means over the normalised axes.
      const ss = ctx.shape(scale);
      const g = p.axes.length === 1 && ss.length === 1 ? columnScale(em, dy, scale, ys, floatType(ctx, p.x)) : em.mul(dy, scale);
      const mg = em.reduce('ReduceMean', g, p.axes, true);
      const mgx = em.reduce('ReduceMean', em.mul(g, p.xhat), p.axes, true);
      out[0] = p.perRow('Mul', em.sub(p.perRow('Sub', g, mg), p.perRow('Mul', p.xhat, mgx)), p.inv);
    }
    if (ctx.needs[1]) out[1] = unbroadcast(em, em.mul(dy, p.xhat), ys, ctx.shape(scale));
    if (bias && ctx.needs[2]) out[2] = unbroadcast(em, dy, ys, ctx.shape(bias));
    return out;
  },
  perExample(ctx, k): PerExampleGrad | undefined {
    const dy = ctx.dy[0];
    const w = ctx.node.inputs[k];
    if (!dy || !w || (k !== 1 && k !== 2)) return undefined;
    const em = ctx.em;
    const g = k === 1 ? em.mul(dy, lnParts(ctx).xhat) : dy;
    return { kind: 'dense', g: perExampleUnbroadcast(em, g, ctx.shape(ctx.node.outputs[0]), ctx.shape(w)) };
  },
};
