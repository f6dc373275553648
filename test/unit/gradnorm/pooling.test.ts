import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { fastMaxPool } from '../../../src/core/gradnorm/rules/pooling';
import { initBackend } from '../../../src/core/tf/backend';
import { randomArray, rng } from '../../support/models/random';

// Oracle: tf.grad of tf.maxPool on the cpu backend (tfjs' MaxPoolGrad: the first strictly greater
// value in row-major window order wins). The JS backward routes the same values to the same
// positions, so the comparison is exact, ties included.

interface PoolCase {
  name: string;
  shape: [number, number, number, number];
  config: Record<string, unknown>;
  /** Turns random normals into the input (relu zeros, coarse values with many exact ties, …). */
  values: (v: number, r: () => number) => number;
}

const cases: PoolCase[] = [
  { name: '2×2 stride 2, random normals', shape: [3, 6, 8, 5], config: { poolSize: 2 }, values: (v) => v },
  { name: '2×2 stride 2, relu outputs (windows of equal zeros)', shape: [2, 6, 6, 4], config: { poolSize: 2 }, values: (v) => Math.max(v, 0) },
  { name: '2×2 stride 2, values in {0, 1, 2} (ties everywhere, both orders)', shape: [2, 4, 6, 3], config: { poolSize: 2 }, values: (_v, r) => Math.floor(r() * 3) },
  { name: '2×2 stride 2, negative ties', shape: [1, 4, 4, 2], config: { poolSize: 2 }, values: (_v, r) => -1 - Math.floor(r() * 2) },
  { name: '2×2 stride 2, odd sizes (last row and column in no window)', shape: [2, 7, 5, 3], config: { poolSize: 2 }, values: (v) => v },
  { name: '2×2 stride 2, same padding on odd sizes (general loop)', shape: [2, 5, 7, 2], config: { poolSize: 2, padding: 'same' }, values: (_v, r) => Math.floor(r() * 3) },
  { name: '3×3 stride 2, overlapping windows (general loop)', shape: [2, 7, 7, 2], config: { poolSize: 3, strides: 2 }, values: (_v, r) => Math.floor(r() * 3) },
];

function inputOf(c: PoolCase): Float32Array {
  const n = c.shape.reduce((a, b) => a * b, 1);
  const r = rng(7);
  return Float32Array.from(randomArray(n, 3), (v) => c.values(v, r));
}

/** dx of Σ(pool(x)·w) for a fixed random w, by tfjs' own gradient (cpu) or by fastMaxPool. */
function gradient(c: PoolCase, x: Float32Array, fast: boolean): Float32Array {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, c.shape);
    const held: tf.Tensor[] = [];
    const pool = fast
      ? (t: tf.Tensor) => fastMaxPool(c.config)!(t, (h) => (held.push(h), h))
      : (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, c.config.poolSize as number, (c.config.strides ?? c.config.poolSize) as number, (c.config.padding ?? 'valid') as 'valid' | 'same');
    const shape = pool(xt).shape;
    const w = tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), 9), shape);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t), w)))(xt);
    const out = dx.dataSync() as Float32Array;
    tf.dispose(held);
    return Float32Array.from(out);
  });
}

describe('max-pool backward in JS = tfjs MaxPoolGrad (exact, ties included)', () => {
  after(async () => {
    await initBackend('cpu');
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const c of cases) {
      it(`${c.name} [${backend}]`, async () => {
        const x = inputOf(c);
        await initBackend('cpu');
        const want = gradient(c, x, false);
        await initBackend(backend);
        const got = gradient(c, x, true);
        assert.deepEqual(Array.from(got), Array.from(want));
      });
    }
  }
});
