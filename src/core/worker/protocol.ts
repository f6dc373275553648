/**
 * The compute worker's protocol: every message between the host (extension, CLI, language server) and
 * `dist/worker.js` is declared here, once, as discriminated unions. Job kinds are a registry: each
 * kind declares its request, streamed event and result types in `JobTypes`, and its handler in
 * `jobs.ts` (the compiler insists on both). Another area adds a kind by adding an entry to each.
 */
import type { ExactRequest, ExactResult, GradNormEvent, GradNormJobResult, GradNormRequest } from '../gradnorm/job';
import type { LabRunEvent, LabRunRequest, LabRunResult } from '../lab/job';

/** A job used to check the worker itself: echoes, waits, or fails on purpose (tests, health checks). */
export interface PingRequest {
  /** Busy-wait this long (milliseconds) in chunks of 10 ms, yielding between chunks. */
  workMs?: number;
  /** Fail on purpose: a thrown HeatcapError, an uncaught exception, or `process.exit`. */
  fail?: 'error' | 'uncaught' | 'exit';
  echo?: string;
}

export interface JobTypes {
  gradnorms: { request: GradNormRequest; event: GradNormEvent; result: GradNormJobResult };
  exact: { request: ExactRequest; event: never; result: ExactResult };
  ping: { request: PingRequest; event: { tick: number }; result: { echo?: string; pid: number; threadId: number } };
  lab: { request: LabRunRequest; event: LabRunEvent; result: LabRunResult };
}

export type JobKind = keyof JobTypes;
export type JobRequest<K extends JobKind> = JobTypes[K]['request'];
export type JobEvent<K extends JobKind> = JobTypes[K]['event'];
export type JobResult<K extends JobKind> = JobTypes[K]['result'];

export interface Job<K extends JobKind = JobKind> {
  kind: K;
  request: JobRequest<K>;
}

/** Host → worker. */
export type HostMessage = { type: 'run'; id: number; job: Job } | { type: 'cancel'; id: number };

/** An error as it crosses the thread boundary (HeatcapError keeps its file and what). */
export interface WireError {
  name: string;
  message: string;
  file?: string;
  what?: string;
  stack?: string;
}

/** Worker → host. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; id: number; fraction?: number; message?: string }
  | { type: 'event'; id: number; event: unknown }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: WireError };
