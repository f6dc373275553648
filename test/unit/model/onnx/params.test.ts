import { strict as assert } from 'node:assert';
import { loadOnnxGraph } from '../../../../src/core/model/onnx/load';
import { DataType, type OnnxTensor } from '../../../../src/core/onnx/proto';
import { isError } from './support';
import { floats, gemmSpec, ints, node, tmp, value, write, type Spec } from './synth';

// Which initializers are parameters (issue 14 item 4) on hand-built graphs, and how tensors decode.
const dir = tmp('onnx-params-');
let n = 0;
const load = (s: Spec) => loadOnnxGraph(write(dir, `m${n++}.onnx`, s));
const names = (s: Spec) => load(s).params.map((p) => p.name);

/** x [batch, 4] → Gemm → h [batch, 3] → `rest` → y. */
function afterGemm(rest: Spec['nodes'], inits: OnnxTensor[] = []): Spec {
  const s = gemmSpec();
  s.nodes = [node('Gemm', ['x', 'W', 'b'], ['h'], 'fc', [{ name: 'transB', type: 2, i: 1 }]), ...rest];
  s.inits = [...(s.inits ?? []), ...inits];
  return s;
}

describe('ONNX front-end: parameters and constants', () => {
  it('a learned scale and shift (Mul/Add with an activation) are parameters; scalars like 0.5 and ε are constants', () => {
    const s = afterGemm(
      [node('Mul', ['h', 'scale'], ['m']), node('Add', ['m', 'shift'], ['a']), node('Mul', ['a', 'half'], ['p']), node('Add', ['p', 'eps'], ['y'])],
      [floats('scale', [3], [1, 2, 3]), floats('shift', [3], [0, 0, 1]), floats('half', [], [0.5]), floats('eps', [1], [1e-5])],
    );
    const g = load(s);
    assert.deepEqual(
      g.params.map((p) => p.name),
      ['W', 'b', 'scale', 'shift'],
    );
    assert.deepEqual(
      g.constants.map((c) => c.name),
      ['half', 'eps'],
    );
  });

  it('a one-element torch parameter (`….bias`) added to an activation stays a parameter', () => {
    assert.deepEqual(names(afterGemm([node('Add', ['h', 'head.bias'], ['y'])], [floats('head.bias', [1], [0.1])])), ['W', 'b', 'head.bias']);
  });

  it('in a torch export a one-element initializer with a state_dict name is a learned scalar; onnx:: scalars stay constants', () => {
    const s = afterGemm(
      [node('Mul', ['h', 'logit_scale'], ['m']), node('Mul', ['m', 'onnx::Mul_9'], ['y'])],
      [floats('logit_scale', [], [2.5]), floats('onnx::Mul_9', [], [0.5])],
    );
    assert.deepEqual(names(s), ['W', 'b']);
    assert.deepEqual(names({ ...s, producer: 'pytorch' }), ['W', 'b', 'logit_scale']);
  });

  it('Pow exponents, Reshape shapes, float tensors used only in shape arithmetic are constants', () => {
    const s = afterGemm(
      [
        node('Pow', ['h', 'two'], ['sq']),
        node('Shape', ['sq'], ['shp']),
        node('Cast', ['shp'], ['shpf'], 'cast', [{ name: 'to', type: 2, i: DataType.FLOAT }]),
        node('Mul', ['shpf', 'factor'], ['shp2f']),
        node('Cast', ['shp2f'], ['shp2'], 'cast2', [{ name: 'to', type: 2, i: DataType.INT64 }]),
        node('Reshape', ['sq', 'newshape'], ['r']),
        node('Expand', ['r', 'shp2'], ['y']),
      ],
      [floats('two', [2], [2, 2]), floats('factor', [2], [1, 1]), ints('newshape', [2], [-1, 3])],
    );
    const g = load(s);
    assert.deepEqual(
      g.params.map((p) => p.name),
      ['W', 'b'],
    );
    assert.deepEqual(
      g.constants.map((c) => c.name),
      ['two', 'factor', 'newshape'],
    );
  });

  it('weights reached through view ops (Transpose before MatMul, Slice of a positional table) are parameters', () => {
    const s: Spec = {
      nodes: [
        node('Transpose', ['Wq'], ['WqT'], 'tq', [{ name: 'perm', type: 7, ints: [1, 0] }]),
        node('MatMul', ['x', 'WqT'], ['q']),
        node('Slice', ['table', 'st', 'en'], ['pos']),
        node('Add', ['q', 'pos'], ['y']),
      ],
      inits: [floats('table', [5, 3], new Array(15).fill(0.1)), floats('Wq', [3, 4], new Array(12).fill(0.2)), ints('st', [1], [0]), ints('en', [1], [2])],
    };
    assert.deepEqual(names(s), ['table', 'Wq']);
  });

  it('a learned class token concatenated with the activations (Expand to the batch, then Concat) is a parameter', () => {
    const s: Spec = {
      nodes: [
        node('Shape', ['x'], ['shp']),
        node('Gather', ['shp', 'zero'], ['nb'], 'g', [{ name: 'axis', type: 2, i: 0 }]),
        node('Unsqueeze', ['nb', 'zero1'], ['nb1']),
        node('Concat', ['nb1', 'one_four'], ['eshape'], 'cs', [{ name: 'axis', type: 2, i: 0 }]),
        node('Expand', ['cls', 'eshape'], ['clsb']),
        node('Concat', ['clsb', 'x'], ['y'], 'cat', [{ name: 'axis', type: 2, i: 0 }]),
      ],
      inits: [floats('cls', [1, 4], [0.1, 0.2, 0.3, 0.4]), ints('zero', [], [0]), ints('zero1', [1], [0]), ints('one_four', [1], [4])],
      outputs: [value('y', ['batch', 4])],
    };
    assert.deepEqual(names(s), ['cls']);
  });

  it('BatchNormalization: scale and bias are parameters, running mean and variance constants; hasBatchNorm', () => {
    const c = (name: string, v: number) => floats(name, [3], [v, v, v]);
    const s = afterGemm([node('BatchNormalization', ['h', 'g', 'beta', 'mu', 'var'], ['y'], 'bn', [{ name: 'epsilon', type: 1, f: 1e-5 }])], [c('g', 1), c('beta', 0), c('mu', 0.3), c('var', 2)]);
    const g = load(s);
    assert.deepEqual(
      g.params.map((p) => p.name),
      ['W', 'b', 'g', 'beta'],
    );
    assert.deepEqual(
      g.constants.map((k) => k.name),
      ['mu', 'var'],
    );
    assert.equal(g.facts.hasBatchNorm, true);
  });

  it('an Identity copy of a parameter (torch deduplication) becomes a parameter after the one used just before it', () => {
    const s = afterGemm(
      [
        node('LayerNormalization', ['h', 'ln1.weight', 'ln1.bias'], ['n1'], 'ln1'),
        node('Gemm', ['n1', 'W2', 'b2'], ['h2']),
        node('LayerNormalization', ['h2', 'ln2.weight', 'ln2.bias'], ['y'], 'ln2'),
      ],
      [floats('ln1.weight', [3], [1, 1, 1]), floats('ln1.bias', [3], [0, 0, 0]), floats('W2', [3, 3], new Array(9).fill(0.3)), floats('b2', [3], [0, 0, 0])],
    );
    s.nodes.unshift(node('Identity', ['ln1.bias'], ['ln2.bias']), node('Identity', ['ln1.weight'], ['ln2.weight']));
    s.opset = 17;
    const g = load(s);
    assert.deepEqual(
      g.params.map((p) => p.name),
      ['W', 'b', 'ln1.weight', 'ln1.bias', 'W2', 'b2', 'ln2.weight', 'ln2.bias'],
    );
    assert.deepEqual(
      g.nodes.map((x) => x.op),
      ['Gemm', 'LayerNormalization', 'Gemm', 'LayerNormalization'],
    );
    assert.ok(g.notes.some((x) => /'ln2.weight', 'ln2.bias': written as copies/.test(x)));
    // Equal values, distinct storage: the copies are parameters of their own.
    const p = Object.fromEntries(g.params.map((q) => [q.name, q.tensor.data]));
    assert.deepEqual(p['ln2.weight'], p['ln1.weight']);
    assert.notEqual(p['ln2.weight'], p['ln1.weight']);
  });

  it('an exporter-named MatMul weight (a folded transpose) gets a note with the export recipe', () => {
    const s: Spec = { nodes: [node('MatMul', ['x', 'onnx::MatMul_7'], ['y'])], inits: [floats('onnx::MatMul_7', [4, 3], new Array(12).fill(1))] };
    const g = load(s);
    assert.deepEqual(
      g.params.map((p) => p.name),
      ['onnx::MatMul_7'],
    );
    assert.ok(g.notes.some((x) => /exporter-made names.*do_constant_folding=False/.test(x)));
  });

  it('tensors decode from typed fields and raw bytes: DOUBLE, INT32, BOOL, UINT8; float64 parameters become float32 with a note', () => {
    const raw = (name: string, dataType: number, bytes: number[], dims: number[]): OnnxTensor => ({ name, data_type: dataType, dims, raw_data: Uint8Array.from(bytes) });
    const s = afterGemm(
      [node('Mul', ['h', 'dscale'], ['m']), node('Add', ['m', 'k32'], ['y'])],
      [
        { name: 'dscale', dims: [3], data_type: DataType.DOUBLE, double_data: [0.5, 1.5, 2.5] },
        { name: 'k32', dims: [2], data_type: DataType.INT32, int32_data: [7, -8] },
        raw('flag', DataType.BOOL, [1, 0], [2]),
        raw('u8', DataType.UINT8, [200], [1]),
        { name: 'i8', dims: [2], data_type: DataType.UINT8, int32_data: [3, 4] },
        raw('d', DataType.DOUBLE, Array.from(new Uint8Array(Float64Array.of(-2.25).buffer)), []),
        raw('l', DataType.INT64, Array.from(new Uint8Array(BigInt64Array.of(-3n).buffer)), [1]),
      ],
    );
    const g = load(s);
    const dscale = g.params.find((p) => p.name === 'dscale');
    assert.deepEqual(dscale?.tensor, { dims: [3], dtype: 'float32', data: Float32Array.of(0.5, 1.5, 2.5) });
    assert.ok(g.notes.some((x) => /float64 parameters converted to float32: 'dscale'/.test(x)));
    const c = Object.fromEntries(g.constants.map((k) => [k.name, k.tensor]));
    assert.deepEqual(c.k32, { dims: [2], dtype: 'int32', data: Int32Array.of(7, -8) });
    assert.deepEqual(c.flag, { dims: [2], dtype: 'bool', data: Uint8Array.of(1, 0) });
    assert.deepEqual(c.u8, { dims: [1], dtype: 'uint8', data: Uint8Array.of(200) });
    assert.deepEqual(c.i8, { dims: [2], dtype: 'uint8', data: Uint8Array.of(3, 4) });
    assert.deepEqual(c.d, { dims: [], dtype: 'float64', data: Float64Array.of(-2.25) });
    assert.deepEqual(c.l, { dims: [1], dtype: 'int64', data: BigInt64Array.of(-3n) });
  });

  it('FLOAT16 and other element types are refused, naming the tensor', () => {
    const half = afterGemm([node('Relu', ['h'], ['y'])], [{ name: 'h16', dims: [1], data_type: DataType.FLOAT16, int32_data: [15360] }]);
    assert.throws(() => load(half), isError(undefined, /tensor 'h16': element type FLOAT16 is not supported \(export the model in float32: model.float\(\)\)/));
    const str = afterGemm([node('Relu', ['h'], ['y'])], [{ name: 's', dims: [1], data_type: DataType.STRING }]);
    assert.throws(() => load(str), isError(undefined, /tensor 's': element type STRING is not supported/));
  });

  it('claimed sizes are checked against the data before allocation (raw, typed, huge shapes)', () => {
    const bad = (t: OnnxTensor) => afterGemm([node('Relu', ['h'], ['y'])], [t]);
    assert.throws(
      () => load(bad({ name: 'r', dims: [100000, 1000], data_type: DataType.FLOAT, raw_data: new Uint8Array(4) })),
      isError(undefined, /tensor 'r': raw data is 4 bytes, shape \[100000, 1000\] of FLOAT needs 400000000/),
    );
    assert.throws(() => load(bad({ name: 'h', dims: [1e6, 1e6, 1e6], data_type: DataType.FLOAT, raw_data: new Uint8Array(4) })), isError(undefined, /tensor 'h': shape \[1000000, 1000000, 1000000\] is too large/));
    assert.throws(() => load(bad({ name: 't', dims: [3], data_type: DataType.FLOAT, float_data: [1, 2] })), isError(undefined, /tensor 't': holds 2 values, its shape needs 3/));
    assert.throws(() => load(bad({ name: 'neg', dims: [-1], data_type: DataType.FLOAT })), isError(undefined, /tensor 'neg': dimension -1 in \[-1\] is not a non-negative integer/));
    assert.throws(() => load(bad({ name: 'W', dims: [1], data_type: DataType.FLOAT, float_data: [1] })), isError(undefined, /tensor 'W' is defined twice/));
  });

  it('a graph input shape: dim_param and missing dims are free (null), dim_value is kept', () => {
    const s = gemmSpec();
    s.inputs = [{ name: 'x', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_param: 'N' }, {}, { dim_value: 4 }] } } } }];
    s.outputs = [value('y', [2, 3])];
    const g = load(s);
    assert.deepEqual(g.input.shape, [null, null, 4]);
    assert.deepEqual(g.output.shape, [2, 3]);
  });
});
