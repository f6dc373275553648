/**
 * The vectorised projection program: for a batch of B examples, ⟨g_b, v_i⟩ for every example b and every
 * direction v_i, as one [B, k] output, without the per-example gradients of the whole model.
 *
 * Inputs: the model input, `targets`, `weights` [B] (1, or 0 for padding rows: their rows come out 0),
 * every parameter (as in onnx-program.ts, so one session serves every point w₀ ± εv_j), and per
 * parameter i the directions' slices `dir/<i>` of shape [k, ...parameter dims].
 * Output: `proj` [B, k] float32 (the model's penalties excluded, as in onnx-program.ts).
 *
 * The backward pass is the engine's (engine/ops VJP rules, cotangents only for batch-dependent values);
 * each weight read gets its op's per-example form (PerExampleGrad, as engine/program.ts uses for norms),
 * contracted with the directions layer by layer and summed:
 *  - outer, one position (Dense): g_b = x_b ⊗ y_b, ⟨g_b, V_i⟩ = x_bᵀ V_i y_b — one MatMul of the
 *    layer's rows with the k directions side by side, then a row-wise product with y; cost k × the layer's
 *    forward product, nothing weight-sized per example;
 *  - outer over T > 1 positions (Conv): the layer's per-example gradients [B, P_layer] (engine
 *    per-example.ts `materialize`, cost T·P_layer per example) times V_layerᵀ [P_layer, k]; cheaper than
 *    k contractions over T positions whenever T, k ≥ 2. Only one layer's gradients exist at a time
 *    (ORT frees an intermediate once its last reader has run);
 *  - dense forms (already [B, ...]) times V_layerᵀ;
 *  - embedding rows: Σ_t V_i[id_t]·d_t, a Gather of the directions' rows.
 * Weights reached through layout ops (a TF.js kernel transposed into Conv layout) take the directions
 * through the same ops (they are linear: ⟨Lᵀh, v⟩ = ⟨h, Lv⟩), one direction at a time.
 * Throws engine/program.ts NeedsLoop where a weight has no per-example form, is shared, or is computed
 * from parameters by more than layout ops: the caller then keeps the batch-1 loop.
 * With `tangents` (buildProjectionTangentProgram): the program transformed forward-mode (jvp/) along
 * `tangent/<i>` on the parameters, output `proj_tangent` [B, k] = v_iᵀ∇²ℓ_b·t for every example and
 * direction (the directions are constants of the transform): exact per-example curvatures v_iᵀA_b v_j
 * with t = v_j. Throws jvp's NoTangentRule where an op has no tangent rule.
 */
import { HeatcapError } from '../errors';
import { attr, type ElemType, type EngineGraph, type GraphNode } from '../graph/types';
import { emitHead, type LossHead } from '../engine/loss-head';
import { buildModel } from '../engine/onnx-encode';
import { OP_RULES } from '../engine/ops';
import type { OpRule, PerExampleGrad, VjpContext } from '../engine/ops/types';
import { materialize } from '../engine/per-example';
import { NeedsLoop, dependence, programContext, type ValueInfo } from '../engine/program';
import { encodeModel } from '../onnx/proto';
import { emitTangents } from './jvp';

export interface ProjectionProgram {
  bytes: Uint8Array;
  B: number;
  k: number;
  input: string;
  /** Input name of parameter i's direction slices [k, ...dims]. */
  directions: string[];
  output: string;
  nodeCount: number;
  /** How each parameter's projection is formed, in words. */
  forms: string[];
  /** Tangent programs: the tangent inputs (parameter order). */
  tangents?: string[];
}

export function buildProjectionTangentProgram(graph: EngineGraph, head: LossHead, values: Map<string, ValueInfo>, B: number, k: number): ProjectionProgram {
  return buildProjectionProgram(graph, head, values, B, k, true);
}

const LAYOUT_OPS = new Set(['Transpose', 'Reshape', 'Identity', 'Squeeze', 'Unsqueeze', 'Flatten']);
const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/** The nodes the output depends on (the loss, and forms not chosen, are left out). */
function live(nodes: GraphNode[], output: string): GraphNode[] {
  const need = new Set<string>([output]);
  const keep = nodes.map(() => false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!nodes[i].outputs.some((o) => o !== '' && need.has(o))) continue;
    keep[i] = true;
    for (const x of nodes[i].inputs) if (x) need.add(x);
  }
  return nodes.filter((_, i) => keep[i]);
}

