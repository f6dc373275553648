import * as tf from '@tensorflow/tfjs';
import { readView } from '../../tf/heap';
import { samePad } from './conv-input-grad';
import { perExampleRows } from './depthwise';
import { fusedConv2dKernel } from './fused-kernels';
import type { ForwardHooks, LayerRule, Want, WeightResult } from './types';

/**
 * Conv2D (3×3, relu or linear) → MaxPooling2D (2×2, stride 2, valid) as one step, for a conv whose input
 * needs no gradient (the first conv of a CNN). After the pool, δ of the conv is zero except at one
 * arg-max per window and channel, so the per-example kernel gradient Σ_t u_bt ⊗ δ_bt has one term per
 * window: 9·C multiply-adds per window and output channel, straight from the pool's gradient, instead
 * of a dense δ (the pool's backward), its transpose, a depthwise convolution over every output position
 * and a bias sum (measured for the benchmark CNN's first conv, C = 1, B = 256: 11 ms against 22 ms).
 * The dense route costs ∝ positions·9·C with a far faster kernel, so this one is used for C ≤ 4 only
 * (it measured 42 ms at C = 8, about the dense cost).
 */
const CONV_POOL_MAX_CHANNELS = 4;

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/** The fused rule when the conv and pool configurations allow it (see above), else undefined. */
export function convPoolRule(conv: Record<string, unknown>, pool: Record<string, unknown>, inChannels: number): LayerRule | undefined {
  const act = typeof conv.activation === 'string' ? conv.activation : 'linear';
  if (act !== 'relu' && act !== 'linear') return undefined;
  if (conv.dataFormat === 'channelsFirst' || pool.dataFormat === 'channelsFirst' || pool.padding === 'same') return undefined;
  const [kh, kw] = pair(conv.kernelSize, 1);
  const [dh, dw] = pair(conv.dilationRate, 1);
  const [ph, pw] = pair(pool.poolSize, 2);
  const [qh, qw] = pair(pool.strides ?? pool.poolSize, 2);
  if (kh !== 3 || kw !== 3 || dh !== 1 || dw !== 1 || ph !== 2 || pw !== 2 || qh !== 2 || qw !== 2) return undefined;
  if (inChannels > CONV_POOL_MAX_CHANNELS) return undefined;
  const [sh, sw] = pair(conv.strides, 1);
  const same = conv.padding === 'same';
  const useBias = conv.useBias !== false;
  // Filled by the backward, read by contributions: per-example kernel rows (B × 9·C·O) and bias rows (B × O).
  let G: Float64Array | undefined;
  let bias: Float64Array | undefined;
  return {
    forward([a], [W, b], hooks: ForwardHooks) {
      if (hooks.inputNeedsGrad) throw new Error('convPoolRule: the input gradient is not computed (pool-shortcuts.ts merges only first convs)');
      const [B, H, Wd, C] = a.shape as number[];
      const [, , , O] = W.shape;
      const f = tf.customGrad(() => {
        const y = hooks.hold(fusedConv2dKernel(a as tf.Tensor4D, W as tf.Tensor4D, useBias ? b : undefined, [sh, sw], same ? 'same' : 'valid', [1, 1], act));
        const [, Ho, Wo] = y.shape;
        // The input as the convolution reads it: with SAME padding, padded once here, so the loop needs no
        // bounds checks. (Unpadded, `a` itself: the forward's tensors live until tf.grads returns.)
        const [pt, pb] = same ? samePad(H, Ho, 3, sh, 1) : [0, 0];
        const [pl, pr] = same ? samePad(Wd, Wo, 3, sw, 1) : [0, 0];
        const xp =
          pt + pb + pl + pr > 0
            ? hooks.hold(
                tf.pad(a, [
                  [0, 0],
                  [pt, pb],
                  [pl, pr],
                  [0, 0],
                ]),
              )
            : a;
        return {
          value: tf.maxPool(y, 2, 2, 'valid'),
          gradFunc: (dp: tf.Tensor) => {
            const geom = { B, C, O, Ho, Wo, Hx: xp.shape[1] as number, Wx: xp.shape[2] as number, sh, sw, relu: act === 'relu' };
            // Views (heap.ts): no tfjs op may run until the loop is done.
            const out = perExampleFromPool(readView(y), readView(xp), readView(dp), geom);
            G = out.G;
            bias = out.bias;
            // The engine needs a δ to know the layer reached the loss; contributions only read its batch size.
            hooks.capture(tf.keep(tf.zeros([B])));
            return [tf.zeros([])];
          },
        };
      });
      return f(hooks.e) as tf.Tensor;
    },
    contributions(_saved, delta, [W], [rW, rb], want: Want): WeightResult[] {
      const B = delta.shape[0] as number;
      const O = W.shape[3] as number;
      const kernel = perExampleRows(G!, B, W.size, rW?.dataSync(), want);
      const res = useBias ? [kernel, perExampleRows(bias!, B, O, rb?.dataSync(), want)] : [kernel];
      G = bias = undefined;
      return res;
    },
    describe: () => `conv2d 3×3 + max-pool 2×2: per-example sums over the pool's arg-maxes`,
  };
}

