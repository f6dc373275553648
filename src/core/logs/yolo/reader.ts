import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CancelledError } from '../../errors';
import type { RunWarning, ScalarSeries } from '../../runs/model';
import { isEventFileName, readCsvLog, readTfeventsLog } from '../read';
import { flattenParams, type LogData, type ParamSource, type ReadOptions } from '../types';
import { parseYamlPlain } from './yaml';

/**
 * An Ultralytics/YOLO run folder (`runs/train/exp*` of YOLOv5, `runs/detect/train*` of YOLOv8 and later):
 * `results.csv` (one row per epoch, headers padded with spaces), the hyperparameter files (`hyp.yaml`
 * and `opt.yaml` of YOLOv5, `args.yaml` of Ultralytics ≥ 8) and the TensorBoard event file, all in the
 * one folder. They are one run: results.csv and the event file hold the same per-epoch values, so each
 * tag is taken from one of them, never both.
 */

/** Hyperparameter files, most authoritative first: hyp.yaml holds the hyperparameters YOLOv5 trained with. */
export const YOLO_PARAM_FILES = ['hyp.yaml', 'args.yaml', 'opt.yaml'];
const MAX_YAML_BYTES = 1024 * 1024;

/** A YOLO hyperparameter file, told from other YAML by its keys (`lr0`, or opt.yaml's `hyp`). */
export function looksLikeYoloParams(name: string, text: string): boolean {
  if (name === 'hyp.yaml' || name === 'args.yaml') return /^\s*lr0\s*:/m.test(text);
  if (name === 'opt.yaml') return /^hyp\s*:/m.test(text) && /^(weights|cfg|epochs)\s*:/m.test(text);
  return false;
}

export async function readYoloParams(dir: string, names: Set<string>): Promise<{ sources: ParamSource[]; warnings: RunWarning[]; files: string[] }> {
  const sources: ParamSource[] = [];
  const warnings: RunWarning[] = [];
  const files: string[] = [];
  for (const name of YOLO_PARAM_FILES) {
    if (!names.has(name)) continue;
    const file = join(dir, name);
    try {
      if ((await stat(file)).size > MAX_YAML_BYTES) {
        warnings.push({ file, message: `larger than ${MAX_YAML_BYTES} bytes; not read for hyperparameters` });
        continue;
      }
      const doc = parseYamlPlain(await readFile(file, 'utf8'));
      files.push(file);
      sources.push({ label: name, file, values: flattenParams(doc) });
    } catch (e) {
      warnings.push({ file, message: `could not be parsed for hyperparameters (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` });
    }
  }
  return { sources, warnings, files };
}

function longest(scalars: Record<string, ScalarSeries>): number {
  let n = 0;
  for (const s of Object.values(scalars)) n = Math.max(n, s.steps.length);
  return n;
}

export async function readYoloRun(dir: string, opts: ReadOptions = {}): Promise<LogData> {
  const names = new Set((await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name));
  const params = await readYoloParams(dir, names);
  const warnings: RunWarning[] = [...params.warnings];
  const files = [...params.files];
  const csv = names.has('results.csv') ? await readCsvLog(join(dir, 'results.csv'), opts) : undefined;
  const hasEvents = [...names].some(isEventFileName);
  const events = hasEvents ? await readTfeventsLog(dir, [{ dir, prefix: '' }], opts) : undefined;
  if (opts.shouldStop?.()) throw new CancelledError();
  if (csv) {
    files.push(...csv.files);
    warnings.push(...csv.warnings);
  }
  if (events) {
    files.push(...events.files);
    warnings.push(...events.warnings);
  }
  // results.csv first (Ultralytics writes it every epoch, with the learning rates); the event file only
  // when it holds more epochs. The other source adds the tags the first lacks, nothing else.
  const csvN = csv ? longest(csv.scalars) : 0;
  const evN = events ? longest(events.scalars) : 0;
  const [primary, secondary] = evN > csvN ? [events, csv] : [csv, events];
  const scalars: Record<string, ScalarSeries> = { ...(primary?.scalars ?? {}) };
  let shared = 0;
  for (const [tag, s] of Object.entries(secondary?.scalars ?? {})) {
    if (tag in scalars) shared++;
    else scalars[tag] = s;
  }
  if (primary && secondary && shared > 0) {
    const p = primary === csv ? 'results.csv' : 'the event file';
    const s = primary === csv ? 'the event file' : 'results.csv';
    warnings.push({ file: join(dir, 'results.csv'), message: `results.csv and the event file both log ${shared} tag(s): each read once, from ${p} (${Math.max(csvN, evN)} epochs; ${s} has ${Math.min(csvN, evN)})` });
  }
  if (Object.keys(scalars).length === 0) {
    warnings.push({ file: dir, message: `holds hyperparameters only (${params.files.length ? params.files.map((f) => basename(f)).join(', ') : 'no readable YAML'}; no epoch logged yet): listed as a run with no points` });
  }
  // Hyperparameters the event file states (hparams plugin) come after the YAML files.
  return { format: 'yolo', files, scalars, params: [...params.sources, ...(events?.params ?? [])], warnings, stepUnit: 'epoch' };
}
