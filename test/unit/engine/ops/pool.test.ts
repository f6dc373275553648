import { strict as assert } from 'node:assert';
import { attr, type Attr } from '../../../../src/core/graph/types';
import { averagePool, globalAveragePool, globalMaxPool, maxPool } from '../../../../src/core/engine/ops/pool';
import { checkRule } from '../../../support/engine/vjp-check';
import * as ort from 'onnxruntime-node';
import { Emitter } from '../../../../src/core/engine/emitter';
import { buildModel } from '../../../../src/core/engine/onnx-encode';
import { encodeModel } from '../../../../src/core/onnx/proto';
import type { GraphNode } from '../../../../src/core/graph/types';
import type { VjpContext } from '../../../../src/core/engine/ops/types';

// Oracle: central differences of ORT's own pooling forward (test/support/engine/vjp-check.ts).
// MaxPool and GlobalMaxPool have double kernels: float64, ε = 1e-6, tolerance 1e-6 relative (random
// normal inputs are distinct almost surely, so no window has a tie and no max switches within ±ε).
// AveragePool and GlobalAveragePool are float32-only in ORT: float32, ε = 1e-2; both are linear in x, so
// the differences are exact up to float32 rounding: tolerance 1e-3 (observed ≈1e-5).
const TOL64 = 1e-6;
const TOL32 = 1e-3;

describe('engine op MaxPool', () => {
  const cases: [string, number[], Record<string, Attr>][] = [
    ['2×2 stride 2', [2, 3, 4, 6], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }],
    ['3×3 overlapping windows, stride 1, pads 1', [2, 2, 5, 5], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) }],
    ['3×3 stride 2, ceil_mode', [2, 2, 6, 7], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) }],
    ['dilation 2, asymmetric pads', [1, 2, 7, 7], { kernel_shape: attr.ints([2, 2]), dilations: attr.ints([2, 2]), pads: attr.ints([0, 1, 1, 0]) }],
    ['1-D, stride 2', [2, 3, 9], { kernel_shape: attr.ints([3]), strides: attr.ints([2]) }],
  ];
  for (const [name, dims, attrs] of cases) {
    it(name, async () => {
      const r = await checkRule(maxPool, { op: 'MaxPool', attrs, inputs: [{ dims }] });
      assert.ok(r.inputs[0] < TOL64, JSON.stringify(r));
    });
  }
  // float32 programs place dy by MaxUnpool where windows are disjoint (ORT has no double MaxUnpool):
  // central differences with ε = 1e-2 on inputs 0.1 apart (a shuffled ramp: no max switches within
  // ±ε·|v|), tolerance 1e-3.
  const spaced = (n: number) => {
    const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
    for (let i = n - 1, s = 12345; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const j = s % (i + 1);
      [v[i], v[j]] = [v[j], v[i]];
    }
    return v;
  };
  const disjoint32: [string, number[], Record<string, Attr>][] = [
    ['float32, 2×2 stride 2, input tail not covered', [2, 3, 5, 7], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }],
    ['float32, 2×3 stride 3×3, pads', [2, 2, 6, 7], { kernel_shape: attr.ints([2, 3]), strides: attr.ints([3, 3]), pads: attr.ints([1, 0, 0, 1]) }],
    ['float32, 1-D, 3 wide stride 3', [2, 3, 10], { kernel_shape: attr.ints([3]), strides: attr.ints([3]) }],
    ['float32, overlapping 3×3 stride 2 (scatter)', [2, 2, 7, 7], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]) }],
  ];
  for (const [name, dims, attrs] of disjoint32) {
    it(name, async () => {
      const data = spaced(dims.reduce((a, b) => a * b, 1));
      const r = await checkRule(maxPool, { op: 'MaxPool', dtype: 'float32', attrs, inputs: [{ dims, data }] });
      assert.ok(r.inputs[0] < 1e-3, JSON.stringify(r));
    });
  }
  // Ties: the cotangent goes to the first maximum of a window in row-major order (ORT and PyTorch), in
  // both the float32 (MaxUnpool) and the float64 (ScatterElements) program. Oracle: the placement
  // computed here from the values.
  for (const dtype of ['float32', 'float64'] as const) {
    it(`ties go to the first maximum (${dtype})`, async () => {
      const [N, C, H, W] = [2, 2, 4, 6];
      const xs = Array.from({ length: N * C * H * W }, (_, i) => [0, 1, 1, 0.5, 2, 2, 2, 2][(i * 7 + (i >> 3)) % 8]);
      const dys = Array.from({ length: N * C * (H / 2) * (W / 2) }, (_, i) => i + 1);
      const want = new Array<number>(xs.length).fill(0);
      for (let nc = 0; nc < N * C; nc++)
        for (let oi = 0; oi < H / 2; oi++)
          for (let oj = 0; oj < W / 2; oj++) {
            let best = -1;
            for (let a = 0; a < 2; a++)
              for (let b = 0; b < 2; b++) {
                const at = nc * H * W + (2 * oi + a) * W + 2 * oj + b;
                if (best < 0 || xs[at] > xs[best]) best = at;
              }
            want[best] += dys[nc * (H / 2) * (W / 2) + oi * (W / 2) + oj];
          }
      const node: GraphNode = { op: 'MaxPool', name: 'pool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) } };
      const shapes: Record<string, number[]> = { x: [N, C, H, W], y: [N, C, H / 2, W / 2], dy: [N, C, H / 2, W / 2] };
      const em = new Emitter(17, 'vjp');
      const ctx: VjpContext = { node, em, shape: (n) => shapes[n] ?? em.shapeOf(n)!, dtype: () => dtype, dy: ['dy'], needs: [true], constant: () => undefined };
      const dx = maxPool.vjp(ctx)[0]!;
      assert.equal(em.nodes.some((n) => n.op === 'MaxUnpool'), dtype === 'float32');
      const model = buildModel({ opset: 17, name: 'ties', nodes: [node, ...em.nodes], initializers: em.constants, inputs: [{ name: 'x', dtype, shape: shapes.x }, { name: 'dy', dtype, shape: shapes.dy }], outputs: [{ name: dx }] });
      const session = await ort.InferenceSession.create(encodeModel(model));
      const arr = (v: number[]) => (dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v));
      const res = await session.run({ x: new ort.Tensor(dtype, arr(xs), shapes.x), dy: new ort.Tensor(dtype, arr(dys), shapes.dy) });
      assert.deepEqual(Array.from(res[dx].data as Float32Array), want);
      assert.ok(want.filter((v) => v !== 0).length === dys.length);
    });
  }
  it('a node that declares the Indices output itself', async () => {
    const r = await checkRule(maxPool, { op: 'MaxPool', outputs: 2, differentiableOutputs: [0], attrs: { kernel_shape: attr.ints([2, 2]) }, inputs: [{ dims: [2, 2, 4, 4] }] });
    assert.ok(r.inputs[0] < TOL64, JSON.stringify(r));
  });
});

