import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseNumberCell } from '../numbers';

/**
 * Writes a PyTorch Lightning `CSVLogger`-style run: `hparams.yaml` plus `metrics.csv` with `epoch`,
 * `step` and one column per metric, empty cells where a row has no value. Rows are appended (one write
 * per flush); when a metric appears that the header lacks, the file is rewritten with the wider header
 * through a temporary file and a rename, as Lightning does, so a reader never sees a half-written header.
 */
export class LightningCsvWriter {
  readonly file: string;
  private columns: string[] = ['epoch', 'step'];
  private rows: Record<string, number>[] = [];
  /** The header line currently in the file (undefined before the first flush). */
  private fileHeader: string | undefined;

  private constructor(readonly dir: string) {
    this.file = join(dir, 'metrics.csv');
  }

  static async create(dir: string, hparams?: Record<string, unknown>): Promise<LightningCsvWriter> {
    await mkdir(dir, { recursive: true });
    if (hparams) await writeFile(join(dir, 'hparams.yaml'), stringify(hparams));
    return new LightningCsvWriter(dir);
  }

  /** Adds one row; `epoch` is written when given. Values are written with full precision (`String`). */
  log(metrics: Record<string, number>, step: number, epoch?: number): void {
    const row: Record<string, number> = { ...metrics, step };
    if (epoch !== undefined) row.epoch = epoch;
    for (const k of Object.keys(row)) if (!this.columns.includes(k)) this.columns.push(k);
    this.rows.push(row);
  }

  private line(row: Record<string, number>): string {
    return this.columns.map((c) => (c in row ? formatCell(row[c]) : '')).join(',') + '\n';
  }

  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const header = this.columns.join(',') + '\n';
    const newRows = this.rows.map((r) => this.line(r)).join('');
    this.rows = [];
    if (this.fileHeader === undefined) {
      await appendFile(this.file, header + newRows);
    } else if (this.fileHeader === header) {
      await appendFile(this.file, newRows);
    } else {
      // A new column: re-emit the earlier rows under the wider header, parsed back from the file.
      const text = await readFile(this.file, 'utf8');
      const oldCols = this.fileHeader.trim().split(',');
      const body = text
        .slice(this.fileHeader.length)
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const cells = l.split(',');
          const row: Record<string, number> = {};
          oldCols.forEach((c, i) => {
            if (cells[i] !== undefined && cells[i] !== '') row[c] = parseNumberCell(cells[i]) ?? NaN;
          });
          return this.line(row);
        });
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, header + body.join('') + newRows);
      await rename(tmp, this.file);
    }
    this.fileHeader = header;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

function formatCell(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}
