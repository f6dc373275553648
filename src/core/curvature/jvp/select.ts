/**
 * Ops that select elements: the tangent follows the selection the primal made. MaxPool: the tangent at
 * the input element ORT picked (its `Indices` output, flat over N·C·spatial, recomputed by a second
 * MaxPool when the node does not output it; the gradient program's VJP routes cotangents by the same
 * indices). ReduceMax (the loss head's max-shift): the mean tangent over the maximal elements (ties are
 * measure-zero; the head's shift cancels in the loss anyway). Cast between float types casts the
 * tangent; to an integer or bool type, none.
 */
import { attr, intAttr, intsAttr } from '../../graph/types';
import { NoTangentRule, type JvpRule } from './types';

const FLOAT_CODES: Record<number, 'float32' | 'float64'> = { 1: 'float32', 11: 'float64' };

export const cast: JvpRule = (ctx) => {
  const t = ctx.t[0];
  const to = FLOAT_CODES[intAttr(ctx.node, 'to', 0)];
  if (!t || !to) return [undefined];
  return [ctx.em.cast(t, to)];
};

export const maxPool: JvpRule = (ctx) => {
  const { em, node } = ctx;
  const t = ctx.t[0];
  if (!t) return node.outputs.map(() => undefined);
  if (intAttr(node, 'storage_order', 0) !== 0) throw new NoTangentRule('MaxPool', node.name, 'has storage_order 1 (no tangent rule)');
  const y = node.outputs[0];
  const indices = node.outputs[1] && node.outputs[1] !== '' ? node.outputs[1] : em.node('MaxPool', [node.inputs[0]], node.attrs, 2, 'jvp_MaxPool_indices')[1];
  const flatT = em.one('Reshape', [t, em.i64([1, -1])]);
  const flatI = em.one('Reshape', [indices, em.i64([1, -1])]);
  const picked = em.one('GatherElements', [flatT, flatI], { axis: attr.int(1) });
  const ys = ctx.shape(y);
  const dy = em.one('Reshape', [picked, ys ? em.i64(ys) : em.one('Shape', [y])]);
  return [dy, undefined];
};

export const reduceMax: JvpRule = (ctx) => {
  const { em, node } = ctx;
  const t = ctx.t[0];
  if (!t) return [undefined];
  const x = node.inputs[0];
  const keep = intAttr(node, 'keepdims', 1) === 1;
  let axes: number[] | undefined = node.attrs.axes ? intsAttr(node, 'axes', []) : undefined;
  if (!axes && node.inputs[1]) {
    const c = ctx.constant(node.inputs[1]);
    if (!c) throw new NoTangentRule('ReduceMax', node.name, 'has non-constant axes (no tangent rule)');
    axes = Array.from(c.data as BigInt64Array, Number);
  }
  const kd = { keepdims: attr.int(1) };
  const m = axes ? (em.opset >= 18 ? em.one('ReduceMax', [x, em.i64(axes)], kd) : em.one('ReduceMax', [x], { ...kd, axes: attr.ints(axes) })) : em.one('ReduceMax', [x], kd);
  const mask = em.cast(em.one('Equal', [x, m]), ctx.dtype(x) === 'float64' ? 'float64' : 'float32');
  const red = (v: string) => (axes ? em.reduce('ReduceSum', v, axes, keep) : em.one('ReduceSum', [v], { keepdims: attr.int(keep ? 1 : 0) }));
  return [em.div(red(em.mul(mask, t)), red(mask))];
};

export const SELECT_RULES: Record<string, JvpRule> = { Cast: cast, MaxPool: maxPool, ReduceMax: reduceMax };
