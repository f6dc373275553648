import type { LossKind } from '../gradnorm/loss';
import { lossAndGradRow } from './keras-loss-f64';
import type { LabModel } from './model';

/** Activations the fast path implements (Keras/tfjs names). */
export type DenseActivation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';
export const DENSE_ACTIVATIONS: readonly DenseActivation[] = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'];

export interface DenseLayerSpec {
  inDim: number;
  outDim: number;
  /** Offset of the kernel ([inDim, outDim], row-major: tfjs/Keras layout) in the flat parameters. */
  kernelOffset: number;
  /** Offset of the bias, or −1 when the layer has none. */
  biasOffset: number;
  activation: DenseActivation;
}

/** An L1/L2 penalty l1·Σ|w| + l2·Σw² on the parameters [offset, offset+size) (Keras regularisers). */
export interface PenaltySpec {
  offset: number;
  size: number;
  l1: number;
  l2: number;
}

export interface DenseNetSpec {
  layers: DenseLayerSpec[];
  penalties: PenaltySpec[];
  loss: { kind: LossKind; fromLogits: boolean };
  paramCount: number;
}

/** In-memory training set: row-major inputs (N × inDim) and targets (N × outDim). */
export interface DenseData {
  n: number;
  x: Float64Array;
  y: Float32Array | Float64Array;
}

const FULL_CHUNK = 256;

/**
 * A multilayer perceptron of Dense layers evaluated in plain float64 JavaScript. For small models the
 * per-op overhead of a tensor library dominates (PERFORMANCE-NOTES.md), and a loop over B·P
 * multiply-adds is far cheaper; float64 also keeps the stationary loss free of float32 rounding.
 * Forward: z_l = a_{l−1}W_l + b_l, a_l = f_l(z_l); backward: δ_L = ∂ℓ/∂z_L, ∇W_l = a_{l−1}ᵀδ_l,
 * ∇b_l = Σ_b δ_l, δ_{l−1} = (δ_l W_lᵀ) ⊙ f′(z_{l−1}). Zero inputs are skipped (exact: they add nothing),
 * which halves the first layer's work on sparse pixels.
 */
export class DenseF64Model implements LabModel {
  readonly engine = 'dense-f64' as const;
  readonly paramCount: number;
  readonly n: number;
  private readonly inDim: number;
  private readonly outDim: number;
  /** Per layer: pre-activations and activations for up to `cap` rows, and the backward buffer. */
  private z: Float64Array[] = [];
  private a: Float64Array[] = [];
  private delta: Float64Array[] = [];
  private cap = 0;

  constructor(
    readonly spec: DenseNetSpec,
    private readonly data: DenseData,
  ) {
    this.paramCount = spec.paramCount;
    this.n = data.n;
    this.inDim = spec.layers[0].inDim;
    this.outDim = spec.layers[spec.layers.length - 1].outDim;
    if (data.x.length !== data.n * this.inDim) throw new RangeError(`inputs hold ${data.x.length} values, not ${data.n}×${this.inDim}`);
    if (data.y.length !== data.n * this.outDim) throw new RangeError(`targets hold ${data.y.length} values, not ${data.n}×${this.outDim}`);
  }

  private ensure(rows: number): void {
    if (rows <= this.cap) return;
    this.cap = rows;
    this.z = this.spec.layers.map((l) => new Float64Array(rows * l.outDim));
    this.a = this.spec.layers.map((l) => new Float64Array(rows * l.outDim));
    this.delta = this.spec.layers.map((l) => new Float64Array(rows * l.outDim));
  }

  /** Forward pass of `rows` examples: their inputs are rows idx[0..rows) (or start.. when idx is null). */
  private forward(w: Float64Array, rows: number, idx: Int32Array | null, start: number): void {
    const { x } = this.data;
    this.spec.layers.forEach((l, li) => {
      const z = this.z[li];
      const a = this.a[li];
      const prev = li === 0 ? null : this.a[li - 1];
      const { inDim: din, outDim: dout, kernelOffset: ko, biasOffset: bo } = l;
      for (let r = 0; r < rows; r++) {
        const zo = r * dout;
        if (bo >= 0) for (let j = 0; j < dout; j++) z[zo + j] = w[bo + j];
        else z.fill(0, zo, zo + dout);
        const src = prev ?? x;
        const so = prev ? r * din : (idx ? idx[r] : start + r) * din;
        for (let i = 0; i < din; i++) {
          const ai = src[so + i];
          if (ai === 0) continue;
          const wo = ko + i * dout;
          for (let j = 0; j < dout; j++) z[zo + j] += ai * w[wo + j];
        }
        activate(l.activation, z, a, zo, dout);
      }
    });
  }

