import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Zero-copy access to float32 tensor data for the JS parts of the engine. On wasm, `dataSync()` copies
 * into a freshly allocated array every time, and first touches of fresh memory are slow here (0.2–0.65
 * GB/s, PERFORMANCE-NOTES.md): for an 11 MB activation that costs more than the JS loop that reads it.
 * A view onto the wasm heap costs nothing.
 *
 * Contract: a view is valid only until the next tfjs operation (an op may grow the wasm memory, which
 * detaches every view). Take views after creating every tensor you need, use them, then drop them.
 */
function wasm(): BackendWasm | undefined {
  return tf.getBackend() === 'wasm' ? (tf.backend() as unknown as BackendWasm) : undefined;
}

/** The tensor's float32 values, without copying where the backend allows. Read only. */
export function readView(t: tf.Tensor): Float32Array {
  const w = wasm();
  if (w && t.dtype === 'float32') return w.typedArrayFromHeap({ shape: t.shape, dtype: t.dtype, dataId: t.dataId }) as Float32Array;
  return t.dataSync() as Float32Array;
}

/**
 * A zero-filled float32 tensor and a writable view of its data. On wasm the view is the heap itself; on
 * other backends the values are written into a JS array first and the tensor made from it by `finish`.
 */
export function writableZeros(shape: number[]): { view: Float32Array; finish: () => tf.Tensor } {
  const w = wasm();
  if (w) {
    // tf.fill runs wasm's Fill (a fill of the heap); tf.zeros would build a fresh JS array and upload it.
    const t = tf.fill(shape, 0, 'float32');
    const view = w.typedArrayFromHeap({ shape: t.shape, dtype: 'float32', dataId: t.dataId }) as Float32Array;
    return { view, finish: () => t };
  }
  const view = new Float32Array(shape.reduce((a, b) => a * b, 1));
  return { view, finish: () => tf.tensor(view, shape) };
}
