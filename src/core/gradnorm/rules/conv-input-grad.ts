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
 *
 * `nonzero` (stride 1): δ is zero outside its first nonzero[0] rows and nonzero[1] columns (an unread
 * border, pool-shortcuts.ts), so the input rows and columns past the last one those reach get a zero gradient
 * without being computed (the convolution's cost is per output position).
 */
export function inputGradient(delta: tf.Tensor4D, W: tf.Tensor4D, flipped: tf.Tensor4D | undefined, inShape: number[], g: ConvGeometry, nonzero?: [number, number]): tf.Tensor4D {
  const [B, H, Wd, C] = inShape;
  if (!flipped) return tf.conv2dTranspose(delta, W, inShape as [number, number, number, number], [g.sh, g.sw], g.same ? 'same' : 'valid');
  const [, Ho, Wo] = delta.shape;
  const eh = (g.kh - 1) * g.dh + 1;
  const ew = (g.kw - 1) * g.dw + 1;
  const [pt] = g.same ? samePad(H, Ho, g.kh, 1, g.dh) : [0];
  const [pl] = g.same ? samePad(Wd, Wo, g.kw, 1, g.dw) : [0];
  // Input rows computed: all, or up to the last one a nonzero δ row reaches (row t reaches t − p_before + e − 1).
  const Hx = reach(H, Ho, pt, eh, nonzero?.[0]);
  const Wx = reach(Wd, Wo, pl, ew, nonzero?.[1]);
  // dx[j] = Σ_u dz[j + p_before − u·d]·W[u]; with v = k−1−u this is a valid (dilated) correlation of dz
  // padded by (e−1−p_before, in − out + p_before), e = (k−1)·d + 1, with the flipped kernel (for the
  // first Hx rows: Hx − out + p_before at the bottom). The padding is the convolution's own (explicit)
  // padding, not a separate Pad op (13.3 vs 14.8 ms for the benchmark CNN's second conv, B = 256).
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [eh - 1 - pt, Hx - Ho + pt],
    [ew - 1 - pl, Wx - Wo + pl],
    [0, 0],
  ];
  const dx = tf.conv2d(delta, flipped, 1, pad, 'NHWC', [g.dh, g.dw]);
  if (Hx === H && Wx === Wd) return dx;
  const full = tf.pad(dx, [
    [0, 0],
    [0, H - Hx],
    [0, Wd - Wx],
    [0, 0],
  ]);
  dx.dispose();
  return full.reshape([B, H, Wd, C]);
}

/**
 * How many input rows to compute: all `size`, or, when only the first `nonzero` of `out` δ rows can
 * be nonzero, up to the last row they reach — if the convolution's bottom padding stays ≥ 0 (else all).
 */
function reach(size: number, out: number, before: number, e: number, nonzero: number | undefined): number {
  if (nonzero === undefined || nonzero >= out) return size;
  const rows = Math.min(size, nonzero - before + e - 1);
  return rows - out + before >= 0 ? rows : size;
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
