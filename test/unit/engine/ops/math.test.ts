import { strict as assert } from 'node:assert';
import { attr, type Attr } from '../../../../src/core/graph/types';
import { pow } from '../../../../src/core/engine/ops/pow';
import * as red from '../../../../src/core/engine/ops/reduce';
import { clip, max, min, where } from '../../../../src/core/engine/ops/select';
import { abs, gelu, hardSigmoid, hardSwish, reciprocal } from '../../../../src/core/engine/ops/activation';
import { checkRule, type CheckInput, type CheckSpec } from '../../../support/engine/vjp-check';
import * as ort from 'onnxruntime-node';
import { Emitter } from '../../../../src/core/engine/emitter';
import { buildModel } from '../../../../src/core/engine/onnx-encode';
import { encodeModel } from '../../../../src/core/onnx/proto';
import type { OpRule } from '../../../../src/core/engine/ops/types';

/**
 * The rule's input cotangents for given float64 inputs (all needing one) and the output cotangent
 * (the last [dims, data] pair): for hand-checked values at kinks, where differences do not apply.
 */
async function runVjp(rule: OpRule, op: string, attrs: Record<string, Attr>, ...tensors: [number[], number[]][]): Promise<number[][]> {
  const ins = tensors.slice(0, -1);
  const [dyDims, dyData] = tensors[tensors.length - 1];
  const names = ins.map((_, i) => `x${i}`);
  const node = { op, name: op, inputs: names, outputs: ['y'], attrs };
  const em = new Emitter(17, 'vjp');
  const shapes = new Map<string, number[]>([...names.map((n, i) => [n, ins[i][0]] as [string, number[]]), ['y', dyDims], ['dy', dyDims]]);
  const grads = rule.vjp({ node, em, shape: (n) => shapes.get(n)!, dtype: () => 'float64', dy: ['dy'], needs: ins.map(() => true), constant: () => undefined });
  const outs = grads.filter((g): g is string => !!g);
  const feeds = [...names.map((n, i) => [n, ins[i]] as const), ['dy', [dyDims, dyData]] as const];
  const model = buildModel({
    opset: 17,
    name: 'ties',
    nodes: [node, ...em.nodes],
    initializers: em.constants,
    inputs: feeds.map(([name, [dims]]) => ({ name, dtype: 'float64' as const, shape: dims })),
    outputs: outs.map((name) => ({ name })),
  });
  const session = await ort.InferenceSession.create(encodeModel(model));
  const res = await session.run(Object.fromEntries(feeds.map(([n, [dims, data]]) => [n, new ort.Tensor('float64', Float64Array.from(data), dims)])));
  return outs.map((o) => Array.from(res[o].data as Float64Array));
}

// Oracle: central differences of each op's own ORT forward (test/support/engine/vjp-check.ts). Ops with
// double kernels in float64, ε = 1e-6, tolerance 1e-6 relative (observed ≈1e-9); random normal inputs
// are distinct almost surely, so Max/Min/ReduceMax/Clip have no ties or switches within ±ε (ties are
// checked separately, with inputs away from the kinks). HardSigmoid, HardSwish and Gelu have float32
// kernels only: ε = 1e-2, tolerance 2e-3 (HardSigmoid is linear on its pieces: exact up to rounding;
// HardSwish and Gelu: truncation ≈ ε²·f‴).
const TOL = 1e-6;
const TOL32 = 2e-3;
const ok = (r: { inputs: number[]; perExample: number[] }, tol = TOL) => {
  const errs = [...r.inputs.filter((e) => !Number.isNaN(e)), ...r.perExample];
  assert.ok(errs.length > 0 && errs.every((e) => e < tol), JSON.stringify(r));
};
const ints = (data: number[]): CheckInput => ({ dims: [data.length], data, dtype: 'int64', constant: true });
const scalar = (v: number): CheckInput => ({ dims: [], data: [v], constant: true });

describe('engine op Pow', () => {
  it('constant scalar exponents 3, 2, 0.5 and a constant vector exponent', async () => {
    ok(await checkRule(pow, { op: 'Pow', inputs: [{ dims: [3, 4] }, scalar(3)] }));
    ok(await checkRule(pow, { op: 'Pow', inputs: [{ dims: [3, 4] }, scalar(2)] }));
    ok(await checkRule(pow, { op: 'Pow', inputs: [{ dims: [3, 4], positive: true }, scalar(0.5)] }));
    ok(await checkRule(pow, { op: 'Pow', inputs: [{ dims: [3, 4], positive: true }, { dims: [4], data: [1, 2, -1, 1.5], constant: true }] }));
  });
  it('exponent that is not a constant (broadcast), positive base', async () => {
    ok(await checkRule(pow, { op: 'Pow', inputs: [{ dims: [3, 4], positive: true }, { dims: [4] }] }));
  });
});

