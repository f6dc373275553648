import { jobHandlers } from './jobs';
import type { RunOptions } from './host';
import type { Job, JobEvent, JobKind, JobResult } from './protocol';

/**
 * Runs a job in this thread with the same contract as runInWorker (for `--workers 0`, debugging and
 * tests). Kept apart from host.ts so that spawning workers does not pull the job code (and tfjs) into
 * the extension host's bundle.
 */
export async function runInThisThread<K extends JobKind>(job: Job<K>, opts: RunOptions<K> = {}): Promise<JobResult<K>> {
  const handler = jobHandlers[job.kind] as unknown as (r: unknown, c: unknown) => Promise<JobResult<K>>;
  return handler(job.request, {
    token: opts.token ?? { isCancellationRequested: false },
    progress: opts.onProgress ?? (() => {}),
    emit: (event: JobEvent<K>) => opts.onEvent?.(event),
  });
}
