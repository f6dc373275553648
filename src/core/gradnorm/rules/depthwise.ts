import * as tf from '@tensorflow/tfjs';
import { readView } from '../../tf/heap';
import { cropTopLeft } from './crop';
import type { Want, WeightResult } from './types';

/**
 * Materialised per-example kernel gradients of a convolution for the whole batch in ONE depthwise
 * convolution (the batch becomes the depthwise channels; Rochette et al. 2019 express the same idea
 * with grouped convolutions): with the input arranged as (C, Hp, Wp, B) and δ as a (Ho, Wo, B, O)
 * filter, depthwiseConv2d gives out[c, i, j, b·O + o] = Σ_{y,x} a_b[y·s + i·d, x·s + j·d, c]·δ_b[y, x, o]
 * = ∇_W ℓ_b[i, j, c, o]. (The convolution's stride becomes the dilation and vice versa.) On wasm this
 * runs on XNNPACK, unlike batched or transposed matMuls and rank-3 slicing (PERFORMANCE-NOTES.md).
 */
export interface DepthwiseGeometry {
  /** Input (B, H, W, C), channels-last, before the convolution's own padding. */
  B: number;
  H: number;
  W: number;
  C: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  Ho: number;
  Wo: number;
  O: number;
  /** The convolution's padding before/after on each spatial axis (top, bottom, left, right). */
  pad: [number, number, number, number];
}

/** ‖G_b‖², ⟨G_b, r⟩, Σ_b G_b, Σ_b G_b² from per-example rows G (B × P) held in JS. */
export function perExampleRows(G: ArrayLike<number>, B: number, P: number, r: ArrayLike<number> | undefined, want: Want): WeightResult {
  const sq = new Float64Array(B);
  const cross = r ? new Float64Array(B) : undefined;
  const sum = want.sum ? new Float64Array(P) : undefined;
  const sumSq = want.sumSq ? new Float64Array(P) : undefined;
  for (let b = 0; b < B; b++) {
    let s = 0;
    let cr = 0;
    for (let k = 0; k < P; k++) {
      const v = G[b * P + k];
      s += v * v;
      if (r) cr += v * r[k];
      if (sum) sum[k] += v;
      if (sumSq) sumSq[k] += v * v;
    }
    sq[b] = s;
    if (cross) cross[b] = cr;
  }
  return { sq, cross, sum, sumSq };
}

/**
 * Σ_t v[b, t, o] for v laid out (B, T, O): the per-example bias gradients of a layer applied at T
 * positions. A JS loop over a view: wasm's Sum over a middle axis transposes all of v first (measured
 * 5.2 ms vs 1.9 ms here for the benchmark CNN's first conv, B = 256; a matMul by a row of ones is no
 * faster on wasm, where XNNPACK repacks its fresh right operand on every call). Four running sums
 * break the dependency chain of one.
 */
export function positionSums(v: Float32Array, B: number, T: number, O: number): Float64Array {
  const out = new Float64Array(B * O);
  const O4 = 4 * O;
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let r = b * T * O + o;
      let t = 0;
      for (; t + 3 < T; t += 4, r += O4) {
        s0 += v[r];
        s1 += v[r + O];
        s2 += v[r + 2 * O];
        s3 += v[r + 3 * O];
      }
      for (; t < T; t++, r += O) s0 += v[r];
      out[b * O + o] = s0 + s1 + (s2 + s3);
    }
  }
  return out;
}

/**
 * Per-example results (sq, cross, sum, sumSq) for a kernel laid out (kh, kw, C, O) from the layer's
 * input `a` (B, H, W, C) and δ (B, Ho, Wo, O), plus — when `withBias` — the bias's per-example
 * gradients Σ_t δ_bt. The rearrangements run as wasm Pad/Transpose kernels (measured here 1.4–2.7×
 * faster than the same moves in JS, which must also copy in and out of the wasm heap); the
 * reductions of G are JS loops over its download.
 */
export function depthwiseKernelAndBias(
  a: tf.Tensor4D,
  delta: tf.Tensor4D,
  g: DepthwiseGeometry,
  r: ArrayLike<number> | undefined,
  rBias: ArrayLike<number> | undefined,
  want: Want,
  withBias: boolean,
): { kernel: WeightResult; bias?: WeightResult } {
  const { B, H, W, C, kh, kw, sh, sw, dh, dw, Ho, Wo, O } = g;
  const [pt, , pl] = g.pad;
  // Only the rows/columns the convolution reads: (Ho−1)·s + (k−1)·d + 1, after its own padding.
  const Hc = (Ho - 1) * sh + (kh - 1) * dh + 1;
  const Wc = (Wo - 1) * sw + (kw - 1) * dw + 1;
  const GT = tf.tidy(() => {
    let x: tf.Tensor4D = a;
    if (pt > 0 || pl > 0 || Hc > pt + H || Wc > pl + W) {
      x = tf.pad(x, [
        [0, 0],
        [pt, Math.max(0, Hc - pt - H)],
        [pl, Math.max(0, Wc - pl - W)],
        [0, 0],
      ]);
    }
    x = cropTopLeft(x, Hc, Wc);
    // The original stride s becomes the depthwise dilation, the original dilation d its stride.
    return tf.depthwiseConv2d(tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(delta, [1, 2, 0, 3]) as tf.Tensor4D, [dh, dw], 'valid', 'NHWC', [sh, sw]);
  });
  // Read outside tf.tidy (tidy would walk a returned TypedArray element by element, PERFORMANCE-NOTES.md
  // pitfall 5), through a zero-copy view: no tfjs op may run until the loop below is done.
  const G = readView(GT);
  // G[c, i, j, b, o] → per example b; kernel index ((i·kw + j)·C + c)·O + o.
  const sq = new Float64Array(B);
  const cross = r ? new Float64Array(B) : undefined;
  const P = kh * kw * C * O;
  const sum = want.sum ? new Float64Array(P) : undefined;
  const sumSq = want.sumSq ? new Float64Array(P) : undefined;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const gBase = ((c * kh + i) * kw + j) * B * O;
        const kBase = ((i * kw + j) * C + c) * O;
        for (let b = 0; b < B; b++) {
          let s = 0;
          let cr = 0;
          const row = gBase + b * O;
          for (let o = 0; o < O; o++) {
            const v = G[row + o];
            s += v * v;
            if (r) cr += v * r[kBase + o];
            if (sum) sum[kBase + o] += v;
            if (sumSq) sumSq[kBase + o] += v * v;
          }
          sq[b] += s;
          if (cross) cross[b] += cr;
        }
      }
    }
  }
  // Still no tfjs op since G's view was taken, so δ can be read through a view too.
  const bias = withBias ? perExampleRows(positionSums(readView(delta), B, Ho * Wo, O), B, O, rBias, want) : undefined;
  GT.dispose();
  return { kernel: { sq, cross, sum, sumSq }, bias };
}
