import { readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { LightningCsvWriter } from '../logs/csv/writer';
import { parseNumberCell } from '../logs/numbers';
import { isEventFileName } from '../logs/read';
import { TfeventsWriter } from '../logs/tfevents/writer';

/** Lengths of a run's log files at a consistent point (what a resumed run keeps). */
export interface LogMarks {
  tfevents: { file: string; bytes: number }[];
  csv: number;
}

export type LabMetrics = Partial<Record<'train_loss' | 'full_train_loss' | 'lr', number>>;

export const CSV_FILE = 'metrics.csv';

/** Where one run's two copies go: an event-file folder and a Lightning CSVLogger-style folder. */
export interface RunLogDirs {
  tfevents: string;
  csv: string;
}

/**
 * One lab run's logs, written twice through the product's own writers so that any tool reads them:
 * TensorBoard event files (scalars as `simple_value`, the setup as an hparams session) and a
 * Lightning-style `metrics.csv` with `hparams.yaml`, each in its own folder (as Lightning's TensorBoard and
 * CSV loggers do, so run discovery sees each copy as one run). Only `flush()` writes, and it
 * returns the files' lengths, which the run state records: on resume, anything written after the last
 * saved state is cut off, so the logs continue exactly where the state does.
 */
export class RunLogger {
  private constructor(
    readonly dirs: RunLogDirs,
    private tb: TfeventsWriter,
    private csv: LightningCsvWriter,
  ) {}

  /** A fresh run: new event file with the hparams session, `hparams.yaml`, empty `metrics.csv`. */
  static async create(dirs: RunLogDirs, hparams: Record<string, string | number | boolean>): Promise<RunLogger> {
    await rm(join(dirs.csv, CSV_FILE), { force: true });
    for (const f of await readdir(dirs.tfevents).catch(() => [] as string[])) if (isEventFileName(f)) await rm(join(dirs.tfevents, f), { force: true });
    const tb = await TfeventsWriter.create(dirs.tfevents);
    tb.addHparams(hparams);
    await tb.flush();
    const csv = await LightningCsvWriter.create(dirs.csv, hparams);
    return new RunLogger(dirs, tb, csv);
  }

  /**
   * Continues a run from its saved marks: event files are cut to their recorded lengths (files created
   * later are removed) and a new event file continues them. `metrics.csv` keeps its rows before step
   * `beforeStep` (the saved state's step), written again through a new CSV writer, which cannot append
   * under an existing header; rows are selected by step rather than by length because the CSV writer
   * may have rewritten the file with a wider header after the state was saved.
   */
  static async resume(dirs: RunLogDirs, marks: LogMarks, beforeStep: number): Promise<RunLogger> {
    const kept = new Map(marks.tfevents.map((m) => [m.file, m.bytes]));
    for (const f of await readdir(dirs.tfevents)) {
      if (!isEventFileName(f)) continue;
      const bytes = kept.get(f);
      if (bytes === undefined) await rm(join(dirs.tfevents, f), { force: true });
      else await truncate(join(dirs.tfevents, f), bytes);
    }
    const csvFile = join(dirs.csv, CSV_FILE);
    const text = await readFile(csvFile, 'utf8').catch(() => '');
    await rm(csvFile, { force: true });
    await rm(`${csvFile}.tmp`, { force: true });
    const csv = await LightningCsvWriter.create(dirs.csv);
    const [header, ...lines] = text.split('\n').filter((l) => l !== '');
    const cols = header ? header.split(',') : [];
    for (const line of lines) {
      const cells = line.split(',');
      const row: Record<string, number> = {};
      let step = NaN;
      cols.forEach((c, i) => {
        const v = cells[i] === undefined || cells[i] === '' ? undefined : parseNumberCell(cells[i]);
        if (v === undefined || v === null) return;
        if (c === 'step') step = v;
        else if (c !== 'epoch') row[c] = v;
      });
      // A last line cut short by a crash has fewer cells; its step may still parse, so require all.
      if (step < beforeStep && cells.length === cols.length) csv.log(row, step);
    }
    await csv.flush();
    const tb = await TfeventsWriter.create(dirs.tfevents);
    await tb.flush();
    return new RunLogger(dirs, tb, csv);
  }

  log(step: number, metrics: LabMetrics): void {
    const row: Record<string, number> = {};
    for (const [tag, value] of Object.entries(metrics)) {
      if (value === undefined) continue;
      this.tb.addScalar(tag, value, step);
      row[tag] = value;
    }
    this.csv.log(row, step);
  }

  /** Writes everything logged so far and returns the files' lengths. */
  async flush(): Promise<LogMarks> {
    await this.tb.flush();
    await this.csv.flush();
    const tfevents: LogMarks['tfevents'] = [];
    for (const f of (await readdir(this.dirs.tfevents)).filter(isEventFileName).sort()) tfevents.push({ file: f, bytes: (await stat(join(this.dirs.tfevents, f))).size });
    const csv = await stat(this.csv.file).then(
      (s) => s.size,
      () => 0,
    );
    return { tfevents, csv };
  }

  async close(): Promise<LogMarks> {
    const marks = await this.flush();
    await this.tb.close();
    return marks;
  }
}
