import { HeatcapError } from '../errors';
import type { FeaturesAndLabels } from './csv';
import { MemorySource, rowSizeOf } from './source';
import { readTextFile } from './text';

export interface JsonlOptions {
  /** Key of the inputs in each record. Default: the first of x, features, input, inputs present. */
  inputKey?: string;
  /** Key of the label. Default: the first of y, label, labels, target, targets present. */
  labelKey?: string;
}

const INPUT_KEYS = ['x', 'features', 'input', 'inputs'];
const LABEL_KEYS = ['y', 'label', 'labels', 'target', 'targets'];

/** Shape of a nested array of numbers, or an error message saying what is wrong. */
function shapeOf(v: unknown, depth = 0): number[] | string {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : `non-finite value ${v}`;
  if (!Array.isArray(v)) return `expected a number or an array, got ${v === null ? 'null' : typeof v}`;
  if (depth > 8) return 'nested too deeply';
  if (v.length === 0) return [0];
  const inner = shapeOf(v[0], depth + 1);
  if (typeof inner === 'string') return inner;
  return [v.length, ...inner];
}

function flattenInto(v: unknown, out: Float32Array | Float64Array, at: number): number {
  if (typeof v === 'number') {
    out[at] = v;
    return at + 1;
  }
  for (const e of v as unknown[]) at = flattenInto(e, out, at);
  return at;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * JSON Lines: one object per line holding an input (number or nested array) and a label (number or
 * array). Every record must have the same shapes; blank lines are skipped; `.jsonl.gz` is accepted.
 */
export function readJsonl(file: string, opts: JsonlOptions = {}): FeaturesAndLabels {
  const lines = readTextFile(file).split('\n');
  const records: { x: unknown; y: unknown; line: number }[] = [];
  let inputKey = opts.inputKey;
  let labelKey = opts.labelKey;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    if (!text) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new HeatcapError(file, `line ${i + 1}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new HeatcapError(file, `line ${i + 1}: expected a JSON object`);
    const rec = obj as Record<string, unknown>;
    inputKey ??= INPUT_KEYS.find((k) => k in rec);
    labelKey ??= LABEL_KEYS.find((k) => k in rec);
    if (!inputKey || !(inputKey in rec)) throw new HeatcapError(file, `line ${i + 1}: no input key (${opts.inputKey ?? INPUT_KEYS.join(', ')})`);
    if (!labelKey || !(labelKey in rec)) throw new HeatcapError(file, `line ${i + 1}: no label key (${opts.labelKey ?? LABEL_KEYS.join(', ')})`);
    records.push({ x: rec[inputKey], y: rec[labelKey], line: i + 1 });
  }
  if (records.length === 0) throw new HeatcapError(file, 'has no records');
  const shapes = (get: (r: (typeof records)[number]) => unknown, what: string) => {
    let first: number[] | undefined;
    for (const r of records) {
      const s = shapeOf(get(r));
      if (typeof s === 'string') throw new HeatcapError(file, `line ${r.line}: ${what}: ${s}`);
      if (!first) first = s;
      else if (!sameShape(s, first)) throw new HeatcapError(file, `line ${r.line}: ${what} has shape [${s}], earlier records have [${first}]`);
    }
    return first!;
  };
  const xShape = shapes((r) => r.x, `'${inputKey}'`);
  const yShape = shapes((r) => r.y, `'${labelKey}'`);
  const n = records.length;
  const x = new Float32Array(n * rowSizeOf(xShape));
  const y = new Float64Array(n * rowSizeOf(yShape));
  let px = 0;
  let py = 0;
  for (const r of records) {
    px = flattenInto(r.x, x, px);
    py = flattenInto(r.y, y, py);
  }
  return {
    inputs: new MemorySource(file, x, n, xShape, false),
    labels: new MemorySource(`${file} ('${labelKey}')`, y, n, yShape, y.every(Number.isInteger)),
  };
}
