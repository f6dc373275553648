import { strict as assert } from 'node:assert';
import { attr } from '../../../../src/core/graph/types';
import { concat, split } from '../../../../src/core/engine/ops/concat';
import { pad, slice, sliceIndices } from '../../../../src/core/engine/ops/slice';
import { expand, tile } from '../../../../src/core/engine/ops/tile';
import { checkRule, type CheckInput } from '../../../support/engine/vjp-check';

// Oracle: float64 central differences of each op's own ORT forward (test/support/engine/vjp-check.ts;
// all have double kernels), tolerance 1e-6 relative (these ops are linear: observed ≈1e-10).
const TOL = 1e-6;
const ok = (r: { inputs: number[]; perExample: number[] }) => {
  const errs = [...r.inputs.filter((e) => !Number.isNaN(e)), ...r.perExample];
  assert.ok(errs.length > 0 && errs.every((e) => e < TOL), JSON.stringify(r));
};
const ints = (data: number[]): CheckInput => ({ dims: [data.length], data, dtype: 'int64', constant: true });

describe('engine ops Concat / Split', () => {
  it('Concat of three inputs along axis 1 and along a negative axis', async () => {
    ok(await checkRule(concat, { op: 'Concat', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 1, 3] }, { dims: [2, 4, 3] }, { dims: [2, 2, 3] }] }));
    ok(await checkRule(concat, { op: 'Concat', attrs: { axis: attr.int(-1) }, inputs: [{ dims: [2, 3, 1] }, { dims: [2, 3, 2] }] }));
  });
  it('Split with sizes (opset 13 input), one output without a cotangent', async () => {
    ok(await checkRule(split, { op: 'Split', attrs: { axis: attr.int(1) }, outputs: 3, differentiableOutputs: [0, 2], inputs: [{ dims: [2, 6, 2] }, ints([1, 3, 2])] }));
  });
  it('Split into equal parts (no sizes), last axis', async () => {
    ok(await checkRule(split, { op: 'Split', attrs: { axis: attr.int(-1) }, outputs: 2, inputs: [{ dims: [3, 4] }] }));
  });
  it('Split with num_outputs (opset 18)', async () => {
    ok(await checkRule(split, { op: 'Split', opset: 18, attrs: { axis: attr.int(1), num_outputs: attr.int(3) }, outputs: 3, differentiableOutputs: [1], inputs: [{ dims: [2, 7] }] }));
  });
});

describe('engine ops Slice / Pad', () => {
  it('sliceIndices follows ONNX clamping', () => {
    assert.deepEqual(sliceIndices(5, 1, 100, 1), [1, 2, 3, 4]);
    assert.deepEqual(sliceIndices(5, -2, 9223372036854775807, 1), [3, 4]);
    assert.deepEqual(sliceIndices(5, -1, -9223372036854775807, -1), [4, 3, 2, 1, 0]);
    assert.deepEqual(sliceIndices(5, 10, 0, -2), [4, 2]);
    assert.deepEqual(sliceIndices(5, 3, 1, 1), []);
  });
  it('unit steps, negative and clamped bounds (Pad back)', async () => {
    ok(await checkRule(slice, { op: 'Slice', inputs: [{ dims: [3, 5, 4] }, ints([1, -3]), ints([100, -1]), ints([1, 2])] }));
    ok(await checkRule(slice, { op: 'Slice', inputs: [{ dims: [2, 6] }, ints([2]), ints([5])] }));
  });
  it('steps 2 and −1 (scatter back), mixed with a unit-step axis', async () => {
    ok(await checkRule(slice, { op: 'Slice', inputs: [{ dims: [2, 7, 5] }, ints([0, 6, 1]), ints([2, -100, 4]), ints([0, 1, -1]), ints([1, -2, 1])] }));
    ok(await checkRule(slice, { op: 'Slice', inputs: [{ dims: [3, 6] }, ints([-1]), ints([-9223372036854775807]), ints([1]), ints([-1])] }));
  });
  it('Pad constant mode, positive and negative pads, constant value', async () => {
    ok(await checkRule(pad, { op: 'Pad', inputs: [{ dims: [2, 3, 4] }, ints([0, 1, 2, 0, 2, 0])] }));
    ok(await checkRule(pad, { op: 'Pad', inputs: [{ dims: [2, 5, 4] }, ints([0, -1, 1, 0, 2, -2]), { dims: [], data: [0.5], constant: true }] }));
  });
  for (const mode of ['reflect', 'edge']) {
    it(`Pad ${mode} mode`, async () => {
      ok(await checkRule(pad, { op: 'Pad', attrs: { mode: attr.string(mode) }, inputs: [{ dims: [2, 3, 4] }, ints([0, 1, 2, 0, 2, 3])] }));
    });
  }
  it('Pad wrap mode (opset 19), with axes', async () => {
    ok(await checkRule(pad, { op: 'Pad', opset: 19, attrs: { mode: attr.string('wrap') }, inputs: [{ dims: [2, 3, 4] }, ints([1, 2, 0, 3]), { dims: [], data: [0], constant: true }, ints([-1, 1])] }));
  });
  it('Pad with axes (opset 18)', async () => {
    ok(await checkRule(pad, { op: 'Pad', opset: 18, inputs: [{ dims: [2, 3, 4] }, ints([1, 2, 0, 3]), { dims: [], data: [0], constant: true }, ints([-1, 1])] }));
  });
});

describe('engine ops Tile / Expand', () => {
  it('Tile', async () => {
    ok(await checkRule(tile, { op: 'Tile', inputs: [{ dims: [2, 3, 2] }, ints([1, 3, 2])] }));
  });
  // A weight tiled/expanded over the batch. checkRule takes B from the first input that is neither a
  // weight nor a constant: here the repeats/shape input, whose length (3) is chosen equal to B = 3.
  it('Tile of a class-token weight over the batch — per-example form', async () => {
    ok(await checkRule(tile, { op: 'Tile', inputs: [{ dims: [1, 2, 4], weight: true }, { dims: [3], data: [3, 1, 2], dtype: 'int64' }] }));
  });
  it('Expand of a class-token weight over the batch — per-example form', async () => {
    ok(await checkRule(expand, { op: 'Expand', inputs: [{ dims: [1, 1, 4], weight: true }, { dims: [3], data: [3, 2, 4], dtype: 'int64' }] }));
  });
  it('Expand', async () => {
    ok(await checkRule(expand, { op: 'Expand', inputs: [{ dims: [3, 1, 4] }, ints([2, 3, 5, 4])] }));
    ok(await checkRule(expand, { op: 'Expand', inputs: [{ dims: [2, 4] }, ints([3, 1, 1])] }));
  });
});
