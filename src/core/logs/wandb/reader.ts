import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CancelledError } from '../../errors';
import type { RunWarning } from '../../runs/model';
import { tryParseJsonLenient } from '../json-lenient';
import { SeriesSet } from '../series';
import { flattenParams, type LogData, type ParamSource, type ParamValue, type ReadOptions } from '../types';
import { readWandbFrames } from './framing';
import { decodeWandbRecord, int64ToNumber, type WandbItem } from './schema';

/**
 * A W&B run folder (`wandb/run-<date>_<time>-<id>/`, or `offline-run-…`), read without W&B:
 *  - history from the binary `run-<id>.wandb` (./framing.ts, ./schema.ts): each history record is one
 *    step; `_step` is the step (else the record's step number), `_timestamp` the wall time (else the
 *    run's start time plus `_runtime`), every other item with a number (JSON; NaN and ±Infinity too) a
 *    point of the series named by the item's key, or its nested keys joined with '/'; plain objects
 *    are flattened the same way; media, tables, text and booleans are not series;
 *  - hyperparameters from `files/config.yaml` (each key `{desc, value}`, or `{value}` in newer clients;
 *    `_wandb` and `wandb_version` are W&B's own), read as plain data: typed tags such as
 *    `!!python/object` are never constructed; when that file is missing (offline runs, runs never
 *    closed) the config records inside the .wandb log stand in, and say so;
 *  - the run's display name from its run record;
 *  - `files/wandb-history.jsonl` (or `wandb-history.jsonl` in the run folder) when there is no history in
 *    a .wandb log: one JSON object per step, `_step` and `_timestamp` as above;
 *  - `files/wandb-summary.json` only when neither has any history: one point per key (the last
 *    value), marked by a warning.
 */

const noHistory = (hasLog: boolean) => (hasLog ? "no history in the run's .wandb log" : 'no .wandb log and no files/wandb-history.jsonl');

/** One JSON history object (a wandb-history.jsonl line, the summary): `_step` (else `fallbackStep`), `_timestamp`, every numeric leaf a point. */
function pushJsonStep(doc: Record<string, unknown>, fallbackStep: number, series: SeriesSet): { step: number; points: number } {
  const step = typeof doc._step === 'number' && Number.isFinite(doc._step) ? doc._step : fallbackStep;
  const wall = typeof doc._timestamp === 'number' && Number.isFinite(doc._timestamp) ? doc._timestamp : undefined;
  const points: [string, number][] = [];
  for (const [k, v] of Object.entries(doc)) if (!INTERNAL_KEYS.has(k)) numericLeaves(k, v, points);
  for (const [k, x] of points) series.push(k, step, x, wall);
  return { step, points: points.length };
}

/** History from files/wandb-history.jsonl: `_step` the step (else the line's index), `_timestamp` the wall time. */
async function readHistoryJsonl(runDir: string, hasLog: boolean, series: SeriesSet, files: string[], warnings: RunWarning[]): Promise<number> {
  let file = '';
  let text: string | undefined;
  for (const f of [join(runDir, 'files', 'wandb-history.jsonl'), join(runDir, 'wandb-history.jsonl')]) {
    text = await readFile(f, 'utf8').catch(() => undefined);
    file = f;
    if (text !== undefined) break;
  }
  if (text === undefined) return 0;
  files.push(file);
  let records = 0;
  let bad = 0;
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const doc = tryParseJsonLenient(line);
    // The last line may still be being written: not counted as damage.
    if (!isPlainObject(doc)) {
      if (i < lines.length - 1) bad++;
      return;
    }
    pushJsonStep(doc, records, series);
    records++;
  });
  if (records > 0 && hasLog) warnings.push({ file, message: `no history in the run's .wandb log: read from wandb-history.jsonl (${records} step(s))` });
  if (bad > 0) warnings.push({ file, message: `${bad} line(s) were not JSON objects and were skipped` });
  return records;
}

export const WANDB_RUN_DIR = /^(offline-)?run-[^/\\]*$/;

const INTERNAL_KEYS = new Set(['_step', '_runtime', '_timestamp', '_wandb']);
const MAX_DEPTH = 8;

function cancelCheck(opts: ReadOptions): void {
  if (opts.shouldStop?.()) throw new CancelledError();
}

function itemName(item: WandbItem, sep: string): string {
  const nk = item.nested_key;
  if (!nk || nk.length === 0) return item.key ?? '';
  const nested = nk.filter((k) => k !== '');
  return nested.length > 0 ? nested.join(sep) : (item.key ?? '');
}

