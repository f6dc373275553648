import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { throwIfCancelled, type CancelToken, type ProgressFn } from '../cancel';
import { CancelledError, HeatcapError, describeError } from '../errors';
import { buildRuns } from './build';
import type { Run, RunWarning, Sweep } from './model';
import { compileGlobs, isIncluded } from './globs';
import { planRuns, sniffMlflowSqlite, sniffTextLog, type Plan } from './plan';
import { groupSweeps } from './sweeps';
import { DEFAULT_MAX_DEPTH, MAX_DIRS, walk } from './walk';
import { isEventFileName } from '../logs/read';

export interface DiscoverOptions {
  /** Folder levels below the root to look into (default 8). */
  maxDepth?: number;
  token?: CancelToken;
  onProgress?: ProgressFn;
  /** Runs read at the same time (default 8). */
  concurrency?: number;
  /**
   * Glob patterns relative to the root (minimatch, posix `/`): only runs whose folder, or a folder
   * above it, matches one are kept. Empty or absent keeps every run.
   */
  include?: readonly string[];
  /** Glob patterns of folders and files never searched (the walk does not enter them). */
  exclude?: readonly string[];
  /** Hyperparameter keys read as η before the built-in aliases, in order of preference. */
  lrKeys?: readonly string[];
}

export interface Discovery {
  runs: Run[];
  sweeps: Sweep[];
  /** Problems that belong to no run: unreadable folders, skipped files, bad manifests. */
  warnings: RunWarning[];
}

/** Why a path cannot be read, in words: a symbolic-link loop or a dangling link is not "no such file". */
export function statError(path: string, e: NodeJS.ErrnoException): never {
  if (e.code === 'ELOOP') throw new HeatcapError(path, 'is a loop of symbolic links');
  if (e.code === 'EACCES' || e.code === 'EPERM') throw new HeatcapError(path, 'cannot be read (permission denied)');
  throw new HeatcapError(path, 'no such file or folder');
}

/**
 * Finds every run under `root` (a folder, or one log file), reads it, resolves its hyperparameters and
 * groups the runs into sweeps. A run that cannot be read becomes a warning, never a thrown error;
 * only an unusable `root` itself (missing, or holding no logs at all when it is a file) or an unusable
 * include/exclude pattern throws. The patterns apply to a folder root only.
 */
export async function discoverRuns(root: string, opts: DiscoverOptions = {}): Promise<Discovery> {
  const absRoot = resolve(root);
  const st = await stat(absRoot).catch((e: NodeJS.ErrnoException) => statError(absRoot, e));
  const include = compileGlobs(opts.include ?? [], 'include pattern');
  const exclude = compileGlobs(opts.exclude ?? [], 'exclude pattern');
  let plan: Plan;
  let rootName = basename(absRoot);
  const warnings: RunWarning[] = [];
  if (st.isFile()) {
    plan = await planFile(absRoot);
    rootName = basename(absRoot);
  } else {
    opts.onProgress?.({ message: 'listing folders' });
    const w = await walk(absRoot, opts.maxDepth ?? DEFAULT_MAX_DEPTH, opts.token, exclude);
    if (w.truncated) warnings.push({ file: absRoot, message: `more than ${MAX_DIRS} folders; the rest were not searched (lower the depth or pick a sub-folder)` });
    for (const u of w.unreadable) warnings.push({ file: u.abs, message: `folder could not be read (${u.message})` });
    plan = await planRuns(w.dirs);
    if (include.length > 0) {
      plan = { runs: plan.runs.filter((p) => isIncluded(p.rel, include)), manifests: plan.manifests.filter((m) => isIncluded(m.rel, include)) };
    }
  }
  throwIfCancelled(opts.token);

  const runs: (Run[] | undefined)[] = new Array(plan.runs.length);
  let next = 0;
  let done = 0;
  const shouldStop = (): boolean => opts.token?.isCancellationRequested === true;
  const worker = async (): Promise<void> => {
    while (next < plan.runs.length) {
      const i = next++;
      const p = plan.runs[i];
      try {
        const built = await buildRuns(p, st.isFile() ? dirname(absRoot) : absRoot, rootName, { shouldStop, lrKeys: opts.lrKeys });
        runs[i] = built.runs;
        warnings.push(...built.warnings);
        if (built.skipped) warnings.push({ file: p.abs, message: built.skipped });
      } catch (e) {
        if (e instanceof CancelledError) throw e;
        const file = e instanceof HeatcapError ? e.file : p.abs;
        warnings.push({ file, message: `run skipped: ${e instanceof HeatcapError ? e.what : describeError(e)}` });
      }
      done++;
      opts.onProgress?.({ fraction: done / plan.runs.length, message: p.rel || '.' });
      throwIfCancelled(opts.token);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  throwIfCancelled(opts.token);
  const found = runs.flatMap((r) => r ?? []);
  const grouped = await groupSweeps(found, plan.manifests, rootName);
  // A lab sweep's CSV copies mirror its event-file runs: list each run once.
  const listed = found.filter((r) => !grouped.mirrors.has(r.id));
  return { runs: listed, sweeps: grouped.sweeps, warnings: [...warnings, ...grouped.warnings] };
}

/** A single log file given as the root: its format from its name and first line. */
async function planFile(file: string): Promise<Plan> {
  const name = basename(file);
  // A TensorBoard run is a folder: an event file stands for the folder holding it.
  if (isEventFileName(name)) return { runs: [{ format: 'tfevents', rel: '', abs: dirname(file), parts: [{ dir: dirname(file), prefix: '' }], sideDir: dirname(file) }], manifests: [] };
  // A W&B run log stands for its run folder.
  if (name.endsWith('.wandb')) return { runs: [{ format: 'wandb', rel: '', abs: dirname(file) }], manifests: [] };
  if (await sniffMlflowSqlite(file)) return { runs: [{ format: 'mlflow_sqlite', rel: '', abs: file, file }], manifests: [] };
  if (name === 'trainer_state.json') return { runs: [{ format: 'trainer_state', rel: '', abs: dirname(file), file, sideDir: dirname(file) }], manifests: [] };
  const format = await sniffTextLog(file);
  if (!format) throw new HeatcapError(file, 'not a recognised log (expected a CSV with a step/epoch column, a JSONL file with a step key, trainer_state.json or an MLflow SQLite database)');
  return { runs: [{ format, rel: '', abs: file, file }], manifests: [] };
}
