/**
 * What the trainer needs from a model: the mean minibatch loss and its gradient at given parameters,
 * and the full-training-set loss. Parameters are a flat float64 vector in `trainableParams` order
 * (src/core/model/params.ts); the optimiser (optimizer.ts) owns them, so both engines share one update rule.
 */
export interface LabModel {
  /** `dense-f64`: the pure-JS float64 fast path (Dense-only models); `tfjs`: any other model. */
  readonly engine: 'dense-f64' | 'tfjs';
  readonly paramCount: number;
  /** Examples in the training set. */
  readonly n: number;
  /** mean over `idx` of ℓ_b(w), the model's own weight penalties included; `grad` ← its gradient. */
  batchLossGrad(w: Float64Array, idx: Int32Array, grad: Float64Array): number;
  /** mean over all N examples of ℓ_b(w) (penalties included): the full-training-set loss. */
  fullLoss(w: Float64Array): number;
  dispose(): void;
}
