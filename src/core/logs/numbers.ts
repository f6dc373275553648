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

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * Parses a plain decimal `text[start, end)` (`-12.5`, `3e-4`) without making a string, exactly as
 * `Number()` would, or returns undefined for anything else (the caller then falls back to
 * `parseNumberCell`). Exact by Clinger's fast path (Clinger 1990, "How to read floating point numbers
 * accurately"): with at most 15 significant digits the digits form an exact integer below 2^53, 10^k
 * is exact for k ≤ 22, and one IEEE multiplication or division rounds correctly.
 */
export function parseDecimalFast(text: string, start: number, end: number): number | undefined {
  let i = start;
  if (i >= end) return undefined;
  let neg = false;
  let c = text.charCodeAt(i);
  if (c === 45 || c === 43) {
    neg = c === 45;
    if (++i >= end) return undefined;
  }
  let mant = 0;
  let digits = 0;
  let scale = 0;
  let any = false;
  for (; i < end; i++) {
    c = text.charCodeAt(i);
    const d = c - 48;
    if (d < 0 || d > 9) break;
    any = true;
    if (mant !== 0 || d !== 0) digits++;
    mant = mant * 10 + d;
  }
  if (i < end && c === 46) {
    for (i++; i < end; i++) {
      c = text.charCodeAt(i);
      const d = c - 48;
      if (d < 0 || d > 9) break;
      any = true;
      if (mant !== 0 || d !== 0) digits++;
      mant = mant * 10 + d;
      scale--;
    }
  }
  if (!any || digits > 15) return undefined;
  if (i < end && (c === 101 || c === 69)) {
    i++;
    let eneg = false;
    c = text.charCodeAt(i);
    if (c === 45 || c === 43) {
      eneg = c === 45;
      i++;
    }
    let e = 0;
    let eDigits = 0;
    for (; i < end; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9 || eDigits > 4) return undefined;
      e = e * 10 + d;
      eDigits++;
    }
    if (eDigits === 0) return undefined;
    scale += eneg ? -e : e;
  }
  if (i !== end) return undefined;
  let v: number;
  if (mant === 0) v = 0;
  else if (scale >= 0 && scale <= 22) v = mant * POW10[scale];
  else if (scale < 0 && scale >= -22) v = mant / POW10[-scale];
  else return undefined;
  return neg ? -v : v;
}
