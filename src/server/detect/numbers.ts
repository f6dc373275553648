/** Number literals as each language writes them, turned into JS numbers; `undefined` when not a plain real number. */

/** Python's int/float literal grammar (PEP 515 underscores; hex/octal/binary ints). Complex (`1j`) is not a real number. */
export function parsePythonNumber(text: string): number | undefined {
  if (/[jJ]$/.test(text)) return undefined;
  const t = text.replace(/_/g, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^0[oO][0-7]+$/.test(t)) return parseInt(t.slice(2), 8);
  if (/^0[bB][01]+$/.test(t)) return parseInt(t.slice(2), 2);
  return parseDecimal(t);
}

/**
 * A decimal written as a command-line or environment value would be parsed by Python's `float()`:
 * optional sign, digits with an optional fraction and exponent. No `inf`/`nan`, no hex.
 */
export function parseDecimal(text: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const x = Number(text);
  return Number.isFinite(x) ? x : undefined;
}

/**
 * YAML 1.1 (PyYAML's `safe_load`) reads an exponent float only when the mantissa has a dot and the
 * exponent a sign: `3e-4` and `1.0e3` stay strings there (checked against PyYAML 6), although YAML 1.2,
 * OmegaConf/Hydra and this server read numbers.
 */
export function isYaml11String(text: string): boolean {
  const m = /^[+-]?(\d*\.?\d*)[eE]([+-]?)\d+$/.exec(text);
  if (!m) return false;
  return !m[1].includes('.') || m[2] === '';
}
