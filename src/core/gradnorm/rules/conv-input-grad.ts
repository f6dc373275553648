import * as tf from '@tensorflow/tfjs';

/** A Conv2D layer's window: kernel size, strides, dilations, and SAME (else VALID) padding. */
export interface ConvGeometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  same: boolean;
}

/** TensorFlow's SAME padding: total = max((out−1)·s + (k−1)·d + 1 − in, 0), the smaller half first. */
export function samePad(inSize: number, outSize: number, k: number, s: number, d: number): [number, number] {
  const total = Math.max((outSize - 1) * s + (k - 1) * d + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * ∂L/∂a of the convolution from δ. Stride 1 (any dilation): a forward convolution of the padded δ with
 * the flipped, in/out-transposed kernel — wasm's Conv2DBackpropInput is slow (1.4–3.1 GFLOP/s), its
 * Conv2D fast (PERFORMANCE-NOTES.md pitfall 3); it is also the only way through a dilated convolution,
 * since tfjs' own Conv2D gradient refuses dilation rates above 1. Strides above 1: tfjs'
 * conv2dTranspose (the same Conv2DBackpropInput tfjs' gradient uses).
 */
export function inputGradient(delta: tf.Tensor4D, W: tf.Tensor4D, flipped: tf.Tensor4D | undefined, inShape: number[], g: ConvGeometry): tf.Tensor4D {
  const [, H, Wd] = inShape;
  if (!flipped) return tf.conv2dTranspose(delta, W, inShape as [number, number, number, number], [g.sh, g.sw], g.same ? 'same' : 'valid');
  const [, Ho, Wo] = delta.shape;
  const eh = (g.kh - 1) * g.dh + 1;
  const ew = (g.kw - 1) * g.dw + 1;
  const [pt] = g.same ? samePad(H, Ho, g.kh, 1, g.dh) : [0];
  const [pl] = g.same ? samePad(Wd, Wo, g.kw, 1, g.dw) : [0];
  // dx[j] = Σ_u dz[j + p_before − u·d]·W[u]; with v = k−1−u this is a valid (dilated) correlation of dz
  // padded by (e−1−p_before, in − out + p_before), e = (k−1)·d + 1, with the flipped kernel. The
  // padding is the convolution's own (explicit) padding, not a separate Pad op (13.3 vs 14.8 ms for
  // the benchmark CNN's second conv, B = 256).
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [eh - 1 - pt, H - Ho + pt],
    [ew - 1 - pl, Wd - Wo + pl],
    [0, 0],
  ];
  return tf.conv2d(delta, flipped, 1, pad, 'NHWC', [g.dh, g.dw]);
}

/** W[kh−1−i, kw−1−j, o, c] from W[i, j, c, o], rearranged in JS (wasm's Reverse is slow for its size). */
export function flipKernel(W: tf.Tensor): tf.Tensor4D {
  const [kh, kw, C, O] = W.shape;
  const w = W.dataSync();
  const out = new Float32Array(w.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < C; c++)
        for (let o = 0; o < O; o++) out[(((kh - 1 - i) * kw + (kw - 1 - j)) * O + o) * C + c] = w[((i * kw + j) * C + c) * O + o];
  return tf.tensor4d(out, [kh, kw, O, C]);
}
