import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { emitTangents } from '../../../src/core/curvature/jvp';
import { Emitter } from '../../../src/core/engine/emitter';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import { OP_RULES } from '../../../src/core/engine/ops';
import type { VjpContext } from '../../../src/core/engine/ops/types';
import type { ConstTensor, GraphNode } from '../../../src/core/graph/types';
import { encodeModel } from '../../../src/core/onnx/proto';

/**
 * Tangent rules at ties, where central differences are no oracle (Max/Min with three operands tied give
 * (max + min)/2 of their tangents, Clip at x = min gives dx/2): the tangent must be the transpose of the
 * gradient program's own VJP rule (engine/ops), so that forward over reverse differentiates the same
 * linearisation the gradient uses. For random u and per-input directions t_i, both run by ORT in float64:
 *   ⟨u, J·t⟩ (the tangent rule)  =  Σ_i ⟨J_iᵀ·u, t_i⟩ (the VJP rule)
 * up to float64 rounding (tolerance 1e-12 relative; observed ≤ 9.3e-16). The Max, Min and Clip cases fail
 * with the previous rules (first operand on ties; Clip's dx only strictly inside the bounds).
 * Which subgradient the VJPs use: Max/Min split dy evenly between the tied operands (engine/ops/select.ts,
 * as PyTorch's maximum/minimum), Clip passes dy to x on min ≤ x ≤ max and to a bound only where it clipped
 * strictly (PyTorch's clamp); Pow's ∂/∂p = y·log x.
 */
interface In {
  dims: number[];
  data: number[];
  /** An initializer: no tangent, no cotangent. */
  constant?: boolean;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

const f64 = (dims: number[], data: ArrayLike<number>): ConstTensor => ({ dims, dtype: 'float64', data: Float64Array.from(data) });
const size = (d: number[]) => d.reduce((a, b) => a * b, 1);

async function transposeGap(op: string, inputs: In[], seed = 3): Promise<number> {
  const r = rng(seed);
  const names = inputs.map((_, i) => `in${i}`);
  const node: GraphNode = { op, name: op, inputs: names, outputs: ['y'], attrs: {} };
  const consts = inputs.flatMap((x, i) => (x.constant ? [{ name: names[i], tensor: f64(x.dims, x.data) }] : []));
  const feeds: Record<string, ConstTensor> = {};
  inputs.forEach((x, i) => !x.constant && (feeds[names[i]] = f64(x.dims, x.data)));
  const shapes = new Map<string, number[]>(inputs.map((x, i) => [names[i], x.dims]));
  // The output's shape by ORT itself.
  const probe = await ort.InferenceSession.create(
    encodeModel(buildModel({ opset: 17, name: 'probe', nodes: [node], initializers: consts, inputs: Object.entries(feeds).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })), outputs: [{ name: 'y' }] })),
  );
  const ort64 = (t: ConstTensor) => new ort.Tensor('float64', t.data as Float64Array, t.dims);
  const y0 = (await probe.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, ort64(t)])))).y;
  shapes.set('y', [...y0.dims]);
  const u = f64([...y0.dims], Array.from({ length: y0.data.length }, r));
  shapes.set('u', u.dims);
  const dirs = inputs.map((x) => (x.constant ? undefined : f64(x.dims, Array.from({ length: size(x.dims) }, r))));
  dirs.forEach((d, i) => d && shapes.set(`t${i}`, d.dims));
  const em = new Emitter(17, 'transpose');
  em.lookup = (n) => shapes.get(n);
  const ctx: VjpContext = {
    node,
    em,
    shape: (n) => shapes.get(n) ?? em.shapeOf(n)!,
    dtype: () => 'float64',
    dy: ['u'],
    needs: inputs.map((x) => !x.constant),
    constant: (n) => consts.find((c) => c.name === n)?.tensor,
  };
  const grads = OP_RULES[op].vjp(ctx);
  const seeds = new Map(dirs.flatMap((d, i) => (d ? [[names[i], `t${i}`] as [string, string]] : [])));
  const tan = emitTangents([node], seeds, { dtype: () => 'float64', shape: (n) => shapes.get(n), constant: (n) => consts.find((c) => c.name === n)?.tensor }, em);
  const wanted = [tan.get('y')!, ...grads.filter((g, i) => g && dirs[i]).map((g) => g!)];
  const allFeeds: Record<string, ConstTensor> = { ...feeds, u };
  dirs.forEach((d, i) => d && (allFeeds[`t${i}`] = d));
  const s = await ort.InferenceSession.create(
    encodeModel(
      buildModel({
        opset: 17,
        name: 'transpose',
        nodes: [node, ...em.nodes],
        initializers: [...consts, ...em.constants],
        inputs: Object.entries(allFeeds).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })),
        outputs: wanted.map((name) => ({ name })),
      }),
    ),
  );
  const out = await s.run(Object.fromEntries(Object.entries(allFeeds).map(([k, t]) => [k, ort64(t)])));
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((acc, v, i) => acc + v * b[i], 0);
  const lhs = dot(u.data as Float64Array, out[wanted[0]].data as Float64Array);
  let rhs = 0;
  let k = 1;
  grads.forEach((g, i) => {
    if (!g || !dirs[i]) return;
    rhs += dot(out[wanted[k++]].data as Float64Array, dirs[i]!.data as Float64Array);
  });
  return Math.abs(lhs - rhs) / Math.max(1e-300, Math.abs(lhs), Math.abs(rhs));
}

