import type { EngineFlag } from '../gradnorm/job';
import type { Sampling } from '../runs/model';

/**
 * What a user can state about an analysis, from CLI flags or extension settings. Every field is
 * optional: absent means "take it from the run hyperparameters, else the documented default".
 */
export interface AnalyzeOptions {
  /** Folder to analyse (a sweep, a single run, or a tree containing several sweeps). */
  root: string;
  /** Analyse only this sweep (its id from discovery) when `root` holds several. */
  sweepId?: string;
  /** Scalar tag to use as the training loss (default: chosen automatically and reported). */
  tag?: string;
  /**
   * Per-example gradient statistics computed elsewhere (heatcap_torch's gradstats.json): used instead of
   * running the engine on `model`. Found automatically in a sweep or run folder, or beside a checkpoint
   * the engine cannot read, when neither this nor a readable model is given.
   */
  gradstats?: string;
  /**
   * Without a checkpoint or gradstats.json, predict from gradient noise the runs logged during training
   * (src/core/noise: two-batch-size norms or a trace_cov series), estimated along the trajectory, not at
   * Φ*. Default true; false turns it off.
   */
  loggedNoise?: boolean;
  /** Checkpoint at the optimum and its training data, for the prediction. */
  model?: string;
  data?: string;
  labels?: string;
  loss?: string;
  backend?: 'auto' | 'wasm' | 'node' | 'cpu';
  /**
   * Gradient engine: `auto` (ONNX Runtime; TF.js' per-example loop for a model.json it cannot express),
   * `onnx`, `onnx-loop`, `naive`; `vectorized` is deprecated and runs `auto` (gradnorm/job.ts resolveEngine).
   */
  engine?: EngineFlag;
  /** ONNX Runtime build for the ONNX engine: `auto` (native, else WebAssembly with a note), `native`, `wasm`. */
  runtime?: 'auto' | 'native' | 'wasm';
  /** Cross-entropy on softmax outputs: `exact` (from the logits, default) or tfjs-layers' `clipped` form. */
  lossSemantics?: 'exact' | 'clipped';
  /** Parameters SGD did not train (`--freeze`: names or module prefixes), left out of g_b (ONNX engine). */
  frozen?: readonly string[];
  /** Overrides of the training setup (win over run hyperparameters; recorded as `flag`/`setting` sources). */
  batchSize?: number;
  momentum?: number;
  dampening?: number;
  sampling?: Sampling;
  optimizer?: string;
  weightDecay?: number;
  /**
   * The finite-η prediction (issue 20, THEORY.md §4, §6): top Hessian eigenpairs at the checkpoint, the
   * deterministic and mean-square stability limits and the predicted L(η) − L* curve. Default true;
   * false (`--no-finite-eta`, `heatcap.finiteEta.enabled`) skips the curvature computation and the
   * result has no `finite_eta` block.
   */
  finiteEta?: boolean;
  /** Hessian directions k for the finite-η prediction (`--eigenpairs`, `heatcap.finiteEta.directions`; default 10). */
  eigenpairs?: number;
  /**
   * For a model that is one Dense layer (≤ FULL_SOLVE_MAX_PARAMETERS parameters): the finite-η curve by the
   * second-moment solve over every parameter instead of the top directions plus their first-order coupling
   * (`--finite-eta-full`, `heatcap.finiteEta.fullSolve`). Default false: it then runs only for layers of
   * ≤ FULL_SOLVE_DEFAULT_MAX_PARAMETERS (analysis/finiteEta.ts); it costs about 11 s of CPU on the
   * 650-parameter digits softmax (P³ per Lanczos step), too slow for every analysis.
   */
  finiteEtaFull?: boolean;
  /** Runs the user excluded from the fit (ids). */
  excludeRuns?: string[];
  /** Learning rates the user set for runs that do not record one (id → η). */
  lrOverrides?: Record<string, number>;
  /**
   * The sweep's runs started at the checkpoint, and the chosen tag is the full-training-set loss of the
   * same per-example loss: then the checkpoint's mean loss is L* = L(η → 0) and the slope comes from the
   * secants (L − L*)/η = s + qη (THEORY.md §5), far more precise than a free intercept.
   */
  startedAtCheckpoint?: boolean;
  /** Discovery depth limit. */
  maxDepth?: number;
  /** Discovery filters: glob patterns relative to `root` (see DiscoverOptions in src/core/runs/discover.ts). */
  include?: string[];
  exclude?: string[];
  /** Hyperparameter keys read as η before the built-in aliases, in order of preference. */
  lrKeys?: string[];
  /** Where the overrides came from, for provenance: 'flag' (CLI) or 'setting' (extension). */
  overrideSource?: 'flag' | 'setting';
}
