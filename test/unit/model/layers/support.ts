/**
 * Test-only EngineGraph → ONNX ModelProto converter (the program builder owns the real encoder) and an
 * onnxruntime-node runner, so a lowered graph's forward pass can be compared with model.predict().
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import type { Attr, ConstTensor, ElemType, EngineGraph, GraphValue } from '../../../../src/core/graph/types';
import { AttributeType, DataType, encodeModel, type OnnxAttribute, type OnnxModel, type OnnxTensor, type OnnxValueInfo } from '../../../../src/core/onnx/proto';
import { lowerLayersModel } from '../../../../src/core/model/layers';

const ELEM: Record<ElemType, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
};

function tensorProto(name: string, t: ConstTensor): OnnxTensor {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.dims, data_type: ELEM[t.dtype], raw_data: Uint8Array.from(bytes) };
}

function attrProto(name: string, a: Attr): OnnxAttribute {
  switch (a.type) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.v };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.v };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.v };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: a.v };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.v) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: tensorProto('', a.v) };
  }
}

function valueInfo(v: GraphValue): OnnxValueInfo {
  return {
    name: v.name,
    type: { tensor_type: { elem_type: ELEM[v.dtype], shape: { dim: v.shape.map((d, i) => (d === null ? { dim_param: `d${i}` } : { dim_value: d })) } } },
  };
}

export function toOnnxModel(g: EngineGraph): OnnxModel {
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: g.opset }],
    producer_name: 'heatcap-test',
    graph: {
      name: 'lowered',
      node: g.nodes.map((n) => ({ name: n.name, op_type: n.op, domain: '', input: n.inputs, output: n.outputs, attribute: Object.entries(n.attrs).map(([k, a]) => attrProto(k, a)) })),
      initializer: [...g.params.map((p) => tensorProto(p.name, p.tensor)), ...g.constants.map((c) => tensorProto(c.name, c.tensor))],
      input: [valueInfo(g.input)],
      output: [valueInfo({ ...g.output, shape: g.output.shape.map(() => null) })],
    },
  };
}

/** Runs the graph on `x` (float32, `dims`) with onnxruntime-node; returns the output values. */
export async function runGraph(g: EngineGraph, x: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(encodeModel(toOnnxModel(g)));
  try {
    const res = await session.run({ [g.input.name]: new ort.Tensor('float32', x, dims) });
    const out = res[g.output.name];
    return { data: out.data as Float32Array, dims: out.dims };
  } finally {
    await session.release();
  }
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-6, what = ''): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - rtol * Math.abs(expected[i]) - atol;
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  assert.ok(at < 0, `${what} element ${at}: got ${actual[at]}, expected ${expected[at]}`);
}

/** Deterministic inputs in [-2, 2) (or integer ids in [0, ids) when `ids` is given). */
export function inputs(n: number, seed: number, ids?: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    return ids ? Math.floor(u * ids) : 4 * u - 2;
  });
}

/**
 * Lowers `model`, runs the graph with ORT on a batch of `batch` examples and compares with
 * model.predict() (1e-5 relative). Returns the graph for further checks.
 */
export async function checkForward(model: tf.LayersModel, opts: { batch?: number; seed?: number; ids?: number; rtol?: number; atol?: number } = {}): Promise<EngineGraph> {
  const g = lowerLayersModel(model, { file: 'model.json (test)' });
  const batch = opts.batch ?? 3;
  const rowShape = model.inputs[0].shape.slice(1).map((d) => {
    assert.ok(d !== null, 'test models need fixed input shapes');
    return d as number;
  });
  const dims = [batch, ...rowShape];
  const x = inputs(dims.reduce((a, b) => a * b, 1), opts.seed ?? 7, opts.ids);
  const expected = tf.tidy(() => (model.predict(tf.tensor(x, dims)) as tf.Tensor).dataSync() as Float32Array);
  const expectedShape = (model.outputs[0].shape as (number | null)[]).map((d, i) => (i === 0 ? batch : d));
  const got = await runGraph(g, x, dims);
  assert.deepEqual(
    [...got.dims].map((d, i) => (expectedShape[i] === null ? null : d)),
    expectedShape,
    'output shape',
  );
  assertClose(got.data, expected, opts.rtol ?? 1e-5, opts.atol ?? 1e-6, 'forward');
  return g;
}

/** Gives every weight of `model` deterministic non-trivial values (variances positive), so biases and BN statistics matter. */
export function randomize(model: tf.LayersModel, seed = 1): tf.LayersModel {
  model.weights.forEach((w, i) => {
    const size = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const u = inputs(size, seed * 1000 + i);
    const positive = /variance/i.test(w.originalName ?? w.name);
    const values = Float32Array.from(u, (v) => (positive ? 0.5 + (v + 2) / 4 : 0.4 * v));
    w.write(tf.tensor(values, w.shape as number[]));
  });
  return model;
}
