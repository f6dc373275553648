import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TfeventsWriter, type ScalarEncoding } from '../../../src/core/logs/tfevents/writer';

/**
 * Fixture writers for the log-reader tests: each writes a run the way the named tool lays it out, from
 * plain data the test also keeps, so reading it back can be compared with what was written.
 */

/** The real logs shared with the project (read in place, never copied; absent on a bare clone: ../external). */
export { REAL_LOGS } from '../external';

const made: string[] = [];

/** A fresh temporary folder, removed by `cleanupTempDirs` (call it from an `after` hook). */
export async function tempDir(prefix = 'heatcap-logs-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export async function cleanupTempDirs(): Promise<void> {
  while (made.length) await rm(made.pop() as string, { recursive: true, force: true });
}

export async function writeText(file: string, text: string | Uint8Array): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}

export type Series = Record<string, [step: number, value: number][]>;

/** A TensorBoard run: one event file with the given scalars (and hparams, as `add_hparams` would). */
export async function writeTfeventsRun(dir: string, scalars: Series, opts: { encoding?: ScalarEncoding; hparams?: Record<string, string | number | boolean>; t0?: number } = {}): Promise<string> {
  let t = opts.t0 ?? 1_700_000_000;
  const w = await TfeventsWriter.create(dir, { encoding: opts.encoding, now: () => (t += 0.5) });
  if (opts.hparams) w.addHparams(opts.hparams);
  for (const [tag, points] of Object.entries(scalars)) for (const [step, value] of points) w.addScalar(tag, value, step);
  await w.close();
  return w.file;
}

/** A Keras `CSVLogger` file: `epoch` first, `NA` for missing values, `\r\n` line ends like Python's csv. */
export async function writeKerasCsv(file: string, columns: string[], rows: (number | null)[][]): Promise<string> {
  const lines = [['epoch', ...columns].join(','), ...rows.map((r, i) => [i, ...r.map((v) => (v === null ? 'NA' : String(v)))].join(','))];
  return writeText(file, lines.join('\r\n') + '\r\n');
}

export async function writeJsonl(file: string, rows: Record<string, unknown>[]): Promise<string> {
  return writeText(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** A HuggingFace output folder's `trainer_state.json` (Python's json writes NaN/Infinity bare). */
export async function writeTrainerState(dir: string, state: Record<string, unknown>, raw?: string): Promise<string> {
  return writeText(join(dir, 'trainer_state.json'), raw ?? JSON.stringify(state, null, 2));
}

/** An MLflow file-store run: `meta.yaml`, `metrics/<key>` lines `ts value step`, `params/<key>`. */
export async function writeMlflowRun(
  experimentDir: string,
  runId: string,
  run: { name?: string; metrics?: Record<string, [step: number, value: number | string][]>; params?: Record<string, string>; lifecycle?: string },
): Promise<string> {
  const dir = join(experimentDir, runId);
  await writeText(join(experimentDir, 'meta.yaml'), `experiment_id: '${runId.slice(0, 1)}'\nname: exp\nlifecycle_stage: active\n`);
  await writeText(
    join(dir, 'meta.yaml'),
    `run_id: ${runId}\nrun_name: ${run.name ?? runId}\nlifecycle_stage: ${run.lifecycle ?? 'active'}\nstatus: 3\nstart_time: 1700000000000\n`,
  );
  await mkdir(join(dir, 'metrics'), { recursive: true });
  for (const [key, points] of Object.entries(run.metrics ?? {})) {
    await writeText(join(dir, 'metrics', ...key.split('/')), points.map(([s, v], i) => `${1700000000000 + i * 1000} ${v} ${s}`).join('\n') + '\n');
  }
  for (const [key, value] of Object.entries(run.params ?? {})) await writeText(join(dir, 'params', key), value);
  return dir;
}
