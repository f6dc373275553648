import * as tf from '@tensorflow/tfjs';
import { readView, writableZeros } from '../../tf/heap';

function pair(v: unknown, fallback: [number, number]): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  return fallback;
}

/**
 * The common 2×2, stride-2 window without padding, unrolled and branch-free: with random activations a
 * data-dependent branch mispredicts about half the time, which made the branchy loop 2× slower. The
 * window is a tournament in tfjs' scan order (row by row, the first strictly greater value wins; values
 * are finite: the engine checks its inputs): the winner of each row's pair, then the lower row unless
 * the upper row's winner is strictly greater. Comparisons become 0/1 numbers, so the winner's offset is
 * arithmetic. Each input belongs to at most one window, so a plain store into the zeroed dx suffices.
 * With `relu`, the routed value is multiplied by [max > 0] (see fastMaxPool).
 */
function backward2x2(xv: Float32Array, dv: Float32Array, dx: Float32Array, B: number, H: number, W: number, C: number, Ho: number, Wo: number, relu: boolean): void {
  const row = W * C;
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      let base = (b * H + 2 * oy) * row;
      for (let ox = 0; ox < Wo; ox++, base += 2 * C) {
        for (let c = 0; c < C; c++, o++) {
          const i0 = base + c;
          const i1 = i0 + row;
          // Offsets from i0 of each row's winner: 0 or C, row or row + C.
          const top = +(xv[i0 + C] > xv[i0]) * C;
          const bottom = row + +(xv[i1 + C] > xv[i1]) * C;
          const down = +(xv[i0 + bottom] > xv[i0 + top]);
          const at = i0 + top + down * (bottom - top);
          dx[at] = relu ? dv[o] * +(xv[at] > 0) : dv[o];
        }
      }
    }
  }
}

/**
 * For a valid max pool: the input rows and columns its windows cover, (out − 1)·stride + pool with
 * out = ⌊(in − pool)/stride⌋ + 1, as a function of the input's size. Undefined for SAME padding (every
 * row is read) and channels-first pools.
 */
export function maxPoolReadExtent(config: Record<string, unknown>): ((rows: number, cols: number) => [number, number]) | undefined {
  if (config.dataFormat === 'channelsFirst' || config.padding === 'same') return undefined;
  const [ph, pw] = pair(config.poolSize, [2, 2]);
  const [sh, sw] = pair(config.strides ?? config.poolSize, [ph, pw]);
  const read = (n: number, p: number, s: number) => (n < p ? n : Math.floor((n - p) / s) * s + p);
  return (rows, cols) => [read(rows, ph, sh), read(cols, pw, sw)];
}

/**
 * MaxPooling2D (channels-last) with its backward done in JS: wasm's MaxPoolGrad kernel is slow, while
 * routing dy to each window's arg-max is one pass over the input. The arg-max rule is tfjs' own (its
 * CPU kernel: the first strictly greater value in row-major window order wins), so the gradient is
 * identical to tf.grad of tf.maxPool.
 *
 * With `relu` (the input is a relu output read by nothing else, pool-shortcuts.ts) the backward returns
 * ∂L/∂z = dx·relu′(z) instead of dx: relu′ = [y > 0] matters only at arg-maxes, where y is the window's
 * maximum. The product is the one tfjs' mask would form (dv·1 or dv·0).
 */
export function fastMaxPool(config: Record<string, unknown>, relu = false): ((x: tf.Tensor, hold: <T extends tf.Tensor>(t: T) => T) => tf.Tensor) | undefined {
  if (config.dataFormat === 'channelsFirst') return undefined;
  const [ph, pw] = pair(config.poolSize, [2, 2]);
  const [sh, sw] = pair(config.strides ?? config.poolSize, [ph, pw]);
  const same = config.padding === 'same';
  return (x, hold) => {
    const f = tf.customGrad((...args: unknown[]) => {
      const input = args[0] as tf.Tensor4D;
      const y = tf.maxPool(input, [ph, pw], [sh, sw], same ? 'same' : 'valid');
      const kept = hold(tf.keep(input));
      return {
        value: y,
        gradFunc: (dy: tf.Tensor) => {
          const [B, H, W, C] = kept.shape;
          const [, Ho, Wo] = dy.shape;
          const top = same ? Math.floor(Math.max((Ho - 1) * sh + ph - H, 0) / 2) : 0;
          const left = same ? Math.floor(Math.max((Wo - 1) * sw + pw - W, 0) / 2) : 0;
          // Zero-copy views (heap.ts): create the output first, then no tfjs op until the loop is done.
          const out = writableZeros([B, H, W, C]);
          const xv = readView(kept);
          const dv = readView(dy);
          const dx = out.view;
          if (ph === 2 && pw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && Ho * 2 <= H && Wo * 2 <= W) {
            backward2x2(xv, dv, dx, B, H, W, C, Ho, Wo, relu);
            return out.finish();
          }
          for (let b = 0; b < B; b++) {
            for (let oy = 0; oy < Ho; oy++) {
              const y0 = oy * sh - top;
              const yA = Math.max(0, y0);
              const yB = Math.min(H, y0 + ph);
              for (let ox = 0; ox < Wo; ox++) {
                const x0 = ox * sw - left;
                const xA = Math.max(0, x0);
                const xB = Math.min(W, x0 + pw);
                const outBase = ((b * Ho + oy) * Wo + ox) * C;
                for (let c = 0; c < C; c++) {
                  let best = -Infinity;
                  let at = -1;
                  for (let yy = yA; yy < yB; yy++) {
                    for (let xx = xA; xx < xB; xx++) {
                      const i = ((b * H + yy) * W + xx) * C + c;
                      if (xv[i] > best) {
                        best = xv[i];
                        at = i;
                      }
                    }
                  }
                  if (at >= 0) dx[at] += relu ? dv[outBase + c] * +(best > 0) : dv[outBase + c];
                }
              }
            }
          }
          return out.finish();
        },
      };
    });
    return f(x) as tf.Tensor;
  };
}