const TOL = 1e-12;

describe('curvature jvp: tangent rules are the transpose of the VJP rules at ties', function () {
  this.timeout(60000);
  const cases: [string, string, In[]][] = [
    // Element 0: all three tied; 1: a = b; 2: b = c; 3: a = c below b; 4, 5: no tie.
    ['Max, three operands, 3- and 2-way ties', 'Max', [{ dims: [6], data: [1, 2, 0, 0.5, 3, -1] }, { dims: [6], data: [1, 2, 1, 0.7, -1, -2] }, { dims: [6], data: [1, 0, 1, 0.5, 0, -3] }]],
    ['Min, three operands with broadcasting, ties', 'Min', [{ dims: [2, 3], data: [0, 1, -1, 2, 0, 0.5] }, { dims: [3], data: [0, 1, -1] }, { dims: [2, 1], data: [0, 0] }]],
    ['Max, two operands tied everywhere', 'Max', [{ dims: [4], data: [1, -2, 0, 3] }, { dims: [4], data: [1, -2, 0, 3] }]],
    ['Max, operand without a tangent tied with one with', 'Max', [{ dims: [4], data: [1, 2, 0, 3] }, { dims: [4], data: [1, 0, 0, 3], constant: true }, { dims: [4], data: [1, -1, 0, 5] }]],
    ['Clip, x on both bounds, bounds with tangents', 'Clip', [{ dims: [6], data: [-1, 1, -2, 0.3, 2, -1] }, { dims: [], data: [-1] }, { dims: [], data: [1] }]],
    ['Clip, x on constant bounds', 'Clip', [{ dims: [5], data: [-1, 1, -2, 0.3, 2] }, { dims: [], data: [-1], constant: true }, { dims: [], data: [1], constant: true }]],
    ['Pow, base and exponent with tangents (no ties: the exponent term against the VJP’s y·log x)', 'Pow', [{ dims: [2, 3], data: [0.5, 1.5, 2, 0.7, 3, 1.1] }, { dims: [3], data: [1.5, -0.5, 2.2] }]],
  ];
  for (const [name, op, inputs] of cases) {
    it(`${name} (tol ${TOL})`, async () => {
      for (const seed of [3, 4, 5]) {
        const gap = await transposeGap(op, inputs, seed);
        assert.ok(gap <= TOL, `${name}, seed ${seed}: |⟨u, J·t⟩ − Σ⟨Jᵀu, t⟩| / |⟨u, J·t⟩| = ${gap.toExponential(2)}`);
      }
    });
  }
});
