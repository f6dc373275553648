/**
 * The short-last-axis forms of engine/ops/last-axis.ts (per-row scalars expanded by a MatMul with a row of
 * ones; a per-column vector applied as a MatMul with diag v). Oracle: ORT's own broadcasting Mul/Sub/Add/Div
 * on the same inputs. Both forms round nothing (s·1 and x·v + 0 are exact), so the results must be
 * bit-identical, in float32 and float64. The VJPs that use them (LayerNormalization, Softmax, LogSoftmax,
 * GlobalAveragePool, ReduceMean/ReduceSum over trailing axes; BatchNormalization's channel scaling by its own
 * op) are checked against central differences at shapes where the forms are taken (≥ 64 rows of ≤ 64).
 */
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { attr } from '../../../../src/core/graph/types';
import { Emitter } from '../../../../src/core/engine/emitter';
import { buildModel } from '../../../../src/core/engine/onnx-encode';
import { columnScale, expandTrailing, rowwise } from '../../../../src/core/engine/ops/last-axis';
import { batchNormalization, layerNormalization } from '../../../../src/core/engine/ops/normalization';
import { globalAveragePool } from '../../../../src/core/engine/ops/pool';
import { reduceMean, reduceSum } from '../../../../src/core/engine/ops/reduce';
import { logSoftmax, softmax } from '../../../../src/core/engine/ops/softmax';
import { encodeModel } from '../../../../src/core/onnx/proto';
import { mulberry32 } from '../../../../src/core/random';
import { checkRule } from '../../../support/engine/vjp-check';

type Dt = 'float32' | 'float64';
const arr = (dt: Dt, n: number, seed: number) => {
  const u = mulberry32(seed);
  const v = Array.from({ length: n }, () => 4 * u() - 2 + (u() < 0.1 ? 1e-30 : 0));
  return dt === 'float32' ? Float32Array.from(v) : Float64Array.from(v);
};

/** Runs `build(em, x, s)` next to the plain broadcast `op(x, s)` and returns both outputs and the emitted op types. */
async function compare(dt: Dt, xDims: number[], sDims: number[], build: (em: Emitter) => string, plain: string) {
  const em = new Emitter(17, 't');
  const out = build(em);
  const nodes = [...em.nodes, { op: plain, name: 'plain', inputs: ['x', 's'], outputs: ['ref'], attrs: {} }];
  const model = buildModel({
    opset: 17,
    name: 'last-axis',
    nodes,
    initializers: em.constants,
    inputs: [
      { name: 'x', dtype: dt, shape: xDims },
      { name: 's', dtype: dt, shape: sDims },
    ],
    outputs: [{ name: out }, { name: 'ref' }],
  });
  const session = await ort.InferenceSession.create(encodeModel(model));
  const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const res = await session.run({ x: new ort.Tensor(dt, arr(dt, size(xDims), 1), xDims), s: new ort.Tensor(dt, arr(dt, size(sDims), 2), sDims) });
  await session.release();
  return { got: res[out].data as Float32Array, want: res.ref.data as Float32Array, ops: em.nodes.map((n) => n.op) };
}

