import { strict as assert } from 'node:assert';
import { attr } from '../../../../src/core/graph/types';
import { add, div, mul, sub } from '../../../../src/core/engine/ops/elementwise';
import * as u from '../../../../src/core/engine/ops/unary';
import { logSoftmax, softmax } from '../../../../src/core/engine/ops/softmax';
import { reshapeLike, transpose } from '../../../../src/core/engine/ops/reshape';
import { checkRule } from '../../../support/engine/vjp-check';

// Oracle: float64 central differences of each op's own ORT forward (test/support/engine/vjp-check.ts),
// tolerance 1e-6 relative (observed ≈1e-9).
const TOL = 1e-6;
const ok = (r: { inputs: number[]; perExample: number[] }) => {
  const bad = [...r.inputs.filter((e) => !Number.isNaN(e)), ...r.perExample].some((e) => !(e < TOL));
  assert.ok(!bad, JSON.stringify(r));
};

describe('engine elementwise ops', () => {
  for (const [name, rule] of [['Add', add], ['Sub', sub], ['Mul', mul], ['Div', div]] as const) {
    it(`${name}: activations with broadcasting, and a weight operand per example`, async () => {
      ok(await checkRule(rule, { op: name, inputs: [{ dims: [3, 4, 5] }, { dims: [4, 1], positive: true }] }));
      ok(await checkRule(rule, { op: name, inputs: [{ dims: [3, 4, 5] }, { dims: [5], weight: true, positive: true }] }));
      // A learned positional table [1, T, C] added to [B, T, C].
      ok(await checkRule(rule, { op: name, inputs: [{ dims: [2, 4, 3], positive: true }, { dims: [1, 4, 3], weight: true, positive: true }] }));
    });
  }
});

describe('engine unary ops', () => {
  const cases: [string, typeof u.relu, Record<string, ReturnType<typeof attr.float>>?, boolean?][] = [
    ['Relu', u.relu],
    ['LeakyRelu', u.leakyRelu, { alpha: attr.float(0.2) }],
    ['Sigmoid', u.sigmoid],
    ['Tanh', u.tanh],
    ['Exp', u.exp],
    ['Log', u.log, undefined, true],
    ['Sqrt', u.sqrt, undefined, true],
    ['Neg', u.neg],
  ];
  for (const [op, rule, attrs, positive] of cases) {
    it(op, async () => ok(await checkRule(rule, { op, attrs, inputs: [{ dims: [3, 7], awayFromZero: 0.05, positive }] })));
  }
  // ORT has float32 kernels only for these: ε = 1e-2 central differences, tolerance 2e-3 (truncation ≈ ε²·f‴).
  for (const [op, rule, attrs] of [['Elu', u.elu, { alpha: attr.float(0.7) }], ['Erf', u.erf, {}], ['Softplus', u.softplus, {}]] as const) {
    it(`${op} (float32 kernels)`, async () => {
      const r = await checkRule(rule, { op, attrs, dtype: 'float32', inputs: [{ dims: [3, 7], awayFromZero: 0.05 }] });
      assert.ok(r.inputs[0] < 2e-3, JSON.stringify(r));
    });
  }
  it('Softmax and LogSoftmax along the last and a middle axis', async () => {
    ok(await checkRule(softmax, { op: 'Softmax', inputs: [{ dims: [3, 6] }] }));
    ok(await checkRule(softmax, { op: 'Softmax', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 4, 3] }] }));
    ok(await checkRule(logSoftmax, { op: 'LogSoftmax', inputs: [{ dims: [3, 6] }] }));
    ok(await checkRule(logSoftmax, { op: 'LogSoftmax', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 4, 3] }] }));
  });
  it('Reshape, Flatten and Transpose', async () => {
    ok(await checkRule(reshapeLike, { op: 'Reshape', inputs: [{ dims: [2, 3, 4] }, { dims: [2], data: [2, 12], dtype: 'int64', constant: true }] }));
    ok(await checkRule(reshapeLike, { op: 'Flatten', inputs: [{ dims: [2, 3, 4] }] }));
    ok(await checkRule(transpose, { op: 'Transpose', attrs: { perm: attr.ints([0, 2, 1]) }, inputs: [{ dims: [2, 3, 4] }] }));
  });
});
