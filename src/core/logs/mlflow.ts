import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { HeatcapError } from '../errors';
import type { RunWarning } from '../runs/model';
import { parseNumberCell } from './numbers';
import { SeriesSet } from './series';
import { streamText } from './text-stream';
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

export async function readMlflowRun(runDir: string, opts: ReadOptions = {}): Promise<LogData> {
  const meta = await readMlflowMeta(runDir);
  const series = new SeriesSet();
  const warnings: RunWarning[] = [];
  const files = [join(runDir, 'meta.yaml')];
  for (const { key, file } of await listKeys(join(runDir, 'metrics'))) {
    files.push(file);
    let bad = 0;
    let noStep = 0;
    let lineIndex = 0;
    await streamText(
      file,
      (text, final) => {
        let i = 0;
        while (i < text.length) {
          const nl = text.indexOf('\n', i);
          if (nl < 0 && !final) break;
          const line = text.slice(i, nl < 0 ? text.length : nl).trim();
          i = nl < 0 ? text.length : nl + 1;
          if (line === '') continue;
          const parts = line.split(/\s+/);
          const ts = parseNumberCell(parts[0]);
          const value = parts.length >= 2 ? parseNumberCell(parts[1]) : undefined;
          let step = parts.length >= 3 ? parseNumberCell(parts[2]) : lineIndex;
          if (parts.length < 3) noStep++;
          if (typeof ts !== 'number' || typeof value !== 'number' || typeof step !== 'number' || !Number.isFinite(step) || parts.length > 3) {
            bad++;
            continue;
          }
          step = Math.trunc(step);
          series.push(key, step, value, ts / 1000);
          lineIndex++;
        }
        return i;
      },
      { includeUnterminated: true, shouldStop: opts.shouldStop },
    );
    if (bad) warnings.push({ file, message: `${bad} malformed line(s) skipped (expected 'timestamp value step')` });
    if (noStep) warnings.push({ file, message: `${noStep} line(s) without a step; their order was used as the step` });
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
