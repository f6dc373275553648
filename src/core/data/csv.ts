import Papa from 'papaparse';
import { HeatcapError } from '../errors';
import { MemorySource, type ArraySource } from './source';
import { readTextFile } from './text';

export interface TableOptions {
  /** Label column: a header name or a 0-based index (negative counts from the end). Default: the last column. */
  labelColumn?: string | number;
}

export interface FeaturesAndLabels {
  inputs: ArraySource;
  labels: ArraySource;
}

function isNumberText(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

/** Picks the label column from a name or an index, with an error naming the file. */
export function resolveColumn(file: string, header: string[] | undefined, width: number, spec: string | number | undefined): number {
  if (spec === undefined) return width - 1;
  if (typeof spec === 'number' || /^-?\d+$/.test(spec)) {
    const i = Number(spec);
    const k = i < 0 ? width + i : i;
    if (k < 0 || k >= width) throw new HeatcapError(file, `label column ${spec} is out of range (the file has ${width} columns)`);
    return k;
  }
  const k = header?.indexOf(spec) ?? -1;
  if (k < 0) throw new HeatcapError(file, `has no column named '${spec}'${header ? ` (columns: ${header.join(', ')})` : ' (it has no header row)'}`);
  return k;
}

/**
 * A numeric CSV (optionally `.csv.gz`): feature columns plus one label column. A first row with any
 * non-numeric cell is taken as the header. Parsed by papaparse; every cell must be a finite number.
 */
export function readCsv(file: string, opts: TableOptions = {}): FeaturesAndLabels {
  const parsed = Papa.parse<string[]>(readTextFile(file), { skipEmptyLines: 'greedy', dynamicTyping: false });
  const rows = parsed.data;
  if (rows.length === 0) throw new HeatcapError(file, 'is empty');
  let header: string[] | undefined;
  if (rows[0].some((c) => !isNumberText(c))) header = rows.shift()!.map((c) => c.trim());
  if (rows.length === 0) throw new HeatcapError(file, 'has a header but no data rows');
  const width = header?.length ?? rows[0].length;
  if (width < 2) throw new HeatcapError(file, `needs at least one feature column and a label column, found ${width} column`);
  const labelCol = resolveColumn(file, header, width, opts.labelColumn);
  const n = rows.length;
  const x = new Float32Array(n * (width - 1));
  const y = new Float64Array(n);
  let labelsInteger = true;
  for (let r = 0; r < n; r++) {
    const row = rows[r];
    const line = r + (header ? 2 : 1);
    if (row.length !== width) throw new HeatcapError(file, `line ${line}: ${row.length} columns, expected ${width}`);
    let k = r * (width - 1);
    for (let c = 0; c < width; c++) {
      const v = Number(row[c]);
      if (row[c].trim() === '' || !Number.isFinite(v)) {
        throw new HeatcapError(file, `line ${line}, column ${header?.[c] ?? c + 1}: '${row[c]}' is not a finite number`);
      }
      if (c === labelCol) {
        y[r] = v;
        if (!Number.isInteger(v)) labelsInteger = false;
      } else x[k++] = v;
    }
  }
  return {
    inputs: new MemorySource(file, x, n, [width - 1], false),
    labels: new MemorySource(`${file} (label column ${header?.[labelCol] ?? labelCol + 1})`, y, n, [], labelsInteger),
  };
}
