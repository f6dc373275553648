/**
 * Checks the tangent (forward-mode) rules of src/core/curvature/jvp on one ONNX node against central
 * differences of that node's own forward pass, both run by ONNX Runtime: the tangents emitted for a
 * random direction t on every float, non-constant input vs [f(x + εt) − f(x − εt)] / 2ε, for every float
 * output. In float64 (ε = 1e-6: truncation ~ε², rounding ~1e-16/ε, agreement ≈ 1e-9 relative) where ORT
 * has double kernels; ops with float32-only kernels pass `dtype: 'float32'` (ε = 1e-2; exact up to
 * float32 rounding for ops linear or bilinear in their inputs, ~1e-4 truncation for smooth nonlinear ones).
 */
import * as ort from 'onnxruntime-node';
import type { Attr, ConstTensor, ElemType, GraphNode } from '../../../src/core/graph/types';
import { Emitter } from '../../../src/core/engine/emitter';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import { encodeModel } from '../../../src/core/onnx/proto';
import { emitTangents } from '../../../src/core/curvature/jvp';

export interface TangentInput {
  dims: number[];
  /** Float inputs default to random normal values; give `data` for indices, shapes, exponents, masks. */
  data?: number[];
  dtype?: ElemType;
  /** An initializer: no tangent (shapes, axes, indices, statistics). */
  constant?: boolean;
  /** No tangent although fed as an input (a float operand the parameters do not reach). */
  noTangent?: boolean;
  awayFromZero?: number;
  positive?: boolean;
}

export interface TangentSpec {
  op: string;
  attrs?: Record<string, Attr>;
  inputs: TangentInput[];
  outputs?: number;
  dtype?: 'float64' | 'float32';
  seed?: number;
  opset?: number;
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

const normal = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-300)) * Math.cos(2 * Math.PI * r());
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

const ortTensor = (t: ConstTensor) => new ort.Tensor(t.dtype, t.data as Float32Array, t.dims);

async function session(nodes: GraphNode[], consts: { name: string; tensor: ConstTensor }[], feeds: Record<string, ConstTensor>, outputs: string[], opset: number) {
  const model = buildModel({
    opset,
    name: 'jvp-check',
    nodes,
    initializers: consts,
    inputs: Object.entries(feeds).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })),
    outputs: outputs.map((name) => ({ name })),
  });
  const s = await ort.InferenceSession.create(encodeModel(model));
  return async (fs: Record<string, ConstTensor>) => {
    const res = await s.run(Object.fromEntries(Object.entries(fs).map(([k, t]) => [k, ortTensor(t)])));
    return outputs.map((o) => ({ data: Float64Array.from(res[o].data as ArrayLike<number | bigint>, Number), dims: [...res[o].dims], type: res[o].type }));
  };
}

/** Max relative error (max-norm) of each float output's tangent; NaN where an output got no tangent. */
export async function checkTangent(spec: TangentSpec): Promise<number[]> {
  const r = rng(spec.seed ?? 11);
  const fdt = spec.dtype ?? 'float64';
  const opset = spec.opset ?? 17;
  const eps = fdt === 'float64' ? 1e-6 : 1e-2;
  const names = spec.inputs.map((_, i) => `in${i}`);
  const values = spec.inputs.map((inp) => {
    const dt = inp.dtype ?? fdt;
    if (inp.data) return tensorOf(dt, inp.dims, inp.data);
    return tensorOf(
      dt,
      inp.dims,
      Array.from({ length: size(inp.dims) }, () => {
        let x = normal(r);
        if (inp.awayFromZero) x = Math.sign(x || 1) * (Math.abs(x) + inp.awayFromZero);
        if (inp.positive) x = Math.abs(x) + 0.5;
        return x;
      }),
    );
  });
  const outs = Array.from({ length: spec.outputs ?? 1 }, (_, i) => `out${i}`);
  const node: GraphNode = { op: spec.op, name: spec.op, inputs: names, outputs: outs, attrs: spec.attrs ?? {} };
  const consts = spec.inputs.flatMap((inp, i) => (inp.constant ? [{ name: names[i], tensor: values[i] }] : []));
  const feeds: Record<string, ConstTensor> = {};
  spec.inputs.forEach((inp, i) => {
    if (!inp.constant) feeds[names[i]] = values[i];
  });
  const fwd = await session([node], consts, feeds, outs, opset);
  const y0 = await fwd(feeds);
  const info = new Map<string, { dims: number[]; dtype: ElemType }>();
  for (const [k, t] of Object.entries(feeds)) info.set(k, { dims: t.dims, dtype: t.dtype });
  for (const c of consts) info.set(c.name, { dims: c.tensor.dims, dtype: c.tensor.dtype });
  outs.forEach((o, i) => info.set(o, { dims: y0[i].dims, dtype: y0[i].type as ElemType }));
  const differentiable = spec.inputs.map((inp, i) => !inp.constant && !inp.noTangent && (inp.dtype ?? fdt).startsWith('float') && !!values[i]);
  const dirs = spec.inputs.map((inp, i) => (differentiable[i] ? tensorOf(inp.dtype ?? fdt, inp.dims, Array.from({ length: size(inp.dims) }, () => normal(r))) : undefined));
  const seeds = new Map<string, string>();
  const tfeeds: Record<string, ConstTensor> = { ...feeds };
  dirs.forEach((d, i) => {
    if (!d) return;
    seeds.set(names[i], `t${i}`);
    tfeeds[`t${i}`] = d;
    info.set(`t${i}`, { dims: d.dims, dtype: d.dtype });
  });
  const em = new Emitter(opset, 'jvp');
  em.lookup = (n) => info.get(n)?.dims;
  const tan = emitTangents([node], seeds, { dtype: (n) => info.get(n)?.dtype, shape: (n) => info.get(n)?.dims, constant: (n) => consts.find((c) => c.name === n)?.tensor }, em);
  const floatOuts = outs.filter((o) => (info.get(o)!.dtype as string).startsWith('float'));
  const withTangent = floatOuts.filter((o) => tan.has(o));
  const tangents = withTangent.length ? await (await session([node, ...em.nodes], [...consts, ...em.constants], tfeeds, withTangent.map((o) => tan.get(o)!), opset))(tfeeds) : [];
  const shifted = (s: number) => {
    const f: Record<string, ConstTensor> = { ...feeds };
    dirs.forEach((d, i) => {
      if (d) f[names[i]] = tensorOf(d.dtype, d.dims, Array.from(values[i].data as Float64Array, (x, j) => x + s * eps * (d.data as Float64Array)[j]));
    });
    return f;
  };
  const plus = await fwd(shifted(1));
  const minus = await fwd(shifted(-1));
  return floatOuts.map((o) => {
    const k = outs.indexOf(o);
    const j = withTangent.indexOf(o);
    if (j < 0) return NaN;
    const an = tangents[j].data;
    let err = 0;
    let scale = 1e-12;
    for (let q = 0; q < an.length; q++) {
      const fd = (plus[k].data[q] - minus[k].data[q]) / (2 * eps);
      err = Math.max(err, Math.abs(an[q] - fd));
      scale = Math.max(scale, Math.abs(fd));
    }
    if (an.length !== plus[k].data.length) return Infinity;
    return err / scale;
  });
}