interface PoolGeometry {
  B: number;
  /** Input channels, output channels. */
  C: number;
  O: number;
  /** Conv output (the pool's input) and the padded conv input sizes. */
  Ho: number;
  Wo: number;
  Hx: number;
  Wx: number;
  sh: number;
  sw: number;
  relu: boolean;
}

/**
 * For each example b and output channel o: every pool window's arg-max in y (tfjs' rule, the first
 * strictly greater value in row-major order; the same branch-free tournament as pooling.ts), its
 * routed gradient v = dp·relu′ (relu′ = [max > 0]), then G_b[(i·3 + j)·C + c, o] = Σ_windows
 * v·x[py·sh + i, px·sw + j, c] with nine running sums per input channel, and bias_b[o] = Σ v.
 */
function perExampleFromPool(y: Float32Array, x: Float32Array, dp: Float32Array, g: PoolGeometry): { G: Float64Array; bias: Float64Array } {
  const { B, C, O, Ho, Wo, Hx, Wx, sh, sw, relu } = g;
  const Hp = Math.floor(Ho / 2);
  const Wp = Math.floor(Wo / 2);
  const nW = Hp * Wp;
  const K = 9 * C;
  const G = new Float64Array(B * K * O);
  const bias = new Float64Array(B * O);
  const at = new Int32Array(nW);
  const val = new Float64Array(nW);
  const yRow = Wo * O;
  const xRow = Wx * C;
  // relu′ = [max > 0] as a 0/1 factor, forced to 1 for a linear conv (no data-dependent branch).
  const keepAll = relu ? 0 : 1;
  for (let b = 0; b < B; b++) {
    const yb = b * Ho * yRow;
    const xb = b * Hx * xRow;
    const db = b * nW * O;
    for (let o = 0; o < O; o++) {
      let s = 0;
      let w = 0;
      for (let oy = 0; oy < Hp; oy++) {
        let i0 = yb + 2 * oy * yRow + o;
        for (let ox = 0; ox < Wp; ox++, w++, i0 += 2 * O) {
          const i1 = i0 + yRow;
          const r0 = +(y[i0 + O] > y[i0]);
          const r1 = +(y[i1 + O] > y[i1]);
          const top = r0 * O;
          const bottom = yRow + r1 * O;
          const down = +(y[i0 + bottom] > y[i0 + top]);
          const v = dp[db + w * O + o] * (+(y[i0 + top + down * (bottom - top)] > 0) | keepAll);
          // The arg-max's output position, then the top-left corner of the input patch it read.
          const py = 2 * oy + down;
          const px = 2 * ox + r0 + down * (r1 - r0);
          at[w] = xb + py * sh * xRow + px * sw * C;
          val[w] = v;
          s += v;
        }
      }
      bias[b * O + o] = s;
      const gb = b * K * O + o;
      for (let c = 0; c < C; c++) {
        let g0 = 0;
        let g1 = 0;
        let g2 = 0;
        let g3 = 0;
        let g4 = 0;
        let g5 = 0;
        let g6 = 0;
        let g7 = 0;
        let g8 = 0;
        for (let q = 0; q < nW; q++) {
          const v = val[q];
          const p0 = at[q] + c;
          const p1 = p0 + xRow;
          const p2 = p1 + xRow;
          g0 += v * x[p0];
          g1 += v * x[p0 + C];
          g2 += v * x[p0 + 2 * C];
          g3 += v * x[p1];
          g4 += v * x[p1 + C];
          g5 += v * x[p1 + 2 * C];
          g6 += v * x[p2];
          g7 += v * x[p2 + C];
          g8 += v * x[p2 + 2 * C];
        }
        // Kernel index ((i·3 + j)·C + c)·O + o.
        G[gb + c * O] = g0;
        G[gb + (C + c) * O] = g1;
        G[gb + (2 * C + c) * O] = g2;
        G[gb + (3 * C + c) * O] = g3;
        G[gb + (4 * C + c) * O] = g4;
        G[gb + (5 * C + c) * O] = g5;
        G[gb + (6 * C + c) * O] = g6;
        G[gb + (7 * C + c) * O] = g7;
        G[gb + (8 * C + c) * O] = g8;
      }
    }
  }
  return { G, bias };
}
