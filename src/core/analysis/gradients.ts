/**
 * What the analysis needs from a checkpoint: per-example gradient statistics for the theory, their
 * summary for the result, and (small models only) the Hessian and per-example gradients for the
 * refinements of THEORY.md §2–3. The gradient engine produces it; the pipeline only consumes it, so the
 * pipeline can be tested with exact statistics of a problem whose answer is known.
 */
import type { CancelToken, ProgressFn } from '../cancel';
import type { SubspaceCurvature } from '../finite-eta/types';
import type { GradNormSummary } from '../result/schema';
import type { GradStats, PredictExtras } from '../theory/predict';
import type { AnalyzeOptions } from './options';

export interface GradientInputs {
  stats: GradStats;
  summary: GradNormSummary;
  extras?: PredictExtras;
  /** Facts about the model that change the prediction (THEORY.md §2). */
  model: {
    /** BatchNorm-like scale-invariant weights present. */
    hasBatchNorm: boolean;
    /** The model's own weight regularisers are part of ℓ_b (Keras kernel_regularizer …). */
    hasRegularizers: boolean;
  };
  warnings: string[];
  /**
   * Computes the Hessian and per-example gradients for the refinements (random reshuffling, weight
   * decay outside the logged loss), when the model is small enough; `{}` otherwise. Costly: called
   * only for units whose setup needs them.
   */
  loadExtras?: (token?: CancelToken, onProgress?: ProgressFn) => Promise<PredictExtras>;
  /**
   * The loss's curvature in the top-k Hessian directions at the checkpoint, when it came with the
   * statistics (the `curvature` section of a gradstats.json, written by heatcap_torch).
   */
  curvature?: SubspaceCurvature;
  /**
   * Computes that curvature for `k` directions (src/core/curvature: Lanczos on Hessian-vector products,
   * float64 for Dense-only models). Costly: called once per checkpoint, only for units whose setup has a
   * finite-η model (SGD-like, independent batches), and never when the user turned the prediction off.
   */
  loadCurvature?: (k: number, token?: CancelToken, onProgress?: ProgressFn) => Promise<SubspaceCurvature>;
  /**
   * Set when the statistics were read from a gradstats.json (src/core/gradstats) rather than computed:
   * the file, its N and its loss, which the pipeline checks against each unit's runs.
   */
  origin?: { file: string; n: number; lossName: string };
  /**
   * Set when tr Σ was estimated from gradient noise logged during training (src/core/noise): along the
   * trajectory, not at Φ*; `stats.n` is then not the dataset size and `stats.meanLoss` is unknown (NaN).
   */
  fromTrainingLogs?: boolean;
}

export type GradientProvider = (opts: AnalyzeOptions, ctx: { token?: CancelToken; onProgress?: ProgressFn }) => Promise<GradientInputs>;
