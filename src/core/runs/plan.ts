import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LogFormat } from './model';
import { isEventFileName, type TfeventsPart } from '../logs/read';
import { sniffCsvHeader } from '../logs/csv/reader';
import { findStepKey } from '../logs/jsonl';
import { parseJsonLenient } from '../logs/json-lenient';
import type { DirListing } from './walk';
import { looksLikeYoloParams, YOLO_PARAM_FILES } from '../logs/yolo/reader';
import { isSqliteHeader } from '../logs/mlflow-sqlite/reader';
import { WANDB_RUN_DIR } from '../logs/wandb/reader';

/**
 * Turns a folder listing into a plan of runs: which folders and files are runs, in which format, and
 * which event-file folders belong together. Rules (README.md, "Training logs", repeats them for users):
 *  - a folder with `meta.yaml` and `metrics/` is an MLflow run;
 *  - a `run-*` or `offline-run-*` folder inside a `wandb/` folder, holding a `.wandb` log or `files/`, is a
 *    W&B run (its `files/` and `logs/` are part of it, never runs of their own);
 *  - a folder with `trainer_state.json` is a HuggingFace run (a `checkpoint-N/` copy is used only when
 *    the output folder has no state of its own, and then only the highest N);
 *  - a folder with event files is a TensorBoard run, except that Keras' `train/` and `validation/`
 *    sub-folders join their parent's run (validation tags prefixed `validation/`), and PyTorch's
 *    `add_hparams` sub-folder (named by a Unix timestamp) joins its parent's run;
 *  - a CSV or JSONL file with a step column/key is a run; it is named by its folder when it is the only
 *    log in that folder (Lightning's `version_0/metrics.csv`), else by its file name;
 *  - a folder with YOLO hyperparameter files (`hyp.yaml`/`opt.yaml`, or an `args.yaml` with `lr0`) is one
 *    Ultralytics/YOLO run: its `results.csv` and event files are read together, and it is a run (with no
 *    points) even when training stopped before the first epoch was logged; so is Lightning's
 *    `version_<N>/` holding only `hparams.yaml`;
 *  - an SQLite file with MLflow's tables (`mlflow.db`, or a `.db`/`.sqlite` file whose schema names
 *    `alembic_version`) is an MLflow SQL store: each of its runs is a run.
 */
export type RunPlan =
  | { format: 'tfevents'; rel: string; abs: string; parts: TfeventsPart[]; sideDir: string }
  | { format: 'csv' | 'jsonl'; rel: string; abs: string; file: string; sideDir?: string }
  | { format: 'trainer_state'; rel: string; abs: string; file: string; sideDir: string }
  | { format: 'mlflow'; rel: string; abs: string }
  | { format: 'wandb'; rel: string; abs: string }
  | { format: 'mlflow_sqlite'; rel: string; abs: string; file: string }
  | { format: 'yolo'; rel: string; abs: string }
  | { format: 'params_only'; rel: string; abs: string; sideDir: string };

export interface SweepManifestRef {
  rel: string;
  file: string;
}

export interface Plan {
  runs: RunPlan[];
  manifests: SweepManifestRef[];
}

/** Keras' TensorBoard callback writes one sub-folder per split. */
const KERAS_SPLITS = new Set(['train', 'validation', 'eval', 'val', 'test']);
/** PyTorch's `SummaryWriter.add_hparams` writes into `str(time.time())`. */
const TIMESTAMP_DIR = /^\d{9,11}(\.\d+)?$/;
const CHECKPOINT_DIR = /^checkpoint-(\d+)$/;
const SNIFF_BYTES = 64 * 1024;

