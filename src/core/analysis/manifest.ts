/**
 * A sweep written by the sweep lab carries a `sweep.json` that names the checkpoint it started from and
 * its training data. Reading it lets `heatcap analyze <sweep>` predict without any flag. Flags and
 * settings always win over the manifest. Only regular files are accepted (never a device or a FIFO,
 * which could hang a reader); the readers themselves cap what they allocate.
 */
import { realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseJsonLenient } from '../logs/json-lenient';
import { readModelJsonFile } from '../model/fs-io';
import type { AnalyzeOptions } from './options';

export interface SweepManifestDefaults {
  file: string;
  model?: string;
  data?: string;
  labels?: string;
  loss?: string;
  startedAtCheckpoint?: boolean;
}

/** Resolves `p` against the manifest's folder; undefined unless it names an existing regular file. */
async function regularFile(base: string, p: unknown): Promise<string | undefined> {
  if (typeof p !== 'string' || p === '' || p.length > 4096) return undefined;
  const abs = resolve(base, p);
  const st = await stat(abs).catch(() => undefined);
  return st?.isFile() ? abs : undefined;
}

/** Reads `<sweepDir>/sweep.json` when present. */
export async function readSweepManifest(sweepDir: string): Promise<SweepManifestDefaults | undefined> {
  const file = join(sweepDir, 'sweep.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let raw: unknown;
  try {
    raw = parseJsonLenient(text);
  } catch {
    return undefined; // discovery already reports a malformed manifest
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  const base = dirname(file);
  return {
    file,
    model: await regularFile(base, m.checkpoint),
    data: await regularFile(base, m.data),
    labels: await regularFile(base, m.labels),
    loss: typeof m.loss === 'string' ? m.loss : undefined,
    startedAtCheckpoint: m.started_at_checkpoint === true ? true : undefined,
  };
}

function hasOwnLoss(modelFile: string): boolean {
  try {
    // Keras/tfjs record it in trainingConfig; our own saver in userDefinedMetadata (see model/load.ts).
    const mj = readModelJsonFile(modelFile);
    const loss = (mj.trainingConfig as { loss?: unknown } | undefined)?.loss ?? (mj.userDefinedMetadata as { loss?: unknown } | undefined)?.loss;
    return loss !== undefined && loss !== null;
  } catch {
    return false; // the engine reports an unreadable model.json, naming it
  }
}

/** Two paths name the same existing file (symbolic links and `..` resolved). */
function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Options for one unit: the user's, with the manifest filling only what the user left unset. */
export function withManifestDefaults(opts: AnalyzeOptions, m: SweepManifestDefaults | undefined): AnalyzeOptions {
  if (!m) return opts;
  if (!m.model || !m.data) return opts;
  if (opts.model) {
    // An explicit checkpoint: the manifest's data would not belong to it — unless it is the very
    // checkpoint (and data) the sweep started from, as when the extension's settings name it; then the
    // sweep's started_at_checkpoint still holds (the secant fit of THEORY.md §5).
    const same = sameFile(opts.model, m.model) && (!opts.data || sameFile(opts.data, m.data));
    return same ? { ...opts, data: opts.data ?? m.data, labels: opts.labels ?? m.labels, startedAtCheckpoint: opts.startedAtCheckpoint ?? m.startedAtCheckpoint } : opts;
  }
  return {
    ...opts,
    model: m.model,
    data: m.data,
    labels: m.labels ?? opts.labels,
    // The manifest's loss only fills a gap: a loss recorded in model.json is the checkpoint's own.
    loss: opts.loss ?? (hasOwnLoss(m.model) ? undefined : m.loss),
    startedAtCheckpoint: opts.startedAtCheckpoint ?? m.startedAtCheckpoint,
  };
}
