/**
 * Checks one op's rule (src/core/engine/ops) against central differences of its own forward pass, both
 * run by ONNX Runtime: ⟨vjp_i(dy), v⟩ ≈ [⟨f(x + εv), dy⟩ − ⟨f(x − εv), dy⟩] / 2ε for a random direction v
 * per input, and per example b: ⟨G_b, v⟩ ≈ the same with dy zero outside example b, for the op's
 * per-example weight forms. In float64 (ε = 1e-6: truncation ~ε², rounding ~1e-16/ε: agreement ≈ 1e-9
 * relative) where ORT has double kernels; ops with float32-only kernels pass `dtype: 'float32'`, where
 * the check uses ε = 1e-2 and a looser tolerance (exact for ops linear in the checked input).
 */
import * as ort from 'onnxruntime-node';
import type { Attr, ConstTensor, ElemType, GraphNode } from '../../../src/core/graph/types';
import { Emitter } from '../../../src/core/engine/emitter';
import { materialize } from '../../../src/core/engine/per-example';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import { encodeModel } from '../../../src/core/onnx/proto';
import type { OpRule, VjpContext } from '../../../src/core/engine/ops/types';

export interface CheckInput {
  dims: number[];
  /** float inputs default to random normal values; give `data` for indices, shapes, exponents. */
  data?: number[];
  dtype?: ElemType;
  /** A constant (initializer), not differentiated: shapes, axes, exponents, BatchNorm statistics. */
  constant?: boolean;
  /** A weight: checked through the rule's per-example form (and its summed VJP). */
  weight?: boolean;
  /** Keep values away from kinks (|x| ≥ this), e.g. for Relu or MaxPool ties. */
  awayFromZero?: number;
  positive?: boolean;
}

export interface CheckSpec {
  op: string;
  attrs?: Record<string, Attr>;
  inputs: CheckInput[];
  outputs?: number;
  /** Output indices that carry a cotangent (default: all). */
  differentiableOutputs?: number[];
  dtype?: 'float64' | 'float32';
  seed?: number;
  opset?: number;
}

export interface CheckReport {
  /** Max relative error of each checked input's directional derivative (NaN where not checked). */
  inputs: number[];
  /** Max relative error of per-example directional derivatives, per weight input. */
  perExample: number[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-300)) * Math.cos(2 * Math.PI * r());
}

const size = (d: number[]) => d.reduce((a, b) => a * b, 1);

function tensorOf(dtype: ElemType, dims: number[], values: ArrayLike<number>): ConstTensor {
  switch (dtype) {
    case 'float64':
      return { dims, dtype, data: Float64Array.from(values) };
    case 'float32':
      return { dims, dtype, data: Float32Array.from(values) };
    case 'int64':
      return { dims, dtype, data: BigInt64Array.from(Array.from(values, (v) => BigInt(v))) };
    case 'int32':
      return { dims, dtype, data: Int32Array.from(values) };
    default:
      return { dims, dtype, data: Uint8Array.from(values) };
  }
}

function ortTensor(t: ConstTensor): ort.Tensor {
  return new ort.Tensor(t.dtype === 'float64' ? 'float64' : t.dtype, t.data as Float32Array, t.dims);
}

async function run(nodes: GraphNode[], consts: { name: string; tensor: ConstTensor }[], feeds: Record<string, ConstTensor>, outputs: string[], opset: number): Promise<Float64Array[]> {
  const model = buildModel({
    opset,
    name: 'check',
    nodes,
    initializers: consts,
    inputs: Object.entries(feeds).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })),
    outputs: outputs.map((name) => ({ name })),
  });
  const session = await ort.InferenceSession.create(encodeModel(model));
  const res = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, ortTensor(t)])));
  return outputs.map((o) => Float64Array.from(res[o].data as Float64Array));
}

