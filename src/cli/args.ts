import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HeatcapError } from '../core/errors';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Strict option parsing shared by every sub-command: unknown flags are errors that say which flag,
 * and numeric flags are validated here so commands receive clean values.
 */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const command = usage.split('\n')[0].replace(/^usage:\s*/, '').split(' ').slice(0, 2).join(' ');
    throw new HeatcapError(undefined, `${msg.split('\n')[0]} (see '${command} --help')`);
  }
}

/** The training data flags every command that reads a checkpoint's examples takes. */
export const DATA_OPTIONS = {
  data: { type: 'string' },
  labels: { type: 'string' },
  'label-column': { type: 'string' },
} as const;

/** A checkpoint and its training data, as `gradnorms` and `curvature` take them. */
export const CHECKPOINT_OPTIONS = {
  model: { type: 'string' },
  ...DATA_OPTIONS,
  loss: { type: 'string' },
  'loss-semantics': { type: 'string' },
  freeze: { type: 'string', multiple: true },
} as const;

/** `--freeze a,b --freeze c` → ['a', 'b', 'c']: parameter names or module prefixes SGD did not train. */
export function freezeList(v: string[] | string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  return list.length ? list : undefined;
}

/** Parses a flag value as a finite number, with an error naming the flag. */
export function numberFlag(name: string, value: string | undefined, opts: { min?: number; integer?: boolean } = {}) {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x)) throw new HeatcapError(undefined, `--${name} must be a number, got '${value}'`);
  if (opts.integer && !Number.isInteger(x)) throw new HeatcapError(undefined, `--${name} must be an integer, got '${value}'`);
  if (opts.min !== undefined && x < opts.min) throw new HeatcapError(undefined, `--${name} must be ≥ ${opts.min}, got '${value}'`);
  return x;
}

/** JSON for the CLI: stable 2-space indentation and a trailing newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
