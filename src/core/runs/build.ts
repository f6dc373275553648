import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { readCsvLog, readJsonlLog, readTfeventsLog } from '../logs/read';
import { readMlflowRun } from '../logs/mlflow';
import { readTrainerState } from '../logs/trainer-state';
import { readWandbRun } from '../logs/wandb/reader';
import type { LogData, ReadOptions } from '../logs/types';
import { resolveHparams } from './hparams';
import type { Run } from './model';
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
  }
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
  const ownName = plan.rel === '' ? rootName : basename(plan.abs);
  // Names on the way up to (not including) the discovery root, nearest first, for the name parse.
  const names = [ownName.replace(/\.(csv|log|jsonl|ndjson|json)$/i, '')];
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
  return { run };
}
