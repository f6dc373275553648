import { HeatcapError } from '../../errors';
import type { RunWarning } from '../../runs/model';
import { parseDecimalFast, parseNumberCell, isUsableStep } from '../numbers';
import { streamText, type TextStreamOptions } from '../text-stream';
import { tokenizeCsv } from './parse';

/**
 * Metric CSVs: PyTorch Lightning `CSVLogger` (`metrics.csv`: sparse rows, `epoch` and `step` columns,
 * columns such as `lr-SGD`), Keras `CSVLogger` (`epoch` column, `NA` for missing) and any CSV with a
 * step-like column. Each other column is a tag; each numeric cell a point at that row's step.
 */

/** Step columns in order of preference; `epoch` is used only when nothing finer exists. */
export const STEP_COLUMNS = ['step', 'global_step', 'trainer/global_step', '_step', 'iteration', 'iter', 'it', 'steps', 'batch', 'epoch'];

export function findStepColumn(header: string[]): number {
  const lower = header.map((h) => h.trim().toLowerCase());
  for (const name of STEP_COLUMNS) {
    const i = lower.indexOf(name);
    if (i >= 0) return i;
  }
  return -1;
}

export type PointFn = (tag: string, step: number, value: number) => void;

/**
 * Incremental reader of one CSV file: `readMore` parses what was appended since the last call.
 * Remembers the header, so a tail that starts mid-file still knows the columns.
 */
export class CsvLogReader {
  offset = 0;
  header: string[] | undefined;
  /** The header line as read, to notice a file rewritten with new columns (Lightning does that). */
  headerLine: string | undefined;
  stepColumn = -1;
  badRows = 0;
  /** Lines dropped because a quote opened on them never closed (a stray `"` in a damaged file). */
  unbalancedQuotes = 0;
  private readonly textCells = new Map<number, number>();
  private readonly numericColumns = new Set<number>();
  private widthMismatch = 0;

  constructor(readonly file: string) {}

  get stepName(): string | undefined {
    return this.header && this.stepColumn >= 0 ? this.header[this.stepColumn].trim() : undefined;
  }

  async readMore(onPoint: PointFn, opts: TextStreamOptions = {}): Promise<{ fileBytes: number; lineTooLong?: number }> {
    const res = await streamText(
      this.file,
      (text, final) => {
        // Quote-free text after the header (the normal metrics file) takes the fast path.
        if (this.header && text.indexOf('"') < 0) return this.plainRows(text, final, onPoint);
        return tokenizeCsv(text, (fields) => this.row(fields, onPoint), final, () => this.unbalancedQuotes++);
      },
      { ...opts, startOffset: this.offset },
    );
    this.offset = res.nextOffset;
    return res;
  }

  /**
   * Rows of quote-free text, cells parsed in place (no string per cell for plain decimals); the same
   * results as `tokenizeCsv` + `row`, which handle every line this path does not.
   */
  private plainRows(text: string, final: boolean, onPoint: PointFn): number {
    const header = this.header as string[];
    const width = header.length;
    const stepCol = this.stepColumn;
    const n = text.length;
    let i = 0;
    const starts: number[] = new Array(width + 1);
    const ends: number[] = new Array(width + 1);
    while (i < n) {
      const nl = text.indexOf('\n', i);
      if (nl < 0 && !final) return i;
      let end = nl < 0 ? n : nl;
      if (end > i && text.charCodeAt(end - 1) === 13) end--;
      const next = nl < 0 ? n : nl + 1;
      // Split on commas into start/end offsets.
      let cells = 0;
      let a = i;
      for (;;) {
        const comma = text.indexOf(',', a);
        const b = comma < 0 || comma > end ? end : comma;
        if (cells <= width) {
          starts[cells] = a;
          ends[cells] = b;
        }
        cells++;
        if (b === end) break;
        a = b + 1;
      }
      i = next;
      if (cells === 1 && starts[0] === ends[0]) continue; // blank line
      if (cells !== width) this.widthMismatch++;
      const stepRaw = stepCol < cells ? parseDecimalFast(text, starts[stepCol], ends[stepCol]) : undefined;
      const step = stepRaw !== undefined ? stepRaw : stepCol < cells ? parseNumberCell(text.slice(starts[stepCol], ends[stepCol])) : null;
      if (!isUsableStep(step)) {
        this.badRows++;
        continue;
      }
      const m = Math.min(cells, width);
      for (let c = 0; c < m; c++) {
        if (c === stepCol || starts[c] === ends[c]) continue;
        let v: number | null | undefined = parseDecimalFast(text, starts[c], ends[c]);
        if (v === undefined) v = parseNumberCell(text.slice(starts[c], ends[c]));
        if (v === null) continue;
        if (v === undefined) {
          this.textCells.set(c, (this.textCells.get(c) ?? 0) + 1);
          continue;
        }
        this.numericColumns.add(c);
        onPoint(header[c], step, v);
      }
    }
    return i;
  }

  private row(fields: string[], onPoint: PointFn): void {
    if (!this.header) {
      if (fields.length === 1 && fields[0].trim() === '') return;
      this.header = fields.map((f, i) => f.trim() || `column_${i + 1}`);
      this.headerLine = fields.join(',');
      this.stepColumn = findStepColumn(this.header);
      if (this.stepColumn < 0) {
        throw new HeatcapError(this.file, `no step column in the header (looked for ${STEP_COLUMNS.join(', ')})`);
      }
      return;
    }
    if (fields.length === 1 && fields[0].trim() === '') return;
    const header = this.header;
    if (fields.length !== header.length) this.widthMismatch++;
    const step = parseNumberCell(fields[this.stepColumn] ?? '');
    if (!isUsableStep(step)) {
      this.badRows++;
      return;
    }
    const n = Math.min(fields.length, header.length);
    for (let c = 0; c < n; c++) {
      if (c === this.stepColumn) continue;
      const v = parseNumberCell(fields[c]);
      if (v === null) continue;
      if (v === undefined) {
        this.textCells.set(c, (this.textCells.get(c) ?? 0) + 1);
        continue;
      }
      this.numericColumns.add(c);
      onPoint(header[c], step, v);
    }
  }

  /** Problems seen so far, one warning each (not one per row). */
  warnings(): RunWarning[] {
    const w: RunWarning[] = [];
    if (this.unbalancedQuotes) w.push({ file: this.file, message: `${this.unbalancedQuotes} line(s) with an unbalanced quote were skipped` });
    if (this.badRows) w.push({ file: this.file, message: `${this.badRows} row(s) without a usable '${this.stepName}' value were skipped` });
    if (this.widthMismatch) w.push({ file: this.file, message: `${this.widthMismatch} row(s) had a different number of fields than the header` });
    // A column that never held a number is a text column (a phase name, a date): not worth a warning.
    for (const [c, k] of this.textCells) if (this.numericColumns.has(c)) w.push({ file: this.file, message: `column '${this.header?.[c]}': ${k} non-numeric cell(s) ignored` });
    return w;
  }
}

/** Reads the first line of a file's head as a CSV header (for discovery). */
export function sniffCsvHeader(head: string): string[] | undefined {
  const nl = head.indexOf('\n');
  if (nl < 0) return undefined;
  let header: string[] | undefined;
  tokenizeCsv(head.slice(0, nl + 1), (f) => (header ??= f.map((x) => x.trim())), false);
  if (!header || header.length < 2 || findStepColumn(header) < 0) return undefined;
  return header;
}
