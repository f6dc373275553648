import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { attr, type ElemType, type GraphNode } from '../../../src/core/graph/types';
import { Emitter } from '../../../src/core/engine/emitter';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import { encodeModel } from '../../../src/core/onnx/proto';
import { emitTangents } from '../../../src/core/curvature/jvp';

/**
 * MaxPool's tangent rule takes the tangent of each window's FIRST maximum (row-major), the element ORT's
 * Indices and PyTorch pick and the gradient program's VJP routes to (engine/ops/pool.ts finds the same
 * element from prefix max pools). Central differences are no oracle at ties (the pool is not
 * differentiable there), so the oracle is a naive JS "first maximum of the window" gather, on
 * integer-valued inputs full of ties (constant and zero windows, repeated maxima). Exact equality: the
 * rule only moves values. (Reusing the VJP's prefix form here was tried: on the benchmark CNN's HVP
 * program it measured no faster, 176–194 vs 174–183 CPU ms per product, so the rule keeps Indices.)
 */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** Naive oracle: for NC planes of spatial `sp`, windows `k` with strides `s` (no padding, floor mode). */
function firstMaxGather(x: Float32Array, t: Float32Array, n: number, c: number, sp: number[], k: number[], s: number[]): Float32Array {
  const out = sp.map((v, i) => Math.floor((v - k[i]) / s[i]) + 1);
  const plane = sp.reduce((a, b) => a * b, 1);
  const outPlane = out.reduce((a, b) => a * b, 1);
  const res = new Float32Array(n * c * outPlane);
  const strides = sp.map((_, i) => sp.slice(i + 1).reduce((a, b) => a * b, 1));
  const K = k.reduce((a, b) => a * b, 1);
  for (let nc = 0; nc < n * c; nc++) {
    for (let o = 0; o < outPlane; o++) {
      const oc: number[] = [];
      let rem = o;
      for (let i = out.length - 1; i >= 0; i--) {
        oc[i] = rem % out[i];
        rem = Math.floor(rem / out[i]);
      }
      let best = -Infinity;
      let at = -1;
      for (let p = 0; p < K; p++) {
        let q = p;
        let flat = nc * plane;
        for (let i = k.length - 1; i >= 0; i--) {
          flat += (oc[i] * s[i] + (q % k[i])) * strides[i];
          q = Math.floor(q / k[i]);
        }
        if (x[flat] > best) {
          best = x[flat];
          at = flat;
        }
      }
      res[nc * outPlane + o] = t[at];
    }
  }
  return res;
}

async function tangentOfPool(dims: number[], k: number[], s: number[], x: Float32Array, t: Float32Array) {
  const node: GraphNode = { op: 'MaxPool', name: 'pool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: attr.ints(k), strides: attr.ints(s) } };
  const ys = [dims[0], dims[1], ...dims.slice(2).map((v, i) => Math.floor((v - k[i]) / s[i]) + 1)];
  const info = new Map<string, { dims: number[]; dtype: ElemType }>([
    ['x', { dims, dtype: 'float32' }],
    ['tx', { dims, dtype: 'float32' }],
    ['y', { dims: ys, dtype: 'float32' }],
  ]);
  const em = new Emitter(17, 'jvp');
  em.lookup = (n) => info.get(n)?.dims;
  const tan = emitTangents([node], new Map([['x', 'tx']]), { dtype: (n) => info.get(n)?.dtype, shape: (n) => info.get(n)?.dims, constant: () => undefined }, em);
  const out = tan.get('y')!;
  const model = buildModel({ opset: 17, name: 'jvp-maxpool', nodes: [node, ...em.nodes], initializers: em.constants, inputs: [{ name: 'x', dtype: 'float32', shape: dims }, { name: 'tx', dtype: 'float32', shape: dims }], outputs: [{ name: out }] });
  const session = await ort.InferenceSession.create(encodeModel(model));
  const r = await session.run({ x: new ort.Tensor('float32', x, dims), tx: new ort.Tensor('float32', t, dims) });
  await session.release();
  return { tangent: r[out].data as Float32Array };
}

describe('curvature jvp: MaxPool’s tangent at each window’s first maximum (ties), as the VJP routes', () => {
  const cases: [string, number[], number[], number[]][] = [
    ['2-D 2×2 stride 2, odd tail', [2, 3, 7, 6], [2, 2], [2, 2]],
    ['2-D 3×3 stride 3', [1, 2, 9, 9], [3, 3], [3, 3]],
    ['2-D 2×3 stride (3, 3), stride > kernel', [2, 2, 8, 9], [2, 3], [3, 3]],
    ['1-D kernel 3 stride 3', [2, 3, 10], [3], [3]],
  ];
  for (const [name, dims, k, s] of cases) {
    it(`${name}: equals a naive first-maximum gather exactly`, async () => {
      const r = rng(dims.reduce((a, b) => a + b, 7));
      const n = dims.reduce((a, b) => a * b, 1);
      // Integer values in 0..3 with a third zeros: most windows hold tied maxima; some are constant.
      const x = Float32Array.from({ length: n }, () => (r() < 0.33 ? 0 : Math.floor(r() * 4)));
      for (let i = 0; i < Math.min(n, 40); i++) x[i] = 2; // a run of constant windows at the start
      const t = Float32Array.from({ length: n }, (_, i) => i + 1); // each element's tangent names it
      const got = await tangentOfPool(dims, k, s, x, t);
      const want = firstMaxGather(x, t, dims[0], dims[1], dims.slice(2), k, s);
      assert.deepEqual(Array.from(got.tangent), Array.from(want));
    });
  }

  it('overlapping windows: the same first-maximum choice', async () => {
    const dims = [1, 2, 6, 6];
    const r = rng(3);
    const x = Float32Array.from({ length: 72 }, () => Math.floor(r() * 3));
    const t = Float32Array.from({ length: 72 }, (_, i) => i + 1);
    const got = await tangentOfPool(dims, [3, 3], [1, 1], x, t);
    assert.deepEqual(Array.from(got.tangent), Array.from(firstMaxGather(x, t, 1, 2, [6, 6], [3, 3], [1, 1])));
  });
});