describe('engine op AveragePool', () => {
  const cases: [string, number[], Record<string, Attr>][] = [
    ['2×2 stride 2', [2, 3, 4, 6], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }],
    ['3×3 pads 1, count_include_pad 0', [2, 2, 5, 5], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) }],
    ['3×3 pads 1, count_include_pad 1', [2, 2, 5, 5], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.int(1) }],
    ['3×3 stride 2, ceil_mode, pads', [2, 2, 6, 7], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1), pads: attr.ints([1, 0, 1, 1]) }],
    ['ceil_mode, count_include_pad 1', [1, 2, 6, 7], { kernel_shape: attr.ints([3, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1), pads: attr.ints([1, 1, 0, 0]), count_include_pad: attr.int(1) }],
    ['SAME_UPPER, stride 2', [2, 2, 5, 6], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), auto_pad: attr.string('SAME_UPPER') }],
    ['1-D, input tail not covered', [2, 3, 8], { kernel_shape: attr.ints([3]), strides: attr.ints([2]) }],
  ];
  for (const [name, dims, attrs] of cases) {
    it(name, async () => {
      const r = await checkRule(averagePool, { op: 'AveragePool', dtype: 'float32', attrs, inputs: [{ dims }] });
      assert.ok(r.inputs[0] < TOL32, JSON.stringify(r));
    });
  }
});

describe('engine op GlobalAveragePool / GlobalMaxPool', () => {
  it('GlobalAveragePool (float32 kernels)', async () => {
    const r = await checkRule(globalAveragePool, { op: 'GlobalAveragePool', dtype: 'float32', inputs: [{ dims: [2, 3, 4, 5] }] });
    assert.ok(r.inputs[0] < TOL32, JSON.stringify(r));
  });
  it('GlobalMaxPool (float32 kernels; piecewise linear, no max switches within ±ε for this seed)', async () => {
    const r = await checkRule(globalMaxPool, { op: 'GlobalMaxPool', dtype: 'float32', inputs: [{ dims: [2, 3, 4, 5] }] });
    assert.ok(r.inputs[0] < TOL32, JSON.stringify(r));
  });
});
