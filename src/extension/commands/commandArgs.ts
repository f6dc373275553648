/**
 * Checks of what arrives as command arguments from outside our own code: CodeLens arguments come
 * from the language server, and any extension (or a `command:` link) can run a command with any
 * arguments. No `vscode` import (unit-tested).
 */
import type { OpenPanelAtArgs } from '../../shared/lspProtocol';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `heatcap.openPanelAt`'s argument, or null when it is not one. */
export function parseOpenPanelAtArgs(raw: unknown): OpenPanelAtArgs | null {
  if (!isObj(raw)) return null;
  const { lr, resultRoot, uri } = raw;
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) return null;
  if (resultRoot !== undefined && typeof resultRoot !== 'string') return null;
  return { lr, resultRoot: resultRoot as string | undefined, uri: typeof uri === 'string' ? uri : '' };
}

/**
 * A list of learning rates as typed for the sweep lab: numbers separated by commas or spaces
 * ("0.01, 0.02 5e-2"), each > 0, at least two, no duplicates; returned sorted.
 */
export function parseLrList(text: string): { ok: true; value: number[] } | { ok: false; error: string } {
  const parts = text.split(/[\s,;]+/).filter((p) => p !== '');
  if (parts.length < 2) return { ok: false, error: 'Enter at least two learning rates, e.g. 0.01, 0.02, 0.05.' };
  if (parts.length > 64) return { ok: false, error: 'At most 64 learning rates.' };
  const values: number[] = [];
  for (const p of parts) {
    if (!/^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(p)) return { ok: false, error: `"${p.slice(0, 40)}" is not a number.` };
    const x = Number(p);
    if (!Number.isFinite(x) || x <= 0) return { ok: false, error: `${p} is not a learning rate > 0.` };
    values.push(x);
  }
  values.sort((a, b) => a - b);
  if (values.some((x, i) => i > 0 && x === values[i - 1])) return { ok: false, error: 'Each learning rate once, please.' };
  return { ok: true, value: values };
}

/** A positive integer as typed (steps, batch size), with the input box's message when it is not. */
export function parsePositiveInteger(text: string, what: string): { ok: true; value: number } | { ok: false; error: string } {
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1 || !Number.isSafeInteger(Number(t))) return { ok: false, error: `The ${what} must be a whole number ≥ 1.` };
  return { ok: true, value: Number(t) };
}
