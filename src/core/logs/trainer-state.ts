import { readFile, stat } from 'node:fs/promises';
import { HeatcapError } from '../errors';
import { parseJsonLenient } from './json-lenient';
import { SeriesSet } from './series';
import type { LogData, ParamValue } from './types';

/**
 * HuggingFace `Trainer` state (`trainer_state.json`). `log_history` mixes three kinds of entries, which
 * are kept apart:
 *  - training entries (`loss`, `learning_rate`, `grad_norm`, … at `step`): tags as written;
 *  - evaluation entries (every key with an `eval_` or custom `eval_<set>_` prefix): tags as written, so
 *    `eval_loss` and `eval_g0_loss` stay distinct series even when logged at the same step;
 *  - the final summary (`train_runtime`, `train_loss` averaged over the whole run, …): `summary/<key>`,
 *    so the run average is never mistaken for a training-loss series.
 * Top-level settings (`train_batch_size`, `num_train_epochs`, `max_steps`, …) are its parameters.
 */

const MAX_BYTES = 512 * 1024 * 1024;
const SUMMARY_MARKERS = ['train_runtime', 'train_samples_per_second', 'train_steps_per_second', 'total_flos'];
const NOT_TAGS = new Set(['step']);

/** Reads and checks a trainer state file; throws HeatcapError naming it when it is not one. */
export async function loadTrainerState(file: string): Promise<Record<string, unknown> & { log_history: unknown[] }> {
  const size = (await stat(file)).size;
  if (size > MAX_BYTES) throw new HeatcapError(file, `trainer state of ${size} bytes is larger than the ${MAX_BYTES}-byte limit`);
  let doc: unknown;
  try {
    doc = parseJsonLenient(await readFile(file, 'utf8'));
  } catch (e) {
    throw new HeatcapError(file, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as { log_history?: unknown }).log_history)) {
    throw new HeatcapError(file, 'not a HuggingFace trainer state: no "log_history" array');
  }
  return doc as Record<string, unknown> & { log_history: unknown[] };
}

/** Emits the points of `log_history[from…]`; returns how many entries had no numeric step. */
export function trainerStatePoints(history: unknown[], from: number, push: (tag: string, step: number, value: number) => void): number {
  let skipped = 0;
  for (let i = from; i < history.length; i++) {
    const entry = history[i];
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      skipped++;
      continue;
    }
    const e = entry as Record<string, unknown>;
    const step = e.step;
    if (typeof step !== 'number' || !Number.isFinite(step)) {
      skipped++;
      continue;
    }
    const isSummary = SUMMARY_MARKERS.some((k) => k in e);
    for (const [k, v] of Object.entries(e)) {
      if (NOT_TAGS.has(k) || typeof v !== 'number') continue;
      push(isSummary ? `summary/${k}` : k, step, v);
    }
  }
  return skipped;
}

export async function readTrainerState(file: string): Promise<LogData> {
  const state = await loadTrainerState(file);
  const series = new SeriesSet();
  const skipped = trainerStatePoints(state.log_history, 0, (tag, step, value) => series.push(tag, step, value));
  const values: Record<string, ParamValue> = Object.create(null);
  for (const [k, v] of Object.entries(state)) {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') values[k] = v;
  }
  return {
    format: 'trainer_state',
    files: [file],
    scalars: series.finish(),
    params: [{ label: 'trainer_state.json', file, values }],
    warnings: skipped ? [{ file, message: `${skipped} log_history entr(ies) without a numeric step were skipped` }] : [],
    stepUnit: 'step',
  };
}
