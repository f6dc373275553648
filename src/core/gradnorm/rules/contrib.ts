import * as tf from '@tensorflow/tfjs';
import type { Want, WeightResult } from './types';

/**
 * Results from materialised per-example gradients G (shape [B, ...weight shape]): ‖G_b‖², ⟨G_b, r⟩,
 * Σ_b G_b and Σ_b G_b². Used wherever the per-example gradient is cheap to form (biases, norms' γ/β,
 * materialised conv/sequence kernels).
 */
export function fromPerExample(G: tf.Tensor, r: tf.Tensor | undefined, want: Want): WeightResult {
  const b = G.shape[0];
  const g2 = G.reshape([b, -1]) as tf.Tensor2D;
  const sqEl = tf.square(g2);
  return {
    sq: tf.sum(sqEl, 1),
    cross: r ? tf.matMul(g2, r.reshape([-1, 1])).reshape([b]) : undefined,
    sum: want.sum ? tf.sum(g2, 0) : undefined,
    sumSq: want.sumSq ? tf.sum(sqEl, 0) : undefined,
  };
}

/** Elementwise sum of two optional results (sub-batches of one chunk): concatenates per-example parts. */
export function concatResults(parts: WeightResult[]): WeightResult {
  if (parts.length === 1) return parts[0];
  const cat = (xs: (tf.Tensor | Float64Array | undefined)[]) => (xs[0] === undefined ? undefined : tf.concat(xs as tf.Tensor[], 0));
  const add = (xs: (tf.Tensor | Float64Array | undefined)[]) => (xs[0] === undefined ? undefined : tf.addN(xs as tf.Tensor[]));
  return {
    sq: cat(parts.map((p) => p.sq))!,
    cross: cat(parts.map((p) => p.cross)),
    sum: add(parts.map((p) => p.sum)),
    sumSq: add(parts.map((p) => p.sumSq)),
  };
}

/** Per-example tensors are built in sub-batches of at most this many floats (bounded memory). */
export const MAX_PER_EXAMPLE_FLOATS = 1 << 24;

/**
 * How to contract a_b ∈ R^{T×K} with δ_b ∈ R^{T×O} for ‖a_bᵀδ_b‖² (PERFORMANCE-NOTES.md): the
 * materialised form costs ≈ T·K·O per example, the ghost form ⟨a_b a_bᵀ, δ_b δ_bᵀ⟩ ≈ T²·(K+O)
 * (Li et al. 2022, "ghost norm"). The diagonal second moment needs the materialised gradient.
 */
export function chooseForm(T: number, K: number, O: number, want: Want): 'materialised' | 'ghost' {
  if (want.sumSq) return 'materialised';
  return T * T * (K + O) < T * K * O ? 'ghost' : 'materialised';
}

/**
 * Per-example weight gradients G_b = U_bᵀ Δ_b (U: [B, T, K], Δ: [B, T, O]) → [B, K, O], as a loop of
 * 2-D matMuls: on wasm an untransposed 2-D matMul takes XNNPACK's fast path, a batched or transposed
 * one does not (PERFORMANCE-NOTES.md pitfall 2).
 */
export function perExampleOuter(U: tf.Tensor3D, D: tf.Tensor3D): tf.Tensor3D {
  const Ut = tf.transpose(U, [0, 2, 1]);
  const us = tf.unstack(Ut) as tf.Tensor2D[];
  const ds = tf.unstack(D) as tf.Tensor2D[];
  return tf.stack(us.map((u, i) => tf.matMul(u, ds[i]))) as tf.Tensor3D;
}

/**
 * The kernel of a linear map applied at T positions (Dense on a sequence, Conv2D after unfolding):
 * per-example ‖Σ_t u_bt ⊗ δ_bt‖² by the cheaper of the two forms, plus ⟨·, r⟩, Σ_b and Σ_b (·)².
 * Sub-batched so no per-example tensor exceeds MAX_PER_EXAMPLE_FLOATS.
 */
export function unfoldedKernel(U: tf.Tensor3D, D: tf.Tensor3D, r: tf.Tensor | undefined, want: Want): { result: WeightResult; form: 'materialised' | 'ghost' } {
  const [B, T, K] = U.shape;
  const O = D.shape[2];
  const form = chooseForm(T, K, O, want);
  const perExample = form === 'ghost' ? T * T : K * O;
  const step = Math.max(1, Math.floor(MAX_PER_EXAMPLE_FLOATS / Math.max(perExample, 1)));
  const parts: WeightResult[] = [];
  for (let s = 0; s < B; s += step) {
    const n = Math.min(step, B - s);
    const u = n === B ? U : (tf.slice(U, [s, 0, 0], [n, T, K]) as tf.Tensor3D);
    const d = n === B ? D : (tf.slice(D, [s, 0, 0], [n, T, O]) as tf.Tensor3D);
    if (form === 'materialised') {
      parts.push(fromPerExample(perExampleOuter(u, d), r, want));
    } else {
      // ‖U_bᵀΔ_b‖_F² = ⟨U_b U_bᵀ, Δ_b Δ_bᵀ⟩ (Gram matrices over positions).
      const gu = tf.matMul(u, u, false, true);
      const gd = tf.matMul(d, d, false, true);
      const flatU = u.reshape([n * T, K]) as tf.Tensor2D;
      const flatD = d.reshape([n * T, O]) as tf.Tensor2D;
      parts.push({
        sq: tf.sum(tf.mul(gu, gd), [1, 2]),
        // ⟨U_bᵀΔ_b, r⟩ = Σ_t u_btᵀ r δ_bt.
        cross: r ? tf.sum(tf.mul(tf.matMul(flatU, r.reshape([K, O]) as tf.Tensor2D).reshape([n, T, O]), d), [1, 2]) : undefined,
        sum: want.sum ? tf.matMul(tf.transpose(flatU), flatD).reshape([-1]) : undefined,
      });
    }
  }
  return { result: concatResults(parts), form };
}
