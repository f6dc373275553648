import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { flipKernel, inputGradient, type ConvGeometry } from '../../../src/core/gradnorm/rules/conv-input-grad';
import { initBackend } from '../../../src/core/tf/backend';
import { randomArray } from '../../support/models/random';

// Oracle: tfjs' own gradient of tf.conv2d on the cpu backend. tfjs refuses gradients of dilated
// convolutions, so a dilated kernel is compared through its equivalent undilated kernel (zeros between
// the taps), which computes the same convolution. Both sides run in float32 with different summation
// orders: agreement to 1e-5 of the largest |∂L/∂a|.
const TOL = 1e-5;

interface ConvCase {
  name: string;
  /** Input (B, H, W, C) and kernel (kh, kw, C, O). */
  input: [number, number, number, number];
  kernel: [number, number, number, number];
  strides?: number;
  dilation?: number;
  same: boolean;
  /** δ is zero past these rows and columns, and inputGradient is told so (an unread border). */
  nonzero?: [number, number];
}

const cases: ConvCase[] = [
  { name: 'valid 3×3 on a non-square input', input: [2, 7, 9, 3], kernel: [3, 3, 3, 4], same: false },
  { name: 'same 3×3', input: [2, 6, 5, 2], kernel: [3, 3, 2, 3], same: true },
  { name: 'same 2×3 (even height: uneven padding)', input: [2, 6, 6, 2], kernel: [2, 3, 2, 2], same: true },
  { name: 'same 4×4', input: [1, 7, 6, 2], kernel: [4, 4, 2, 3], same: true },
  { name: 'valid 1×1', input: [2, 4, 5, 3], kernel: [1, 1, 3, 2], same: false },
  { name: 'valid 3×3, dilation 2', input: [2, 9, 8, 2], kernel: [3, 3, 2, 3], dilation: 2, same: false },
  { name: 'same 2×2, dilation 2', input: [2, 6, 7, 2], kernel: [2, 2, 2, 2], dilation: 2, same: true },
  { name: 'valid 3×3, δ zero past 5×4 of 7×6 (rows past the reach not computed)', input: [2, 9, 8, 2], kernel: [3, 3, 2, 3], same: false, nonzero: [5, 4] },
  { name: 'same 3×3, δ zero past 4×5 of 6×5', input: [2, 6, 5, 2], kernel: [3, 3, 2, 2], same: true, nonzero: [4, 5] },
  { name: 'same 2×2, dilation 2, δ zero past 5×3 of 6×7', input: [2, 6, 7, 2], kernel: [2, 2, 2, 2], dilation: 2, same: true, nonzero: [5, 3] },
  { name: 'valid 3×3, stride 2 (conv2dTranspose path)', input: [2, 9, 8, 2], kernel: [3, 3, 2, 3], strides: 2, same: false },
  { name: 'same 3×3, stride 2 (conv2dTranspose path)', input: [2, 7, 7, 2], kernel: [3, 3, 2, 2], strides: 2, same: true },
];

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The undilated kernel with d − 1 zeros between taps. */
function dilate(w: Float32Array, [kh, kw, C, O]: number[], d: number): { values: Float32Array; shape: [number, number, number, number] } {
  const eh = (kh - 1) * d + 1;
  const ew = (kw - 1) * d + 1;
  const out = new Float32Array(eh * ew * C * O);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let k = 0; k < C * O; k++) out[((i * d * ew + j * d) * C * O) + k] = w[(i * kw + j) * C * O + k];
  return { values: out, shape: [eh, ew, C, O] };
}

/** ∂Σ(conv(a)·u)/∂a with u fixed: tfjs' gradient (oracle) or inputGradient with δ = u. */
function gradient(c: ConvCase, a: Float32Array, w: Float32Array, u: Float32Array, outShape: number[], ours: boolean): Float32Array {
  return tf.tidy(() => {
    const d = c.dilation ?? 1;
    const s = c.strides ?? 1;
    const pad = c.same ? 'same' : 'valid';
    if (ours) {
      const W = tf.tensor4d(w, c.kernel);
      const g: ConvGeometry = { kh: c.kernel[0], kw: c.kernel[1], sh: s, sw: s, dh: d, dw: d, same: c.same };
      const flipped = s === 1 ? flipKernel(W) : undefined;
      const dx = inputGradient(tf.tensor4d(u, outShape as [number, number, number, number]), W, flipped, c.input, g, c.nonzero);
      assert.deepEqual(dx.shape, c.input);
      return Float32Array.from(dx.dataSync());
    }
    const k = d === 1 ? { values: w, shape: c.kernel } : dilate(w, c.kernel, d);
    const W = tf.tensor4d(k.values, k.shape);
    const U = tf.tensor(u, outShape);
    const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, W, s, pad), U)))(tf.tensor4d(a, c.input));
    return Float32Array.from(dx.dataSync());
  });
}

describe('Conv2D input gradient as a forward convolution of δ (oracle: tfjs conv2d gradient on cpu)', () => {
  after(async () => {
    await initBackend('cpu');
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const c of cases) {
      it(`${c.name} [${backend}]`, async () => {
        await initBackend('cpu');
        const a = randomArray(size(c.input), 1);
        const w = randomArray(size(c.kernel), 2);
        const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.input) as tf.Tensor4D, tf.zeros(c.kernel) as tf.Tensor4D, c.strides ?? 1, c.same ? 'same' : 'valid', 'NHWC', c.dilation ?? 1).shape);
        const u = randomArray(size(outShape), 3);
        if (c.nonzero) {
          const [, Ho, Wo, O] = outShape;
          for (let i = 0; i < u.length; i++) {
            const x = Math.floor(i / O) % Wo;
            const y = Math.floor(i / (O * Wo)) % Ho;
            if (y >= c.nonzero[0] || x >= c.nonzero[1]) u[i] = 0;
          }
        }
        const want = gradient(c, a, w, u, outShape, false);
        await initBackend(backend);
        const got = gradient(c, a, w, u, outShape, true);
        assert.equal(got.length, want.length);
        const scale = Math.max(...want.map(Math.abs));
        const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
        assert.ok(worst <= TOL * scale, `max |difference| ${worst} > ${TOL} × ${scale}`);
      });
    }
  }
});
