import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { readCsvLog, readJsonlLog, readTfeventsLog } from '../logs/read';
import { readMlflowRun } from '../logs/mlflow';
import { readTrainerState } from '../logs/trainer-state';
import { readWandbRun } from '../logs/wandb/reader';
import { readMlflowSqlite } from '../logs/mlflow-sqlite/reader';
import { readYoloRun } from '../logs/yolo/reader';
import type { LogData, ReadOptions } from '../logs/types';
import { resolveHparams } from './hparams';
import type { Run, RunWarning } from './model';
import type { RunPlan } from './plan';
import { readSideFiles } from './side-files';

/**
 * Reads one planned run and resolves its hyperparameters. An event-file folder with nothing in it for
 * us comes back as `skipped` with the reason (an hparams experiment definition, a profile, empty files).
 */
export async function buildRun(plan: RunPlan, root: string, rootName: string, opts: ReadOptions & { lrKeys?: readonly string[] } = {}): Promise<{ run: Run; skipped?: undefined } | { run?: undefined; skipped: string }> {
  let data: LogData;
  switch (plan.format) {
    case 'tfevents': {
      const d = await readTfeventsLog(plan.abs, plan.parts, opts);
      if (Object.keys(d.scalars).length === 0 && d.params.length === 0) {
        return {
          skipped: d.experimentOnly
            ? 'event files hold only an hparams experiment definition (its trials are in sub-folders); not a run'
            : 'event files hold no scalars and no hyperparameters; not a run',
        };
      }
      data = d;
      break;
    }
    case 'csv':
      data = await readCsvLog(plan.file, opts);
      break;
    case 'jsonl':
      data = await readJsonlLog(plan.file, opts);
      break;
    case 'trainer_state':
      data = await readTrainerState(plan.file);
      break;
    case 'mlflow':
      data = await readMlflowRun(plan.abs, opts);
      break;
    case 'wandb':
      data = await readWandbRun(plan.abs, opts);
      break;
    case 'yolo':
      data = await readYoloRun(plan.abs, opts);
      break;
    case 'params_only':
      data = { format: 'csv', files: [], scalars: {}, params: [], warnings: [{ file: plan.abs, message: 'holds hyperparameters only (hparams.yaml, no metrics logged yet): listed as a run with no points' }] };
      break;
    case 'mlflow_sqlite':
      throw new Error('an MLflow SQLite store holds many runs: read it with buildRuns');
  }
  return { run: await finishRun(data, plan, root, rootName, opts) };
}

/**
 * Reads one planned entry into its runs: one for every format but MLflow's SQLite store, whose file holds
 * many (each listed as `<file>/<experiment id>/<run id>`, as the file store lays them out).
 */
export async function buildRuns(plan: RunPlan, root: string, rootName: string, opts: ReadOptions & { lrKeys?: readonly string[] } = {}): Promise<{ runs: Run[]; warnings: RunWarning[]; skipped?: string }> {
  if (plan.format !== 'mlflow_sqlite') {
    const b = await buildRun(plan, root, rootName, opts);
    return b.run ? { runs: [b.run], warnings: [] } : { runs: [], warnings: [], skipped: b.skipped };
  }
  const store = await readMlflowSqlite(plan.file, opts);
  const runs: Run[] = [];
  for (const r of store.runs) {
    const rel = `${plan.rel ? `${plan.rel}/` : ''}${r.experimentId}/${r.runUuid}`;
    const run = await finishRun(r.data, { rel, abs: plan.file }, root, rootName, opts, [r.runName ?? r.runUuid.slice(0, 8), r.experimentName]);
    runs.push(run);
  }
  if (runs.length === 0) return { runs, warnings: store.warnings, skipped: `MLflow database (schema ${store.schemaVersion}) holds no runs that are not deleted` };
  return { runs, warnings: store.warnings };
}

/** Resolves a read run's hyperparameters (its format's own, then side files, then names) and names it. */
async function finishRun(
  data: LogData,
  plan: { rel: string; abs: string; sideDir?: string },
  root: string,
  rootName: string,
  opts: { lrKeys?: readonly string[] },
  ownNames?: string[],
): Promise<Run> {
  const warnings = [...data.warnings];
  const sources = [...data.params];
  const sideDir = 'sideDir' in plan ? plan.sideDir : undefined;
  if (sideDir) {
    const names = new Set(await readdir(sideDir).catch(() => [] as string[]));
    const side = await readSideFiles(sideDir, (n) => names.has(n));
    sources.push(...side.sources);
    warnings.push(...side.warnings);
  }
  const path = plan.rel === '' ? '.' : plan.rel;
  const ownName = ownNames?.[0] ?? (plan.rel === '' ? rootName : basename(plan.abs));
  // Names on the way up to (not including) the discovery root, nearest first, for the name parse.
  const names = ownNames ? [...ownNames] : [ownName.replace(/\.(csv|log|jsonl|ndjson|json)$/i, '')];
  for (let p = dirname(plan.abs); p.length > root.length && p.startsWith(root); p = dirname(p)) names.push(basename(p));
  const resolved = resolveHparams({ sources, scalars: data.scalars, names, lrKeys: opts.lrKeys });
  for (const note of resolved.notes) warnings.push({ file: sideDir ?? plan.abs, message: note });
  const run: Run = {
    id: path,
    path,
    absPath: plan.abs,
    name: data.name ?? ownName,
    format: data.format,
    files: data.files,
    hparams: resolved.hparams,
    scalars: data.scalars,
    warnings,
  };
  if (resolved.lrTag) run.lrTag = resolved.lrTag;
  if (data.stepUnit) run.stepUnit = data.stepUnit;
  return run;
}
