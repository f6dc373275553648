import * as tf from '@tensorflow/tfjs';
import { activationName, activationOf, fusedActivation, fusedBlock, hasFastBackward } from './activation';
import { chooseForm, fromPerExample, unfoldedKernel } from './contrib';
import { depthwiseKernelAndBias } from './depthwise';
import type { ForwardHooks, LayerRule, Want, WeightResult } from './types';

/**
 * Dense: for an input without a sequence axis, ‖∇_W ℓ_b‖² = ‖a_b‖²·‖δ_b‖² (Goodfellow 2015) and
 * ‖∇_bias ℓ_b‖² = ‖δ_b‖²; Σ_b ∇_W = Aᵀ Δ, Σ_b (∇_W)² = (A∘A)ᵀ(Δ∘Δ) (THEORY.md §2, Adam row).
 * With a sequence axis (a_b ∈ R^{T×d}) the kernel goes through unfoldedKernel (ghost or materialised).
 */
export function denseRule(config: Record<string, unknown>): LayerRule {
  const act = activationOf(config);
  const actName = activationName(config);
  const useBias = config.useBias !== false;
  let how = 'dense';
  return {
    forward([a], [W, b], hooks: ForwardHooks) {
      hooks.save(a);
      const d = a.shape[a.rank - 1] as number;
      const p = W.shape[1] as number;
      const flat = a.rank === 2 ? (a as tf.Tensor2D) : (a.reshape([-1, d]) as tf.Tensor2D);
      const unflat = (t: tf.Tensor) => (a.rank === 2 ? t : t.reshape([...a.shape.slice(0, -1), p]));
      if (hasFastBackward(actName)) {
        // One tape node for matMul + bias + activation; its backward multiplies δ by a materialised Wᵀ
        // so the matMul stays untransposed (XNNPACK's fast path on wasm, PERFORMANCE-NOTES.md pitfall 2).
        const fa = fusedActivation(actName);
        const Wt = hooks.inputNeedsGrad ? hooks.hold(tf.keep(tf.transpose(W))) : undefined;
        const out = fusedBlock(
          flat,
          hooks.e,
          hooks.dyIsDelta ? 'linear' : actName,
          (x) => {
            const lin = tf.fused.matMul({ a: x as tf.Tensor2D, b: W as tf.Tensor2D, bias: useBias ? b : undefined, activation: fa ?? 'linear' });
            return fa ? lin : act(lin);
          },
          Wt ? (delta) => tf.matMul(delta as tf.Tensor2D, Wt as tf.Tensor2D) : undefined,
          hooks.capture,
          hooks.hold,
        );
        return unflat(out);
      }
      let z: tf.Tensor = tf.matMul(flat, W as tf.Tensor2D);
      if (useBias) z = tf.add(z, b);
      return act(hooks.tap(unflat(z)));
    },
    contributions([a], delta, [W], [rW, rb], want: Want) {
      const B = a.shape[0] as number;
      const d = W.shape[0] as number;
      const p = W.shape[1] as number;
      const out: WeightResult[] = [];
      if (a.rank === 2) {
        how = 'dense: ‖a‖²‖δ‖²';
        const A = a as tf.Tensor2D;
        const D = delta as tf.Tensor2D;
        const a2 = tf.square(A);
        const d2 = tf.square(D);
        out.push({
          sq: tf.mul(tf.sum(a2, 1), tf.sum(d2, 1)),
          // ⟨a_b ⊗ δ_b, r⟩ = a_bᵀ r δ_b.
          cross: rW ? tf.sum(tf.mul(tf.matMul(A, rW as tf.Tensor2D), D), 1) : undefined,
          sum: want.sum ? tf.matMul(tf.transpose(A), D).reshape([-1]) : undefined,
          sumSq: want.sumSq ? tf.matMul(tf.transpose(a2), d2).reshape([-1]) : undefined,
        });
        if (useBias) out.push(fromPerExample(D, rb, want));
      } else {
        const U = a.reshape([B, -1, d]) as tf.Tensor3D;
        const D = delta.reshape([B, -1, p]) as tf.Tensor3D;
        const T = U.shape[1];
        const form = chooseForm(T, d, p, want);
        how = `dense over ${T} positions: ${form}`;
        if (form === 'materialised') {
          // A Dense layer on T positions is a 1×1 convolution over a 1×T image.
          const geom = { B, H: 1, W: T, C: d, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, Ho: 1, Wo: T, O: p, pad: [0, 0, 0, 0] as [number, number, number, number] };
          out.push(depthwiseKernelAndBias(U.reshape([B, 1, T, d]) as tf.Tensor4D, D.reshape([B, 1, T, p]) as tf.Tensor4D, geom, rW?.dataSync(), undefined, want, false).kernel);
        } else {
          out.push(unfoldedKernel(U, D, rW, want).result);
        }
        if (useBias) out.push(fromPerExample(tf.sum(D, 1), rb, want));
      }
      return out;
    },
    describe: () => how,
    takesReluDelta: actName === 'relu',
  };
}
