import { strict as assert } from 'node:assert';
import { attr, type Attr } from '../../../../src/core/graph/types';
import { averagePool, globalAveragePool, globalMaxPool, maxPool } from '../../../../src/core/engine/ops/pool';
import { checkRule } from '../../../support/engine/vjp-check';

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
