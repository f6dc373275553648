import { strict as assert } from 'node:assert';
import { attr, type GraphNode } from '../../../src/core/graph/types';
import { Emitter } from '../../../src/core/engine/emitter';
import { OP_RULES } from '../../../src/core/engine/ops';
import { emitTangents, NoTangentRule, RULES, NO_TANGENT } from '../../../src/core/curvature/jvp';
import { checkTangent, type TangentSpec } from '../../support/curvature/jvp-check';

/**
 * Tangent (forward-mode) rules of src/core/curvature/jvp, one ONNX node at a time, against central
 * differences of ORT's own forward pass of that node (test/support/curvature/jvp-check.ts).
 * Tolerances: float64 (ORT double kernels, ε = 1e-6) 1e-6 relative (observed ≤ 5.2e-10, LayerNormalization
 * 2e-8); float32-only kernels (ε = 1e-2) 1e-4 for ops linear or bilinear in their inputs (differences
 * exact up to float32 rounding; observed ≤ 1.3e-5) and 2e-3 for smooth nonlinear ones (truncation
 * ε²·f'''/6 plus rounding 1e-7/ε; observed ≤ 3.8e-4, LayerNormalization's InvStdDev).
 */
const F64 = 1e-6;
const F32_LINEAR = 1e-4;
const F32_SMOOTH = 2e-3;

const i64 = (dims: number[], data: number[]) => ({ dims, data, dtype: 'int64' as const, constant: true });
/** Distinct values 0.1 apart in a scrambled order, centred: max selections cannot switch within ε·t (≲ 0.05). */
const distinct = (dims: number[]) => {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dims, data: Array.from({ length: n }, (_, i) => 0.1 * (((i * 37) % n) - n / 2)) };
};

