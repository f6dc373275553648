import { CancelledError, HeatcapError } from '../errors';
import type { WireError } from './protocol';

/** The worker stopped without answering (uncaught exception, out of memory, process.exit). */
export class WorkerCrashedError extends Error {
  override readonly name = 'WorkerCrashedError';
}

export function toWire(e: unknown): WireError {
  if (e instanceof HeatcapError) return { name: e.name, message: e.message, file: e.file, what: e.what, stack: e.stack };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** Rebuilds the error on the host side, so HeatcapError and CancelledError keep their meaning. */
export function fromWire(w: WireError): Error {
  if (w.name === 'HeatcapError') return new HeatcapError(w.file, w.what ?? w.message);
  if (w.name === 'CancelledError') return new CancelledError();
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack) e.stack = w.stack;
  return e;
}
