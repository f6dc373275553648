import { strict as assert } from 'node:assert';
import { readFile, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { readFrames, frameRecord, type FrameReadOptions } from '../../../src/core/logs/tfevents/framing';
import { maskedCrc32c } from '../../../src/core/logs/tfevents/crc32c';
import { EventDecoder } from '../../../src/core/logs/tfevents/event';
import { readEventFile } from '../../../src/core/logs/tfevents/reader';
import { encodeScalarEvent, TfeventsWriter } from '../../../src/core/logs/tfevents/writer';
import { readTfeventsLog } from '../../../src/core/logs/read';
import { requireRealLogOrSkip } from '../../support/external';
import { cleanupTempDirs, tempDir, writeText } from '../../support/logs/fixtures';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** Two records exactly as TensorFlow wrote them (a Keras train log): the file-version event, then epoch_loss. */
const TF_FILE_VERSION = hex('3e00000000000000d9d240e7090000c008af30d9411a0d627261696e2e4576656e743a3252240a2274656e736f72666c6f772e636f72652e7574696c2e6576656e74735f777269746572aa5d8f8f');
const TF_EPOCH_LOSS = hex('3200000000000000241956ec09124da50aaf30d9412a270a250a0a65706f63685f6c6f7373420a0801120022043132433f4a0b0a090a077363616c617273595201c8');

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** N scalar records `loss` = i/10 at step i, framed; returns the bytes and each record's start offset. */
function scalarFile(n: number): { bytes: Uint8Array; offsets: number[] } {
  const recs = Array.from({ length: n }, (_, i) => frameRecord(encodeScalarEvent('loss', i / 10, i, 1e9 + i)));
  const offsets: number[] = [];
  let o = 0;
  for (const r of recs) {
    offsets.push(o);
    o += r.length;
  }
  return { bytes: concat(...recs), offsets };
}

async function readSteps(file: string, opts = {}) {
  const steps: number[] = [];
  const d = new EventDecoder({ scalar: (_t, s) => steps.push(s) });
  const res = await readEventFile(file, d, opts);
  return { steps, res };
}

describe('TFRecord framing and event files', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(cleanupTempDirs);

  it('reads records framed by TensorFlow itself (length CRC and payload CRC verified)', async () => {
    const file = await writeText(join(dir, 'tf', 'events.out.tfevents.1.host'), concat(TF_FILE_VERSION, TF_EPOCH_LOSS));
    const versions: string[] = [];
    const points: [string, number][] = [];
    const d = new EventDecoder({ scalar: (t, _s, _w, v) => points.push([t, v]), fileVersion: (v) => versions.push(v) });
    const res = await readEventFile(file, d);
    assert.equal(res.stop, 'end');
    assert.equal(res.records, 2);
    assert.equal(res.badPayloadCrc, 0);
    assert.deepEqual(versions, ['brain.Event:2']);
    assert.equal(points[0][0], 'epoch_loss');
    assert.ok(Math.abs(points[0][1] - 0.762484610080719) < 1e-7); // float32 rounding of the logged value
  });

  it('round-trips the writer: simple_value and TF2 tensor scalars, hparams, file version first', async () => {
    const sub = join(dir, 'rt');
    let t = 100;
    const w = await TfeventsWriter.create(sub, { now: () => (t += 1) });
    w.addHparams({ lr: 0.05, batch_size: 8, optimizer: 'sgd', nesterov: false });
    for (let i = 0; i < 50; i++) {
      w.addScalar('train/loss', 1 / (i + 1), i, 'simple_value');
      w.addScalar('eval/loss', 2 / (i + 1), i, 'tensor');
    }
    await w.close();
    const data = await readTfeventsLog(sub, [{ dir: sub, prefix: '' }]);
    assert.deepEqual(data.warnings, []);
    assert.deepEqual(data.scalars['train/loss'].steps, Array.from({ length: 50 }, (_, i) => i));
    // Oracle: Math.fround of what was written (both encodings store float32).
    assert.deepEqual(data.scalars['train/loss'].values, Array.from({ length: 50 }, (_, i) => Math.fround(1 / (i + 1))));
    assert.deepEqual(data.scalars['eval/loss'].values, Array.from({ length: 50 }, (_, i) => Math.fround(2 / (i + 1))));
    assert.deepEqual({ ...data.params[0].values }, { lr: 0.05, batch_size: 8, optimizer: 'sgd', nesterov: false });
    assert.ok(data.scalars['train/loss'].wallTimes?.every((x) => x > 100));
  });

  it('treats a partial trailing record as not yet written, and resumes from the last good offset', async () => {
    const { bytes, offsets } = scalarFile(10);
    for (const cut of [offsets[7] + 5, offsets[7] + 13, offsets[7] + 20, bytes.length - 1]) {
      const file = await writeText(join(dir, `cut${cut}`, 'events.out.tfevents.1'), bytes.subarray(0, cut));
      const { steps, res } = await readSteps(file);
      const whole = offsets.filter((_o, i) => (offsets[i + 1] ?? bytes.length) <= cut).length;
      assert.deepEqual(steps, Array.from({ length: whole }, (_, i) => i));
      assert.equal(res.stop, 'partial');
      assert.equal(res.nextOffset, offsets[whole]);
      await appendFile(file, bytes.subarray(cut));
      const more = await readSteps(file, { startOffset: res.nextOffset });
      assert.deepEqual(more.steps, Array.from({ length: 10 - whole }, (_, i) => whole + i));
      assert.equal(more.res.stop, 'end');
    }
  });

  it('skips and counts a record whose payload byte was flipped; all other records are returned', async () => {
    const { bytes, offsets } = scalarFile(10);
    const bad = bytes.slice();
    bad[offsets[4] + 12 + 3] ^= 0x40;
    const file = await writeText(join(dir, 'flip', 'events.out.tfevents.1'), bad);
    const { steps, res } = await readSteps(file);
    assert.deepEqual(steps, [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    assert.equal(res.badPayloadCrc, 1);
    assert.equal(res.stop, 'end');
    assert.match(res.problems[0], new RegExp(`offset ${offsets[4]}: record payload checksum mismatch`));
  });

  it('a record cut short with intact records written after it loses only itself (its length is not trusted past its checksum)', async () => {
    const { bytes, offsets } = scalarFile(10);
    // Record 4 keeps its header and 3 payload bytes; records 5… follow right after (an interrupted write, then more).
    const cut = concat(bytes.subarray(0, offsets[4] + 12 + 3), bytes.subarray(offsets[5]));
    const file = await writeText(join(dir, 'midcut', 'events.out.tfevents.1'), cut);
    for (const wholeRecordScan of [true, false]) {
      const { steps, res } = await readSteps(file, { wholeRecordScan });
      assert.deepEqual(steps, [0, 1, 2, 3, 5, 6, 7, 8, 9]);
      assert.equal(res.stop, 'end');
      assert.equal(res.badPayloadCrc, 1);
      assert.match(res.problems.join(' '), new RegExp(`offset ${offsets[4]}: the record's length does not lead to the next record .* offset ${offsets[4] + 12 + 3}`));
    }
  });

  it('skips a record whose length checksum fails and resynchronises on the next valid record', async () => {
    const { bytes, offsets } = scalarFile(10);
    const bad = bytes.slice();
    bad[offsets[6] + 1] ^= 0x01;
    const file = await writeText(join(dir, 'len', 'events.out.tfevents.1'), bad);
    const { steps, res } = await readSteps(file);
    assert.deepEqual(steps, [0, 1, 2, 3, 4, 5, 7, 8, 9]);
    assert.equal(res.stop, 'end');
    assert.equal(res.resynced, 1);
    assert.match(res.problems.join(' '), new RegExp(`offset ${offsets[6]}: record length checksum mismatch; skipped \\d+ damaged bytes to the next valid record at offset ${offsets[7]}`));
  });

  it('stops, keeping what came before, when no valid record follows a damaged length', async () => {
    const { bytes, offsets } = scalarFile(5);
    const bad = bytes.slice();
    bad[offsets[4] + 1] ^= 0x01;
    const file = await writeText(join(dir, 'len-last', 'events.out.tfevents.1'), bad);
    const { steps, res } = await readSteps(file);
    assert.deepEqual(steps, [0, 1, 2, 3]);
    assert.equal(res.stop, 'bad_length_crc');
    assert.equal(res.nextOffset, offsets[4]);
  });

  it('rejects an absurd length with a valid length CRC without allocating it', async () => {
    // A header claiming 2^40 bytes, with a correct length CRC: only 12 bytes + a little payload exist.
    const header = frameRecord(new Uint8Array(0)).slice(0, 12);
    const dv = new DataView(header.buffer);
    dv.setUint32(0, 0, true);
    dv.setUint32(4, 256, true);
    dv.setUint32(8, maskedCrc32c(header, 0, 8), true);
    const file = await writeText(join(dir, 'huge', 'events.out.tfevents.1'), concat(scalarFile(2).bytes, header, new Uint8Array(100)));
    const before = process.memoryUsage().arrayBuffers;
    const { steps, res } = await readSteps(file);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
    assert.deepEqual(steps, [0, 1]);
    assert.equal(res.stop, 'partial');
  });

  it('skips a whole record longer than the cap, reading on after it', async () => {
    const big = frameRecord(new Uint8Array(5000));
    const { bytes } = scalarFile(3);
    const file = await writeText(join(dir, 'cap', 'events.out.tfevents.1'), concat(bytes, big, bytes));
    const { steps, res } = await readSteps(file, { maxRecordBytes: 1000, chunkBytes: 256 });
    assert.deepEqual(steps, [0, 1, 2, 0, 1, 2]);
    assert.equal(res.oversize, 1);
  });

  it('grows its buffer for records larger than a chunk (bounded by the cap)', async () => {
    const events = [encodeScalarEvent('a'.repeat(3000), 1, 1, 1), encodeScalarEvent('b', 2, 2, 2)];
    const file = await writeText(join(dir, 'grow', 'events.out.tfevents.1'), concat(...events.map(frameRecord)));
    const { steps } = await readSteps(file, { chunkBytes: 64 });
    assert.deepEqual(steps, [1, 2]);
  });

  it('random bytes never throw nor hang (property: 300 files, framing + decoding)', async () => {
    const file = join(dir, 'fuzz-events.out.tfevents.1');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), async (bytes, framed) => {
        // Half the cases are random payloads inside valid frames, so the decoder sees them too.
        await writeFile(file, framed ? frameRecord(bytes) : bytes);
        const { res } = await readSteps(file, { chunkBytes: 64 });
        return res.nextOffset <= (framed ? bytes.length + 16 : bytes.length);
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('a flipped byte anywhere loses exactly the record it hit (property)', async () => {
    const { bytes, offsets } = scalarFile(12);
    const file = join(dir, 'flipprop-events.out.tfevents.1');
    await fc.assert(
      fc.asyncProperty(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const bad = bytes.slice();
        bad[at] ^= mask;
        await writeFile(file, bad);
        const { steps } = await readSteps(file);
        const hit = offsets.filter((o) => o <= at).length - 1;
        const want = Array.from({ length: 12 }, (_, i) => i).filter((i) => i !== hit);
        assert.deepEqual(steps, want);
      }),
      { seed: 3, numRuns: 150 },
    );
  });

  it('reads the real Keras logs: scalar tensors kept, histograms/images/graph skipped', async function () {
    const exp = requireRealLogOrSkip(this, 'keras-tf2-mnist/experiments/Exp_2_sgd_200_0.2');
    const data = await readTfeventsLog(exp, [
      { dir: join(exp, 'train'), prefix: '' },
      { dir: join(exp, 'validation'), prefix: 'validation/' },
    ]);
    assert.deepEqual(Object.keys(data.scalars).sort(), [
      'epoch_accuracy',
      'epoch_loss',
      'validation/epoch_accuracy',
      'validation/epoch_loss',
      'validation/evaluation_accuracy_vs_iterations',
      'validation/evaluation_loss_vs_iterations',
    ]);
    assert.deepEqual(data.warnings, []);
    // 10 epochs (README: "10 epochs"), steps 0..9; losses are cross-entropies in (0, ln 10·2).
    assert.deepEqual(data.scalars.epoch_loss.steps, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(data.scalars.epoch_loss.values.every((v) => v > 0 && v < 4.6));
    assert.ok(data.scalars.epoch_loss.values[9] < data.scalars.epoch_loss.values[0]);
    // Keras logs the validation loss twice per epoch under two names with the same value.
    assert.deepEqual(data.scalars['validation/epoch_loss'].values, data.scalars['validation/evaluation_loss_vs_iterations'].values);
  });

  it('reads the real hparams trial: session_start_info as the directory name states it (units 200, dropout 0.2, sgd)', async function () {
    const trial = requireRealLogOrSkip(this, 'keras-tf2-mnist/hparam_tuning/Experiment 2_sgd_200_0.2');
    const data = await readTfeventsLog(trial, [{ dir: trial, prefix: '' }]);
    assert.deepEqual({ ...data.params[0].values }, { units: 200, dropout: 0.2, optimizer: 'sgd' });
    assert.equal(data.scalars.batch_loss.steps.length, 15000);
    const top = requireRealLogOrSkip(this, 'keras-tf2-mnist/hparam_tuning');
    const def = await readTfeventsLog(top, [{ dir: top, prefix: '' }]);
    assert.equal(def.experimentOnly, true);
  });

  it('reads a file from a given offset only (the tail contract)', async () => {
    const { bytes, offsets } = scalarFile(5);
    const file = await writeText(join(dir, 'off', 'events.out.tfevents.1'), bytes);
    const { steps } = await readSteps(file, { startOffset: offsets[3] });
    assert.deepEqual(steps, [3, 4]);
    assert.equal((await readFile(file)).length, bytes.length);
  });
});

describe('readFrames: the whole-record scan against the general loop', () => {
  after(cleanupTempDirs);
  it('returns the same records, offsets, counts and problems on damaged files, any chunk size and cap (property)', async () => {
    const dir = await tempDir();
    const file = join(dir, 'diff-events.out.tfevents.1');
    // A file is a run of pieces: good records of any length, records with a flipped byte (header,
    // payload or footer), random junk, and a possibly cut tail; read with small chunks and caps so
    // records straddle chunks, need a bigger buffer, or are over the cap.
    // (`size: 'max'`: fast-check's default size bias would keep nearly every payload under the caps.)
    const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength, size: 'max' });
    const piece = fc.oneof(
      fc.record({ kind: fc.constant('good' as const), payload: bytes(0, 300) }),
      fc.record({ kind: fc.constant('flip' as const), payload: bytes(0, 60), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('junk' as const), payload: bytes(1, 30) }),
    );
    const read = async (opts: FrameReadOptions) => {
      const got: [number, string][] = [];
      const res = await readFrames(file, (buf, s, e, offset) => got.push([offset, Buffer.from(buf.subarray(s, e)).toString('hex')]), opts);
      return { got, res };
    };
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 12, size: 'max' }), fc.nat(), fc.integer({ min: 16, max: 1024 }), fc.constantFrom(undefined, 40, 200), fc.boolean(), fc.nat(), async (pieces, cutSeed, chunkBytes, maxRecordBytes, verifyPayloadCrc, startSeed) => {
        const parts = pieces.map((p) => {
          if (p.kind === 'junk') return p.payload;
          const rec = frameRecord(p.payload);
          if (p.kind === 'flip') rec[p.at % rec.length] ^= p.mask;
          return rec;
        });
        const all = concat(...parts);
        const cut = all.subarray(0, all.length - (cutSeed % 3 === 0 ? cutSeed % Math.min(all.length + 1, 20) : 0));
        await writeFile(file, cut);
        // Start at 0 or at the start of some piece, as a resumed tail read does.
        const starts = [0, ...parts.map((_p, i) => parts.slice(0, i).reduce((n, q) => n + q.length, 0))].filter((o) => o <= cut.length);
        const opts = { chunkBytes, maxRecordBytes, verifyPayloadCrc, startOffset: starts[startSeed % starts.length] };
        assert.deepEqual(await read(opts), await read({ ...opts, wholeRecordScan: false }));
      }),
      { seed: 23, numRuns: 400 },
    );
  });
});

describe('readFrames on an empty file', () => {
  after(cleanupTempDirs);
  it('ends cleanly with no records', async () => {
    const d = await tempDir();
    const file = await writeText(join(d, 'events.out.tfevents.0'), new Uint8Array(0));
    const res = await readFrames(file, () => assert.fail('no record expected'));
    assert.equal(res.stop, 'end');
    assert.equal(res.records, 0);
  });
});
