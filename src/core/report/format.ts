/**
 * Number formatting shared by the panel, the HTML report and the Markdown report. A number that is
 * unknown (null in the result, or not finite) is never printed as "NaN", "null" or "undefined": it
 * becomes a dash carrying the reason it is missing, so the user can tell "not measured" from "zero".
 */

/** One displayed value: the text, and when the value is missing, why. */
export interface Cell {
  text: string;
  /** Why the value is missing (shown as a tooltip in HTML, in parentheses in Markdown). */
  missing?: string;
}

export const DASH = '—';

export function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

export function missing(reason: string): Cell {
  return { text: DASH, missing: reason };
}

/** Trims "1.50e-5" to "1.5e-5" and "2.0e+3" to "2e3". */
function tidyExponent(s: string): string {
  const [mant, exp] = s.split('e');
  const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
  return `${m}e${Number(exp)}`;
}

/**
 * A compact rendering with `digits` significant figures: plain decimals for 1e-3 ≤ |x| < 1e6,
 * exponent notation outside (a loss of 2.3e-7 must not print as "0.000").
 */
export function formatNumber(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return DASH;
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) return tidyExponent(x.toExponential(digits - 1));
  return String(Number(x.toPrecision(digits)));
}

/** A number, or a dash with `reason` when it is null/undefined/NaN/±∞. */
export function num(x: number | null | undefined, reason: string, digits = 4): Cell {
  return isFiniteNumber(x) ? { text: formatNumber(x, digits) } : missing(reason);
}

/** An integer as plain text ("1797"), or a dash: for counts inside sentences. */
export function intText(x: number | null | undefined): string {
  return isFiniteNumber(x) ? String(Math.round(x)) : DASH;
}

/** An integer count (steps, examples); a dash with `reason` when unknown. */
export function count(x: number | null | undefined, reason: string): Cell {
  return isFiniteNumber(x) ? { text: String(Math.round(x)) } : missing(reason);
}

/**
 * "value ± se" with the standard error to two significant figures and the value rounded to the
 * same decimal place (the usual convention: digits beyond the error are noise).
 */
export function plusMinus(value: number | null | undefined, se: number | null | undefined, reason: string): Cell {
  if (!isFiniteNumber(value)) return missing(reason);
  if (!isFiniteNumber(se) || se <= 0) {
    const base = formatNumber(value);
    return isFiniteNumber(se) ? { text: `${base} ± 0` } : { text: base };
  }
  const decimals = 1 - Math.floor(Math.log10(se));
  const a = Math.abs(value);
  if (decimals >= 0 && decimals <= 8 && a < 1e6 && (a === 0 || a >= 1e-3 || se >= 1e-4)) {
    return { text: `${value.toFixed(decimals)} ± ${se.toFixed(decimals)}` };
  }
  return { text: `${formatNumber(value, 4)} ± ${formatNumber(se, 2)}` };
}

/** A 95% interval "[lo, hi]"; a dash when either end is unknown. */
export function interval(ci: readonly [number, number] | null | undefined, reason: string, digits = 3): Cell {
  if (!ci || !isFiniteNumber(ci[0]) || !isFiniteNumber(ci[1])) return missing(reason);
  return { text: `[${formatNumber(ci[0], digits)}, ${formatNumber(ci[1], digits)}]` };
}

/** A ratio near 1 (observed/predicted) with three decimals, so 1.001 does not print as "1". */
export function formatRatio(x: number): string {
  const a = Math.abs(x);
  return a >= 0.01 && a < 1000 ? x.toFixed(3) : formatNumber(x, 3);
}

export function ratio(x: number | null | undefined, reason: string): Cell {
  return isFiniteNumber(x) ? { text: formatRatio(x) } : missing(reason);
}

/** A 95% interval of a ratio, "[0.979, 1.024]". */
export function ratioInterval(ci: readonly [number, number] | null | undefined, reason: string): Cell {
  if (!ci || !isFiniteNumber(ci[0]) || !isFiniteNumber(ci[1])) return missing(reason);
  return { text: `[${formatRatio(ci[0])}, ${formatRatio(ci[1])}]` };
}

/** A fraction in [0, 1] as a percentage with one decimal. */
export function percent(x: number | null | undefined, reason: string): Cell {
  return isFiniteNumber(x) ? { text: `${(x * 100).toFixed(1)}%` } : missing(reason);
}

export function yesNo(x: boolean | null | undefined, reason: string): Cell {
  return x === true ? { text: 'yes' } : x === false ? { text: 'no' } : missing(reason);
}

/** Plain text of a cell with the reason in parentheses (Markdown, CSV, aria labels). */
export function cellText(c: Cell): string {
  return c.missing ? `${c.text} (${c.missing})` : c.text;
}
