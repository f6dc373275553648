import { threadId } from 'node:worker_threads';
import { throwIfCancelled } from '../cancel';
import { HeatcapError } from '../errors';
import type { JobHandler } from './job-context';

/**
 * The `ping` job: proves the worker answers, reports progress, honours cancellation between chunks of
 * work, and that the host sees every kind of failure (a thrown error, an uncaught one, an exit).
 */
export const runPing: JobHandler<'ping'> = async (req, ctx) => {
  const work = req.workMs ?? 0;
  for (let t = 0; t < work; t += 10) {
    throwIfCancelled(ctx.token);
    const until = Date.now() + 10;
    while (Date.now() < until) {
      // Busy on purpose: stands in for a synchronous compute kernel.
    }
    ctx.emit({ tick: t });
    ctx.progress({ fraction: Math.min(1, (t + 10) / work) });
    await new Promise((r) => setImmediate(r));
  }
  if (req.fail === 'error') throw new HeatcapError('ping.txt', 'failed on request');
  if (req.fail === 'uncaught') setImmediate(() => {
    throw new Error('uncaught on request');
  });
  if (req.fail === 'exit') process.exit(3);
  if (req.fail === 'uncaught') await new Promise((r) => setTimeout(r, 1000));
  return { echo: req.echo, pid: process.pid, threadId };
};