export function buildProjectionProgram(graph: EngineGraph, head: LossHead, values: Map<string, ValueInfo>, B: number, k: number, tangents = false): ProjectionProgram {
  const { opset, em, shapeOf, dtypeOf, constants } = programContext(graph, values, 'proj');
  const paramIndex = new Map(graph.params.map((p, i) => [p.name, i]));
  const forward = graph.nodes.filter((n) => n !== head.drop);
  const producer = new Map<string, GraphNode>();
  for (const n of forward) for (const o of n.outputs) producer.set(o, n);

  const { paramDep, isWeight, needsGrad, constantOf } = dependence(graph, forward, values, constants, dtypeOf);
  const ruleOf = (n: GraphNode): OpRule => {
    const r = OP_RULES[n.op];
    if (!r) throw new HeatcapError(graph.file, `op ${n.op} (node '${n.name}') is on the path from a parameter to the loss and has no gradient rule`);
    return r;
  };

  // Forward and head as in the curvature gradient program (float64 head), so the numbers are the loop's.
  const zShape = shapeOf(head.input);
  const { dz } = emitHead(em, head, head.input, zShape, 'targets', 'weights');
  const cts = new Map<string, string[]>([[head.input, [dz]]]);
  const addCt = (v: string, g: string) => {
    em.shapes.set(g, shapeOf(v));
    const list = cts.get(v);
    if (list) list.push(g);
    else cts.set(v, [g]);
  };
  const weightForms: { value: string; form: PerExampleGrad }[] = [];
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
    const weightInputs = node.inputs.map((x) => x !== '' && isWeight(x));
    const needs = node.inputs.map((x) => needsGrad(x));
    if (!needs.some(Boolean) && !weightInputs.some(Boolean)) continue;
    const rule = ruleOf(node);
    const ctx: VjpContext = { node, em, shape: shapeOf, dtype: dtypeOf, dy, needs, constant: constantOf };
    if (needs.some(Boolean)) {
      const grads = rule.vjp(ctx);
      node.inputs.forEach((x, j) => {
        if (needs[j] && grads[j]) addCt(x, grads[j]!);
      });
    }
    node.inputs.forEach((x, j) => {
      if (!weightInputs[j]) return;
      const form = rule.perExample?.(ctx, j);
      if (!form) throw new NeedsLoop(`${node.op} '${node.name}' has no per-example rule for its input ${j}`);
      weightForms.push({ value: x, form });
    });
  }

  const chainTo = (v: string): { param: number; chain: GraphNode[] } | undefined => {
    const chain: GraphNode[] = [];
    let cur = v;
    for (;;) {
      const p = paramIndex.get(cur);
      if (p !== undefined) return { param: p, chain: chain.reverse() };
      const n = producer.get(cur);
      if (!n || !LAYOUT_OPS.has(n.op)) return undefined;
      const src = n.inputs.filter((x) => x !== '' && paramDep.has(x));
      if (src.length !== 1 || n.inputs[0] !== src[0]) return undefined;
      chain.push(n);
      cur = src[0];
    }
  };
  const forwardChain = (x: string, chain: GraphNode[]): string => {
    let cur = x;
    for (const n of chain) {
      const out = em.fresh('chain');
      em.nodes.push({ ...n, name: em.fresh('chain_node'), inputs: [cur, ...n.inputs.slice(1)], outputs: [out, ...n.outputs.slice(1).map(() => '')].filter((o, j) => j === 0 || o) });
      em.shapes.set(out, shapeOf(n.outputs[0]));
      cur = out;
    }
    return cur;
  };

  const directions = graph.params.map((_, i) => `dir/${i}`);
  /** Parameter i's k directions in the layout of the value its op reads: [k, ...dims of that value]. */
  const directionsAt = (i: number, chain: GraphNode[], dims: number[]): string => {
    const pdims = graph.params[i].tensor.dims;
    em.shapes.set(directions[i], [k, ...pdims]);
    if (!chain.length) return directions[i];
    const each = Array.from({ length: k }, (_, j) => {
      const vj = em.one('Gather', [directions[i], em.constant({ dims: [], dtype: 'int64', data: BigInt64Array.of(BigInt(j)) }, 'dir_index')], { axis: attr.int(0) });
      em.shapes.set(vj, pdims);
      return em.unsqueeze(forwardChain(vj, chain), [0]);
    });
    const out = each.length === 1 ? each[0] : em.one('Concat', each, { axis: attr.int(0) });
    em.shapes.set(out, [k, ...dims]);
    return out;
  };
  /** [B, P] per-example gradients times [k, P] directions → [B, k]. */
  const denseProj = (g: string, dirs: string, P: number): string => {
    const y = em.one('Gemm', [em.view(g, [B, P]), em.view(dirs, [k, P])], { transB: attr.int(1) });
    em.shapes.set(y, [B, k]);
    return y;
  };

  const byParam = new Map<number, { form: PerExampleGrad; value: string; chain: GraphNode[] }[]>();
  for (const wf of weightForms) {
    const c = chainTo(wf.value);
    if (!c) throw new NeedsLoop(`weight '${wf.value}' is computed from parameters by more than layout ops`);
    const list = byParam.get(c.param) ?? [];
    list.push({ ...wf, chain: c.chain });
    byParam.set(c.param, list);
  }
  const parts: string[] = [];
  const forms: string[] = graph.params.map(() => 'not on the path to the loss (zero gradient)');
  for (const [i, list] of byParam) {
    if (list.length > 1) throw new NeedsLoop(`parameter '${graph.params[i].name}' is read by ${list.length} ops (shared weights)`);
    const { form, value, chain } = list[0];
    const dims = shapeOf(value);
    const P = prod(dims);
    const dirs = directionsAt(i, chain, dims);
    const through = chain.length ? ` (through ${chain.map((n) => n.op).join(', ')})` : '';
    switch (form.kind) {
      case 'dense':
        parts.push(denseProj(form.g, dirs, P));
        forms[i] = `per-example gradients × directions${through}`;
        break;
      case 'outer': {
        const [, T, K] = shapeOf(form.a);
        const M = shapeOf(form.d)[2];
        if (T === 1) {
          // Weight = xᵀy as [rows, cols]: ⟨x_b ⊗ y_b, V_i⟩ = x_bᵀ V_i y_b for every i at once.
          const [x2, y2] = form.layout === 'KM' ? [em.view(form.a, [B, K]), em.view(form.d, [B, M])] : [em.view(form.d, [B, M]), em.view(form.a, [B, K])];
          const [rows, cols] = form.layout === 'KM' ? [K, M] : [M, K];
          const side = em.reshape(em.transpose(em.view(dirs, [k, rows, cols]), [1, 0, 2]), [rows, k * cols]);
          const xv = em.one('MatMul', [x2, side]);
          em.shapes.set(xv, [B, k * cols]);
          const y = em.reduce('ReduceSum', em.mul(em.reshape(xv, [B, k, cols]), em.unsqueeze(y2, [1])), [2], false);
          em.shapes.set(y, [B, k]);
          parts.push(y);
          forms[i] = `x_bᵀ V y_b (one position)${through}`;
        } else {
          const g = materialize(em, form, dims, B, shapeOf);
          parts.push(denseProj(g, dirs, P));
          forms[i] = `per-example gradients over ${T} positions × directions${through}`;
        }
        break;
      }
      case 'gather': {
        const [, T, D] = shapeOf(form.d);
        const rowsV = dims[0];
        const table = em.reshape(em.transpose(em.view(dirs, [k, rowsV, D]), [1, 0, 2]), [rowsV, k, D]);
        const picked = em.one('Gather', [table, form.ids], { axis: attr.int(0) });
        em.shapes.set(picked, [B, T, k, D]);
        const y = em.reduce('ReduceSum', em.mul(picked, em.unsqueeze(form.d, [2])), [1, 3], false);
        em.shapes.set(y, [B, k]);
        parts.push(y);
        forms[i] = `embedding rows of the directions${through}`;
        break;
      }
    }
  }
  const total = parts.length ? em.sum(parts) : em.constant({ dims: [B, k], dtype: 'float32', data: new Float32Array(B * k) }, 'zero_proj');
  let output = 'proj';
  let nodes = live([...forward, ...em.nodes, { op: 'Identity', name: 'out_proj', inputs: [total], outputs: [output], attrs: {} }], output);
  const inputs = [
    { name: graph.input.name, dtype: graph.input.dtype, shape: [B, ...shapeOf(graph.input.name).slice(1)] },
    { name: 'targets', dtype: 'float32' as ElemType, shape: zShape },
    { name: 'weights', dtype: 'float32' as ElemType, shape: [B] },
    ...graph.params.map((p) => ({ name: p.name, dtype: 'float32' as ElemType, shape: p.tensor.dims })),
    ...graph.params.map((p, i) => ({ name: directions[i], dtype: 'float32' as ElemType, shape: [k, ...p.tensor.dims] })),
  ];
  let tin: string[] | undefined;
  if (tangents) {
    // Forward over (reverse + projection): the tangent of ⟨g_b, v_i⟩ along t on the parameters.
    tin = graph.params.map((_, i) => `tangent/${i}`);
    const known = new Map<string, ElemType>([...inputs.map((x) => [x.name, x.dtype] as [string, ElemType]), ...[...graph.constants, ...em.constants].map((c) => [c.name, c.tensor.dtype] as [string, ElemType])]);
    const before = em.nodes.length;
    const tan = emitTangents(nodes, new Map(graph.params.map((p, i) => [p.name, tin![i]])), { dtype: (v) => values.get(v)?.dtype ?? known.get(v), shape: (v) => values.get(v)?.dims ?? em.shapeOf(v), constant: (v) => constants.get(v) ?? constantOf(v) }, em);
    const src = tan.get(output) ?? em.constant({ dims: [B, k], dtype: 'float32', data: new Float32Array(B * k) }, 'zero_proj_tangent');
    output = 'proj_tangent';
    nodes = live([...nodes, ...em.nodes.slice(before), { op: 'Identity', name: 'out_proj_tangent', inputs: [src], outputs: [output], attrs: {} }], output);
    inputs.push(...graph.params.map((p, i) => ({ name: tin![i], dtype: 'float32' as ElemType, shape: p.tensor.dims })));
  }
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const model = buildModel({
    opset,
    name: tangents ? 'heatcap-curvature-projection-tangents' : 'heatcap-curvature-projections',
    nodes,
    initializers: [...graph.constants, ...em.constants].filter((c) => !tangents || used.has(c.name)),
    inputs,
    outputs: [{ name: output }],
  });
  return { bytes: encodeModel(model), B, k, input: graph.input.name, directions, output, nodeCount: nodes.length, forms, tangents: tin };
}