/** A plain JSON number: most history values, read without the JSON parser. */
const PLAIN_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

function parseValue(json: string | undefined): unknown {
  if (json === undefined || json === '') return undefined;
  if (json.length < 32 && PLAIN_NUMBER.test(json)) return Number(json);
  return tryParseJsonLenient(json);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Numbers under `name`: the value itself, or the numeric leaves of a plain (non-media) object. */
function numericLeaves(name: string, v: unknown, out: [string, number][], depth = 0): boolean {
  if (typeof v === 'number') {
    out.push([name, v]);
    return true;
  }
  if (!isPlainObject(v) || depth >= MAX_DEPTH || '_type' in v) return false;
  let any = false;
  for (const [k, x] of Object.entries(v)) any = numericLeaves(`${name}/${k}`, x, out, depth + 1) || any;
  return any;
}

/** A config value as stored: `{desc, value}` / `{value}` wrappers are unwrapped. */
function unwrapConfig(v: unknown): unknown {
  if (isPlainObject(v) && 'value' in v && Object.keys(v).every((k) => k === 'value' || k === 'desc')) return v.value;
  return v;
}

function addParam(values: Record<string, ParamValue>, key: string, v: unknown): void {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') values[key] = v;
  else if (isPlainObject(v)) flattenParams(v, '.', key, values);
}

/** `files/config.yaml` → flat params, or undefined when absent; a broken file is a warning. */
async function readConfigYaml(file: string, warnings: RunWarning[]): Promise<Record<string, ParamValue> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let doc: unknown;
  try {
    // The core schema knows no !!python/…, !!set or !!binary tags: such nodes stay plain maps, lists
    // and strings (the library only warns, silenced here); aliases are expanded with its limits.
    doc = parseYaml(text, { logLevel: 'silent', uniqueKeys: false, schema: 'core', merge: false });
  } catch (e) {
    warnings.push({ file, message: `not valid YAML (${e instanceof Error ? e.message : String(e)}); its hyperparameters were not read` });
    return undefined;
  }
  const values: Record<string, ParamValue> = Object.create(null);
  if (!isPlainObject(doc)) return values;
  for (const [k, v] of Object.entries(doc)) {
    if (k === '_wandb' || k === 'wandb_version') continue;
    addParam(values, k, unwrapConfig(v));
  }
  return values;
}

function applyConfigRecord(values: Record<string, ParamValue>, rec: { update?: WandbItem[]; remove?: WandbItem[] } | undefined): void {
  if (!rec) return;
  for (const item of rec.update ?? []) {
    const key = itemName(item, '.');
    if (key === '' || key === '_wandb' || key.startsWith('_wandb.')) continue;
    for (const k of Object.keys(values)) if (k === key || k.startsWith(`${key}.`)) delete values[k];
    addParam(values, key, unwrapConfig(parseValue(item.value_json)));
  }
  for (const item of rec.remove ?? []) {
    const key = itemName(item, '.');
    for (const k of Object.keys(values)) if (k === key || k.startsWith(`${key}.`)) delete values[k];
  }
}

