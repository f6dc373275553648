import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { HeatcapError } from '../errors';
import type { RunWarning } from '../runs/model';
import { parseNumberCell } from './numbers';
import { SeriesSet } from './series';
import { streamText, type TextStreamOptions } from './text-stream';
import type { LogData, ParamValue, ReadOptions } from './types';

/**
 * MLflow file store runs: `mlruns/<experiment>/<run>/` with `meta.yaml`, `metrics/<key>` (lines
 * `timestamp_ms value step`; keys with '/' are sub-folders), `params/<key>` (the file holds the value)
 * and `tags/<key>`. Values may be `nan`, `inf`, `-inf`.
 */

export interface MlflowMeta {
  runName?: string;
  lifecycleStage?: string;
  status?: string | number;
}

export async function readMlflowMeta(runDir: string): Promise<MlflowMeta> {
  const file = join(runDir, 'meta.yaml');
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(file, 'utf8'), { logLevel: 'silent' });
  } catch (e) {
    throw new HeatcapError(file, `not valid YAML (${e instanceof Error ? e.message : String(e)})`);
  }
  const m = (doc && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
  return {
    runName: typeof m.run_name === 'string' && m.run_name ? m.run_name : undefined,
    lifecycleStage: typeof m.lifecycle_stage === 'string' ? m.lifecycle_stage : undefined,
    status: typeof m.status === 'string' || typeof m.status === 'number' ? m.status : undefined,
  };
}

/** Files under `dir`, as keys relative to it joined with '/' (MLflow's nested metric names). */
async function listKeys(dir: string, prefix = '', depth = 0): Promise<{ key: string; file: string }[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: { key: string; file: string }[] = [];
  for (const e of entries) {
    const key = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory() && depth < 8) out.push(...(await listKeys(join(dir, e.name), key, depth + 1)));
    else if (e.isFile()) out.push({ key, file: join(dir, e.name) });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Incremental reader of one metric file (lines `timestamp_ms value [step]`). */
export class MlflowMetricReader {
  offset = 0;
  private bad = 0;
  private noStep = 0;
  private lineIndex = 0;

  constructor(readonly file: string) {}

  async readMore(push: (step: number, value: number, wallTime: number) => void, opts: TextStreamOptions = {}): Promise<{ fileBytes: number }> {
    const res = await streamText(
      this.file,
      (text, final) => {
        let i = 0;
        while (i < text.length) {
          const nl = text.indexOf('\n', i);
          if (nl < 0 && !final) break;
          const line = text.slice(i, nl < 0 ? text.length : nl).trim();
          i = nl < 0 ? text.length : nl + 1;
          if (line !== '') this.line(line, push);
        }
        return i;
      },
      { ...opts, startOffset: this.offset },
    );
    this.offset = res.nextOffset;
    return res;
  }

  private line(line: string, push: (step: number, value: number, wallTime: number) => void): void {
    const parts = line.split(/\s+/);
    const ts = parseNumberCell(parts[0]);
    const value = parts.length >= 2 ? parseNumberCell(parts[1]) : undefined;
    // Very old MLflow wrote no step: the line's order stands in for it.
    const step = parts.length >= 3 ? parseNumberCell(parts[2]) : this.lineIndex;
    if (typeof ts !== 'number' || typeof value !== 'number' || typeof step !== 'number' || !Number.isFinite(step) || parts.length > 3) {
      this.bad++;
      return;
    }
    if (parts.length < 3) this.noStep++;
    this.lineIndex++;
    push(step, value, ts / 1000);
  }

  warnings(): RunWarning[] {
    const w: RunWarning[] = [];
    if (this.bad) w.push({ file: this.file, message: `${this.bad} malformed line(s) skipped (expected 'timestamp value step')` });
    if (this.noStep) w.push({ file: this.file, message: `${this.noStep} line(s) without a step; their order was used as the step` });
    return w;
  }
}

export async function readMlflowRun(runDir: string, opts: ReadOptions = {}): Promise<LogData> {
  const meta = await readMlflowMeta(runDir);
  const series = new SeriesSet();
  const warnings: RunWarning[] = [];
  const files = [join(runDir, 'meta.yaml')];
  for (const { key, file } of await listKeys(join(runDir, 'metrics'))) {
    files.push(file);
    const reader = new MlflowMetricReader(file);
    await reader.readMore((step, value, wallTime) => series.push(key, step, value, wallTime), { includeUnterminated: true, shouldStop: opts.shouldStop });
    warnings.push(...reader.warnings());
  }
  const params: Record<string, ParamValue> = Object.create(null);
  for (const { key, file } of await listKeys(join(runDir, 'params'))) {
    files.push(file);
    params[key] = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  }
  let name = meta.runName;
  if (!name) {
    try {
      name = (await readFile(join(runDir, 'tags', 'mlflow.runName'), 'utf8')).trim() || undefined;
    } catch {
      name = undefined;
    }
  }
  return {
    format: 'mlflow',
    files,
    scalars: series.finish(),
    params: [{ label: 'MLflow params', file: join(runDir, 'params'), values: params }],
    warnings,
    stepUnit: 'step',
    name,
  };
}
