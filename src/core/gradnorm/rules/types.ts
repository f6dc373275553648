import type * as tf from '@tensorflow/tfjs';

/** What a chunk must produce besides per-example squared norms. */
export interface Want {
  /** Σ_b h_b per parameter (for the mean gradient ḡ). */
  sum: boolean;
  /** Σ_b h_b² per parameter (the diagonal second moment, THEORY.md §2 Adam row). */
  sumSq: boolean;
}

/**
 * One chunk's results for one trainable weight tensor, where h_b = ∇_w (data loss of example b)
 * (the regulariser's gradient r is added by the engine: g_b = h_b + r). Tensors or JS arrays.
 */
export interface WeightResult {
  /** ‖h_b‖², shape [B]. */
  sq: tf.Tensor | Float64Array;
  /** ⟨h_b, r⟩, shape [B]; present when the weight has a penalty. */
  cross?: tf.Tensor | Float64Array;
  /** Σ_b h_b, flattened like the weight. */
  sum?: tf.Tensor | Float64Array;
  /** Σ_b h_b², flattened like the weight. */
  sumSq?: tf.Tensor | Float64Array;
}

/** Hooks the interpreter gives a trainable layer's forward. */
export interface ForwardHooks {
  /**
   * Marks z as the layer's pre-activation output: returns z connected to the layer's path scalar `e`
   * through a custom gradient that records δ = ∂Σℓ/∂z during the backward pass.
   */
  tap(z: tf.Tensor): tf.Tensor;
  /** The layer's path scalar (a zero tf.grads differentiates against, so the layer is on the path). */
  e: tf.Tensor;
  /** Records δ from inside a rule's own custom backward (instead of `tap`). */
  capture(delta: tf.Tensor): void;
  /** Keeps a tensor alive until the chunk's contributions are done (for custom backwards). */
  hold<T extends tf.Tensor>(t: T): T;
  /** Keeps a tensor (e.g. the layer input) for the contribution step after the backward pass. */
  save(t: tf.Tensor): void;
  /** False when no earlier trainable layer feeds this one: its input gradient is never needed. */
  inputNeedsGrad: boolean;
  /**
   * True when the layer's only consumer is a max pool that applies relu′ while routing the gradient
   * (pool-shortcuts.ts): the backward then receives δ itself and must not apply its activation's derivative.
   */
  dyIsDelta: boolean;
  /**
   * Set when the layer's only consumer (a valid max pool) reads just the first rows and columns of its
   * output (pool-shortcuts.ts): δ is zero beyond them. Maps the output's size to the size read.
   */
  readExtent?: (rows: number, cols: number) => [number, number];
}

/** The vectorised per-example rule of one layer type (PERFORMANCE-NOTES.md, "the method"). */
export interface LayerRule {
  /** The layer's forward pass from explicit weight tensors (layer.trainableWeights order). */
  forward(inputs: tf.Tensor[], weights: tf.Tensor[], hooks: ForwardHooks): tf.Tensor;
  /**
   * Per-weight results from what `forward` saved and δ; `penaltyGrads[i]` is r for weight i when it
   * has a penalty. Runs inside tf.tidy; results that are tensors are downloaded by the caller.
   */
  contributions(saved: tf.Tensor[], delta: tf.Tensor, weights: tf.Tensor[], penaltyGrads: (tf.Tensor | undefined)[], want: Want): WeightResult[];
  /** A one-line description of how norms are computed (e.g. "conv2d 3×3: materialised"), set by contributions. */
  describe(): string;
  /** True when the rule honours ForwardHooks.dyIsDelta for a relu layer (its fused block's backward). */
  takesReluDelta?: boolean;
  /** True when the rule uses ForwardHooks.readExtent to skip positions where δ is zero. */
  takesReadExtent?: boolean;
}
