/**
 * The run model: what every log reader produces and everything downstream (stats, analysis, the runs
 * view, the language server) consumes. One run = one training run = one learning-rate setting (or one
 * schedule). Plain data only, so it crosses worker and webview boundaries as JSON.
 */

export type LogFormat = 'tfevents' | 'csv' | 'jsonl' | 'trainer_state' | 'mlflow' | 'mlflow_sqlite' | 'yolo' | 'wandb';

/** SGD's way of drawing minibatches; it decides which prediction applies (THEORY.md §2–3). */
export type Sampling = 'with_replacement' | 'without_replacement' | 'reshuffle';

/** A value together with where it was found, e.g. `hparams.yaml: lr` or `directory name "lr_0.01"`. */
export interface Sourced<T> {
  value: T;
  source: string;
}

/**
 * Hyperparameters that decide the predicted slope. Each is absent when no source states it: a reader
 * must never invent a value (Keras runs that log no learning rate have `lr` absent, not 0.01).
 */
export interface RunHparams {
  lr?: Sourced<number>;
  batch_size?: Sourced<number>;
  momentum?: Sourced<number>;
  dampening?: Sourced<number>;
  nesterov?: Sourced<boolean>;
  /** Lower-case optimizer family as written by the source: `sgd`, `adam`, `adamw`, `rmsprop`, … */
  optimizer?: Sourced<string>;
  weight_decay?: Sourced<number>;
  sampling?: Sourced<Sampling>;
  dataset_size?: Sourced<number>;
  /** Every hyperparameter seen, under its original key, for display. */
  raw: Record<string, Sourced<string | number | boolean>>;
}

/** One scalar tag's time series, sorted by step, a repeated step resolved by the last write. */
export interface ScalarSeries {
  steps: number[];
  values: number[];
  /** Seconds since the epoch, when the format records it. */
  wallTimes?: number[];
}

export interface RunWarning {
  /** The file the warning is about, absolute. */
  file?: string;
  message: string;
}

export interface Run {
  /** Stable identifier: the run's path relative to the discovery root (posix separators), or '.'. */
  id: string;
  /** Path relative to the discovery root, posix separators ('.' when the root itself is the run). */
  path: string;
  /** Absolute path of the run directory (or of the single file for formats that are one file). */
  absPath: string;
  /** Display name: usually the run directory's base name. Untrusted text: escape before showing. */
  name: string;
  format: LogFormat;
  /** Absolute paths of the log files this run was read from. */
  files: string[];
  hparams: RunHparams;
  /** Scalar tags. Evaluation tags keep their own names (`eval_loss`, `validation/epoch_loss`, …). */
  scalars: Record<string, ScalarSeries>;
  /** Name of the tag holding a logged learning-rate series (a schedule), when there is one. */
  lrTag?: string;
  /** What the steps count when the format says: optimizer steps, or epochs (Keras CSVLogger rows). */
  stepUnit?: 'step' | 'epoch';
  warnings: RunWarning[];
}

/** Runs that differ only in learning rate, analysed together as one loss-vs-η sweep. */
export interface Sweep {
  id: string;
  /** Common parent directory of the runs, relative to the discovery root. */
  path: string;
  name: string;
  runIds: string[];
}

/** Summary of one tag, as printed by `heatcap runs --json`. */
export interface TagSummary {
  count: number;
  first_step: number | null;
  last_step: number | null;
  last_value: number | null;
}

export function emptyHparams(): RunHparams {
  return { raw: {} };
}
