/**
 * Builds the ONNX gradient program of an engine graph for one batch size B: the forward pass as the
 * model defines it, the loss head (loss-head.ts), the backward pass by one VJP rule per op (ops/), and
 * for every parameter its per-example statistics (per-example.ts) as outputs:
 *   loss [B] (float64), sq/<i> [B], sum/<i> and (with the diagonal) sumsq/<i> of the parameter's shape.
 * Inputs: the model input, `targets` (the head input's shape), `weights` [B] (1 per example, 0 for
 * padding rows of a last, partial chunk).
 *
 * Two modes. `vectorized`: every weight read gets its op's per-example form. `loop`: the exact
 * per-example loop — the same program at B = 1, where the summed gradient is g_b itself; used when some
 * op has no per-example rule or a parameter is read twice (shared weights), and the notes say why.
 * Weights reach their ops either directly or through layout ops (Transpose/Reshape/…, e.g. a TF.js
 * kernel transposed into ONNX Conv layout): a norm does not change under them, and sums are mapped back.
 */
import { HeatcapError } from '../errors';
import type { ConstTensor, ElemType, EngineGraph, GraphNode } from '../graph/types';
import { Emitter } from './emitter';
import { emitHead, type LossHead } from './loss-head';
import { OP_RULES } from './ops';
import type { OpRule, PerExampleGrad, VjpContext } from './ops/types';
import { weightStats } from './per-example';
import { buildModel } from './onnx-encode';
import { encodeModel } from '../onnx/proto';

export interface ValueInfo {
  dims: number[];
  dtype: ElemType;
  /** Data of small batch-independent values (shape arithmetic), from the probe. */
  data?: ConstTensor['data'];
}

export interface ProgramSpec {
  graph: EngineGraph;
  head: LossHead;
  /** Every forward value at batch size B (probe.ts). */
  values: Map<string, ValueInfo>;
  B: number;
  mode: 'vectorized' | 'loop';
  diagonal: boolean;
  /** Penalty gradients r per parameter index (float32, the parameter's dims), when it has a penalty. */
  penaltyGrads: (Float32Array | undefined)[];
  /**
   * The same forward values at batch size 1 (probe.ts), when the caller has them: a value whose size
   * changes on an axis other than the first carries the batch elsewhere (PyTorch's MultiheadAttention
   * works on [T, B, E]), which the per-example rules cannot read, so such a weight's op takes the loop.
   */
  valuesAtOne?: Map<string, ValueInfo>;
}

export interface Program {
  bytes: Uint8Array;
  B: number;
  mode: 'vectorized' | 'loop';
  input: string;
  outputs: { loss: string; sq: string[]; sum: string[]; sumSq?: string[] };
  /** How each parameter's per-example gradient was formed, in words. */
  forms: string[];
  nodeCount: number;
}

/** Thrown when the vectorised program cannot be built; the caller builds the loop program instead. */
export class NeedsLoop extends Error {}

const LAYOUT_OPS = new Set(['Transpose', 'Reshape', 'Identity', 'Squeeze', 'Unsqueeze', 'Flatten']);
const FLOAT = new Set<ElemType>(['float32', 'float64']);

function describeForm(f: PerExampleGrad, dims: number[], shape: (n: string) => number[]): string {
  switch (f.kind) {
    case 'dense':
      return 'materialised per example';
    case 'outer': {
      const T = shape(f.a)[1];
      return T === 1 ? 'outer product (‖a‖²·‖δ‖²)' : `outer product over ${T} positions`;
    }
    case 'gather':
      return `embedding rows (token-equality ghost norm, ${dims[0]} rows)`;
  }
}

/**
 * The nodes some output depends on, in their order. Rules may emit values no output reads (a reshape
 * kept for a form that was not chosen); such a reader still counts in ORT's fusions (a Transpose read
 * by a MatMul and by a dead Reshape is executed as a copy instead of fused into the MatMul).
 */
function liveNodes(nodes: GraphNode[], outputs: string[]): GraphNode[] {
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

/**
 * What every program builder over an engine graph starts from (gradient, curvature and projection programs):
 * an emitter at opset ≥ 17 whose shapes come from the probe, the graph's dtypes and its constants.
 */
export function programContext(graph: EngineGraph, values: Map<string, ValueInfo>, prefix: string) {
  const opset = Math.max(graph.opset, 17);
  const em = new Emitter(opset, prefix);
  const shapeOf = (n: string): number[] => {
    const v = values.get(n)?.dims ?? em.shapeOf(n);
    if (!v) throw new Error(`internal error: no shape for value '${n}'`);
    return v;
  };
  em.lookup = (n) => values.get(n)?.dims;
  const dtypeOf = (n: string): ElemType => values.get(n)?.dtype ?? 'float32';
  const constants = new Map<string, ConstTensor>(graph.constants.map((c) => [c.name, c.tensor]));
  return { opset, em, shapeOf, dtypeOf, constants };
}

/**
 * A rule's refusal (Slice bounds computed from values, a mode without a gradient rule) is about this
 * model: an error naming its file, not an "internal error" (exit 70) as before.
 */
function byRule<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NeedsLoop || e instanceof HeatcapError || !(e instanceof Error)) throw e;
    throw new HeatcapError(file, `cannot build the gradient program: ${e.message}`, { cause: e });
  }
}

