/**
 * The versioned analysis result: the one JSON shape shared by `heatcap analyze --json`, the analysis
 * panel, the HTML/Markdown reports and the language server. `analysis-result.schema.json` beside this
 * file is its JSON Schema; a test keeps the two in step.
 *
 * Conventions: snake_case keys (the CLI contract), `null` for a number that is unknown or undefined
 * (never NaN/Infinity, which JSON cannot carry), learning rates in the optimizer's own units, slopes in
 * loss units per unit of η.
 *
 * Version policy: bump the minor version when fields are added, the major when a field changes meaning
 * or disappears. Readers accept any 1.x.
 */
export const SCHEMA_VERSION = '1.2.0';

export type Severity = 'info' | 'warning' | 'error';

export interface ResultWarning {
  /** Stable machine-readable code, e.g. `not_stationary`, `reshuffle_linear_law_fails`, `far_from_optimum`. */
  code: string;
  severity: Severity;
  message: string;
  file?: string;
  run?: string;
}

/** One run's converged loss, the unit of a loss-vs-η sweep. */
export interface ObservedPoint {
  run: string;
  name: string;
  lr: number | null;
  /** Mean of the chosen tag over the stationary tail. */
  loss: number | null;
  /** Standard error of `loss` (batch means or effective sample size, never √n on correlated data). */
  stderr: number | null;
  /** Number of logged values in the tail that was averaged. */
  n_used: number;
  stationary: boolean;
  used_in_fit: boolean;
  /** Why the point was left out of the fit (diverged, trend, beyond the linear range, no η …). */
  excluded_reason?: string;
  /** `diverged`, `too_short`, `trend`, `nan_values`, … */
  flags: string[];
}

/** A learning-rate step change inside one run and the loss drop it caused (THEORY.md §5). */
export interface ScheduleEvent {
  run: string;
  step: number;
  lr_before: number;
  lr_after: number;
  loss_before: number | null;
  loss_after: number | null;
  loss_before_stderr: number | null;
  loss_after_stderr: number | null;
  /** ΔL/Δη = (loss_before − loss_after)/(lr_before − lr_after). */
  slope: number | null;
  slope_stderr: number | null;
  /** False when the level after the change had not settled before the next change or the end. */
  settled: boolean;
}

export interface ObservedFit {
  method: 'wls_sweep' | 'schedule_events' | 'none';
  n_points: number;
  /** Weighted residual sum of squares and its degrees of freedom (linear-fit adequacy). */
  chi2: number | null;
  dof: number | null;
  p_value: number | null;
  /** Largest η kept in the fit (points above it were judged beyond the linear range). */
  lr_max_used: number | null;
  /** Quadratic coefficient of a WLS fit L = a + sη + qη² over all points, when it was computed. */
  quadratic: { q: number; q_stderr: number } | null;
  notes: string[];
}

export interface Observed {
  tag: string | null;
  /** Why this tag was chosen (e.g. "epoch-mean training loss preferred over per-step minibatch loss"). */
  tag_reason: string;
  points: ObservedPoint[];
  slope: number | null;
  slope_stderr: number | null;
  intercept: number | null;
  intercept_stderr: number | null;
  /** Cov(intercept, slope) of the fit, for the line's confidence band; optional (added in 1.1). */
  slope_intercept_cov?: number | null;
  fit: ObservedFit;
  events: ScheduleEvent[];
}

export type PredictionRegime =
  /** The linear law applies: observed slope should match `slope`. */
  | 'linear'
  /** Random reshuffling: slope suppressed at small η; `slope` is the reshuffle estimate, `upper_bound` the i.i.d. one. */
  | 'reshuffle_suppressed'
  /** No finite slope (e.g. scale-invariant weights with weight decay). */
  | 'no_finite_slope';

export interface Predicted {
  slope: number | null;
  trace_cov: number;
  mean_sq_norm: number;
  mean_grad_sq_norm: number;
  /** Minibatch size B; null when no source states it (then `slope` is null too). */
  batch_size: number | null;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  sampling: 'with_replacement' | 'without_replacement' | 'reshuffle';
  optimizer: string;
  weight_decay: number;
  dataset_size: number | null;
  /** Identifier of the THEORY.md §2 row used, e.g. `iid_with_replacement`, `heavy_ball`, `adam_diag`. */
  formula_id: string;
  /** The formula shown to the user, with its numbers: "s = tr Σ /(4B) · (1−d)/(1−β) = 1.77/(4·8) = 0.0554". */
  formula: string;
  assumptions: string[];
  regime: PredictionRegime;
  /** For reshuffling: the i.i.d. figure, an upper bound on the small-η slope. */
  upper_bound: number | null;
  /** Quadratic-model prediction of L(η) − L* under reshuffling, when the model was small enough. */
  reshuffle_curve: { lr: number[]; excess: number[] } | null;
  /** Learning rate above which the prediction is meaningless (stability), when known. */
  stability_lr: number | null;
  /** Beyond the small-η slope: sharp directions, stability limits and the predicted L(η) curve (added in 1.2). */
  finite_eta?: FiniteEta | null;
  /** Where B, β, sampling, optimizer came from (`flag --batch-size`, `hparams.yaml: batch_size`, `default`). */
  sources: Record<string, string>;
}

