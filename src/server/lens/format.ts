/**
 * Number formatting for lenses and hovers: one place, pure, so every figure the server shows is
 * rounded the same way. Minus signs are U+2212 (−), as in the product's other text.
 */

const MINUS = '\u2212';

/**
 * `sig` significant figures, trailing zeros kept (0.05 → "0.050", so the precision is visible);
 * plain notation for 1e-4 ≤ |x| < 1e5, else "1.2e-5" / "3.4e6".
 */
export function formatSig(x: number, sig = 2): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '∞' : `${MINUS}∞`;
  if (x === 0) return '0';
  const sign = x < 0 ? MINUS : '';
  const a = Math.abs(x);
  // Round first: 0.09996 at 2 figures is 0.10, whose exponent decides the notation.
  const rounded = Number(a.toPrecision(sig));
  let body: string;
  if (rounded < 1e-4 || rounded >= 1e5) {
    body = rounded.toExponential(sig - 1).replace('e+', 'e');
  } else if (rounded >= 10 ** (sig - 1)) {
    body = String(Math.round(rounded));
  } else {
    body = rounded.toPrecision(sig);
  }
  return sign + body;
}

/** With an explicit sign: "+0.0050", "−0.0025". Zero is "0". */
export function formatSigned(x: number, sig = 2): string {
  if (x === 0) return '0';
  const s = formatSig(x, sig);
  return x > 0 ? `+${s}` : s;
}

/**
 * A setting's value (η, B, β) as people write it, unrounded: shortest round-trip decimal for
 * 1e-3 ≤ |x| < 1e4 ("0.1", "0.001", "0.0625", "32"), else the shortest exponent form ("3e-4", "1.5e-5").
 */
export function formatValue(x: number): string {
  if (!Number.isFinite(x)) return formatSig(x);
  if (x < 0) return MINUS + formatValue(-x);
  if (x !== 0 && (x < 1e-3 || x >= 1e4)) return x.toExponential().replace('e+', 'e');
  return String(x);
}

/** A percentage with two significant figures: 0.2234 → "22%". */
export function formatPercent(fraction: number): string {
  return `${formatSig(100 * fraction)}%`;
}

/** An interval "0.042–0.058" (en dash), each end at `sig` figures; signed ends when `signed`. */
export function formatInterval(lo: number, hi: number, signed = false, sig = 2): string {
  const f = signed ? formatSigned : formatSig;
  return `${f(lo, sig)}\u2013${f(hi, sig)}`;
}