/** The one axis on which a value's size differs between batch sizes B and 1; −1 if none or several. */
function batchAxisOf(v: string, atB: Map<string, ValueInfo>, atOne: Map<string, ValueInfo>): number {
  const a = atB.get(v)?.dims;
  const b = atOne.get(v)?.dims;
  if (!a || !b || a.length !== b.length) return -1;
  const differ = a.map((d, i) => (d !== b[i] ? i : -1)).filter((i) => i >= 0);
  return differ.length === 1 ? differ[0] : -1;
}

/** Ops whose outputs depend only on their input's shape: at the program's batch size B, constants. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

/**
 * Which forward values depend on the batch input and which on some parameter; what is a weight, what needs
 * a gradient, and the data of values that are constant for a program built at one batch size. A Shape or
 * Size output depends on no value, only on the batch size the program is built for, so shape arithmetic
 * on it (PyTorch's MultiheadAttention export: Shape → Gather → Div → Mul into Slice starts and Reshape
 * shapes) resolves to the probe's values at that B.
 */
export function dependence(
  graph: EngineGraph,
  forward: GraphNode[],
  values: Map<string, ValueInfo>,
  constants: Map<string, ConstTensor>,
  dtypeOf: (n: string) => ElemType,
) {
  const batchDep = new Set<string>([graph.input.name]);
  const paramDep = new Set<string>(graph.params.map((p) => p.name));
  for (const n of forward) {
    if (SHAPE_ONLY.has(n.op)) continue;
    const ins = n.inputs.filter((x) => x !== '');
    if (ins.some((x) => batchDep.has(x))) n.outputs.forEach((o) => batchDep.add(o));
    if (ins.some((x) => paramDep.has(x))) n.outputs.forEach((o) => paramDep.add(o));
  }
  const isWeight = (v: string) => paramDep.has(v) && !batchDep.has(v) && FLOAT.has(dtypeOf(v));
  const needsGrad = (v: string) => v !== '' && batchDep.has(v) && paramDep.has(v) && FLOAT.has(dtypeOf(v));
  const constantOf = (n: string): ConstTensor | undefined => {
    const c = constants.get(n);
    if (c) return c;
    const v = values.get(n);
    return v?.data && !batchDep.has(n) && !paramDep.has(n) ? { dims: v.dims, dtype: v.dtype, data: v.data } : undefined;
  };
  return { batchDep, paramDep, isWeight, needsGrad, constantOf };
}