describe('engine reduce ops', () => {
  const cases: [string, typeof red.reduceSum][] = [
    ['ReduceSum', red.reduceSum],
    ['ReduceMean', red.reduceMean],
    ['ReduceMax', red.reduceMax],
    ['ReduceMin', red.reduceMin],
    ['ReduceSumSquare', red.reduceSumSquare],
    ['ReduceL2', red.reduceL2],
  ];
  for (const [op, rule] of cases) {
    it(`${op}: axes (attribute or input by op and opset), keepdims 0/1, all axes`, async () => {
      const axesInput = op === 'ReduceSum';
      const withAxes = (axes: number[], keepdims: number, opset = 17): Omit<CheckSpec, 'op'> =>
        opset >= 18 || axesInput
          ? { attrs: { keepdims: attr.int(keepdims) }, inputs: [{ dims: [2, 3, 4] }, ints(axes)], opset }
          : { attrs: { keepdims: attr.int(keepdims), axes: attr.ints(axes) }, inputs: [{ dims: [2, 3, 4] }], opset };
      ok(await checkRule(rule, { op, ...withAxes([1], 1) }));
      ok(await checkRule(rule, { op, ...withAxes([-1, 0], 0) }));
      ok(await checkRule(rule, { op, ...withAxes([2], 0, 18) }));
      ok(await checkRule(rule, { op, attrs: { keepdims: attr.int(0) }, inputs: [{ dims: [2, 3, 4] }] }));
    });
  }
  it('ReduceSum noop_with_empty_axes', async () => {
    ok(await checkRule(red.reduceSum, { op: 'ReduceSum', attrs: { noop_with_empty_axes: attr.int(1) }, inputs: [{ dims: [2, 3] }] }));
  });
  it('ReduceMax ties split the cotangent evenly (hand values: ties are kinks, no differences there)', async () => {
    // x = [[1, 1, 0], [2, 5, 5]], dy = [3, 4]: dx = [[1.5, 1.5, 0], [0, 2, 2]].
    const dx = await runVjp(red.reduceMax, 'ReduceMax', { axes: attr.ints([1]), keepdims: attr.int(0) }, [[2, 3], [1, 1, 0, 2, 5, 5]], [[2], [3, 4]]);
    assert.deepEqual(dx, [[1.5, 1.5, 0, 0, 2, 2]]);
  });
});

describe('engine ops Where / Clip / Max / Min', () => {
  const bool = (dims: number[], data: number[]): CheckInput => ({ dims, data, dtype: 'bool', constant: true });
  it('Where with broadcasting, and weight branches per example', async () => {
    ok(await checkRule(where, { op: 'Where', inputs: [bool([4], [1, 0, 0, 1]), { dims: [3, 4] }, { dims: [3, 1] }] }));
    ok(await checkRule(where, { op: 'Where', inputs: [bool([3, 1], [1, 0, 1]), { dims: [3, 4] }, { dims: [4], weight: true }] }));
  });
  it('Clip with constant bounds, one bound, no bounds, and bounds that are not constants', async () => {
    ok(await checkRule(clip, { op: 'Clip', inputs: [{ dims: [3, 5], awayFromZero: 0.05 }, scalar(-0.5), scalar(0.7)] }));
    ok(await checkRule(clip, { op: 'Clip', inputs: [{ dims: [3, 5] }, scalar(-0.2)] }));
    ok(await checkRule(clip, { op: 'Clip', inputs: [{ dims: [3, 5] }] }));
    ok(await checkRule(clip, { op: 'Clip', inputs: [{ dims: [3, 5] }, { dims: [], data: [-0.4] }, { dims: [], data: [0.6] }] }));
  });
  it('Max / Min ties split the cotangent evenly between the tied inputs (hand values)', async () => {
    const dx = await runVjp(max, 'Max', {}, [[3], [1, 2, 3]], [[3], [1, 5, 0]], [[3], [4, 4, 4]]);
    assert.deepEqual(dx, [[2, 0, 4], [2, 4, 0]]);
    const dn = await runVjp(min, 'Min', {}, [[2], [1, 2]], [[2], [1, 0]], [[2], [6, 6]]);
    assert.deepEqual(dn, [[3, 0], [3, 6]]);
  });
  for (const [op, rule] of [['Max', max], ['Min', min]] as const) {
    it(`${op}: three inputs with broadcasting, a weight operand per example`, async () => {
      ok(await checkRule(rule, { op, inputs: [{ dims: [3, 4] }, { dims: [4] }, { dims: [3, 1] }] }));
      ok(await checkRule(rule, { op, inputs: [{ dims: [3, 4] }, { dims: [4], weight: true }] }));
    });
  }
});

describe('engine activations HardSigmoid / HardSwish / Gelu / Abs / Reciprocal', () => {
  it('Abs and Reciprocal (double kernels)', async () => {
    ok(await checkRule(abs, { op: 'Abs', inputs: [{ dims: [3, 5], awayFromZero: 0.05 }] }));
    ok(await checkRule(reciprocal, { op: 'Reciprocal', inputs: [{ dims: [3, 5], awayFromZero: 0.3 }] }));
  });
  const f32: [string, typeof abs, Record<string, Attr>, CheckInput, number?][] = [
    ['HardSigmoid', hardSigmoid, {}, { dims: [4, 6], awayFromZero: 0.05 }],
    ['HardSigmoid', hardSigmoid, { alpha: attr.float(0.4), beta: attr.float(0.3) }, { dims: [4, 6], awayFromZero: 0.05 }],
    ['HardSwish', hardSwish, {}, { dims: [4, 6], data: [-4.5, -3.3, -2.9, -2, -1.2, -0.5, -0.1, 0.2, 0.9, 1.7, 2.5, 2.9, 3.2, 4, 5, -5, 0.6, -0.7, 1.1, -1.9, 2.2, -2.4, 0.05, 2.8], dtype: 'float32' }, 14],
    ['Gelu', gelu, {}, { dims: [3, 7] }, 20],
    ['Gelu', gelu, { approximate: attr.string('tanh') }, { dims: [3, 7] }, 20],
  ];
  for (const [op, rule, attrs, input, opset] of f32) {
    it(`${op} ${JSON.stringify(attrs)} (float32 kernels${opset ? `, opset ${opset}` : ''})`, async () => {
      ok(await checkRule(rule, { op, attrs, dtype: 'float32', opset, inputs: [input] }), TOL32);
    });
  }
});
