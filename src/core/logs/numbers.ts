/**
 * Number parsing shared by the text formats. Python writes non-finite floats as `nan`, `inf`, `-inf`
 * (str/repr, MLflow), `NaN`, `Infinity`, `-Infinity` (json.dumps); Keras CSVLogger writes `NA` for a
 * missing value; pandas writes an empty cell. Missing and non-numeric are kept apart: a missing cell
 * is not a point, a text cell is a problem worth one warning per column.
 */

const SPECIAL: Record<string, number> = {
  nan: NaN,
  '+nan': NaN,
  '-nan': NaN,
  inf: Infinity,
  '+inf': Infinity,
  infinity: Infinity,
  '+infinity': Infinity,
  '-inf': -Infinity,
  '-infinity': -Infinity,
};
const MISSING = new Set(['', 'na', 'n/a', 'none', 'null']);

/** A number, `null` for a missing cell, or `undefined` for text that is not a number. */
export function parseNumberCell(cell: string): number | null | undefined {
  if (cell.length === 0) return null;
  const x = Number(cell);
  // Number('  ') is 0: a blank cell is missing, not zero.
  if (x === x) return x !== 0 || cell.trim() !== '' ? x : null;
  const t = cell.trim().toLowerCase();
  if (MISSING.has(t)) return null;
  if (t in SPECIAL) return SPECIAL[t];
  return undefined;
}

/** Step values must be finite numbers; integers in practice, but fractional epochs (HF) are allowed. */
export function isUsableStep(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}