describe('engine short-last-axis forms (last-axis.ts)', () => {
  for (const dt of ['float32', 'float64'] as const) {
    for (const op of ['Mul', 'Sub', 'Add', 'Div'] as const) {
      it(`x ${op} s, s one value per row, [8, 10, 6] (${dt}): a MatMul with ones, bit-identical to the broadcast`, async () => {
        const r = await compare(dt, [8, 10, 6], [8, 10, 1], (em) => rowwise(em, op, 'x', 's', [8, 10, 6], dt), op);
        assert.ok(r.ops.includes('MatMul'), r.ops.join(','));
        assert.deepEqual(Array.from(r.got), Array.from(r.want));
      });
    }
    it(`s − x (s first), and x · v per column with diag v (${dt}): bit-identical`, async () => {
      const a = await compare(dt, [80, 12], [80, 1], (em) => rowwise(em, 'Sub', 'x', 's', [80, 12], dt, true), 'Sub');
      // ref computes x − s; s − x is its negation, exactly.
      assert.deepEqual(Array.from(a.got), Array.from(a.want, (v) => -v + 0));
      const b = await compare(dt, [8, 10, 6], [6], (em) => columnScale(em, 'x', 's', [8, 10, 6], dt), 'Mul');
      assert.ok(b.ops.includes('MatMul'), b.ops.join(','));
      assert.deepEqual(Array.from(b.got), Array.from(b.want));
    });
  }
  for (const dt of ['float32', 'float64'] as const) {
    it(`s [8, 10, 1, 1] · 1/9 expanded over 3 × 3 (${dt}): a MatMul with a filled row, bit-identical to Mul + Expand`, async () => {
      const shape = [8, 10, 3, 3];
      const em = new Emitter(17, 't');
      const out = expandTrailing(em, 's', shape, 2, 1 / 9, dt);
      assert.ok(em.nodes.some((n) => n.op === 'MatMul'), em.nodes.map((n) => n.op).join(','));
      const c = em.scalarOf(1 / 9, dt);
      const ref = em.one('Expand', [em.mul('s', c), em.i64(shape)]);
      const model = buildModel({ opset: 17, name: 'e', nodes: em.nodes, initializers: em.constants, inputs: [{ name: 's', dtype: dt, shape: [8, 10, 1, 1] }], outputs: [{ name: out }, { name: ref }] });
      const session = await ort.InferenceSession.create(encodeModel(model));
      const res = await session.run({ s: new ort.Tensor(dt, arr(dt, 80, 3), [8, 10, 1, 1]) });
      await session.release();
      assert.deepEqual(Array.from(res[out].data as Float32Array), Array.from(res[ref].data as Float32Array));
    });
  }

  it('keeps the plain broadcast where it is as fast: few rows, long rows, a last axis of 1', () => {
    for (const shape of [[3, 20, 6], [100, 65], [100, 1]]) {
      const em = new Emitter(17, 't');
      rowwise(em, 'Mul', 'x', 's', shape, 'float32');
      columnScale(em, 'x', 'v', shape, 'float32');
      assert.deepEqual(em.nodes.map((n) => n.op), ['Mul', 'Mul'], JSON.stringify(shape));
    }
  });

  // Oracle: central differences of ORT's own forward (vjp-check.ts); float64 ε = 1e-6, tolerance 1e-6 as in
  // normalization.test.ts / elementwise.test.ts; float32 ε = 1e-2 with tolerance 2e-3 (float32 rounding of
  // the differences: ‖x‖ ~ 1, so 1e-7/1e-2·√n).
  const ok = (r: { inputs: number[]; perExample: number[] }, tol: number) => {
    const errs = [...r.inputs.filter((e) => !Number.isNaN(e)), ...r.perExample];
    assert.ok(errs.length > 0 && errs.every((e) => e < tol), JSON.stringify(r));
  };
  it('LayerNormalization over the last axis of [4, 16, 6] (64 rows): VJP and per-example scale/bias, float64 and float32', async () => {
    const inputs = [{ dims: [4, 16, 6] }, { dims: [6], weight: true }, { dims: [6], weight: true }];
    ok(await checkRule(layerNormalization, { op: 'LayerNormalization', inputs }), 1e-6);
    ok(await checkRule(layerNormalization, { op: 'LayerNormalization', dtype: 'float32', inputs }), 2e-3);
  });
  it('GlobalAveragePool of [4, 20, 3, 3] (float32: ORT has no double kernel) and ReduceMean/ReduceSum over its last two axes (float64), 80 rows of 9', async () => {
    ok(await checkRule(globalAveragePool, { op: 'GlobalAveragePool', dtype: 'float32', inputs: [{ dims: [4, 20, 3, 3] }] }), 2e-3);
    const axes = { dims: [2], dtype: 'int64' as const, data: [2, 3], constant: true };
    ok(await checkRule(reduceSum, { op: 'ReduceSum', inputs: [{ dims: [4, 20, 3, 3] }, axes] }), 1e-6);
    ok(await checkRule(reduceSum, { op: 'ReduceSum', attrs: { keepdims: attr.int(0) }, inputs: [{ dims: [4, 20, 3, 3] }, axes] }), 1e-6);
    ok(await checkRule(reduceMean, { op: 'ReduceMean', attrs: { axes: attr.ints([-1, -2]) }, inputs: [{ dims: [4, 20, 3, 3] }] }), 1e-6);
  });
  it('BatchNormalization on [4, 20, 3, 3] (x̂ and the channel scaling by the op itself): VJP and per-example scale/bias, float32', async () => {
    const inputs = [{ dims: [4, 20, 3, 3] }, { dims: [20], weight: true }, { dims: [20], weight: true }, { dims: [20], constant: true }, { dims: [20], constant: true, positive: true }];
    ok(await checkRule(batchNormalization, { op: 'BatchNormalization', dtype: 'float32', inputs }), 2e-3);
  });
  it('Softmax and LogSoftmax over the last axis of [4, 20, 5] (80 rows), float64', async () => {
    ok(await checkRule(softmax, { op: 'Softmax', inputs: [{ dims: [4, 20, 5] }] }), 1e-6);
    ok(await checkRule(logSoftmax, { op: 'LogSoftmax', attrs: { axis: attr.int(-1) }, inputs: [{ dims: [4, 20, 5] }] }), 1e-6);
  });
});
