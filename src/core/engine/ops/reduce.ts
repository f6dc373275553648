/**
 * ReduceSum / ReduceMean / ReduceMax / ReduceMin / ReduceSumSquare / ReduceL2 (axes as attribute or
 * constant input, keepdims, noop_with_empty_axes). Max and Min route the cotangent to the arg-extrema,
 * split evenly between ties (PyTorch's amax/amin do the same).
 */
import { intAttr, intsAttr } from '../../graph/types';
import { constValues, floatType, masked, normAxis, prod } from './common';
import { expandTrailing } from './last-axis';
import type { OpRule, VjpContext } from './types';

type Kind = 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceSumSquare' | 'ReduceL2';

/** The reduced axes (normalised, sorted), or undefined for a no-op (empty axes with noop_with_empty_axes). */
function reducedAxes(ctx: VjpContext, rank: number): number[] | undefined {
  const fromInput = constValues(ctx, ctx.node.inputs[1]);
  if (ctx.node.inputs[1] && !fromInput) throw new Error(`${ctx.node.op} '${ctx.node.name}': the axes must be a constant for the gradient program`);
  const axes = fromInput ?? intsAttr(ctx.node, 'axes', []);
  if (axes.length === 0) return intAttr(ctx.node, 'noop_with_empty_axes', 0) ? undefined : Array.from({ length: rank }, (_, i) => i);
  return axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
}

function reduceRule(kind: Kind): OpRule {
  return {
    vjp(ctx) {
      const dy = ctx.dy[0];
      const out: (string | undefined)[] = ctx.node.inputs.map(() => undefined);
      if (!dy || !ctx.needs[0]) return out;
      const em = ctx.em;
      const x = ctx.node.inputs[0];
      const xs = ctx.shape(x);
      const dt = ctx.dtype(x);
      const axes = reducedAxes(ctx, xs.length);
      if (!axes) {
        // No-op reduction: y = f(x) elementwise.
        if (kind === 'ReduceSumSquare') out[0] = em.mul(dy, em.mul(x, em.scalarOf(2, dt)));
        else if (kind === 'ReduceL2') out[0] = em.mul(dy, em.one('Sign', [x]));
        else out[0] = dy;
        return out;
      }
      const keepShape = xs.map((d, i) => (axes.includes(i) ? 1 : d));
      const dyK = intAttr(ctx.node, 'keepdims', 1) ? dy : em.reshape(dy, keepShape);
      const yK = () => em.reshape(ctx.node.outputs[0], keepShape);
      // Over trailing axes (a mean over features, a global pool written as ReduceMean), the broadcast back in
      // the form ORT runs fast (last-axis.ts); elsewhere Expand.
      const sorted = [...axes].sort((a, b) => a - b);
      const trailing = sorted.every((a, i) => a === xs.length - sorted.length + i);
      switch (kind) {
        case 'ReduceSum':
          out[0] = trailing ? expandTrailing(em, dyK, xs, axes.length, 1, floatType(ctx, x)) : em.one('Expand', [dyK, em.i64(xs)]);
          break;
        case 'ReduceMean': {
          const n = prod(axes.map((a) => xs[a]));
          out[0] = trailing ? expandTrailing(em, dyK, xs, axes.length, 1 / n, floatType(ctx, x)) : em.one('Expand', [em.mul(dyK, em.scalarOf(1 / n, dt)), em.i64(xs)]);
          break;
        }
        case 'ReduceSumSquare':
          out[0] = em.mul(dyK, em.mul(x, em.scalarOf(2, dt)));
          break;
        case 'ReduceL2':
          out[0] = em.mul(dyK, em.div(x, yK()));
          break;
        case 'ReduceMax':
        case 'ReduceMin': {
          const mask = em.one('Equal', [x, yK()]);
          const count = em.reduce('ReduceSum', em.cast(mask, dt === 'float64' ? 'float64' : 'float32'), axes, true);
          out[0] = masked(em, mask, em.div(dyK, count), dt);
          break;
        }
      }
      return out;
    },
  };
}

export const reduceSum = reduceRule('ReduceSum');
export const reduceMean = reduceRule('ReduceMean');
export const reduceMax = reduceRule('ReduceMax');
export const reduceMin = reduceRule('ReduceMin');
export const reduceSumSquare = reduceRule('ReduceSumSquare');
export const reduceL2 = reduceRule('ReduceL2');
