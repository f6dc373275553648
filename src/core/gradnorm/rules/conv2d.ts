import * as tf from '@tensorflow/tfjs';
import { activationName, activationOf, fusedActivation, fusedBlock, hasFastBackward } from './activation';
import { chooseForm, fromPerExample, unfoldedKernel } from './contrib';
import { cropTopLeft } from './crop';
import { depthwiseKernelAndBias } from './depthwise';
import { flipKernel, inputGradient, samePad, type ConvGeometry } from './conv-input-grad';
import { fusedConv2dKernel } from './fused-kernels';
import type { ForwardHooks, LayerRule, Want } from './types';

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/**
 * A dilated convolution outside the fused block (activations without a fast backward) still needs a
 * custom gradient, tfjs having none.
 */
function dilatedConv(a: tf.Tensor4D, W: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const f = tf.customGrad((...args: unknown[]) => {
    (args[1] as (t: tf.Tensor[]) => void)([flipKernel(W)]);
    return {
      value: tf.conv2d(args[0] as tf.Tensor4D, W, 1, g.same ? 'same' : 'valid', 'NHWC', [g.dh, g.dw]),
      gradFunc: (dy: tf.Tensor, [flipped]: tf.Tensor[]) => inputGradient(dy as tf.Tensor4D, W, flipped as tf.Tensor4D, a.shape, g),
    };
  });
  return f(a) as tf.Tensor4D;
}

/**
 * Unfolds (im2col) the input into U[b, t, (i·kw + j)·C + c] = a_pad[b, t_y·sh + i·dh, t_x·sw + j·dw, c]
 * for the first Ho×Wo output positions t: the same index order as the kernel reshaped (kh·kw·C, O).
 * `top` and `left`: the convolution's padding before the input.
 */
function unfold(a: tf.Tensor4D, g: ConvGeometry, Ho: number, Wo: number, top: number, left: number): tf.Tensor3D {
  const [B, H, Wd, C] = a.shape;
  // Padded rows the Ho output positions read: (Ho − 1)·s + (k − 1)·d + 1, `top` of them above the input.
  const bottom = Math.max(0, (Ho - 1) * g.sh + (g.kh - 1) * g.dh + 1 - top - H);
  const right = Math.max(0, (Wo - 1) * g.sw + (g.kw - 1) * g.dw + 1 - left - Wd);
  const x =
    top + bottom + left + right > 0
      ? tf.pad(a, [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ])
      : a;
  const cols: tf.Tensor[] = [];
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      const y0 = i * g.dh;
      const x0 = j * g.dw;
      cols.push(
        g.sh === 1 && g.sw === 1
          ? tf.slice(x, [0, y0, x0, 0], [B, Ho, Wo, C])
          : tf.stridedSlice(x, [0, y0, x0, 0], [B, y0 + (Ho - 1) * g.sh + 1, x0 + (Wo - 1) * g.sw + 1, C], [1, g.sh, g.sw, 1]),
      );
    }
  }
  const U = cols.length === 1 ? cols[0] : tf.concat(cols, 3);
  return U.reshape([B, Ho * Wo, g.kh * g.kw * C]) as tf.Tensor3D;
}

/**
 * Conv2D (channels-last): per-example kernel gradients Σ_t u_bt ⊗ δ_bt over output positions, from
 * the unfolded input (Rochette et al. 2019), by the ghost or the materialised form, whichever is
 * cheaper for the layer; the bias gradient is Σ_t δ_bt.
 */
export function conv2dRule(config: Record<string, unknown>): LayerRule {
  const [kh, kw] = pair(config.kernelSize, 1);
  const [sh, sw] = pair(config.strides, 1);
  const [dh, dw] = pair(config.dilationRate, 1);
  const g: ConvGeometry = { kh, kw, sh, sw, dh, dw, same: config.padding === 'same' };
  const act = activationOf(config);
  const actName = activationName(config);
  const useBias = config.useBias !== false;
  let how = 'conv2d';
  // Set by forward from the plan: the output rows/columns anything reads (δ is zero past them).
  let readExtent: ForwardHooks['readExtent'];
  return {
    forward([a], [W, b], hooks: ForwardHooks) {
      hooks.save(a);
      readExtent = hooks.readExtent;
      const pad = g.same ? 'same' : 'valid';
      const stride1 = g.sh === 1 && g.sw === 1;
      const dilated = g.dh !== 1 || g.dw !== 1;
      if (hasFastBackward(actName)) {
        const fa = fusedActivation(actName);
        const flipped = hooks.inputNeedsGrad && stride1 ? hooks.hold(tf.keep(flipKernel(W))) : undefined;
        return fusedBlock(
          a,
          hooks.e,
          hooks.dyIsDelta ? 'linear' : actName,
          (x) => {
            const y = fusedConv2dKernel(x as tf.Tensor4D, W as tf.Tensor4D, useBias ? b : undefined, [sh, sw], pad, [dh, dw], fa ?? 'linear');
            return fa ? y : act(y);
          },
          hooks.inputNeedsGrad ? (delta) => inputGradient(delta as tf.Tensor4D, W as tf.Tensor4D, flipped, a.shape, g, readExtent?.(delta.shape[1]!, delta.shape[2]!)) : undefined,
          hooks.capture,
          hooks.hold,
        );
      }
      let z: tf.Tensor = dilated ? dilatedConv(a as tf.Tensor4D, W as tf.Tensor4D, g) : tf.conv2d(a as tf.Tensor4D, W as tf.Tensor4D, [sh, sw], pad);
      if (useBias) z = tf.add(z, b);
      return act(hooks.tap(z));
    },
    contributions([a], fullDelta, _w, [rW, rb], want: Want) {
      const [B, H, Wd, C] = a.shape;
      const [, HoFull, WoFull, O] = fullDelta.shape;
      // Padding from the full output size; the sums then run over the positions where δ can be nonzero
      // only (the benchmark CNN's second conv: 10×10 of 11×11, whose last row and column no pool reads).
      const ph = g.same ? samePad(H, HoFull, kh, sh, dh) : [0, 0];
      const pw = g.same ? samePad(Wd, WoFull, kw, sw, dw) : [0, 0];
      const [Ho, Wo] = readExtent ? readExtent(HoFull, WoFull) : [HoFull, WoFull];
      const delta = cropTopLeft(fullDelta as tf.Tensor4D, Ho, Wo);
      const D = delta.reshape([B, Ho * Wo, O]) as tf.Tensor3D;
      const form = chooseForm(Ho * Wo, kh * kw * C, O, want);
      how = `conv2d ${kh}×${kw} over ${Ho}×${Wo} positions: ${form}`;
      if (form === 'materialised') {
        const geom = { B, H, W: Wd, C, kh, kw, sh, sw, dh, dw, Ho, Wo, O, pad: [ph[0], ph[1], pw[0], pw[1]] as [number, number, number, number] };
        const res = depthwiseKernelAndBias(a as tf.Tensor4D, delta as tf.Tensor4D, geom, rW?.dataSync(), rb?.dataSync(), want, useBias);
        return res.bias ? [res.kernel, res.bias] : [res.kernel];
      }
      const bias = useBias ? [fromPerExample(tf.sum(D, 1), rb, want)] : [];
      return [unfoldedKernel(unfold(a as tf.Tensor4D, g, Ho, Wo, ph[0], pw[0]), D, rW, want).result, ...bias];
    },
    describe: () => how,
    takesReluDelta: actName === 'relu',
    takesReadExtent: true,
  };
}