/**
 * The finite-η prediction (issue 20, THEORY.md §4 and §6): top Hessian eigenpairs, the deterministic and
 * mean-square stability limits, and the predicted excess loss L(η) − L* across η. Added in 1.2.
 */
export interface FiniteEta {
  /**
   * `ok`: limits and curve below; `not_near_minimum`: negative curvature among the top directions or ‖ḡ‖²
   * not small against E‖g_b‖² (no curve); `not_converged`: the eigen-solver's residuals are too large (no
   * numbers); `unsupported`: optimiser or sampling without a finite-η model (Adam, reshuffling); `skipped`.
   */
  status: 'ok' | 'not_near_minimum' | 'not_converged' | 'unsupported' | 'skipped';
  message: string;
  parameters: number | null;
  /** k: number of Hessian directions the curve accounts for beyond leading order. */
  directions: number;
  /** `dense_eigen`, `lanczos`, …, and how Hessian-vector products were formed. */
  method: string | null;
  hvp: string | null;
  /** Top Ritz values of H (descending) with relative residuals ‖Hv − λv‖/|λ_1|. */
  eigenvalues: { value: number; residual: number }[];
  limits: {
    /** 2/λ_max with the momentum/Nesterov factors and coupled weight decay (stability.ts). */
    deterministic: number | null;
    /** η where the spectral radius of the second-moment map (in the top-k subspace) reaches 1. */
    mean_square: number | null;
  };
  /** `second_moment_full` (k = P, exact for a quadratic), `gaussian_closure_full` (k = P, corrected for a non-quadratic loss), `second_moment_subspace`, `additive`, or null. */
  form: string | null;
  /** L(η) − L* on a grid up to just below the mean-square limit, in three forms: the curve, the linear law, the additive per-direction form. */
  curve: { lr: number[]; excess: number[]; linear: number[]; additive: number[] } | null;
  /** Cost of the curvature computation as a multiple of one per-example-norm pass. */
  cost_gradient_passes: number | null;
  seconds: number | null;
  notes: string[];
}

export interface GradNormSummary {
  n: number;
  mean_loss: number;
  mean_sq_norm: number;
  mean_grad_sq_norm: number;
  trace_cov: number;
  per_weight: { name: string; mean_sq_norm: number; size: number }[];
  top: { index: number; sq_norm: number; label?: number | string }[];
  /** Histogram of log10 ‖g_b‖² (zero norms counted in `zeros`). */
  histogram: { log10_edges: number[]; counts: number[]; zeros: number };
  backend: string;
  engine: string;
  seconds: number;
  model: string;
  data: string;
  /**
   * Where the statistics came from: `engine` (computed here), `gradstats.json (<path>)` (heatcap_torch), or
   * `logged gradient noise (tags …), along the trajectory, not at Φ*` (training logs, src/core/noise).
   */
  source?: string;
  /** Set when tr Σ was estimated from gradient noise logged during training (added in 1.1). */
  logged_noise?: LoggedNoiseSummary;
}

/** tr Σ from gradient-noise scalars in the training logs (McCandlish et al. 2018, app. A): along the trajectory, not at Φ*. */
export interface LoggedNoiseSummary {
  /** `two_batch_sizes`, `logged_trace_cov` or `b_simple_and_grad_norm`. */
  method: string;
  tags: string[];
  trace_cov_stderr: number | null;
  /** ‖G‖² along the trajectory (O(η) at stationarity), when the logs allow it. */
  grad_sq_norm: number | null;
  grad_sq_norm_stderr: number | null;
  /** How the runs' estimates were combined. */
  combination: string;
  runs: { run: string; lr: number | null; trace_cov: number; trace_cov_stderr: number | null; n_used: number; tail_start_step: number | null; stationary: boolean }[];
  caveat: string;
}

/** Everything the panel and the runs view need to draw one run. */
export interface RunSummary {
  id: string;
  name: string;
  path: string;
  format: string;
  lr: number | null;
  lr_source: string | null;
  batch_size: number | null;
  momentum: number | null;
  tag: string | null;
  converged_loss: number | null;
  converged_stderr: number | null;
  stationary: boolean | null;
  /** The chosen tag's series, downsampled for drawing (at most ~2,000 points). */
  curve: { steps: number[]; values: (number | null)[] };
  /** The logged learning-rate series when there is one (schedules). */
  lr_curve: { steps: number[]; values: number[] } | null;
  warnings: string[];
}

export type VerdictStatus = 'agree' | 'disagree' | 'not_comparable' | 'no_prediction' | 'no_observation';

export interface AnalysisResult {
  schema_version: string;
  tool: { name: 'heatcap'; version: string };
  generated_at: string;
  /** The analysed folder, absolute. */
  root: string;
  sweep: { id: string; name: string; path: string } | null;
  observed: Observed;
  predicted: Predicted | null;
  /** observed slope / predicted slope. */
  ratio: number | null;
  /** 95% interval for the ratio. */
  ratio_ci: [number, number] | null;
  verdict: { status: VerdictStatus; message: string };
  gradnorms: GradNormSummary | null;
  runs: RunSummary[];
  warnings: ResultWarning[];
}
