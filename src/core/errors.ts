/**
 * The one error type the product throws on bad input. It always says which file (when there is one)
 * and what is wrong with it, so the CLI can print it on one line and the UI can show it next to the
 * run it belongs to. Anything else that escapes a reader is a bug.
 */
export class HeatcapError extends Error {
  override readonly name = 'HeatcapError';

  constructor(
    /** Absolute or workspace-relative path of the offending file, when the error is about a file. */
    readonly file: string | undefined,
    /** What is wrong, in words a user understands ("record 12: payload CRC mismatch"). */
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(file ? `${file}: ${what}` : what, options);
  }
}

/** Thrown when the user (or a CancellationToken) cancels a long computation. Not an error in the data. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor() {
    super('cancelled');
  }
}

export function isHeatcapError(e: unknown): e is HeatcapError {
  return e instanceof HeatcapError || (e instanceof Error && e.name === 'HeatcapError');
}

/** A one-line description of any thrown value, for logs and the CLI. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
