import type { LogFormat, RunWarning, ScalarSeries } from '../runs/model';

/** A hyperparameter value as a log states it, before any interpretation. */
export type ParamValue = string | number | boolean;

/** One place a run's hyperparameters are stated, e.g. the hparams plugin of an event file. */
export interface ParamSource {
  /** Where, in words shown to the user: `hparams plugin (train/events.out.tfevents…)`, `MLflow params`. */
  label: string;
  file?: string;
  /** Flat key → value; nested keys joined with '.'. */
  values: Record<string, ParamValue>;
}

/** What a format reader returns: the run's data before discovery gives it an id and resolves hparams. */
export interface LogData {
  format: LogFormat;
  /** Absolute paths of the files read. */
  files: string[];
  scalars: Record<string, ScalarSeries>;
  /** Hyperparameter sources in the format itself, most authoritative first. */
  params: ParamSource[];
  warnings: RunWarning[];
  /** What the steps count, when the format says: optimizer steps or epochs. */
  stepUnit?: 'step' | 'epoch';
  /** A display name the format itself records (MLflow `run_name`). */
  name?: string;
}

/** Options every reader accepts. */
export interface ReadOptions {
  /** Checked between chunks: return true to stop (the caller then throws CancelledError). */
  shouldStop?: () => boolean;
  maxRecordBytes?: number;
}

/** Flattens nested objects into `a.b.c` keys, keeping string, number and boolean leaves. */
export function flattenParams(obj: unknown, sep = '.', prefix = '', out: Record<string, ParamValue> = Object.create(null), depth = 0): Record<string, ParamValue> {
  if (depth > 16 || obj === null || typeof obj !== 'object' || Array.isArray(obj)) return out;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}${sep}${k}` : k;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) flattenParams(v, sep, key, out, depth + 1);
  }
  return out;
}
