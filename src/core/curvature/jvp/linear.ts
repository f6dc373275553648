/**
 * Ops linear in their data inputs (layout, indexing, reductions by sums, averaging pools, unpooling,
 * scatters, selections): the tangent is the op itself applied to the tangents, with the same index,
 * shape and axes inputs and attributes. An input without a tangent enters as zeros of its shape, so the
 * output keeps the primal's shape (Concat, Where, ScatterElements); an op with a single data input
 * whose tangent is absent has none.
 */
import type { GraphNode } from '../../graph/types';
import { type JvpContext, type JvpRule } from './types';

/** The node again with input k replaced by its tangent (or zeros) for every k in `data`. */
export function linearIn(data: number[], drop: number[] = []): JvpRule {
  return (ctx: JvpContext) => {
    const { node } = ctx;
    if (!data.some((k) => ctx.t[k] !== undefined)) return node.outputs.map(() => undefined);
    const inputs = node.inputs.map((x, k) => {
      if (drop.includes(k)) return '';
      if (!data.includes(k) || x === '') return x;
      return ctx.t[k] ?? ctx.zerosLike(x);
    });
    // Trailing omitted inputs are dropped rather than passed as ''.
    while (inputs.length && inputs[inputs.length - 1] === '') inputs.pop();
    return clone(ctx, node, inputs);
  };
}

/** Emits `node` with new inputs and fresh outputs (same op and attributes). */
export function clone(ctx: JvpContext, node: GraphNode, inputs: string[]): string[] {
  return ctx.em.node(node.op, inputs, node.attrs, node.outputs.length, `jvp_${node.op}`);
}

/** Every input a data input (Concat, Sum of one shape). */
export const allInputs: JvpRule = (ctx) => linearIn(ctx.node.inputs.map((_, k) => k))(ctx);

export const LINEAR_RULES: Record<string, JvpRule> = {
  Identity: linearIn([0]),
  Reshape: linearIn([0]),
  Flatten: linearIn([0]),
  Transpose: linearIn([0]),
  Squeeze: linearIn([0]),
  Unsqueeze: linearIn([0]),
  Expand: linearIn([0]),
  Tile: linearIn([0]),
  Slice: linearIn([0]),
  Split: linearIn([0]),
  Gather: linearIn([0]),
  GatherElements: linearIn([0]),
  GatherND: linearIn([0]),
  DepthToSpace: linearIn([0]),
  SpaceToDepth: linearIn([0]),
  ReduceSum: linearIn([0]),
  ReduceMean: linearIn([0]),
  AveragePool: linearIn([0]),
  GlobalAveragePool: linearIn([0]),
  MaxUnpool: linearIn([0]),
  Neg: linearIn([0]),
  // Inference Dropout is the identity (its mask output carries no tangent); Resize is linear in X.
  Dropout: linearIn([0]),
  Resize: linearIn([0]),
  // Pad's constant_value (input 2) pads the primal; its tangent is padded with zeros.
  Pad: linearIn([0], [2]),
  Concat: allInputs,
  ScatterElements: linearIn([0, 2]),
  ScatterND: linearIn([0, 2]),
  Where: linearIn([1, 2]),
};