const cases: [string, TangentSpec, number][] = [
  // Linear (the op applied to the tangent, index/shape inputs unchanged).
  ['Identity', { op: 'Identity', inputs: [{ dims: [2, 3] }] }, F64],
  ['Reshape', { op: 'Reshape', inputs: [{ dims: [2, 3, 4] }, i64([2], [6, 4])] }, F64],
  ['Flatten', { op: 'Flatten', attrs: { axis: attr.int(2) }, inputs: [{ dims: [2, 3, 4, 2] }] }, F64],
  ['Transpose', { op: 'Transpose', attrs: { perm: attr.ints([2, 0, 1]) }, inputs: [{ dims: [2, 3, 4] }] }, F64],
  ['Unsqueeze', { op: 'Unsqueeze', inputs: [{ dims: [2, 3] }, i64([1], [1])] }, F64],
  ['Squeeze', { op: 'Squeeze', inputs: [{ dims: [2, 1, 3] }, i64([1], [1])] }, F64],
  ['Expand', { op: 'Expand', inputs: [{ dims: [3, 1] }, i64([3], [2, 3, 4])] }, F64],
  ['Tile', { op: 'Tile', inputs: [{ dims: [2, 3] }, i64([2], [2, 3])] }, F64],
  ['Slice', { op: 'Slice', inputs: [{ dims: [4, 5] }, i64([2], [1, 0]), i64([2], [3, 5]), i64([2], [0, 1]), i64([2], [1, 2])] }, F64],
  ['Gather', { op: 'Gather', attrs: { axis: attr.int(0) }, inputs: [{ dims: [5, 3] }, i64([2, 2], [0, 4, 4, 2])] }, F64],
  ['GatherElements', { op: 'GatherElements', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 4] }, i64([2, 3], [0, 3, 3, 1, 2, 0])] }, F64],
  ['Concat (one operand without tangent)', { op: 'Concat', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 3] }, { dims: [2, 2], noTangent: true }, { dims: [2, 1] }] }, F64],
  ['Pad (constant value 2, its tangent padded with 0)', { op: 'Pad', inputs: [{ dims: [2, 3] }, i64([4], [1, 0, 0, 2]), { dims: [], data: [2], constant: true }] }, F64],
  ['ReduceSum', { op: 'ReduceSum', attrs: { keepdims: attr.int(0) }, inputs: [{ dims: [2, 3, 4] }, i64([2], [0, 2])] }, F64],
  ['ReduceMean (opset 17 axes attribute)', { op: 'ReduceMean', attrs: { axes: attr.ints([1]), keepdims: attr.int(1) }, inputs: [{ dims: [2, 3, 4] }] }, F64],
  ['AveragePool', { op: 'AveragePool', attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, inputs: [{ dims: [2, 3, 4, 4] }], dtype: 'float32' }, F32_LINEAR],
  ['GlobalAveragePool', { op: 'GlobalAveragePool', inputs: [{ dims: [2, 3, 4, 4] }], dtype: 'float32' }, F32_LINEAR],
  ['MaxUnpool', { op: 'MaxUnpool', attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, inputs: [{ dims: [1, 2, 2, 2] }, i64([1, 2, 2, 2], [0, 3, 9, 10, 16, 19, 29, 30]), i64([4], [1, 2, 4, 4])], dtype: 'float32' }, F32_LINEAR],
  ['ScatterElements (data and updates)', { op: 'ScatterElements', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 4] }, i64([2, 1], [3, 1]), { dims: [2, 1] }] }, F64],
  ['ScatterElements (updates only)', { op: 'ScatterElements', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 4], noTangent: true }, i64([2, 1], [3, 1]), { dims: [2, 1] }] }, F64],
  ['Where (one branch a constant scalar)', { op: 'Where', inputs: [{ dims: [2, 3], dtype: 'bool', data: [1, 0, 1, 1, 0, 0], constant: true }, { dims: [2, 3] }, { dims: [], data: [0], constant: true }] }, F64],
  ['Neg', { op: 'Neg', inputs: [{ dims: [2, 3] }] }, F64],
  ['Split (two outputs)', { op: 'Split', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 4] }, i64([2], [1, 3])], outputs: 2 }, F64],
  // Sums and products.
  ['Add', { op: 'Add', inputs: [{ dims: [2, 3] }, { dims: [3] }] }, F64],
  ['Add (bias only: broadcast)', { op: 'Add', inputs: [{ dims: [2, 3], noTangent: true }, { dims: [3] }] }, F64],
  ['Sub (subtrahend only)', { op: 'Sub', inputs: [{ dims: [2, 3], noTangent: true }, { dims: [1, 3] }] }, F64],
  ['Sum', { op: 'Sum', inputs: [{ dims: [2, 3] }, { dims: [3] }, { dims: [2, 3], noTangent: true }] }, F64],
  ['Mul (broadcast)', { op: 'Mul', inputs: [{ dims: [2, 3] }, { dims: [3] }] }, F64],
  ['Div', { op: 'Div', inputs: [{ dims: [2, 3] }, { dims: [2, 3], positive: true }] }, F64],
  ['Div (denominator only)', { op: 'Div', inputs: [{ dims: [2, 3], noTangent: true }, { dims: [3], positive: true }] }, F64],
  ['MatMul (batched × matrix)', { op: 'MatMul', inputs: [{ dims: [2, 3, 4] }, { dims: [4, 5] }] }, F64],
  ['Gemm transA transB alpha beta, C', { op: 'Gemm', attrs: { transA: attr.int(1), transB: attr.int(1), alpha: attr.float(0.7), beta: attr.float(1.3) }, inputs: [{ dims: [4, 3] }, { dims: [5, 4] }, { dims: [5] }] }, F64],
  ['Gemm (C only)', { op: 'Gemm', attrs: { beta: attr.float(0.5) }, inputs: [{ dims: [3, 4], noTangent: true }, { dims: [4, 5], noTangent: true }, { dims: [5] }] }, F64],
  ['Gemm (A only, with C)', { op: 'Gemm', attrs: { transB: attr.int(1) }, inputs: [{ dims: [3, 4] }, { dims: [5, 4], noTangent: true }, { dims: [5], noTangent: true }] }, F64],
  ['Conv (stride, pads, group, bias)', { op: 'Conv', attrs: { strides: attr.ints([2, 1]), pads: attr.ints([1, 0, 1, 1]), group: attr.int(2) }, inputs: [{ dims: [2, 4, 5, 5] }, { dims: [6, 2, 3, 2] }, { dims: [6] }], dtype: 'float32' }, F32_LINEAR],
  ['Conv (bias only)', { op: 'Conv', attrs: { kernel_shape: attr.ints([3, 3]) }, inputs: [{ dims: [2, 2, 4, 4], noTangent: true }, { dims: [3, 2, 3, 3], noTangent: true }, { dims: [3] }], dtype: 'float32' }, F32_LINEAR],
  ['ConvTranspose (stride, output_padding)', { op: 'ConvTranspose', attrs: { strides: attr.ints([2, 2]), output_padding: attr.ints([1, 1]) }, inputs: [{ dims: [2, 3, 3, 3] }, { dims: [3, 2, 2, 2] }, { dims: [2] }], dtype: 'float32' }, F32_LINEAR],
  // Nonlinear elementwise.
  ['Relu', { op: 'Relu', inputs: [{ dims: [3, 4], awayFromZero: 0.1 }] }, F64],
  ['LeakyRelu', { op: 'LeakyRelu', attrs: { alpha: attr.float(0.2) }, inputs: [{ dims: [3, 4], awayFromZero: 0.1 }], dtype: 'float32' }, F32_LINEAR],
  ['Abs', { op: 'Abs', inputs: [{ dims: [3, 4], awayFromZero: 0.1 }] }, F64],
  ['Exp', { op: 'Exp', inputs: [{ dims: [3, 4] }] }, F64],
  ['Log', { op: 'Log', inputs: [{ dims: [3, 4], positive: true }] }, F64],
  ['Sqrt', { op: 'Sqrt', inputs: [{ dims: [3, 4], positive: true }] }, F64],
  ['Reciprocal', { op: 'Reciprocal', inputs: [{ dims: [3, 4], positive: true }] }, F64],
  ['Tanh', { op: 'Tanh', inputs: [{ dims: [3, 4] }] }, F64],
  ['Sigmoid', { op: 'Sigmoid', inputs: [{ dims: [3, 4] }] }, F64],
  ['Softplus', { op: 'Softplus', inputs: [{ dims: [3, 4] }], dtype: 'float32' }, F32_SMOOTH],
  ['Erf', { op: 'Erf', inputs: [{ dims: [3, 4] }], dtype: 'float32' }, F32_SMOOTH],
  ['Pow (constant exponent)', { op: 'Pow', inputs: [{ dims: [3, 4], positive: true }, { dims: [], data: [2.5], constant: true }] }, F64],
  ['Pow (negative base, constant integer exponent 3)', { op: 'Pow', inputs: [{ dims: [3, 4], awayFromZero: 0.1 }, { dims: [], data: [3], constant: true }] }, F64],
  ['Pow (base and exponent with tangents, broadcast exponent)', { op: 'Pow', inputs: [{ dims: [3, 4], positive: true }, { dims: [4] }] }, F64],
  ['Pow (exponent only: constant base 2^p)', { op: 'Pow', inputs: [{ dims: [], data: [2], constant: true }, { dims: [3, 4] }] }, F64],
  // Zeros in the base: 0^p = 0 for p > 0 whatever p, so the exponent's term is 0 there (not 0·ln 0 = NaN).
  ['Pow (exponent only, base with zeros)', { op: 'Pow', inputs: [{ dims: [2, 3], data: [0, 0.5, 2, 0, 1.5, 0], constant: true }, { dims: [2, 3], positive: true }] }, F64],
  // Selections.
  ['Cast float32 → float64', { op: 'Cast', attrs: { to: attr.int(11) }, inputs: [{ dims: [3, 4] }], dtype: 'float32' }, F32_LINEAR],
  ['MaxPool (no Indices output)', { op: 'MaxPool', attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) }, inputs: [distinct([2, 3, 4, 4])], dtype: 'float32' }, F32_LINEAR],
  ['MaxPool (Indices output, overlapping windows, pads)', { op: 'MaxPool', attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([1, 2]), pads: attr.ints([1, 1, 1, 1]) }, inputs: [distinct([2, 2, 5, 5])], outputs: 2, dtype: 'float32' }, F32_LINEAR],
  ['ReduceMax (keepdims)', { op: 'ReduceMax', attrs: { axes: attr.ints([1]), keepdims: attr.int(1) }, inputs: [distinct([3, 5])] }, F64],
  ['ReduceMax (all axes, no keepdims)', { op: 'ReduceMax', attrs: { keepdims: attr.int(0) }, inputs: [distinct([3, 5])] }, F64],
  // Other activations and selections of the engine's forward ops.
  ['Elu', { op: 'Elu', attrs: { alpha: attr.float(0.7) }, inputs: [{ dims: [3, 4], awayFromZero: 0.1 }], dtype: 'float32' }, F32_SMOOTH],
  ['Selu', { op: 'Selu', inputs: [{ dims: [3, 4], awayFromZero: 0.1 }], dtype: 'float32' }, F32_SMOOTH],
  ['Softsign', { op: 'Softsign', inputs: [{ dims: [3, 4] }], dtype: 'float32' }, F32_SMOOTH],
  ['ThresholdedRelu', { op: 'ThresholdedRelu', attrs: { alpha: attr.float(0.5) }, inputs: [{ dims: [2, 4], data: [-1, 0.2, 0.7, 1.5, -0.3, 2, 0.9, -2] }], dtype: 'float32' }, F32_LINEAR],
  ['HardSigmoid', { op: 'HardSigmoid', inputs: [{ dims: [2, 4], data: [-4, -1, 0.3, 1.2, 3.9, -2.2, 0.1, 5] }], dtype: 'float32' }, F32_LINEAR],
  ['HardSwish', { op: 'HardSwish', inputs: [{ dims: [2, 4], data: [-4, -1, 0.3, 1.2, 3.9, -2.2, 0.1, 5] }], dtype: 'float32', opset: 17 }, F32_SMOOTH],
  ['Gelu (opset 20, exact form)', { op: 'Gelu', inputs: [{ dims: [3, 4] }], dtype: 'float32', opset: 20 }, F32_SMOOTH],
  ['Gelu (opset 20, tanh form)', { op: 'Gelu', attrs: { approximate: attr.string('tanh') }, inputs: [{ dims: [3, 4] }], dtype: 'float32', opset: 20 }, F32_SMOOTH],
  ['PRelu (slope with a tangent)', { op: 'PRelu', inputs: [{ dims: [2, 3, 2], awayFromZero: 0.1 }, { dims: [3, 1] }], dtype: 'float32' }, F32_LINEAR],
  ['Clip (both bounds)', { op: 'Clip', inputs: [{ dims: [2, 4], data: [-2, -0.3, 0.2, 0.9, 1.7, -1.2, 0.5, 3] }, { dims: [], data: [-1], constant: true }, { dims: [], data: [1], constant: true }] }, F64],
  ['Clip (bounds with tangents, active for some elements)', { op: 'Clip', inputs: [{ dims: [2, 4], data: [-2, -0.3, 0.2, 0.9, 1.7, -1.2, 0.5, 3] }, { dims: [], data: [-1] }, { dims: [], data: [1] }] }, F64],
  ['Clip (min only, with a tangent; x without)', { op: 'Clip', inputs: [{ dims: [2, 4], data: [-2, -0.3, 0.2, 0.9, 1.7, -1.2, 0.5, 3], noTangent: true }, { dims: [], data: [0.1] }] }, F64],
  ['Clip (max only with a tangent, min constant)', { op: 'Clip', inputs: [{ dims: [2, 4], data: [-2, -0.3, 0.2, 0.9, 1.7, -1.2, 0.5, 3] }, { dims: [], data: [-1], constant: true }, { dims: [], data: [0.7] }] }, F64],
  ['Max (broadcast)', { op: 'Max', inputs: [distinct([2, 3]), { dims: [3], data: [0.05, -0.25, 0.15] }] }, F64],
  ['Min', { op: 'Min', inputs: [distinct([2, 3]), { dims: [2, 3], data: [0.05, -0.25, 0.15, 0.35, -0.05, 0.45] }] }, F64],
  ['Max (three operands, broadcast)', { op: 'Max', inputs: [distinct([2, 3]), { dims: [3], data: [0.05, -0.25, 0.15] }, { dims: [2, 1], data: [-0.12, 0.08] }] }, F64],
  ['Min (four operands, one without tangent)', { op: 'Min', inputs: [distinct([2, 3]), { dims: [2, 3], data: [0.05, -0.25, 0.15, 0.35, -0.05, 0.45] }, { dims: [3], data: [-0.02, 0.22, -0.32], noTangent: true }, { dims: [1], data: [0.01] }] }, F64],
  // Two operands tied: central differences give (max(da, db) + min(da, db))/2 = (da + db)/2, the mean the
  // VJP's even split transposes to (jvp-transpose.test.ts checks three-way ties against the VJP itself).
  ['Max (two operands, ties at half the elements)', { op: 'Max', inputs: [{ dims: [2, 3], data: [0.3, -0.2, 0.5, 1, -1, 0] }, { dims: [2, 3], data: [0.3, 0.4, 0.5, -2, -1, 0.7] }] }, F64],
  ['Min (three operands, two-way ties)', { op: 'Min', inputs: [{ dims: [5], data: [0.3, -0.2, 0.5, 1, -1] }, { dims: [5], data: [0.3, 0.4, -0.5, 1, 0.1] }, { dims: [5], data: [2, -0.2, -0.5, 1.5, 0.2] }] }, F64],
  ['ReduceMin', { op: 'ReduceMin', attrs: { axes: attr.ints([0]), keepdims: attr.int(0) }, inputs: [distinct([3, 5])] }, F64],
  ['GlobalMaxPool', { op: 'GlobalMaxPool', inputs: [distinct([2, 3, 3, 3])], dtype: 'float32' }, F32_LINEAR],
  ['ReduceSumSquare', { op: 'ReduceSumSquare', attrs: { axes: attr.ints([1]), keepdims: attr.int(0) }, inputs: [{ dims: [3, 4] }] }, F64],
  ['ReduceL2', { op: 'ReduceL2', attrs: { axes: attr.ints([1]), keepdims: attr.int(1) }, inputs: [{ dims: [3, 4] }] }, F64],
  ['Dropout (inference)', { op: 'Dropout', inputs: [{ dims: [3, 4] }] }, F64],
  ['Resize (nearest, scales)', { op: 'Resize', attrs: { mode: attr.string('nearest') }, inputs: [{ dims: [1, 2, 2, 3] }, { dims: [0], data: [], constant: true }, { dims: [4], data: [1, 1, 2, 2], constant: true }], dtype: 'float32' }, F32_LINEAR],
  // Closed forms.
  ['Softmax', { op: 'Softmax', attrs: { axis: attr.int(1) }, inputs: [{ dims: [3, 4, 2] }] }, F64],
  ['LogSoftmax', { op: 'LogSoftmax', inputs: [{ dims: [3, 5] }] }, F64],
  ['BatchNormalization (statistics with tangents: computed from parameters)', { op: 'BatchNormalization', attrs: { epsilon: attr.float(1e-3) }, inputs: [{ dims: [2, 3, 2, 2] }, { dims: [3] }, { dims: [3] }, { dims: [3] }, { dims: [3], positive: true }] }, F64],
  ['BatchNormalization (variance only with a tangent)', { op: 'BatchNormalization', inputs: [{ dims: [2, 3, 2], noTangent: true }, { dims: [3], noTangent: true }, { dims: [3], noTangent: true }, { dims: [3], constant: true }, { dims: [3], positive: true }] }, F64],
  ['BatchNormalization (inference statistics)', { op: 'BatchNormalization', attrs: { epsilon: attr.float(1e-3) }, inputs: [{ dims: [2, 3, 2, 2] }, { dims: [3] }, { dims: [3] }, { dims: [3], constant: true }, { dims: [3], constant: true, positive: true }] }, F64],
  ['LayerNormalization (Y, Mean, InvStdDev)', { op: 'LayerNormalization', attrs: { axis: attr.int(-1), epsilon: attr.float(1e-3) }, inputs: [{ dims: [2, 3, 5] }, { dims: [5] }, { dims: [5] }], outputs: 3, dtype: 'float32' }, F32_SMOOTH],
  // Mean/InvStdDev come in float32 (ORT has no stash_type double): Y alone in float64.
  ['LayerNormalization (Y, float64)', { op: 'LayerNormalization', inputs: [{ dims: [2, 3, 5] }, { dims: [5] }, { dims: [5] }] }, F64],
  ['LayerNormalization (axis 1, no bias)', { op: 'LayerNormalization', attrs: { axis: attr.int(1) }, inputs: [{ dims: [2, 3, 2] }, { dims: [3, 2] }] }, F64],
];

