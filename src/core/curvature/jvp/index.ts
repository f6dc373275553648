/**
 * The forward-mode (JVP) transform of an ONNX node list, used for the R-operator: applied to the
 * curvature gradient program (forward pass, loss head, backward pass by the engine's VJP rules) with
 * tangent v on the parameter inputs, the tangent of each `grad/<i>` output is (Hv)_i summed over the
 * batch — exact Hessian-vector products, "forward over reverse" (Pearlmutter 1994), in the program's own
 * precision (float32 model, float64 loss head), kinks handled as the gradient program handles them.
 *
 * Nodes are visited in order (the program's node list is topological); a node none of whose inputs has a
 * tangent is skipped; otherwise its op's rule (RULES) emits the tangents of its outputs. Ops that carry
 * no tangent (comparisons, index outputs, shapes, integer casts) are listed in NO_TANGENT. Any other op
 * reached by a tangent throws NoTangentRule naming it: the caller falls back to central differences.
 */
import type { ConstTensor, ElemType, GraphNode } from '../../graph/types';
import { attr } from '../../graph/types';
import type { Emitter } from '../../engine/emitter';
import { ACTIVATION_RULES } from './activations';
import { BILINEAR_RULES } from './bilinear';
import { LINEAR_RULES } from './linear';
import { NORMALIZATION_RULES } from './normalization';
import { SELECT_RULES } from './select';
import { NoTangentRule, isFloat, type JvpContext, type JvpRule } from './types';
import { UNARY_RULES, pow } from './unary';

export { NoTangentRule } from './types';

export const RULES: Record<string, JvpRule> = {
  ...LINEAR_RULES,
  ...BILINEAR_RULES,
  ...UNARY_RULES,
  Pow: pow,
  ...SELECT_RULES,
  ...NORMALIZATION_RULES,
  ...ACTIVATION_RULES,
};

/** Ops whose outputs are integer, boolean or shape values: no tangent, whatever their inputs carry. */
export const NO_TANGENT = new Set([
  'Shape', 'Size', 'ArgMax', 'ArgMin', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Equal', 'Not', 'And', 'Or', 'Xor',
  'IsNaN', 'IsInf', 'Sign', 'Floor', 'Ceil', 'Round', 'Mod', 'NonZero', 'ConstantOfShape', 'OneHot', 'Range', 'EyeLike', 'Constant',
]);

const CAST_TYPES: Record<number, ElemType> = { 1: 'float32', 11: 'float64', 7: 'int64', 6: 'int32', 9: 'bool', 2: 'uint8' };
const BOOL_OUT = new Set(['Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Equal', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero']);

export interface JvpInfo {
  /** Element types of values known before the transform (graph inputs, initializers, forward values). */
  dtype(name: string): ElemType | undefined;
  shape(name: string): number[] | undefined;
  constant(name: string): ConstTensor | undefined;
}

/** Output element types of a node from its inputs' (ONNX's type rules for the ops programs use). */
function outputTypes(n: GraphNode, dt: (v: string) => ElemType): ElemType[] {
  if (n.op === 'Cast') return [CAST_TYPES[Number((n.attrs.to as { v: number } | undefined)?.v ?? 1)] ?? 'float32'];
  if (BOOL_OUT.has(n.op)) return n.outputs.map(() => 'bool');
  if (INT_OUT.has(n.op)) return n.outputs.map(() => 'int64');
  if (n.op === 'MaxPool') return [dt(n.inputs[0]), 'int64'];
  if (n.op === 'ConstantOfShape') return [((n.attrs.value as { v: ConstTensor } | undefined)?.v.dtype ?? 'float32') as ElemType];
  if (n.op === 'Where') return [dt(n.inputs[1])];
  return n.outputs.map(() => dt(n.inputs[0]));
}

/**
 * Emits (into `em`) the tangent nodes of `nodes` given `seeds` (value → its tangent's name). Returns the
 * tangent of every value that has one. Throws NoTangentRule for an op without a rule on a tangent path.
 */
export function emitTangents(nodes: GraphNode[], seeds: Map<string, string>, info: JvpInfo, em: Emitter): Map<string, string> {
  const types = new Map<string, ElemType>();
  const dtype = (v: string): ElemType => types.get(v) ?? info.dtype(v) ?? 'float32';
  const emConst = new Map(em.constants.map((c) => [c.name, c.tensor]));
  const constant = (v: string) => info.constant(v) ?? emConst.get(v) ?? em.constants.find((c) => c.name === v)?.tensor;
  const shape = (v: string) => info.shape(v) ?? em.shapeOf(v);
  // Dtypes of every value the program computes (the emitted backward values are not in `info`).
  for (const n of nodes) {
    const ts = outputTypes(n, dtype);
    n.outputs.forEach((o, i) => {
      if (o && !info.dtype(o)) types.set(o, ts[i] ?? ts[0]);
    });
  }
  const tan = new Map(seeds);
  const ctxBase = {
    em,
    dtype,
    shape,
    constant,
    scalar: (v: number, like: string) => em.scalarOf(v, dtype(like)),
    zerosLike: (like: string) => {
      const d = dtype(like) === 'float64' ? 'float64' : 'float32';
      const value: ConstTensor = { dims: [1], dtype: d, data: d === 'float64' ? new Float64Array(1) : new Float32Array(1) };
      const s = shape(like);
      return em.one('ConstantOfShape', [s ? em.i64(s) : em.one('Shape', [like])], { value: attr.tensor(value) }, 'jvp_zeros');
    },
    expandTo: (t: string, y: string) => {
      const ts = shape(t);
      const ys = shape(y);
      if (ts && ys && ts.length === ys.length && ts.every((d, i) => d === ys[i])) return t;
      return em.one('Expand', [t, ys ? em.i64(ys) : em.one('Shape', [y])], {}, 'jvp_expand');
    },
  };
  for (const node of nodes) {
    const t = node.inputs.map((x) => (x === '' ? undefined : tan.get(x)));
    if (t.every((x) => x === undefined)) continue;
    if (NO_TANGENT.has(node.op)) continue;
    if (!node.outputs.some((o) => o && isFloat(dtype(o)))) continue;
    const rule = RULES[node.op];
    if (!rule) throw new NoTangentRule(node.op, node.name);
    const ctx: JvpContext = { ...ctxBase, node, t };
    const out = rule(ctx);
    node.outputs.forEach((o, i) => {
      const d = out[i];
      if (!o || d === undefined || !isFloat(dtype(o))) return;
      const s = shape(o);
      if (s && !em.shapes.has(d)) em.shapes.set(d, s);
      types.set(d, dtype(o));
      tan.set(o, d);
    });
  }
  return tan;
}

/** The nodes some output depends on, in their order (tangent rules leave unread values behind). */
export function liveNodes(nodes: GraphNode[], outputs: string[]): GraphNode[] {
  const live = new Set<string>(outputs);
  const keep: boolean[] = new Array(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((o) => o !== '' && live.has(o))) continue;
    keep[i] = true;
    for (const x of n.inputs) if (x) live.add(x);
  }
  return nodes.filter((_, i) => keep[i]);
}
