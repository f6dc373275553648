import { strict as assert } from 'node:assert';
import { CancelSource } from '../../../src/core/cancel';
import { CancelledError, HeatcapError } from '../../../src/core/errors';
import { WorkerCrashedError } from '../../../src/core/worker/errors';
import { runInWorker } from '../../../src/core/worker/host';
import { runInThisThread } from '../../../src/core/worker/in-thread';

describe('compute worker (worker_threads): results, progress, cancellation, crashes', function () {
  // Each test starts a worker from the TypeScript sources through tsx (a second or two on a busy machine).
  this.timeout(60000);

  it('runs a job in another thread and streams its events and progress', async () => {
    const events: number[] = [];
    const progress: number[] = [];
    const r = await runInWorker({ kind: 'ping', request: { echo: 'hi', workMs: 30 } }, { onEvent: (e) => events.push(e.tick), onProgress: (p) => progress.push(p.fraction ?? -1) });
    assert.equal(r.echo, 'hi');
    assert.notEqual(r.threadId, 0);
    assert.deepEqual(events, [0, 10, 20]);
    assert.equal(progress[progress.length - 1], 1);
  });

  it('cancelling a long job rejects at once with CancelledError and frees the worker', async () => {
    const source = new CancelSource();
    const t0 = Date.now();
    const p = runInWorker({ kind: 'ping', request: { workMs: 60000 } }, { token: source.token, onEvent: () => source.cancel() });
    await assert.rejects(p, CancelledError);
    assert.ok(Date.now() - t0 < 30000, 'did not wait for the job to finish');
  });

  it('reports a HeatcapError thrown in the worker with its file', async () => {
    await assert.rejects(runInWorker({ kind: 'ping', request: { fail: 'error' } }), (e: unknown) => e instanceof HeatcapError && e.file === 'ping.txt' && e.what === 'failed on request');
  });

  it('reports an uncaught exception and an exit as a crash, not a hang', async () => {
    await assert.rejects(runInWorker({ kind: 'ping', request: { fail: 'uncaught' } }), (e: unknown) => e instanceof WorkerCrashedError && /uncaught on request/.test(e.message));
    await assert.rejects(runInWorker({ kind: 'ping', request: { fail: 'exit' } }), (e: unknown) => e instanceof WorkerCrashedError && /exited \(code 3\)/.test(e.message));
  });

  it('runs the same job in this thread with the same contract', async () => {
    const r = await runInThisThread({ kind: 'ping', request: { echo: 'here' } });
    assert.equal(r.echo, 'here');
    assert.equal(r.threadId, 0);
  });
});