function parentRel(rel: string): string | undefined {
  if (rel === '') return undefined;
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

function childRel(rel: string, name: string): string {
  return rel ? `${rel}/${name}` : name;
}

async function head(file: string, bytes = SNIFF_BYTES): Promise<string | undefined> {
  try {
    const fh = await open(file, 'r');
    try {
      const buf = new Uint8Array(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return new TextDecoder('utf-8').decode(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

const SQLITE_NAME = /\.(db|sqlite|sqlite3)$/i;
const SQLITE_SNIFF_BYTES = 4 * 1024 * 1024;

/** An MLflow SQLite store: `mlflow.db` that is SQLite, or another SQLite file whose first pages name MLflow's tables. */
export async function sniffMlflowSqlite(file: string): Promise<boolean> {
  const name = basename(file).toLowerCase();
  if (!SQLITE_NAME.test(name)) return false;
  const magic = await head(file, 16);
  if (magic === undefined || !isSqliteHeader(new TextEncoder().encode(magic))) return false;
  if (name === 'mlflow.db') return true;
  // The schema (sqlite_master) of a store MLflow created lies in its first pages, written as its tables were.
  const text = await head(file, SQLITE_SNIFF_BYTES);
  return text !== undefined && text.includes('CREATE TABLE alembic_version') && /CREATE TABLE "?experiments"?/.test(text);
}

/** A YOLO run folder: one of its hyperparameter files has YOLO's keys. */
async function isYoloDir(d: DirListing): Promise<boolean> {
  for (const name of YOLO_PARAM_FILES) {
    if (!d.files.includes(name)) continue;
    const text = await head(join(d.abs, name));
    if (text !== undefined && looksLikeYoloParams(name, text)) return true;
  }
  return false;
}

/** The text format of a candidate file, decided from its name and its first line. */
export async function sniffTextLog(file: string): Promise<'csv' | 'jsonl' | undefined> {
  const name = basename(file).toLowerCase();
  const isCsvName = name.endsWith('.csv') || name.endsWith('.log');
  const isJsonlName = name.endsWith('.jsonl') || name.endsWith('.ndjson') || name === 'metrics.json';
  if (!isCsvName && !isJsonlName) return undefined;
  const text = await head(file);
  if (text === undefined) return undefined;
  if (isCsvName) return sniffCsvHeader(text) ? 'csv' : undefined;
  const firstLine = text.split('\n').find((l) => l.trim() !== '');
  if (!firstLine) return undefined;
  try {
    const obj = parseJsonLenient(firstLine);
    if (obj && typeof obj === 'object' && !Array.isArray(obj) && findStepKey(obj as Record<string, unknown>) !== undefined) return 'jsonl';
  } catch {
    return undefined;
  }
  return undefined;
}

export async function planRuns(dirs: DirListing[]): Promise<Plan> {
  const byRel = new Map(dirs.map((d) => [d.rel, d]));
  const runs: RunPlan[] = [];
  const manifests: SweepManifestRef[] = [];
  const claimed = new Set<string>(); // folder rels that are (part of) a folder-level run
  const wandbRels: string[] = []; // W&B run folders: nothing inside them is a run of its own
  const insideWandb = (rel: string): boolean => wandbRels.some((w) => w === '' || rel === w || rel.startsWith(`${w}/`));

  for (const d of dirs) {
    if (d.files.includes('sweep.json')) manifests.push({ rel: d.rel, file: join(d.abs, 'sweep.json') });
    if (d.files.includes('meta.yaml') && d.dirs.includes('metrics')) {
      runs.push({ format: 'mlflow', rel: d.rel, abs: d.abs });
      claimed.add(d.rel);
    }
    if (isWandbRunDir(d)) {
      runs.push({ format: 'wandb', rel: d.rel, abs: d.abs });
      claimed.add(d.rel);
      wandbRels.push(d.rel);
    }
  }

  // Ultralytics/YOLO: results.csv, hyperparameter files and event files of one folder are one run.
  const yoloDirs = new Set<string>();
  for (const d of dirs) {
    if (claimed.has(d.rel) || !(await isYoloDir(d))) continue;
    runs.push({ format: 'yolo', rel: d.rel, abs: d.abs });
    claimed.add(d.rel);
    yoloDirs.add(d.rel);
  }

  // HuggingFace: the output folder's own state, else its latest checkpoint's.
  for (const d of dirs) {
    if (!d.files.includes('trainer_state.json')) continue;
    const m = CHECKPOINT_DIR.exec(basename(d.abs));
    const pRel = parentRel(d.rel);
    const parent = pRel === undefined ? undefined : byRel.get(pRel);
    if (m && parent) {
      if (parent.files.includes('trainer_state.json')) continue;
      const newest = parent.dirs
        .map((n) => ({ n, m: CHECKPOINT_DIR.exec(n) }))
        .filter((x) => x.m && byRel.get(childRel(parent.rel, x.n))?.files.includes('trainer_state.json'))
        .sort((a, b) => Number(b.m?.[1]) - Number(a.m?.[1]))[0];
      if (newest?.n !== basename(d.abs)) continue;
      runs.push({ format: 'trainer_state', rel: parent.rel, abs: parent.abs, file: join(d.abs, 'trainer_state.json'), sideDir: parent.abs });
      claimed.add(parent.rel);
      continue;
    }
    runs.push({ format: 'trainer_state', rel: d.rel, abs: d.abs, file: join(d.abs, 'trainer_state.json'), sideDir: d.abs });
    claimed.add(d.rel);
  }

  // TensorBoard: group split and hparams sub-folders with their parent.
  const eventDirs = dirs.filter((d) => !claimed.has(d.rel) && !insideWandb(d.rel) && d.files.some(isEventFileName));
  const eventRels = new Set(eventDirs.map((d) => d.rel));
  const splitOf = (d: DirListing): string | undefined => {
    const pRel = parentRel(d.rel);
    const name = basename(d.abs);
    return pRel !== undefined && byRel.has(pRel) && !eventRels.has(pRel) && KERAS_SPLITS.has(name.toLowerCase()) ? pRel : undefined;
  };
  const splitParents = new Set(eventDirs.map(splitOf).filter((x): x is string => x !== undefined));
  const tbRuns = new Map<string, { abs: string; parts: TfeventsPart[] }>();
  const order = (p: TfeventsPart): number => (p.prefix === '' ? 0 : 1);
  for (const d of eventDirs) {
    const name = basename(d.abs);
    const pRel = parentRel(d.rel);
    let target = d.rel;
    let prefix = '';
    const splitParent = splitOf(d);
    if (splitParent !== undefined) {
      target = splitParent;
      prefix = name.toLowerCase() === 'train' ? '' : `${name}/`;
    } else if (pRel !== undefined && TIMESTAMP_DIR.test(name) && (eventRels.has(pRel) || splitParents.has(pRel))) {
      target = pRel;
    }
    const abs = byRel.get(target)?.abs ?? d.abs;
    const r = tbRuns.get(target) ?? { abs, parts: [] };
    tbRuns.set(target, r);
    r.parts.push({ dir: d.abs, prefix });
  }
  for (const [rel, r] of tbRuns) {
    // Unprefixed parts (the run's own and `train/`) first, then the other splits, each in name order.
    r.parts.sort((a, b) => order(a) - order(b) || (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
    runs.push({ format: 'tfevents', rel, abs: r.abs, parts: r.parts, sideDir: r.abs });
    claimed.add(rel);
  }

  // CSV and JSONL files.
  for (const d of dirs) {
    if (claimed.has(d.rel) && byRel.get(d.rel)?.files.includes('meta.yaml')) continue; // inside an MLflow run
    if (insideWandb(d.rel) || yoloDirs.has(d.rel)) continue;
    const found: { name: string; format: LogFormat }[] = [];
    for (const name of d.files) {
      if (await sniffMlflowSqlite(join(d.abs, name))) {
        runs.push({ format: 'mlflow_sqlite', rel: childRel(d.rel, name), abs: join(d.abs, name), file: join(d.abs, name) });
        continue;
      }
      const format = await sniffTextLog(join(d.abs, name));
      if (format) found.push({ name, format });
    }
    const folderRun = found.length === 1 && !claimed.has(d.rel);
    for (const f of found) {
      const file = join(d.abs, f.name);
      const format = f.format as 'csv' | 'jsonl';
      if (folderRun) runs.push({ format, rel: d.rel, abs: d.abs, file, sideDir: d.abs });
      else runs.push({ format, rel: childRel(d.rel, f.name), abs: file, file });
    }
    // Lightning writes `version_<N>/hparams.yaml` before the first metrics: a run with no points yet.
    if (found.length === 0 && !claimed.has(d.rel) && /^version_\d+$/.test(basename(d.abs)) && d.files.includes('hparams.yaml')) {
      runs.push({ format: 'params_only', rel: d.rel, abs: d.abs, sideDir: d.abs });
    }
  }

  runs.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { runs, manifests };
}

/** `wandb/run-<date>_<time>-<id>/` or `wandb/offline-run-…/`, holding its binary log or `files/`. */
function isWandbRunDir(d: DirListing): boolean {
  return WANDB_RUN_DIR.test(basename(d.abs)) && basename(dirname(d.abs)) === 'wandb' && (d.files.some((f) => f.endsWith('.wandb')) || d.dirs.includes('files'));
}
