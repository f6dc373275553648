import * as tf from '@tensorflow/tfjs';
import type { Want, WeightResult } from './types';

/**
 * Materialised per-example kernel gradients of a convolution for the whole batch in ONE depthwise
 * convolution (the batch becomes the depthwise channels; Rochette et al. 2019 express the same idea
 * with grouped convolutions): with the input arranged as (C, Hp, Wp, B) and δ as a (Ho, Wo, B, O)
 * filter, depthwiseConv2d gives out[c, i, j, b·O + o] = Σ_{y,x} a_b[y·s + i·d, x·s + j·d, c]·δ_b[y, x, o]
 * = ∇_W ℓ_b[i, j, c, o]. (The convolution's stride becomes the dilation and vice versa.) On wasm this
 * runs on XNNPACK, unlike batched or transposed matMuls and rank-3 slicing (PERFORMANCE-NOTES.md).
 *
 * The rearrangements are plain JS loops over the downloaded arrays (cheaper on wasm than its
 * Transpose/Slice kernels for these shapes), and so are the reductions of G.
 */
export interface DepthwiseGeometry {
  /** Input (B, H, W, C) channels-last, already padded as the forward convolution pads it. */
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
  /** Padding added before/after on each spatial axis (SAME padding); zeros are inserted in JS. */
  pad: [number, number, number, number];
}

/**
 * Per-example results (sq, cross, sum, sumSq) for a kernel laid out (kh, kw, C, O), from the layer's
 * input `a` (B, H, W, C) and δ (B, Ho, Wo, O).
 */
export function depthwiseKernel(aData: ArrayLike<number>, dData: ArrayLike<number>, g: DepthwiseGeometry, r: ArrayLike<number> | undefined, want: Want): WeightResult {
  return depthwiseKernelAndBias(aData, dData, g, r, undefined, want, false).kernel;
}

/**
 * As depthwiseKernel, plus the bias's per-example gradients Σ_t δ_bt, summed while δ is rearranged
 * anyway (no separate reduction kernel).
 */
export function depthwiseKernelAndBias(
  aData: ArrayLike<number>,
  dData: ArrayLike<number>,
  g: DepthwiseGeometry,
  r: ArrayLike<number> | undefined,
  rBias: ArrayLike<number> | undefined,
  want: Want,
  withBias: boolean,
): { kernel: WeightResult; bias?: WeightResult } {
  const { B, H, W, C, kh, kw, sh, sw, dh, dw, Ho, Wo, O } = g;
  const [pt, , pl] = g.pad;
  // Only the rows/columns the convolution reads: (Ho−1)·s + (k−1)·d + 1.
  const Hc = (Ho - 1) * sh + (kh - 1) * dh + 1;
  const Wc = (Wo - 1) * sw + (kw - 1) * dw + 1;
  const xin = new Float32Array(C * Hc * Wc * B);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < Hc; y++) {
      const sy = y - pt;
      if (sy < 0 || sy >= H) continue;
      for (let x = 0; x < Wc; x++) {
        const sx = x - pl;
        if (sx < 0 || sx >= W) continue;
        const src = ((b * H + sy) * W + sx) * C;
        for (let c = 0; c < C; c++) xin[((c * Hc + y) * Wc + x) * B + b] = aData[src + c];
      }
    }
  }
  const filt = new Float32Array(Ho * Wo * B * O);
  const biasG = withBias ? new Float64Array(B * O) : undefined;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Ho * Wo; t++) {
      const src = (b * Ho * Wo + t) * O;
      const dst = (t * B + b) * O;
      for (let o = 0; o < O; o++) filt[dst + o] = dData[src + o];
      if (biasG) for (let o = 0; o < O; o++) biasG[b * O + o] += dData[src + o];
    }
  }
  // The original stride s becomes the depthwise dilation, the original dilation d its stride.
  // Not tf.tidy: it would walk the returned TypedArray element by element (PERFORMANCE-NOTES.md pitfall 5).
  const inT = tf.tensor4d(xin, [C, Hc, Wc, B]);
  const filtT = tf.tensor4d(filt, [Ho, Wo, B, O]);
  const GT = tf.depthwiseConv2d(inT, filtT, [dh, dw], 'valid', 'NHWC', [sh, sw]);
  const G = GT.dataSync();
  tf.dispose([inT, filtT, GT]);
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
  return { kernel: { sq, cross, sum, sumSq }, bias: biasG ? perExampleRows(biasG, B, O, rBias, want) : undefined };
}

/** ‖G_b‖², ⟨G_b, r⟩, Σ_b G_b, Σ_b G_b² from per-example rows G (B × P) held in JS. */
export function perExampleRows(G: Float64Array, B: number, P: number, r: ArrayLike<number> | undefined, want: Want): WeightResult {
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
