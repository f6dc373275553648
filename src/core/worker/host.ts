import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CancelToken, ProgressFn } from '../cancel';
import { CancelledError } from '../errors';
import { fromWire, WorkerCrashedError } from './errors';
import type { Job, JobEvent, JobKind, JobResult, WorkerMessage } from './protocol';

export interface RunOptions<K extends JobKind> {
  token?: CancelToken;
  onProgress?: ProgressFn;
  onEvent?: (event: JobEvent<K>) => void;
}

/**
 * Where the worker's code is: `worker.js` next to the running bundle (dist/), or — when running from
 * sources (tests, tsx) — `main.ts` in this folder, loaded through tsx's CommonJS hook.
 */
export function workerEntry(): { file: string; execArgv: string[] } {
  const bundled = join(__dirname, 'worker.js');
  if (existsSync(bundled)) return { file: bundled, execArgv: [] };
  const source = join(__dirname, 'main.ts');
  // A variable keeps bundlers from resolving tsx (a development dependency) at build time.
  const tsxHook = 'tsx/cjs';
  if (existsSync(source)) return { file: source, execArgv: ['--require', require.resolve(tsxHook)] };
  throw new Error(`compute worker not found (looked for ${bundled} and ${source})`);
}

/**
 * Runs one job in a fresh worker thread and resolves with its result. Cancelling the token terminates
 * the thread at once (rejecting with CancelledError), so even a job inside a long kernel stops; a worker
 * that dies without answering rejects with WorkerCrashedError instead of leaving the caller waiting.
 */
export function runInWorker<K extends JobKind>(job: Job<K>, opts: RunOptions<K> = {}): Promise<JobResult<K>> {
  return new Promise((resolve, reject) => {
    if (opts.token?.isCancellationRequested) {
      reject(new CancelledError());
      return;
    }
    const entry = workerEntry();
    const worker = new Worker(entry.file, { execArgv: entry.execArgv, stdout: false, stderr: false });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      sub?.dispose();
      fn();
      void worker.terminate();
    };
    const sub = opts.token?.onCancellationRequested?.(() => finish(() => reject(new CancelledError())));
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          worker.postMessage({ type: 'run', id: 1, job });
          break;
        case 'progress':
          opts.onProgress?.({ fraction: m.fraction, message: m.message });
          break;
        case 'event':
          if (!settled) opts.onEvent?.(m.event as JobEvent<K>);
          break;
        case 'result':
          finish(() => resolve(m.result as JobResult<K>));
          break;
        case 'error':
          finish(() => reject(fromWire(m.error)));
          break;
      }
    });
    worker.on('error', (e) => finish(() => reject(new WorkerCrashedError(`the compute worker crashed: ${e.message}`, { cause: e }))));
    worker.on('exit', (code) => finish(() => reject(new WorkerCrashedError(`the compute worker exited (code ${code}) before answering`))));
    // A token without listeners (a plain object) is polled.
    if (opts.token && !opts.token.onCancellationRequested) {
      const timer = setInterval(() => {
        if (settled) clearInterval(timer);
        else if (opts.token!.isCancellationRequested) {
          clearInterval(timer);
          finish(() => reject(new CancelledError()));
        }
      }, 50);
    }
  });
}
