import type { CancelToken, ProgressFn } from '../cancel';
import type { JobEvent, JobKind, JobRequest, JobResult } from './protocol';

/** What a job handler gets besides its request: cancellation, progress, and a stream of events. */
export interface JobContext<K extends JobKind> {
  token: CancelToken;
  progress: ProgressFn;
  /** Sends a job-specific event to the host; `transfer` lists buffers to move instead of copy. */
  emit(event: JobEvent<K>, transfer?: ArrayBuffer[]): void;
}

export type JobHandler<K extends JobKind> = (request: JobRequest<K>, ctx: JobContext<K>) => Promise<JobResult<K>>;