export async function readWandbRun(runDir: string, opts: ReadOptions = {}): Promise<LogData> {
  const series = new SeriesSet();
  const warnings: RunWarning[] = [];
  const files: string[] = [];
  const logs = (await readdir(runDir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isFile() && e.name.endsWith('.wandb'))
    .map((e) => e.name)
    .sort();

  let name: string | undefined;
  let startTime: number | undefined;
  const logConfig: Record<string, ParamValue> = Object.create(null);
  let sawLogConfig = false;
  let historyRecords = 0;
  const notNumeric = new Set<string>();

  for (const log of logs) {
    cancelCheck(opts);
    const file = join(runDir, log);
    files.push(file);
    let bad = 0;
    let firstBad = -1;
    let closed = false;
    let lastStep = -1;
    const res = await readWandbFrames(
      file,
      (data, offset) => {
        let rec;
        try {
          rec = decodeWandbRecord(data);
        } catch {
          if (bad++ === 0) firstBad = offset;
          return;
        }
        if (rec.run) {
          if (rec.run.display_name) name = rec.run.display_name;
          const s = int64ToNumber(rec.run.start_time?.seconds);
          if (s !== undefined && s > 0) startTime = s + (rec.run.start_time?.nanos ?? 0) / 1e9;
          if (rec.run.config) {
            sawLogConfig = true;
            applyConfigRecord(logConfig, rec.run.config);
          }
        }
        if (rec.config) {
          sawLogConfig = true;
          applyConfigRecord(logConfig, rec.config);
        }
        if (rec.exit) closed = true;
        const h = rec.history;
        if (!h) return;
        historyRecords++;
        let step: number | undefined;
        let timestamp: number | undefined;
        let runtime: number | undefined;
        const points: [string, number][] = [];
        for (const item of h.item ?? []) {
          const key = itemName(item, '/');
          const v = parseValue(item.value_json);
          if (key === '_step') {
            if (typeof v === 'number' && Number.isFinite(v)) step = v;
          } else if (key === '_timestamp') {
            if (typeof v === 'number' && Number.isFinite(v)) timestamp = v;
          } else if (key === '_runtime') {
            if (typeof v === 'number' && Number.isFinite(v)) runtime = v;
          } else if (key !== '' && !INTERNAL_KEYS.has(key)) {
            if (!numericLeaves(key, v, points)) notNumeric.add(key);
          }
        }
        step ??= int64ToNumber(h.step?.num) ?? lastStep + 1;
        lastStep = step;
        const wall = timestamp ?? (startTime !== undefined && runtime !== undefined ? startTime + runtime : undefined);
        for (const [k, x] of points) series.push(k, step, x, wall);
      },
      { shouldStop: opts.shouldStop, maxRecordBytes: opts.maxRecordBytes },
    );
    cancelCheck(opts);
    if (res.stop === 'not-wandb') {
      warnings.push({ file, message: 'not a W&B run log (no ":W&B" file header; a Git LFS pointer?); its history was not read' });
      continue;
    }
    for (const p of res.problems) warnings.push({ file, message: `offset ${p.offset}: ${p.message}` });
    if (bad > 0) warnings.push({ file, message: `${bad} record(s) that are not W&B records were skipped (first at offset ${firstBad})` });
    if (res.stop === 'partial') {
      warnings.push({ file, message: `ends inside a record at offset ${res.offset} (the run was never closed, or is still being written); read the ${res.records} whole record(s) before it` });
    } else if (!closed) {
      warnings.push({ file, message: `has no exit record (the run was never closed, or is still being written); read all ${res.records} record(s)` });
    }
  }

  if (notNumeric.size > 0) {
    const list = [...notNumeric].slice(0, 6).join(', ');
    warnings.push({ file: runDir, message: `${notNumeric.size} history key(s) hold no numbers (media, tables, text or flags) and are not series: ${list}${notNumeric.size > 6 ? ', …' : ''}` });
  }

  const params: ParamSource[] = [];
  const configFile = join(runDir, 'files', 'config.yaml');
  const fromYaml = await readConfigYaml(configFile, warnings);
  if (fromYaml) {
    files.push(configFile);
    params.push({ label: 'W&B config (files/config.yaml)', file: configFile, values: fromYaml });
  } else if (sawLogConfig && logs.length > 0) {
    const file = join(runDir, logs[logs.length - 1]);
    params.push({ label: `W&B config (${basename(file)}; no files/config.yaml)`, file, values: logConfig });
  }

  // No history in a .wandb log (or no log at all): the JSON-lines history file of W&B layouts without the
  // binary log (files/wandb-history.jsonl, or wandb-history.jsonl in the run folder), one object per step.
  if (historyRecords === 0) historyRecords = await readHistoryJsonl(runDir, logs.length > 0, series, files, warnings);

  // Last resort: the summary's last values, when the log gave no history at all.
  const before = warnings.length;
  if (historyRecords === 0) {
    const summaryFile = join(runDir, 'files', 'wandb-summary.json');
    let text: string | undefined;
    try {
      text = await readFile(summaryFile, 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      files.push(summaryFile);
      const doc = tryParseJsonLenient(text);
      if (isPlainObject(doc)) {
        const { step, points } = pushJsonStep(doc, 0, series);
        warnings.push({
          file: summaryFile,
          message: points > 0
            ? `${noHistory(logs.length > 0)}: ${points} value(s) read from wandb-summary.json instead, each key's last value only (one point at step ${step}; a last resort)`
            : `${noHistory(logs.length > 0)}, and wandb-summary.json holds no numbers`,
        });
      } else {
        warnings.push({ file: summaryFile, message: 'not a JSON object; not read' });
      }
    }
  }

  if (logs.length === 0 && historyRecords === 0 && warnings.length === before) {
    warnings.push({ file: runDir, message: 'no run-<id>.wandb log and no files/wandb-history.jsonl in this W&B run folder; no history read' });
  }
  return { format: 'wandb', files, scalars: series.finish(), params, warnings, stepUnit: 'step', name };
}
