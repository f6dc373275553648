/**
 * Shared types of the finite-η prediction (issue 20): the curvature of the loss at Φ* in a few sharp
 * directions, how examples scatter in them, and what the theory makes of that. Producers:
 * `src/core/curvature/` (engine: TF.js, ONNX, Keras models) and the PyTorch package's gradstats file
 * (`python/heatcap_torch`). Consumer: `src/core/finite-eta/` (second-moment solve, limits, curve), whose
 * output is the result schema's `predicted.finite_eta` block (src/core/result/schema.ts).
 *
 * Conventions: H is the Hessian of the per-example training loss ℓ_b the optimiser differentiates,
 * including the model's own weight penalties (Keras regularisers) but not an optimiser's coupled
 * `weight_decay` (the theory adds λI itself, as `stability.ts` does). Vectors are orthonormal.
 */

/** Curvature of the loss at the checkpoint in a k-dimensional orthonormal subspace V (P × k). */
export interface SubspaceCurvature {
  /** Number of parameters P. */
  parameters: number;
  /** Number of directions k (k = P: the subspace spans every parameter and the solve is exact). */
  k: number;
  /** Examples the per-example projections were computed on. */
  n: number;
  /** Ritz values of H along V, descending; VᵀHV ≈ diag(eigenvalues). */
  eigenvalues: number[];
  /** ‖H v_i − λ_i v_i‖ / max(|λ_1|, 1e-300) for each Ritz pair (0 for a dense eigen-solve). */
  residuals: number[];
  /** Every residual below the tolerance the producer used (reported in `notes`). */
  converged: boolean;
  /** The basis V, k × P row-major (row i = v_i). Omitted by producers that only report eigenvalues. */
  vectors?: Float64Array;
  /** v_iᵀ A_b v_j per example b, n × k × k row-major; A_b = ∇²ℓ_b(Φ*). */
  perExampleCurvature: Float64Array;
  /**
   * mean_b v_iᵀA_b²v_j = mean_b (A_b v_i)·(A_b v_j) over the same n examples, k × k (optional). With
   * perExampleCurvature it says how far each example's curvature reaches outside V:
   * mean_b (A_b)_VR(A_b)_RV = this − mean_b (A_b)_VV², which the curve uses at first order.
   */
  perExampleCurvatureSquare?: Float64Array;
  /** v_iᵀ g_b per example, n × k row-major; g_b = ∇ℓ_b(Φ*). */
  perExampleGradProj: Float64Array;
  /** tr Σ over all P parameters (population normalisation), for the directions outside V at leading order. */
  traceCovTotal: number;
  /** ‖ḡ‖² and E‖g_b‖² over all parameters (near-minimum check). */
  meanGradSqNorm: number;
  meanSqNorm: number;
  /** `dense_eigen` (full Hessian), `lanczos`, `lobpcg`, `power`. */
  method: string;
  /** How Hessian-vector products were formed: `exact_float64`, `central_difference_float32`, `central_difference_float64`, `r_operator`, `torch_autograd`. */
  hvp: string;
  /** Finite-difference step and its estimated relative error, when `hvp` is a difference. */
  hvpStep?: number;
  hvpRelError?: number;
  /** Total cost as a multiple of one per-example-norm pass over the same examples. */
  costGradientPasses: number | null;
  seconds: number | null;
  notes: string[];
  /**
   * The whole model as one Dense layer, when it is one (the pipeline attaches it for models it covers):
   * the curve is then solved over all parameters (`denseFullSolution`), not in the subspace.
   */
  denseLayer?: DenseLayerCurvature;
}

/**
 * A model that is one Dense layer, at the checkpoint (THEORY.md §6; `dense-full.ts`): logits z_b = W̃ x̃_b,
 * A_b = J_bᵀK_bJ_b + D, g_b = r_b ⊗ x̃_b. Enough for the second moment over every parameter.
 */
export interface DenseLayerCurvature {
  n: number;
  /** F: inputs per example, including the trailing 1 of a bias. */
  features: number;
  /** C: outputs (logits). */
  outputs: number;
  /** x̃_b, n × F. */
  inputs: Float64Array;
  /** K_b = ∂²ℓ_b/∂z² at Φ*, n × C × C (softmax cross-entropy: diag(p_b) − p_b p_bᵀ). */
  outputCurvature: Float64Array;
  /** r_b = ∂ℓ_b/∂z at Φ*, n × C (softmax cross-entropy: p_b − y_b). */
  outputGradient: Float64Array;
  /** Diagonal curvature of the model's own penalties, length C·F (0 for unpenalised biases). */
  penaltyDiagonal: Float64Array;
  /**
   * The per-example loss as a function of the logits, for the non-quadratic (Gaussian-closure) correction
   * (`dense-closure.ts`): softmax cross-entropy ℓ_b(z) = (Σ_c y_b[c])·logsumexp(z) − y_b·z at logits z*_b
   * (n × C) with targets y_b (n × C, one-hot, smoothed or soft). Absent for losses that are quadratic in z
   * (MSE), where the closure is the quadratic model itself.
   */
  outputLoss?: { kind: 'softmax_cross_entropy'; logits: Float64Array; targets: Float64Array };
  /**
   * Correct the full-parameter curve for the loss not being quadratic (`dense-closure.ts`), when
   * `outputLoss` is present. Opt-in (`--finite-eta-full`): about 10 s of CPU per learning rate solved on the
   * 650-parameter digits softmax over 1797 examples.
   */
  correctNonQuadratic?: boolean;
}

/** The SGD dynamics a finite-η prediction is for (THEORY.md §2, §4). */
export interface SgdDynamics {
  batchSize: number;
  /** i.i.d. indices (`with_replacement`) or a batch of B distinct examples drawn afresh each step. */
  sampling: 'with_replacement' | 'without_replacement';
  /** Dataset size N (needed for `without_replacement`). */
  datasetSize: number | null;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** Coupled L2 weight decay λ: the stepped curvature is H + λI and every A_b + λI. */
  weightDecay: number;
}
