/**
 * The ONNX program the curvature module runs at many parameter points: the model's forward pass, the
 * engine's float64 loss head (loss-head.ts) and, unless `lossOnly`, the backward pass by the engine's
 * VJP rules (engine/ops) down to each parameter's gradient summed over the batch, Σ_b w_b ∇ℓ_b.
 * Unlike the per-example-norm program (engine/program.ts) every parameter is a graph INPUT, not an
 * initializer, so one ORT session serves every perturbed point w ± εv, and there are no per-example
 * norms (a Hessian-vector product by differences needs only the summed gradient).
 * Outputs: `loss` [B] float64 (ℓ_b without the model's penalties), `grad/<i>` (parameter i's dims).
 */
import { HeatcapError } from '../errors';
import type { ConstTensor, ElemType, EngineGraph, GraphNode } from '../graph/types';
import { emitHead, type LossHead } from '../engine/loss-head';
import { buildModel } from '../engine/onnx-encode';
import { OP_RULES } from '../engine/ops';
import type { VjpContext } from '../engine/ops/types';
import { programContext, type ValueInfo } from '../engine/program';
import { encodeModel } from '../onnx/proto';

export interface CurvatureProgram {
  bytes: Uint8Array;
  B: number;
  input: string;
  outputs: { loss: string; grads: string[] };
  nodeCount: number;
}

const FLOAT = new Set<ElemType>(['float32', 'float64']);

export function buildCurvatureProgram(graph: EngineGraph, head: LossHead, values: Map<string, ValueInfo>, B: number, lossOnly: boolean): CurvatureProgram {
  const { opset, em, shapeOf, dtypeOf, constants } = programContext(graph, values, 'curv');
  const forward = graph.nodes.filter((n) => n !== head.drop);

  // Values that depend on some parameter (whether or not they depend on the batch): all need cotangents.
  const paramDep = new Set<string>(graph.params.map((p) => p.name));
  for (const n of forward) if (n.inputs.some((x) => x !== '' && paramDep.has(x))) n.outputs.forEach((o) => paramDep.add(o));
  const needsGrad = (v: string) => v !== '' && paramDep.has(v) && FLOAT.has(dtypeOf(v));
  const constantOf = (n: string): ConstTensor | undefined => {
    const c = constants.get(n);
    if (c) return c;
    const v = values.get(n);
    return v?.data && !paramDep.has(n) && n !== graph.input.name ? { dims: v.dims, dtype: v.dtype, data: v.data } : undefined;
  };

  const zShape = shapeOf(head.input);
  const { loss, dz } = emitHead(em, head, head.input, zShape, 'targets', 'weights');
  const P = graph.params.length;
  const grads: string[] = new Array(P);
  if (!lossOnly) {
    const cts = new Map<string, string[]>([[head.input, [dz]]]);
    const addCt = (v: string, g: string) => {
      em.shapes.set(g, shapeOf(v));
      const list = cts.get(v);
      if (list) list.push(g);
      else cts.set(v, [g]);
    };
    for (let i = forward.length - 1; i >= 0; i--) {
      const node = forward[i];
      const dy = node.outputs.map((o) => {
        const list = cts.get(o);
        if (!list) return undefined;
        const s = em.sum(list);
        em.shapes.set(s, shapeOf(o));
        return s;
      });
      if (dy.every((d) => d === undefined)) continue;
      const needs = node.inputs.map((x) => needsGrad(x));
      if (!needs.some(Boolean)) continue;
      const rule = OP_RULES[node.op];
      if (!rule) throw new HeatcapError(graph.file, `op ${node.op} (node '${node.name}') is on the path from a parameter to the loss and has no gradient rule`);
      const ctx: VjpContext = { node, em, shape: shapeOf, dtype: dtypeOf, dy, needs, constant: constantOf };
      const g = rule.vjp(ctx);
      node.inputs.forEach((x, k) => {
        if (needs[k] && g[k]) addCt(x, g[k]!);
      });
    }
    graph.params.forEach((p, i) => {
      const list = cts.get(p.name);
      if (list) grads[i] = em.sum(list);
      else {
        const size = p.tensor.dims.reduce((a, b) => a * b, 1);
        grads[i] = em.constant({ dims: p.tensor.dims, dtype: 'float32', data: new Float32Array(size) }, 'zero_grad');
      }
    });
  }
  const outputs = { loss: 'loss', grads: lossOnly ? [] : grads.map((_, i) => `grad/${i}`) };
  const rename: GraphNode[] = [
    { op: 'Identity', name: 'out_loss', inputs: [loss], outputs: [outputs.loss], attrs: {} },
    ...outputs.grads.map((name, i) => ({ op: 'Identity', name: `out_grad_${i}`, inputs: [grads[i]], outputs: [name], attrs: {} })),
  ];
  const nodes = [...forward, ...em.nodes, ...rename];
  const model = buildModel({
    opset,
    name: lossOnly ? 'heatcap-curvature-loss' : 'heatcap-curvature-gradient',
    nodes,
    initializers: [...graph.constants, ...em.constants],
    inputs: [
      { name: graph.input.name, dtype: graph.input.dtype, shape: [B, ...shapeOf(graph.input.name).slice(1)] },
      { name: 'targets', dtype: 'float32', shape: zShape },
      { name: 'weights', dtype: 'float32', shape: [B] },
      ...graph.params.map((p) => ({ name: p.name, dtype: 'float32' as const, shape: p.tensor.dims })),
    ],
    outputs: [{ name: outputs.loss }, ...outputs.grads.map((name) => ({ name }))],
  });
  return { bytes: encodeModel(model), B, input: graph.input.name, outputs, nodeCount: nodes.length };
}