async function shapesOf(node: GraphNode, consts: { name: string; tensor: ConstTensor }[], feeds: Record<string, ConstTensor>, opset: number): Promise<Map<string, { dims: number[]; dtype: ElemType }>> {
  const model = buildModel({
    opset,
    name: 'shapes',
    nodes: [node],
    initializers: consts,
    inputs: Object.entries(feeds).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })),
    outputs: node.outputs.map((name) => ({ name })),
  });
  const session = await ort.InferenceSession.create(encodeModel(model));
  const res = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, ortTensor(t)])));
  const m = new Map<string, { dims: number[]; dtype: ElemType }>();
  for (const [k, t] of Object.entries(feeds)) m.set(k, { dims: t.dims, dtype: t.dtype });
  for (const c of consts) m.set(c.name, { dims: c.tensor.dims, dtype: c.tensor.dtype });
  for (const o of node.outputs) m.set(o, { dims: [...res[o].dims], dtype: (res[o].type === 'float64' ? 'float64' : res[o].type) as ElemType });
  return m;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** Runs the checks and returns the errors; tests assert on them with their own stated tolerance. */
export async function checkRule(rule: OpRule, spec: CheckSpec): Promise<CheckReport> {
  const r = rng(spec.seed ?? 7);
  const fdt = spec.dtype ?? 'float64';
  const opset = spec.opset ?? 17;
  const eps = fdt === 'float64' ? 1e-6 : 1e-2;
  const names = spec.inputs.map((_, i) => `in${i}`);
  const values: ConstTensor[] = spec.inputs.map((inp) => {
    const dt = inp.dtype ?? fdt;
    if (inp.data) return tensorOf(dt, inp.dims, inp.data);
    const v = Array.from({ length: size(inp.dims) }, () => {
      let x = normal(r);
      if (inp.awayFromZero) x = Math.sign(x || 1) * (Math.abs(x) + inp.awayFromZero);
      if (inp.positive) x = Math.abs(x) + 0.5;
      return x;
    });
    return tensorOf(dt, inp.dims, v);
  });
  const outNames = Array.from({ length: spec.outputs ?? 1 }, (_, i) => `out${i}`);
  const node: GraphNode = { op: spec.op, name: spec.op, inputs: names, outputs: outNames, attrs: spec.attrs ?? {} };
  const consts = spec.inputs.flatMap((inp, i) => (inp.constant ? [{ name: names[i], tensor: values[i] }] : []));
  const feeds: Record<string, ConstTensor> = {};
  spec.inputs.forEach((inp, i) => {
    if (!inp.constant) feeds[names[i]] = values[i];
  });
  const info = await shapesOf(node, consts, feeds, opset);
  const diffOuts = spec.differentiableOutputs ?? outNames.map((_, i) => i);
  const dys = outNames.map((o, i) => (diffOuts.includes(i) ? tensorOf(fdt, info.get(o)!.dims, Array.from({ length: size(info.get(o)!.dims) }, () => normal(r))) : undefined));
  const isFloat = (i: number) => (spec.inputs[i].dtype ?? fdt).startsWith('float') && !spec.inputs[i].constant;
  dys.forEach((d, i) => d && info.set(`dy${i}`, { dims: d.dims, dtype: fdt }));
  const em = new Emitter(opset, 'vjp');
  em.lookup = (n) => info.get(n)?.dims;
  const ctx: VjpContext = {
    node,
    em,
    shape: (n) => info.get(n)?.dims ?? em.shapeOf(n) ?? (() => { throw new Error(`no shape for ${n}`); })(),
    dtype: (n) => info.get(n)!.dtype,
    dy: dys.map((d, i) => (d ? `dy${i}` : undefined)),
    needs: spec.inputs.map((_, i) => isFloat(i)),
    constant: (n) => consts.find((c) => c.name === n)?.tensor,
  };
  const grads = rule.vjp(ctx);
  const B = spec.inputs.find((inp) => !inp.weight && !inp.constant)!.dims[0];
  const weightIdx = spec.inputs.map((inp, i) => (inp.weight ? i : -1)).filter((i) => i >= 0);
  const perEx = weightIdx.map((k) => {
    const form = rule.perExample?.(ctx, k);
    if (!form) throw new Error(`${spec.op}: no per-example form for input ${k}`);
    return materialize(em, form, spec.inputs[k].dims, B, (n) => ctx.shape(n));
  });
  // The per-example forms read forward values and the cotangents: run the node, then the emitted nodes.
  const gradFeeds: Record<string, ConstTensor> = { ...feeds };
  dys.forEach((d, i) => d && (gradFeeds[`dy${i}`] = d));
  const wanted = [...grads.map((g, i) => (ctx.needs[i] && g ? g : undefined)).filter((g): g is string => !!g), ...perEx];
  const outs = await run([node, ...em.nodes], [...consts, ...em.constants], gradFeeds, wanted, opset);
  const report: CheckReport = { inputs: spec.inputs.map(() => NaN), perExample: [] };
  const fwdOutputs = outNames.filter((_, i) => dys[i]);
  const fwdSession = await ort.InferenceSession.create(
    encodeModel(buildModel({ opset, name: 'fwd', nodes: [node], initializers: consts, inputs: Object.entries(feeds).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })), outputs: fwdOutputs.map((name) => ({ name })) })),
  );
  const fwd = async (fs: Record<string, ConstTensor>) => {
    const res = await fwdSession.run(Object.fromEntries(Object.entries(fs).map(([k, t]) => [k, ortTensor(t)])));
    return fwdOutputs.map((o) => Float64Array.from(res[o].data as Float64Array));
  };
  const dyFlat = dys.filter((d): d is ConstTensor => !!d).map((d) => d.data as Float64Array);
  const objective = (ys: Float64Array[], mask?: (j: number, o: number) => boolean) =>
    ys.reduce((acc, y, o) => acc + dot(y, mask ? Array.from(dyFlat[o], (v, j) => (mask(j, o) ? v : 0)) : dyFlat[o]), 0);
  let gi = 0;
  for (let i = 0; i < spec.inputs.length; i++) {
    if (!(ctx.needs[i] && grads[i])) continue;
    const g = outs[gi++];
    const v = Array.from({ length: size(spec.inputs[i].dims) }, () => normal(r));
    const shifted = (s: number) => ({ ...feeds, [names[i]]: tensorOf(fdt, spec.inputs[i].dims, Array.from(values[i].data as Float64Array, (x, j) => x + s * eps * v[j])) });
    const fd = (objective(await fwd(shifted(1))) - objective(await fwd(shifted(-1)))) / (2 * eps);
    const an = dot(g, v);
    report.inputs[i] = Math.abs(an - fd) / Math.max(1e-12, Math.abs(fd), Math.abs(an));
  }
  for (let w = 0; w < weightIdx.length; w++) {
    const k = weightIdx[w];
    const G = outs[gi++];
    const P = size(spec.inputs[k].dims);
    let worst = 0;
    for (let b = 0; b < B; b++) {
      const v = Array.from({ length: P }, () => normal(r));
      const shifted = (s: number) => ({ ...feeds, [names[k]]: tensorOf(fdt, spec.inputs[k].dims, Array.from(values[k].data as Float64Array, (x, j) => x + s * eps * v[j])) });
      // Example b's share of ⟨f, dy⟩: output rows of example b (batch axis first).
      const mask = (j: number, o: number) => Math.floor(j / (dyFlat[o].length / B)) === b;
      const fd = (objective(await fwd(shifted(1)), mask) - objective(await fwd(shifted(-1)), mask)) / (2 * eps);
      const an = dot(G.subarray(b * P, (b + 1) * P), v);
      worst = Math.max(worst, Math.abs(an - fd) / Math.max(1e-12, Math.abs(fd), Math.abs(an)));
    }
    report.perExample.push(worst);
  }
  return report;
}
