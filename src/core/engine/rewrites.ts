/**
 * Rewrites of the engine graph that change no number and make the gradient program cheaper. Each is a
 * pure function of the graph with a test that forward values and gradients are unchanged.
 */
import type { EngineGraph, GraphNode } from '../graph/types';

/**
 * Relu → MaxPool becomes MaxPool → Relu: max is monotone, so relu(maxpool(x)) = maxpool(relu(x)) (padding
 * is −∞ in both), and the gradient routes to the same element (where the maximum is ≤ 0 both give 0).
 * The backward then masks the pooled tensor (4× smaller for a 2×2 pool) instead of the full one, and the
 * forward applies Relu to the smaller tensor too. Only when the Relu's sole reader is the MaxPool, which
 * uses one output (no Indices).
 */
export function poolBeforeRelu(graph: EngineGraph): EngineGraph {
  const readers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) for (const x of n.inputs) if (x) readers.set(x, [...(readers.get(x) ?? []), n]);
  const isOutput = (v: string) => v === graph.output.name;
  const replaced = new Map<GraphNode, GraphNode[]>();
  const dropped = new Set<GraphNode>();
  for (const relu of graph.nodes) {
    if (relu.op !== 'Relu') continue;
    const r = relu.outputs[0];
    const rs = readers.get(r) ?? [];
    const pool = rs[0];
    if (rs.length !== 1 || pool.op !== 'MaxPool' || isOutput(r) || pool.outputs.length !== 1 || pool.inputs[0] !== r) continue;
    const pooled = `${pool.outputs[0]}/before_relu`;
    replaced.set(pool, [
      { ...pool, inputs: [relu.inputs[0], ...pool.inputs.slice(1)], outputs: [pooled] },
      { ...relu, inputs: [pooled], outputs: [pool.outputs[0]] },
    ]);
    dropped.add(relu);
  }
  if (dropped.size === 0) return graph;
  const nodes = graph.nodes.flatMap((n) => (dropped.has(n) ? [] : (replaced.get(n) ?? [n])));
  return { ...graph, nodes };
}

/** Every rewrite, in order. */
export function rewriteForGradients(graph: EngineGraph): EngineGraph {
  return poolBeforeRelu(graph);
}
