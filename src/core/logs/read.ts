import { readdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { CancelledError } from '../errors';
import type { RunWarning } from '../runs/model';
import { CsvLogReader } from './csv/reader';
import { JsonlLogReader } from './jsonl';
import { SeriesSet } from './series';
import { EventDecoder } from './tfevents/event';
import { readEventFile } from './tfevents/reader';
import type { LogData, ParamSource, ReadOptions } from './types';

/** Event files are those TensorBoard itself picks up: names containing `tfevents`. */
export function isEventFileName(name: string): boolean {
  return name.startsWith('events.out.tfevents.') || /\.tfevents\./.test(name);
}

/** One folder of event files merged into a run; its tags get `prefix` (e.g. `validation/`). */
export interface TfeventsPart {
  dir: string;
  prefix: string;
}

function posixRel(from: string, to: string): string {
  return relative(from, to).split(/[\\/]/).join('/') || basename(to);
}

function cancelCheck(opts: ReadOptions): void {
  if (opts.shouldStop?.()) throw new CancelledError();
}

/**
 * Reads a TensorBoard run: every event file in each part's folder, in name order (the names carry the
 * creation time), all into one set of series. Problems become warnings naming the file and offset.
 */
export async function readTfeventsLog(runDir: string, parts: TfeventsPart[], opts: ReadOptions = {}): Promise<LogData & { experimentOnly: boolean }> {
  const series = new SeriesSet();
  const warnings: RunWarning[] = [];
  const params: ParamSource[] = [];
  const files: string[] = [];
  let sawExperiment = false;
  for (const part of parts) {
    const names = (await readdir(part.dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && isEventFileName(e.name))
      .map((e) => e.name)
      .sort();
    let currentFile = '';
    const decoder = new EventDecoder({
      scalar: (tag, step, wallTime, value) => series.push(part.prefix + tag, step, value, wallTime),
      // The same series, looked up once per tag rather than once per point.
      scalarTarget: (tag) => series.builder(part.prefix + tag),
      hparams: (h) => {
        if (h.kind === 'experiment') sawExperiment = true;
        if (h.kind === 'session_start' && Object.keys(h.hparams).length > 0) {
          params.push({ label: `hparams plugin (${posixRel(runDir, currentFile)})`, file: currentFile, values: h.hparams });
        }
      },
    });
    for (const name of names) {
      cancelCheck(opts);
      currentFile = join(part.dir, name);
      files.push(currentFile);
      const res = await readEventFile(currentFile, decoder, { maxRecordBytes: opts.maxRecordBytes, shouldStop: opts.shouldStop });
      cancelCheck(opts);
      for (const p of res.problems) warnings.push({ file: currentFile, message: p });
      if (res.stop === 'partial') warnings.push({ file: currentFile, message: `ends in a partial record at offset ${res.nextOffset} (still being written?); read up to there` });
    }
    if (decoder.unreadableScalarTensors) warnings.push({ file: part.dir, message: `${decoder.unreadableScalarTensors} scalar-plugin tensor(s) were not one-element numeric tensors and were skipped` });
  }
  const scalars = series.finish();
  return { format: 'tfevents', files, scalars, params, warnings, stepUnit: 'step', experimentOnly: sawExperiment && series.size === 0 && params.length === 0 };
}

export async function readCsvLog(file: string, opts: ReadOptions = {}): Promise<LogData> {
  const reader = new CsvLogReader(file);
  const series = new SeriesSet();
  const res = await reader.readMore((t, s, v) => series.push(t, s, v), { includeUnterminated: true, shouldStop: opts.shouldStop });
  cancelCheck(opts);
  const warnings = reader.warnings();
  if (res.lineTooLong !== undefined) warnings.push({ file, message: `a line longer than 16 MiB at offset ${res.lineTooLong}; the rest of the file was not read` });
  return { format: 'csv', files: [file], scalars: series.finish(), params: [], warnings, stepUnit: reader.stepName?.toLowerCase() === 'epoch' ? 'epoch' : 'step' };
}

export async function readJsonlLog(file: string, opts: ReadOptions = {}): Promise<LogData> {
  const reader = new JsonlLogReader(file);
  const series = new SeriesSet();
  const res = await reader.readMore((t, s, v) => series.push(t, s, v), { includeUnterminated: true, shouldStop: opts.shouldStop });
  cancelCheck(opts);
  const warnings = reader.warnings();
  if (res.lineTooLong !== undefined) warnings.push({ file, message: `a line longer than 16 MiB at offset ${res.lineTooLong}; the rest of the file was not read` });
  return { format: 'jsonl', files: [file], scalars: series.finish(), params: [], warnings, stepUnit: reader.stepKey === 'epoch' ? 'epoch' : 'step' };
}
