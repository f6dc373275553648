import { CancelSource, type CancelToken } from '../core/cancel';

/**
 * Runs a long job with a token that SIGTERM (how the extension cancels a job it forked) and SIGINT
 * (Ctrl-C) cancel; the job stops at its next check and the CLI exits 130 (see main.ts).
 */
export async function cancellableBySignals<T>(job: (token: CancelToken) => Promise<T>): Promise<T> {
  const cancel = new CancelSource();
  const onSignal = (): void => cancel.cancel();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    return await job(cancel.token);
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  }
}
