/**
 * An onnxruntime-node runner for lowered graphs (encoded by the engine's own src/core/engine/onnx-encode.ts),
 * so a lowered graph's forward pass can be compared with model.predict().
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { forwardModel } from '../../../../src/core/engine/onnx-encode';
import type { EngineGraph } from '../../../../src/core/graph/types';
import { encodeModel, type OnnxModel } from '../../../../src/core/onnx/proto';
import { lowerLayersModel } from '../../../../src/core/model/layers';

/** The graph's forward pass as an ONNX model (the engine's own encoder). */
export function toOnnxModel(g: EngineGraph): OnnxModel {
  return forwardModel(g);
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