describe('curvature jvp: tangent rules vs central differences of the op in ORT', function () {
  this.timeout(60000);
  for (const [name, spec, tol] of cases) {
    it(`${name} (${spec.dtype ?? 'float64'}, tol ${tol})`, async () => {
      const errs = await checkTangent(spec);
      assert.ok(errs.length > 0 && errs.every((e) => e <= tol), `${name}: ${errs.map((e) => e.toExponential(2)).join(', ')}`);
    });
  }

  it('covers every op type of the engine fixtures’ HVP programs (collected from MLP, CNN+BN, resnet_tiny, transformer_tiny op13/op17, digits model.json)', () => {
    // Op types of the curvature gradient programs of those models (forward, loss head, backward).
    const seen = 'Add ArgMax AveragePool BatchNormalization Cast Concat ConstantOfShape Conv ConvTranspose Div Erf Exp Expand Flatten Gather Gemm GlobalAveragePool Greater Identity LayerNormalization Log MatMul MaxPool MaxUnpool Mod Mul Neg Pow Reciprocal ReduceMax ReduceMean ReduceSum Relu Reshape ScatterElements Shape Slice Softmax Sqrt Sub Sum Tanh Transpose Unsqueeze Where'.split(' ');
    const missing = seen.filter((op) => !RULES[op] && !NO_TANGENT.has(op));
    assert.deepEqual(missing, []);
  });

  it('every forward op the engine differentiates (engine/ops OP_RULES) has a tangent rule or carries none', () => {
    assert.deepEqual(Object.keys(OP_RULES).filter((op) => !RULES[op] && !NO_TANGENT.has(op)), []);
  });

  it('an op without a rule on a tangent path throws NoTangentRule naming it; one off the path is ignored', () => {
    const em = new Emitter(17, 'jvp');
    const nodes: GraphNode[] = [
      { op: 'Celu', name: 'off_path', inputs: ['c'], outputs: ['d'], attrs: {} },
      { op: 'Relu', name: 'r', inputs: ['x'], outputs: ['y'], attrs: {} },
      { op: 'Celu', name: 'my_celu', inputs: ['y'], outputs: ['z'], attrs: {} },
    ];
    const info = { dtype: () => 'float32' as const, shape: () => [2], constant: () => undefined };
    assert.throws(
      () => emitTangents(nodes, new Map([['x', 'tx']]), info, em),
      (e: unknown) => e instanceof NoTangentRule && e.op === 'Celu' && /op Celu \(node 'my_celu'\) has no tangent \(forward-mode\) rule/.test(e.message),
    );
    assert.doesNotThrow(() => emitTangents(nodes.slice(0, 2), new Map([['x', 'tx']]), info, new Emitter(17, 'jvp')));
  });
});
