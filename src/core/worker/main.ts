/**
 * Entry point of the compute worker (`dist/worker.js`, or this file through tsx in tests). It runs jobs
 * from `jobs.ts` on request, reports progress and events, and honours cancel messages between chunks
 * of work (the host also terminates the thread on cancel, so a job stuck in a kernel cannot hang it).
 */
import { parentPort } from 'node:worker_threads';
import { CancelSource } from '../cancel';
import { toWire } from './errors';
import type { JobContext } from './job-context';
import { jobHandlers } from './jobs';
import type { HostMessage, JobKind, WorkerMessage } from './protocol';

const port = parentPort;
if (!port) throw new Error('worker/main.ts must run in a worker thread');

const running = new Map<number, CancelSource>();
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);

async function run<K extends JobKind>(id: number, kind: K, request: unknown): Promise<void> {
  const source = new CancelSource();
  running.set(id, source);
  const ctx: JobContext<K> = {
    token: source.token,
    progress: (p) => post({ type: 'progress', id, ...p }),
    emit: (event, transfer) => post({ type: 'event', id, event }, transfer),
  };
  try {
    const handler = jobHandlers[kind];
    if (!handler) throw new Error(`unknown job kind '${String(kind)}'`);
    const result = await handler(request as never, ctx);
    post({ type: 'result', id, result });
  } catch (e) {
    post({ type: 'error', id, error: toWire(e) });
  } finally {
    running.delete(id);
  }
}

port.on('message', (m: HostMessage) => {
  if (m.type === 'cancel') running.get(m.id)?.cancel();
  else if (m.type === 'run') void run(m.id, m.job.kind, m.job.request);
});
post({ type: 'ready' });
