/**
 * The ONNX program the curvature module runs at many parameter points: the model's forward pass, the
 * engine's float64 loss head (loss-head.ts) and, unless `lossOnly`, the backward pass by the engine's
 * VJP rules (engine/ops) down to each parameter's gradient summed over the batch, Σ_b w_b ∇ℓ_b.
 * Unlike the per-example-norm program (engine/program.ts) every parameter is a graph INPUT, not an
 * initializer, so one ORT session serves every perturbed point w ± εv, and there are no per-example
 * norms (a Hessian-vector product by differences needs only the summed gradient).
 * Outputs: `loss` [B] float64 (ℓ_b without the model's penalties), `grad/<i>` (parameter i's dims).
 * With `tangents` (buildHvpProgram): the same program transformed forward-mode (jvp/) with the extra
 * inputs `tangent/<i>` (a direction v, parameter i's dims), and only the outputs `hvp/<i>`, the
 * tangents of `grad/<i>`: Σ_b w_b (∇²ℓ_b v)_i, exact Hessian-vector products (the R-operator).
 */
import { HeatcapError } from '../errors';
import type { ConstTensor, ElemType, EngineGraph, GraphNode } from '../graph/types';
import { emitHead, type LossHead } from '../engine/loss-head';
import { buildModel } from '../engine/onnx-encode';
import { OP_RULES } from '../engine/ops';
import type { VjpContext } from '../engine/ops/types';
import { programContext, type ValueInfo } from '../engine/program';
import { encodeModel } from '../onnx/proto';
import { emitTangents, liveNodes } from './jvp';

export interface CurvatureProgram {
  bytes: Uint8Array;
  B: number;
  input: string;
  outputs: { loss: string; grads: string[] };
  nodeCount: number;
  /** HVP programs: the tangent inputs (parameter order) and the outputs `hvp/<i>`. */
  tangents?: { inputs: string[]; outputs: string[] };
}

const FLOAT = new Set<ElemType>(['float32', 'float64']);

/** The exact Hessian-vector product program; throws NoTangentRule (jvp/) where an op has no tangent rule. */
export function buildHvpProgram(graph: EngineGraph, head: LossHead, values: Map<string, ValueInfo>, B: number): CurvatureProgram {
  return buildCurvatureProgram(graph, head, values, B, false, true);
}

export function buildCurvatureProgram(graph: EngineGraph, head: LossHead, values: Map<string, ValueInfo>, B: number, lossOnly: boolean, tangents = false): CurvatureProgram {
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
  let nodes = [...forward, ...em.nodes, ...rename];
  const inputs = [
    { name: graph.input.name, dtype: graph.input.dtype, shape: [B, ...shapeOf(graph.input.name).slice(1)] },
    { name: 'targets', dtype: 'float32' as const, shape: zShape },
    { name: 'weights', dtype: 'float32' as const, shape: [B] },
    ...graph.params.map((p) => ({ name: p.name, dtype: 'float32' as const, shape: p.tensor.dims })),
  ];
  let outs = [{ name: outputs.loss }, ...outputs.grads.map((name) => ({ name }))];
  let tangentIO: CurvatureProgram['tangents'];
  if (tangents) {
    // Forward over reverse: the tangent of the whole gradient program along v on the parameter inputs.
    const tin = graph.params.map((_, i) => `tangent/${i}`);
    const seeds = new Map(graph.params.map((p, i) => [p.name, tin[i]]));
    const known = new Map<string, ElemType>([
      [graph.input.name, graph.input.dtype],
      ['targets', 'float32'],
      ['weights', 'float32'],
      ...graph.params.map((p) => [p.name, 'float32'] as [string, ElemType]),
      ...tin.map((t) => [t, 'float32'] as [string, ElemType]),
      ...[...graph.constants, ...em.constants].map((c) => [c.name, c.tensor.dtype] as [string, ElemType]),
    ]);
    const before = em.nodes.length;
    const tan = emitTangents(nodes, seeds, { dtype: (v) => values.get(v)?.dtype ?? known.get(v), shape: (v) => values.get(v)?.dims ?? em.shapeOf(v), constant: (v) => constants.get(v) ?? constantOf(v) }, em);
    const tout = graph.params.map((_, i) => `hvp/${i}`);
    const tnodes: GraphNode[] = tout.map((name, i) => {
      const src = tan.get(outputs.grads[i]) ?? em.constant({ dims: graph.params[i].tensor.dims, dtype: 'float32', data: new Float32Array(graph.params[i].tensor.dims.reduce((a, b) => a * b, 1)) }, 'zero_hvp');
      return { op: 'Identity', name: `out_hvp_${i}`, inputs: [src], outputs: [name], attrs: {} };
    });
    nodes = liveNodes([...nodes, ...em.nodes.slice(before), ...tnodes], tout);
    inputs.push(...graph.params.map((p, i) => ({ name: tin[i], dtype: 'float32' as const, shape: p.tensor.dims })));
    outs = tout.map((name) => ({ name }));
    tangentIO = { inputs: tin, outputs: tout };
  }
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const model = buildModel({
    opset,
    name: tangents ? 'heatcap-curvature-hvp' : lossOnly ? 'heatcap-curvature-loss' : 'heatcap-curvature-gradient',
    nodes,
    initializers: tangents ? [...graph.constants, ...em.constants].filter((c) => used.has(c.name)) : [...graph.constants, ...em.constants],
    inputs,
    outputs: outs,
  });
  return { bytes: encodeModel(model), B, input: graph.input.name, outputs, nodeCount: nodes.length, tangents: tangentIO };
}
