import { strict as assert } from 'node:assert';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { LogTail, tailKindOf, type TailPoint } from '../../../src/core/logs/tail';
import { frameRecord } from '../../../src/core/logs/tfevents/framing';
import { encodeFileVersionEvent, encodeHparamsEvent, encodeScalarEvent } from '../../../src/core/logs/tfevents/writer';
import { LightningCsvWriter } from '../../../src/core/logs/csv/writer';
import { cleanupTempDirs, tempDir, writeText, writeTrainerState } from '../../support/logs/fixtures';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Appends `bytes` to `file` in pieces cut at `cuts`, polling after each piece; returns every point seen. */
async function appendAndTail(file: string, bytes: Uint8Array, cuts: number[], tail = new LogTail()): Promise<TailPoint[]> {
  await writeFile(file, new Uint8Array(0));
  const seen: TailPoint[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    await appendFile(file, bytes.subarray(prev, c));
    prev = c;
    const u = await tail.poll(file);
    assert.equal(u.reset, false);
    assert.deepEqual(u.warnings, []);
    seen.push(...u.points);
  }
  return seen;
}

const sortedCuts = (n: number) => fc.uniqueArray(fc.nat(n - 1), { maxLength: 12 }).map((a) => a.sort((x, y) => x - y));

describe('LogTail: reading files while they are appended to', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(cleanupTempDirs);

  it('knows each log kind by its file name', () => {
    assert.equal(tailKindOf('/a/events.out.tfevents.1.host'), 'tfevents');
    assert.equal(tailKindOf('/a/metrics.csv'), 'csv');
    assert.equal(tailKindOf('/a/log.jsonl'), 'jsonl');
    assert.equal(tailKindOf('/a/trainer_state.json'), 'trainer_state');
    assert.equal(tailKindOf('/mlruns/0/r/metrics/loss'), 'mlflow_metric');
  });

  it('event file: every record exactly once, whatever the byte positions of the appends (property)', async () => {
    const records = [frameRecord(encodeFileVersionEvent(1)), ...Array.from({ length: 40 }, (_, i) => frameRecord(encodeScalarEvent(i % 2 ? 'a' : 'b', i, i, 1 + i)))];
    const bytes = concat(records);
    const file = join(dir, 'events.out.tfevents.1.tail');
    await fc.assert(
      fc.asyncProperty(sortedCuts(bytes.length), async (cuts) => {
        const seen = await appendAndTail(file, bytes, cuts);
        assert.deepEqual(
          seen.map((p) => p.step),
          Array.from({ length: 40 }, (_, i) => i),
        );
      }),
      { seed: 21, numRuns: 25 },
    );
  });

  it('event file: hparams arrive with the poll that completes them', async () => {
    const file = join(dir, 'events.out.tfevents.2.tail');
    const hp = frameRecord(encodeHparamsEvent({ lr: 0.3 }, 1));
    await writeFile(file, hp.subarray(0, 20));
    const tail = new LogTail();
    assert.deepEqual((await tail.poll(file)).hparams, []);
    await appendFile(file, hp.subarray(20));
    assert.deepEqual((await tail.poll(file)).hparams.map((h) => ({ ...h })), [{ lr: 0.3 }]);
  });

  it('CSV: every row exactly once when lines are cut anywhere (property)', async () => {
    const text = 'step,loss,acc\r\n' + Array.from({ length: 30 }, (_, i) => `${i},${i / 8},${i % 3 ? '' : 0.5}`).join('\r\n') + '\r\n';
    const bytes = new TextEncoder().encode(text);
    const file = join(dir, 'tail.csv');
    await fc.assert(
      fc.asyncProperty(sortedCuts(bytes.length), async (cuts) => {
        const seen = await appendAndTail(file, bytes, cuts);
        assert.deepEqual(
          seen.filter((p) => p.tag === 'loss').map((p) => [p.step, p.value]),
          Array.from({ length: 30 }, (_, i) => [i, i / 8]),
        );
      }),
      { seed: 22, numRuns: 25 },
    );
  });

  it('CSV: a Lightning rewrite with a wider header resets and re-delivers the whole file', async () => {
    const w = await LightningCsvWriter.create(join(dir, 'lt'));
    const tail = new LogTail();
    w.log({ loss: 1 }, 0);
    await w.flush();
    const u1 = await tail.poll(w.file);
    assert.deepEqual(u1.points.map((p) => p.tag), ['loss']);
    w.log({ loss: 0.5, val_loss: 0.7 }, 1);
    await w.flush();
    const u2 = await tail.poll(w.file);
    assert.equal(u2.reset, true);
    assert.deepEqual(
      u2.points.map((p) => [p.tag, p.step, p.value]),
      [
        ['loss', 0, 1],
        ['loss', 1, 0.5],
        ['val_loss', 1, 0.7],
      ],
    );
    w.log({ loss: 0.25 }, 2);
    await w.flush();
    const u3 = await tail.poll(w.file);
    assert.equal(u3.reset, false);
    assert.deepEqual(u3.points.map((p) => [p.tag, p.step]), [['loss', 2]]);
  });

  it('a truncated or replaced file resets the tail', async () => {
    const file = join(dir, 'replace.jsonl');
    const tail = new LogTail();
    await writeText(file, '{"step":1,"loss":1}\n{"step":2,"loss":2}\n');
    assert.equal((await tail.poll(file)).points.length, 2);
    await rm(file);
    await writeText(file, '{"step":1,"loss":5}\n');
    const u = await tail.poll(file);
    assert.equal(u.reset, true);
    assert.deepEqual(u.points.map((p) => p.value), [5]);
  });

  it('JSONL and MLflow metric files: appended lines once each, a partial line waits', async () => {
    const jl = join(dir, 'a.jsonl');
    const tail = new LogTail();
    await writeText(jl, '{"step":1,"loss":1}\n{"step":2,"lo');
    assert.deepEqual((await tail.poll(jl)).points.map((p) => p.step), [1]);
    await appendFile(jl, 'ss":2}\n');
    assert.deepEqual((await tail.poll(jl)).points.map((p) => p.step), [2]);
    const mf = join(dir, 'mlruns', '0', 'r', 'metrics', 'train', 'loss');
    await writeText(mf, '1700000000000 0.5 1\n1700000001000 0.4');
    assert.deepEqual((await tail.poll(mf)).points, [{ tag: 'train/loss', step: 1, value: 0.5, wallTime: 1700000000 }]);
    await appendFile(mf, ' 2\n');
    assert.deepEqual((await tail.poll(mf)).points.map((p) => [p.step, p.value]), [[2, 0.4]]);
  });

  it('trainer_state.json: only log_history entries added since the last poll', async () => {
    const d = join(dir, 'hf');
    const tail = new LogTail();
    const entries = [
      { step: 1, loss: 1 },
      { step: 2, loss: 0.5 },
    ];
    await writeTrainerState(d, { log_history: entries.slice(0, 1) });
    assert.deepEqual((await tail.poll(join(d, 'trainer_state.json'))).points.map((p) => p.step), [1]);
    await writeTrainerState(d, { log_history: entries });
    assert.deepEqual((await tail.poll(join(d, 'trainer_state.json'))).points.map((p) => p.step), [2]);
  });
});

describe('LogTail on a damaged event file', () => {
  after(cleanupTempDirs);
  it('reports a bad length checksum once, not on every poll', async () => {
    const dir = await tempDir();
    const good = frameRecord(encodeScalarEvent('loss', 1, 1, 1));
    const bad = frameRecord(encodeScalarEvent('loss', 2, 2, 2));
    bad[0] ^= 0xff;
    const file = join(dir, 'events.out.tfevents.9');
    await writeFile(file, concat([good, bad]));
    const tail = new LogTail();
    const u1 = await tail.poll(file);
    assert.deepEqual(u1.points.map((p) => p.step), [1]);
    assert.equal(u1.warnings.length, 1);
    assert.match(u1.warnings[0].message, /length checksum mismatch/);
    assert.deepEqual((await tail.poll(file)).warnings, []);
  });
});
