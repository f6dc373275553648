import type { LossKind } from '../gradnorm/loss';
import { KERAS_EPSILON } from '../gradnorm/loss';

/**
 * One example's Keras loss ℓ(o, y) over a k-vector output `o` and target `y` (one-hot rows for both
 * cross-entropies, as gradnorm/targets.ts builds them), in float64, and u = ∂ℓ/∂o. The definitions are
 * those of src/core/gradnorm/loss.ts (Keras' backend, TF 2.x), clipping included: probabilities are
 * clipped to [ε, 1−ε] and a clipped entry passes no gradient (tfjs' ClipByValue gradient). Returns ℓ;
 * writes u[uOff … uOff+k).
 */
export function lossAndGradRow(
  kind: LossKind,
  fromLogits: boolean,
  o: Float64Array,
  oOff: number,
  y: Float32Array | Float64Array,
  yOff: number,
  k: number,
  u: Float64Array,
  uOff: number,
): number {
  const eps = KERAS_EPSILON;
  switch (kind) {
    case 'mse': {
      let l = 0;
      for (let j = 0; j < k; j++) {
        const r = o[oOff + j] - y[yOff + j];
        l += r * r;
        u[uOff + j] = (2 * r) / k;
      }
      return l / k;
    }
    case 'binary_crossentropy': {
      let l = 0;
      for (let j = 0; j < k; j++) {
        const x = o[oOff + j];
        const t = y[yOff + j];
        if (fromLogits) {
          // sigmoid_cross_entropy_with_logits: max(x,0) − x·t + log(1 + e^{−|x|}); derivative σ(x) − t.
          l += Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
          u[uOff + j] = (1 / (1 + Math.exp(-x)) - t) / k;
        } else {
          const inside = x >= eps && x <= 1 - eps;
          const p = Math.min(Math.max(x, eps), 1 - eps);
          l -= t * Math.log(p + eps) + (1 - t) * Math.log(1 - p + eps);
          u[uOff + j] = inside ? (-t / (p + eps) + (1 - t) / (1 - p + eps)) / k : 0;
        }
      }
      return l / k;
    }
    case 'nll': {
      // PyTorch's nll_loss on log-probabilities: ℓ = −Σ y_j o_j.
      let l = 0;
      for (let j = 0; j < k; j++) {
        l -= y[yOff + j] * o[oOff + j];
        u[uOff + j] = -y[yOff + j];
      }
      return l;
    }
    case 'sparse_categorical_crossentropy':
    case 'categorical_crossentropy': {
      let ySum = 0;
      for (let j = 0; j < k; j++) ySum += y[yOff + j];
      if (fromLogits) {
        // −Σ y_j log softmax(o)_j; derivative softmax(o)·Σy − y.
        let m = -Infinity;
        for (let j = 0; j < k; j++) m = Math.max(m, o[oOff + j]);
        let s = 0;
        for (let j = 0; j < k; j++) s += Math.exp(o[oOff + j] - m);
        const lse = m + Math.log(s);
        let l = 0;
        for (let j = 0; j < k; j++) {
          const t = y[yOff + j];
          if (t !== 0) l -= t * (o[oOff + j] - lse);
          u[uOff + j] = Math.exp(o[oOff + j] - lse) * ySum - t;
        }
        return l;
      }
      if (kind === 'sparse_categorical_crossentropy') {
        // Keras: logits = log(clip(p)), then softmax CE: ℓ = −Σ y_j log p̃_j + Σy·log Σ p̃ (p̃ clipped).
        let s = 0;
        for (let j = 0; j < k; j++) s += Math.min(Math.max(o[oOff + j], eps), 1 - eps);
        let l = ySum * Math.log(s);
        for (let j = 0; j < k; j++) {
          const x = o[oOff + j];
          const p = Math.min(Math.max(x, eps), 1 - eps);
          const t = y[yOff + j];
          if (t !== 0) l -= t * Math.log(p);
          u[uOff + j] = x >= eps && x <= 1 - eps ? -t / p + ySum / s : 0;
        }
        return l;
      }
      // Keras categorical CE on probabilities: q = o / Σo, clipped; ℓ = −Σ y_j log q̃_j.
      let s = 0;
      for (let j = 0; j < k; j++) s += o[oOff + j];
      let l = 0;
      let dq = 0;
      for (let j = 0; j < k; j++) {
        const q = o[oOff + j] / s;
        const qc = Math.min(Math.max(q, eps), 1 - eps);
        const t = y[yOff + j];
        if (t !== 0) l -= t * Math.log(qc);
        const d = q >= eps && q <= 1 - eps ? -t / qc : 0;
        u[uOff + j] = d;
        dq += d * q;
      }
      // ∂q_j/∂o_i = (δ_ij − q_j)/s, so u_i = (d_i − Σ_j d_j q_j)/s.
      for (let j = 0; j < k; j++) u[uOff + j] = (u[uOff + j] - dq) / s;
      return l;
    }
  }
}