  /** Loss of `rows` examples after forward(); writes ∂ℓ_b/∂(last output) · scale into the last delta. */
  private lossRows(rows: number, idx: Int32Array | null, start: number, scale: number, withGrad: boolean): number {
    const L = this.spec.layers.length - 1;
    const out = this.a[L];
    const u = this.delta[L];
    const k = this.outDim;
    const { kind, fromLogits } = this.spec.loss;
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const ex = idx ? idx[r] : start + r;
      sum += lossAndGradRow(kind, fromLogits, out, r * k, this.data.y, ex * k, k, u, r * k);
    }
    if (withGrad) for (let i = 0; i < rows * k; i++) u[i] *= scale;
    return sum;
  }

  private penalty(w: Float64Array, grad: Float64Array | null): number {
    let R = 0;
    for (const p of this.spec.penalties) {
      const end = p.offset + p.size;
      // Separate loops: the common pure-L2 case then costs one multiply-add per weight.
      if (p.l2 !== 0) {
        let s = 0;
        for (let i = p.offset; i < end; i++) s += w[i] * w[i];
        R += p.l2 * s;
        if (grad) for (let i = p.offset; i < end; i++) grad[i] += 2 * p.l2 * w[i];
      }
      if (p.l1 !== 0) {
        let s = 0;
        for (let i = p.offset; i < end; i++) s += Math.abs(w[i]);
        R += p.l1 * s;
        if (grad) for (let i = p.offset; i < end; i++) grad[i] += p.l1 * Math.sign(w[i]);
      }
    }
    return R;
  }

  batchLossGrad(w: Float64Array, idx: Int32Array, grad: Float64Array): number {
    const B = idx.length;
    this.ensure(B);
    this.forward(w, B, idx, 0);
    const loss = this.lossRows(B, idx, 0, 1 / B, true) / B;
    grad.fill(0);
    const layers = this.spec.layers;
    const { x } = this.data;
    for (let li = layers.length - 1; li >= 0; li--) {
      const l = layers[li];
      const { inDim: din, outDim: dout, kernelOffset: ko, biasOffset: bo } = l;
      const d = this.delta[li];
      // The incoming u = ∂ℓ/∂a_l becomes δ_l = ∂ℓ/∂z_l.
      for (let r = 0; r < B; r++) activationBackward(l.activation, this.z[li], this.a[li], d, r * dout, dout);
      const prev = li === 0 ? null : this.a[li - 1];
      for (let r = 0; r < B; r++) {
        const dOff = r * dout;
        if (bo >= 0) for (let j = 0; j < dout; j++) grad[bo + j] += d[dOff + j];
        const src = prev ?? x;
        const so = prev ? r * din : idx[r] * din;
        for (let i = 0; i < din; i++) {
          const ai = src[so + i];
          if (ai === 0) continue;
          const go = ko + i * dout;
          for (let j = 0; j < dout; j++) grad[go + j] += ai * d[dOff + j];
        }
      }
      if (li > 0) {
        const up = this.delta[li - 1];
        for (let r = 0; r < B; r++) {
          const dOff = r * dout;
          for (let i = 0; i < din; i++) {
            const wo = ko + i * dout;
            let s = 0;
            for (let j = 0; j < dout; j++) s += d[dOff + j] * w[wo + j];
            up[r * din + i] = s;
          }
        }
      }
    }
    return loss + this.penalty(w, grad);
  }

  fullLoss(w: Float64Array): number {
    const chunk = Math.min(FULL_CHUNK, this.n);
    this.ensure(chunk);
    let sum = 0;
    for (let s = 0; s < this.n; s += chunk) {
      const rows = Math.min(chunk, this.n - s);
      this.forward(w, rows, null, s);
      sum += this.lossRows(rows, null, s, 1, false);
    }
    return sum / this.n + this.penalty(w, null);
  }

  dispose(): void {}
}

function activate(f: DenseActivation, z: Float64Array, a: Float64Array, o: number, k: number): void {
  switch (f) {
    case 'linear':
      for (let j = 0; j < k; j++) a[o + j] = z[o + j];
      return;
    case 'relu':
      for (let j = 0; j < k; j++) a[o + j] = z[o + j] > 0 ? z[o + j] : 0;
      return;
    case 'tanh':
      for (let j = 0; j < k; j++) a[o + j] = Math.tanh(z[o + j]);
      return;
    case 'sigmoid':
      for (let j = 0; j < k; j++) a[o + j] = 1 / (1 + Math.exp(-z[o + j]));
      return;
    case 'softmax': {
      let m = -Infinity;
      for (let j = 0; j < k; j++) m = Math.max(m, z[o + j]);
      let s = 0;
      for (let j = 0; j < k; j++) {
        const e = Math.exp(z[o + j] - m);
        a[o + j] = e;
        s += e;
      }
      for (let j = 0; j < k; j++) a[o + j] /= s;
      return;
    }
  }
}

/** In place: d holds ∂ℓ/∂a on entry and ∂ℓ/∂z on exit (softmax: d ← a ⊙ (d − ⟨d, a⟩)). */
function activationBackward(f: DenseActivation, z: Float64Array, a: Float64Array, d: Float64Array, o: number, k: number): void {
  switch (f) {
    case 'linear':
      return;
    case 'relu':
      for (let j = 0; j < k; j++) if (!(z[o + j] > 0)) d[o + j] = 0;
      return;
    case 'tanh':
      for (let j = 0; j < k; j++) d[o + j] *= 1 - a[o + j] * a[o + j];
      return;
    case 'sigmoid':
      for (let j = 0; j < k; j++) d[o + j] *= a[o + j] * (1 - a[o + j]);
      return;
    case 'softmax': {
      let dot = 0;
      for (let j = 0; j < k; j++) dot += d[o + j] * a[o + j];
      for (let j = 0; j < k; j++) d[o + j] = a[o + j] * (d[o + j] - dot);
      return;
    }
  }
}
