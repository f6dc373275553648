/**
 * Forward-mode (tangent, JVP) rules for ONNX nodes: what the R-operator (Pearlmutter 1994) needs to run
 * the gradient program "forward over reverse". Given a node and the tangents of its inputs (the
 * directional derivatives along v of the values it reads), a rule emits the tangents of its outputs.
 * Rules speak through the engine's Emitter (the same one the gradient program was built with) and know
 * values only by name, their element type and, where the probe or the emitter knows it, their shape.
 */
import type { ConstTensor, ElemType, GraphNode } from '../../graph/types';
import type { Emitter } from '../../engine/emitter';

export interface JvpContext {
  node: GraphNode;
  em: Emitter;
  /** Tangent of each input; undefined: that input does not depend on the parameters (zero tangent). */
  t: (string | undefined)[];
  /** Element type of any primal value of the program. */
  dtype(name: string): ElemType;
  /** Static shape of a primal value where known (forward values always; emitted values often). */
  shape(name: string): number[] | undefined;
  /** A constant input's tensor (initializers, emitter constants), for axes and exponents. */
  constant(name: string): ConstTensor | undefined;
  /** A rank-0 constant of `like`'s float type. */
  scalar(v: number, like: string): string;
  /** Zeros shaped and typed as primal `like` (ConstantOfShape: no initializer of that size). */
  zerosLike(like: string): string;
  /** Tangent `t` broadcast to the shape of primal value `y` (a no-op when the shapes are known equal). */
  expandTo(t: string, y: string): string;
}

/** Tangents of the node's outputs (undefined: zero or not differentiable, e.g. an index output). */
export type JvpRule = (ctx: JvpContext) => (string | undefined)[];

/** A node whose inputs carry tangents but whose op has no rule: the caller falls back to differences. */
export class NoTangentRule extends Error {
  constructor(
    readonly op: string,
    readonly nodeName: string,
    why = 'has no tangent (forward-mode) rule',
  ) {
    super(`op ${op} (node '${nodeName}') ${why}`);
  }
}

export const isFloat = (d: ElemType) => d === 'float32' || d === 'float64';

/** Σ of the defined terms; undefined when none is. */
export function sumTerms(em: Emitter, terms: (string | undefined)[]): string | undefined {
  const xs = terms.filter((x): x is string => x !== undefined);
  if (xs.length === 0) return undefined;
  return xs.length === 1 ? xs[0] : xs.slice(1).reduce((a, b) => em.add(a, b), xs[0]);
}
