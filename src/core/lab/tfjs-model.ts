import * as tf from '@tensorflow/tfjs';
import { perExampleLoss, type LossSpec } from '../gradnorm/loss';
import { penaltyValue, weightPenalty, type L1L2 } from '../gradnorm/regularizers';
import { setFlatParams, type ParamInfo } from '../model/params';
import type { LabModel } from './model';

const FULL_CHUNK = 256;

/**
 * Any single-input, single-output LayersModel, trained through TensorFlow.js (float32). The minibatch
 * objective is mean_b ℓ_b + R(Φ): the Keras per-example loss (gradnorm/loss.ts) plus the model's own
 * L1/L2 penalties, exactly what Keras' `fit` minimises. The model runs in inference mode (dropout off),
 * like the gradient engine, so ℓ_b is a deterministic function of Φ as the theory assumes.
 */
export class TfjsLabModel implements LabModel {
  readonly engine = 'tfjs' as const;
  readonly paramCount: number;
  private readonly vars: tf.Variable[];
  private readonly penalties: { index: number; pen: L1L2 }[] = [];
  private readonly xBuf: Float32Array;
  private readonly yBuf: Float32Array;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly params: ParamInfo[],
    private readonly loss: LossSpec,
    private readonly rowShape: number[],
    private readonly outShape: number[],
    /** Inputs (N × rowSize) and targets (N × outSize), row-major. */
    private readonly x: Float32Array,
    private readonly y: Float32Array,
    readonly n: number,
    batchSize: number,
  ) {
    this.paramCount = params.reduce((a, p) => a + p.size, 0);
    this.vars = params.map((p) => p.variable.read() as tf.Variable);
    for (const layer of model.layers) {
      for (const w of layer.trainableWeights) {
        const index = params.findIndex((p) => p.variable === w);
        const pen = index >= 0 ? weightPenalty(layer, params[index].name) : undefined;
        if (pen) this.penalties.push({ index, pen });
      }
    }
    this.xBuf = new Float32Array(batchSize * this.rowSize);
    this.yBuf = new Float32Array(batchSize * this.outSize);
  }

  private get rowSize(): number {
    return this.rowShape.reduce((a, b) => a * b, 1);
  }

  private get outSize(): number {
    return this.outShape.reduce((a, b) => a * b, 1);
  }

  private objective(x: tf.Tensor, y: tf.Tensor): tf.Scalar {
    const out = this.model.apply(x, { training: false }) as tf.Tensor;
    let total = tf.mean(perExampleLoss(this.loss, y, out)) as tf.Scalar;
    for (const { index, pen } of this.penalties) {
      const v = this.vars[index];
      if (pen.l1) total = tf.add(total, tf.mul(pen.l1, tf.sum(tf.abs(v))));
      if (pen.l2) total = tf.add(total, tf.mul(pen.l2, tf.sum(tf.square(v))));
    }
    return total;
  }

  batchLossGrad(w: Float64Array, idx: Int32Array, grad: Float64Array): number {
    setFlatParams(this.params, w);
    const B = idx.length;
    const rs = this.rowSize;
    const os = this.outSize;
    for (let r = 0; r < B; r++) {
      this.xBuf.set(this.x.subarray(idx[r] * rs, (idx[r] + 1) * rs), r * rs);
      this.yBuf.set(this.y.subarray(idx[r] * os, (idx[r] + 1) * os), r * os);
    }
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor(this.xBuf.subarray(0, B * rs), [B, ...this.rowShape]);
      const y = tf.tensor(this.yBuf.subarray(0, B * os), [B, ...this.outShape]);
      return tf.variableGrads(() => this.objective(x, y), this.vars);
    });
    try {
      this.params.forEach((p, i) => {
        const g = grads[this.vars[i].name];
        if (g) grad.set(g.dataSync(), p.offset);
        else grad.fill(0, p.offset, p.offset + p.size);
      });
      return value.dataSync()[0];
    } finally {
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    }
  }

  fullLoss(w: Float64Array): number {
    setFlatParams(this.params, w);
    const rs = this.rowSize;
    const os = this.outSize;
    let sum = 0;
    for (let s = 0; s < this.n; s += FULL_CHUNK) {
      const rows = Math.min(FULL_CHUNK, this.n - s);
      const t = tf.tidy(() => {
        const x = tf.tensor(this.x.subarray(s * rs, (s + rows) * rs), [rows, ...this.rowShape]);
        const y = tf.tensor(this.y.subarray(s * os, (s + rows) * os), [rows, ...this.outShape]);
        return perExampleLoss(this.loss, y, this.model.apply(x, { training: false }) as tf.Tensor);
      });
      const values = t.dataSync();
      t.dispose();
      for (let i = 0; i < rows; i++) sum += values[i];
    }
    let R = 0;
    for (const { index, pen } of this.penalties) {
      const p = this.params[index];
      R += penaltyValue(pen, w.subarray(p.offset, p.offset + p.size));
    }
    return sum / this.n + R;
  }

  dispose(): void {
    this.model.dispose();
  }
}