export function buildProgram(spec: ProgramSpec): Program {
  const { graph, head, values, B, mode } = spec;
  const { opset, em, shapeOf, dtypeOf, constants } = programContext(graph, values, 'grad');
  const paramIndex = new Map(graph.params.map((p, i) => [p.name, i]));
  const forward = graph.nodes.filter((n) => n !== head.drop);
  const producer = new Map<string, GraphNode>();
  for (const n of forward) for (const o of n.outputs) producer.set(o, n);

  const { batchDep, paramDep, isWeight, needsGrad, constantOf } = dependence(graph, forward, values, constants, dtypeOf);

  // The head, on the value it reads.
  const zShape = shapeOf(head.input);
  // Cross-entropy from logits in float32 where its forms have no cancellation at all: one-hot targets from
  // class indices, no label smoothing. With soft or smoothed targets δ = S·p − y itself cancels near the
  // optimum (p ≈ y), and float32 rounding of p would add to it (transformer_tiny, label smoothing 0.1:
  // worst per-example error 2.7e-4 in float32 vs 2.3e-4 in float64), so those run in float64.
  const crossEntropyPrecision = head.unitTargets && head.labelSmoothing === 0 ? 'float32' : 'float64';
  const { loss, dz } = emitHead(em, head, head.input, zShape, 'targets', 'weights', { crossEntropyPrecision });
  const cts = new Map<string, string[]>([[head.input, [dz]]]);
  const addCt = (v: string, g: string) => {
    em.shapes.set(g, shapeOf(v));
    const list = cts.get(v);
    if (list) list.push(g);
    else cts.set(v, [g]);
  };
  const weightForms: { value: string; form: PerExampleGrad }[] = [];
  const ruleOf = (n: GraphNode): OpRule => {
    const r = OP_RULES[n.op];
    if (!r) {
      const known = Object.keys(OP_RULES).sort().join(', ');
      throw new HeatcapError(graph.file, `op ${n.op} (node '${n.name}', opset ${graph.opset}) is on the path from a parameter to the loss and has no gradient rule; supported: ${known}`);
    }
    return r;
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
    const weightInputs = node.inputs.map((x) => x !== '' && isWeight(x));
    const needs = node.inputs.map((x, k) => needsGrad(x) || (mode === 'loop' && weightInputs[k]));
    if (!needs.some(Boolean) && !weightInputs.some(Boolean)) continue;
    const rule = ruleOf(node);
    const ctx: VjpContext = { node, em, shape: shapeOf, dtype: dtypeOf, dy, needs, constant: constantOf };
    if (needs.some(Boolean)) {
      const grads = byRule(graph.file, () => rule.vjp(ctx));
      node.inputs.forEach((x, k) => {
        if (needs[k] && grads[k]) addCt(x, grads[k]!);
      });
    }
    if (mode === 'vectorized') {
      node.inputs.forEach((x, k) => {
        if (!weightInputs[k]) return;
        const atOne = spec.valuesAtOne;
        const moved = atOne && [...node.inputs, ...node.outputs].map((v) => ({ v, axis: v !== '' && batchDep.has(v) ? batchAxisOf(v, values, atOne) : -1 })).find((m) => m.axis > 0);
        if (moved) throw new NeedsLoop(`${node.op} '${node.name}' reads '${moved.v}', whose batch axis is ${moved.axis}, not the first`);
        const form = byRule(graph.file, () => rule.perExample?.(ctx, k));
        if (!form) throw new NeedsLoop(`${node.op} '${node.name}' has no per-example rule for its input ${k}`);
        weightForms.push({ value: x, form });
      });
    }
  }

  // Per parameter: the chain of layout ops from the parameter to the value its op reads.
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

  const P = graph.params.length;
  const sq: string[] = new Array(P);
  const sum: string[] = new Array(P);
  const sumSq: string[] | undefined = spec.diagonal ? new Array(P) : undefined;
  const forms: string[] = new Array(P).fill('not on the path to the loss (zero gradient)');
  /** ‖r‖² of parameter i's penalty gradient, summed in float64. */
  const penaltySq = (i: number) => {
    const r = spec.penaltyGrads[i];
    if (!r) return undefined;
    let s = 0;
    for (let k = 0; k < r.length; k++) s += r[k] * r[k];
    return s;
  };
  /** s when parameter i's penalty gradient is r = s·w (L2 only: s = 2·l2). */
  const penaltyScale = (i: number) => {
    const pen = graph.params[i].penalty;
    return spec.penaltyGrads[i] && pen && pen.l1 === 0 && pen.l2 > 0 ? 2 * pen.l2 : undefined;
  };
  const penaltyConst = (i: number) => {
    const r = spec.penaltyGrads[i];
    return r ? em.constant({ dims: graph.params[i].tensor.dims, dtype: 'float32', data: r }, 'penalty_grad') : undefined;
  };

  /** Re-applies a layout chain to a parameter-shaped value (the penalty gradient r → r at the op). */
  const forwardChain = (x: string, chain: GraphNode[]): string => {
    let cur = x;
    for (const n of chain) {
      const out = em.fresh('chain');
      em.nodes.push({ ...n, name: em.fresh('chain_node'), inputs: [cur, ...n.inputs.slice(1)], outputs: [out, ...n.outputs.slice(1).map(() => '')].filter((o, k) => k === 0 || o) });
      em.shapes.set(out, shapeOf(n.outputs[0]));
      cur = out;
    }
    return cur;
  };
  /** Maps a weight-shaped sum back through the chain's VJPs to the parameter's shape. */
  const backChain = (g: string, chain: GraphNode[]): string => {
    let cur = g;
    for (let k = chain.length - 1; k >= 0; k--) {
      const n = chain[k];
      em.shapes.set(cur, shapeOf(n.outputs[0]));
      const ctx: VjpContext = { node: n, em, shape: shapeOf, dtype: dtypeOf, dy: [cur], needs: n.inputs.map((_, j) => j === 0), constant: constantOf };
      cur = ruleOf(n).vjp(ctx)[0]!;
    }
    return cur;
  };

  if (mode === 'vectorized') {
    const byParam = new Map<number, { form: PerExampleGrad; value: string; chain: GraphNode[] }[]>();
    for (const wf of weightForms) {
      const c = chainTo(wf.value);
      if (!c) throw new NeedsLoop(`weight '${wf.value}' is computed from parameters by more than layout ops`);
      const list = byParam.get(c.param) ?? [];
      list.push({ ...wf, chain: c.chain });
      byParam.set(c.param, list);
    }
    for (const [i, list] of byParam) {
      if (list.length > 1) throw new NeedsLoop(`parameter '${graph.params[i].name}' is read by ${list.length} ops (shared weights)`);
      const { form, value, chain } = list[0];
      const r = penaltyConst(i);
      const st = weightStats(em, { form, dims: shapeOf(value), B, shape: shapeOf, penaltyGrad: r ? forwardChain(r, chain) : undefined, penaltySq: penaltySq(i), penaltyScale: penaltyScale(i), diagonal: spec.diagonal });
      sq[i] = st.sq;
      sum[i] = chain.length ? backChain(st.sum, chain) : st.sum;
      if (sumSq && st.sumSq) sumSq[i] = chain.length ? backChain(st.sumSq, chain) : st.sumSq;
      forms[i] = describeForm(form, shapeOf(value), shapeOf) + (chain.length ? ` (through ${chain.map((n) => n.op).join(', ')})` : '');
    }
  } else {
    graph.params.forEach((p, i) => {
      const list = cts.get(p.name);
      if (!list) return;
      const g = em.sum(list);
      const r = penaltyConst(i);
      const st = weightStats(em, { form: { kind: 'dense', g: em.unsqueeze(g, [0]) }, dims: p.tensor.dims, B, shape: shapeOf, penaltyGrad: r, penaltySq: penaltySq(i), diagonal: spec.diagonal });
      sq[i] = st.sq;
      sum[i] = st.sum;
      if (sumSq && st.sumSq) sumSq[i] = st.sumSq;
      forms[i] = 'exact per-example loop (B = 1)';
    });
  }
  // Parameters with no gradient path: zeros, so every output exists.
  graph.params.forEach((p, i) => {
    if (sq[i]) return;
    const r = penaltyConst(i);
    const size = p.tensor.dims.reduce((a, b) => a * b, 1);
    const zeroSum = em.constant({ dims: p.tensor.dims, dtype: 'float32', data: new Float32Array(size) }, 'zero_sum');
    const zeroSq = em.constant({ dims: [B], dtype: 'float32', data: new Float32Array(B) }, 'zero_sq');
    sq[i] = r ? em.add(zeroSq, em.one('ReduceSumSquare', [r], { keepdims: { type: 'int', v: 0 } })) : zeroSq;
    sum[i] = zeroSum;
    if (sumSq) sumSq[i] = zeroSum;
  });

  const outNames = { loss: 'loss', sq: sq.map((_, i) => `sq/${i}`), sum: sum.map((_, i) => `sum/${i}`), sumSq: sumSq?.map((_, i) => `sumsq/${i}`) };
  // Each output names the node that computes it (an Identity rename is a copy in ORT when its input has
  // other readers); a value that is not emitted here, or is already another output, gets an Identity.
  const pairs: [string, string][] = [
    [loss, outNames.loss],
    ...sq.map((v, i): [string, string] => [v, outNames.sq[i]]),
    ...sum.map((v, i): [string, string] => [v, outNames.sum[i]]),
    ...(sumSq ?? []).map((v, i): [string, string] => [v, outNames.sumSq![i]]),
  ];
  const emitted = new Set(em.nodes.flatMap((n) => n.outputs));
  const renamed = new Map<string, string>();
  const rename: GraphNode[] = [];
  for (const [v, name] of pairs) {
    if (emitted.has(v) && !renamed.has(v)) renamed.set(v, name);
    else rename.push({ op: 'Identity', name: `out_${name}`, inputs: [renamed.get(v) ?? v], outputs: [name], attrs: {} });
  }
  const sub = (x: string) => renamed.get(x) ?? x;
  const emNodes = em.nodes.map((n) => ({ ...n, inputs: n.inputs.map(sub), outputs: n.outputs.map(sub) }));
  const nodes = liveNodes([...forward, ...emNodes, ...rename], pairs.map(([, name]) => name));
  const model = buildModel({
    opset,
    name: 'heatcap-gradient-program',
    nodes,
    initializers: [...graph.params.map((p) => ({ name: p.name, tensor: p.tensor })), ...graph.constants, ...em.constants],
    inputs: [
      { name: graph.input.name, dtype: graph.input.dtype, shape: [B, ...shapeOf(graph.input.name).slice(1)] },
      { name: 'targets', dtype: 'float32', shape: zShape },
      { name: 'weights', dtype: 'float32', shape: [B] },
    ],
    outputs: [
      { name: outNames.loss },
      ...outNames.sq.map((name) => ({ name })),
      ...outNames.sum.map((name) => ({ name })),
      ...(outNames.sumSq ?? []).map((name) => ({ name })),
    ],
  });
  return { bytes: encodeModel(model), B, mode, input: graph.input.name, outputs: outNames, forms, nodeCount: nodes.length };
}
