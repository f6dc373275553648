import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { crc32 } from '../../../src/core/logs/wandb/crc32';
import { readWandbFrames } from '../../../src/core/logs/wandb/framing';
import { readWandbRun } from '../../../src/core/logs/wandb/reader';
import { discoverRuns } from '../../../src/core/runs/discover';
import { readRun } from '../../../src/core/runs/read-run';
import { runCli } from '../../support/cli';
import { isHeatcapError } from '../../../src/core/errors';
import { cleanupTempDirs, tempDir, writeText } from '../../support/logs/fixtures';

/**
 * W&B run folders as real clients wrote them (test/fixtures/wandb/README.md: where each comes from).
 * Every expected number below is printed by test/fixtures/wandb/count.py, a standard-library Python
 * reader written apart from the TypeScript one.
 */
const FIX = join(__dirname, '..', '..', 'fixtures', 'wandb');
const SRGAN = join(FIX, 'enhanced-srgan', 'wandb', 'run-20220617_165304-32td9l1g'); // client 0.12.18
const UNET = join(FIX, 'unet-pytorch', 'wandb', 'run-20250823_132458-t6zm518r'); // client 0.13.5
const VQ_CLOSED = join(FIX, 'vq-vae', 'wandb', 'run-20250315_170753-x7n9fszq'); // client 0.19.8 (Go core)
const VQ_OPEN = join(FIX, 'vq-vae', 'wandb', 'run-20250315_164420-73bq2lth'); // 0.19.8, never closed
const OFFLINE = join(FIX, 'rl4avs', 'wandb', 'offline-run-20250818_152140-0t11yvt5'); // 0.21.0, offline, never closed

const logOf = (dir: string): string => join(dir, `run-${basename(dir).split('-').pop()}.wandb`);

/** Copies a run folder's files (the .wandb log cut to `bytes` when given) into a fresh `wandb/` folder. */
async function copyRun(src: string, opts: { cut?: number; mutate?: (b: Buffer) => void; withFiles?: boolean } = {}): Promise<string> {
  const root = await tempDir('heatcap-wandb-');
  const dst = join(root, 'wandb', basename(src));
  await mkdir(join(dst, 'files'), { recursive: true });
  let bytes = await readFile(logOf(src));
  if (opts.cut !== undefined) bytes = bytes.subarray(0, opts.cut);
  if (opts.mutate) {
    bytes = Buffer.from(bytes);
    opts.mutate(bytes);
  }
  await writeFile(logOf(dst), bytes);
  if (opts.withFiles !== false) {
    for (const f of ['config.yaml', 'wandb-summary.json']) await copyFile(join(src, 'files', f), join(dst, 'files', f)).catch(() => undefined);
  }
  return dst;
}

/** Offsets where each whole record starts and ends (its bytes in the file), by the framing reader. */
async function recordSpans(file: string): Promise<{ start: number; end: number }[]> {
  const spans: { start: number; end: number }[] = [];
  await readWandbFrames(file, (data, offset) => spans.push({ start: offset, end: offset + 7 + data.length }));
  return spans;
}

describe('W&B run folders', () => {
  after(cleanupTempDirs);

  // Synthetic (no real folder of this layout was at hand): one JSON object per step in files/wandb-history.jsonl.
  it('files/wandb-history.jsonl is the history when there is no .wandb log: _step, _timestamp, nested keys; a cut last line is not damage', async () => {
    const root = await tempDir('heatcap-wandb-');
    const dir = join(root, 'wandb', 'offline-run-20240101_000000-abcd1234');
    const lines = [0, 1, 2].map((i) => JSON.stringify({ _step: 10 * i, _runtime: i, _timestamp: 1.7e9 + i, 'train/loss': 3 - i / 2, val: { acc: 0.5 + i / 10 }, img: { _type: 'image-file' } }));
    await writeText(join(dir, 'files', 'wandb-history.jsonl'), `${lines.join('\n')}\n{"_step": 30, "train/lo`);
    await writeText(join(dir, 'files', 'config.yaml'), 'wandb_version: 1\nlr:\n  value: 0.01\n');
    const data = await readWandbRun(dir);
    assert.deepEqual(data.scalars['train/loss'].steps, [0, 10, 20]);
    assert.deepEqual(data.scalars['train/loss'].values, [3, 2.5, 2]);
    assert.deepEqual(data.scalars['val/acc'].values, [0.5, 0.6, 0.7]);
    assert.deepEqual(data.warnings, []);
    const empty = join(root, 'wandb', 'offline-run-20240101_000001-efgh5678');
    await writeText(join(empty, 'files', 'config.yaml'), 'wandb_version: 1\n');
    assert.deepEqual(
      (await readWandbRun(empty)).warnings.map((w) => w.message),
      ['no run-<id>.wandb log and no files/wandb-history.jsonl in this W&B run folder; no history read'],
    );
  });

  it('CRC-32 is zlib’s (the check value of "123456789")', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  });

  it('client 0.12.18: 160 history records, one step each, 19 numeric keys, the run record’s name', async () => {
    const d = await readWandbRun(SRGAN);
    assert.equal(d.format, 'wandb');
    assert.equal(d.name, 'enhanced-srgan-20220617-165306');
    const keys = Object.keys(d.scalars);
    assert.equal(keys.length, 17, keys.join(', ')); // count.py's 19 keys less _runtime and _timestamp
    assert.equal(d.scalars.epoch.steps.length, 160);
    assert.deepEqual([d.scalars.epoch.steps[0], d.scalars.epoch.steps[159]], [0, 159]);
    assert.deepEqual([d.scalars.epoch.values[0], d.scalars.epoch.values[159]], [1, 10]);
    const val = d.scalars['stage-1/val_loss_avg'];
    assert.equal(val.steps.length, 10);
    assert.equal(val.values[0], 0.13488136112689972);
    assert.equal(val.values[9], 0.07776146830618381);
    assert.deepEqual([d.scalars.epoch.wallTimes?.[0], d.scalars.epoch.wallTimes?.[159]], [1655477591, 1655477635]);
    assert.deepEqual(d.warnings, []);
    assert.equal(d.params.length, 1);
    assert.equal(d.params[0].label, 'W&B config (files/config.yaml)');
    assert.deepEqual(Object.keys(d.params[0].values), [], 'only _wandb and wandb_version in this config');
    assert.ok(!d.files.some((f) => f.endsWith('wandb-summary.json')), 'the summary is not read when there is history');
  });

  it('client 0.13.5: 23 steps of "train loss", "step", "epoch"; lr and batch size from config.yaml {desc, value}', async () => {
    const run = await readRun(UNET);
    assert.equal(run.format, 'wandb');
    assert.equal(run.name, basename(UNET), 'no display name in the run record: the folder’s');
    assert.deepEqual(Object.keys(run.scalars).sort(), ['epoch', 'step', 'train loss']);
    const loss = run.scalars['train loss'];
    assert.equal(loss.steps.length, 23);
    assert.deepEqual([loss.steps[0], loss.steps[22]], [0, 22]);
    assert.deepEqual([loss.values[0], loss.values[22]], [1.5549936294555664, 1.267142653465271]);
    assert.deepEqual([loss.wallTimes?.[0], loss.wallTimes?.[22]], [1755919510.4129786, 1755919512.3148513]);
    assert.deepEqual(run.hparams.lr, { value: 1e-5, source: 'W&B config (files/config.yaml): learning_rate' });
    assert.equal(run.hparams.batch_size?.value, 4);
    assert.equal(run.hparams.raw.epochs.value, 40);
    assert.ok(!('_wandb' in run.hparams.raw) && !Object.keys(run.hparams.raw).some((k) => k.startsWith('_wandb')));
  });

  it('client 0.19.8 (Go core): 62 steps; config.yaml in the newer {value} form', async () => {
    const d = await readWandbRun(VQ_CLOSED);
    assert.deepEqual(Object.keys(d.scalars).sort(), ['train_loss', 'train_quantized_loss', 'train_reconstruction_loss']);
    const s = d.scalars.train_loss;
    assert.equal(s.steps.length, 62);
    assert.deepEqual([s.steps[0], s.steps[61], s.values[0], s.values[61]], [0, 61, 1.3741308450698853, 0.7848968505859375]);
    assert.deepEqual([s.wallTimes?.[0], s.wallTimes?.[61]], [1742029675.8744507, 1742029693.8230162]);
    assert.equal(d.params[0].values.learning_rate, 0.000225);
    assert.equal(d.params[0].values.batch_size, 64);
    assert.deepEqual(d.warnings, []);
  });

  it('a run never closed (0.19.8): the 432 whole records, 83 steps, one warning naming the file and offset 98271; config from the log', async () => {
    const d = await readWandbRun(VQ_OPEN);
    assert.equal(d.scalars.train_loss.steps.length, 83);
    assert.deepEqual([d.scalars.train_loss.values[0], d.scalars.train_loss.values[82]], [2.431567430496216, 2.6789093017578125]);
    assert.equal(d.warnings.length, 1, JSON.stringify(d.warnings));
    assert.equal(d.warnings[0].file, logOf(VQ_OPEN));
    assert.match(d.warnings[0].message, /offset 98271\b.*never closed.*432 whole record/);
    assert.equal(d.params.length, 1);
    assert.match(d.params[0].label, /run-73bq2lth\.wandb; no files\/config\.yaml/);
    assert.equal(d.params[0].values.learning_rate, 0.000225);
  });

  it('an offline run never closed (0.21.0): listed with no points, its config from the log, one warning at offset 32557', async () => {
    const disc = await discoverRuns(join(FIX, 'rl4avs'));
    assert.equal(disc.runs.length, 1);
    const run = disc.runs[0];
    assert.equal(run.path, 'wandb/offline-run-20250818_152140-0t11yvt5');
    assert.equal(run.absPath, OFFLINE);
    assert.deepEqual(Object.keys(run.scalars), []);
    assert.equal(run.warnings.length, 1, JSON.stringify(run.warnings));
    assert.match(run.warnings[0].message, /offset 32557\b.*109 whole record/);
    assert.equal(run.hparams.raw.total_timesteps?.value, 10000);
  });

  it('discovery lists each fixture folder once, as a W&B run, and nothing inside it', async () => {
    const disc = await discoverRuns(FIX);
    assert.deepEqual(
      disc.runs.map((r) => [r.path, r.format]),
      [
        ['enhanced-srgan/wandb/run-20220617_165304-32td9l1g', 'wandb'],
        ['rl4avs/wandb/offline-run-20250818_152140-0t11yvt5', 'wandb'],
        ['unet-pytorch/wandb/run-20250823_132458-t6zm518r', 'wandb'],
        ['vq-vae/wandb/run-20250315_164420-73bq2lth', 'wandb'],
        ['vq-vae/wandb/run-20250315_170753-x7n9fszq', 'wandb'],
      ],
    );
    const one = await discoverRuns(logOf(UNET));
    assert.deepEqual(one.runs.map((r) => [r.absPath, r.format]), [[UNET, 'wandb']], 'a .wandb file stands for its run folder');
  });

  it('heatcap runs and heatcap scalars list W&B runs', async () => {
    const r = await runCli(['runs', join(FIX, 'unet-pytorch'), '--json']);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.equal(doc.runs.length, 1);
    assert.equal(doc.runs[0].format, 'wandb');
    assert.equal(doc.runs[0].hparams.lr, 1e-5);
    assert.deepEqual(doc.runs[0].tags['train loss'], { count: 23, first_step: 0, last_step: 22, last_value: 1.267142653465271 });
    const s = await runCli(['scalars', UNET, '--tag', 'train loss', '--json']);
    assert.equal(s.code, 0, s.err);
    const sd = JSON.parse(s.out);
    assert.equal(JSON.stringify(sd).includes('1.5549936294555664'), true);
  });

  describe('bad input', () => {
    it('cut mid-record at several offsets: every whole point before the cut, one warning with the file and offset', async () => {
      const full = await readWandbRun(VQ_CLOSED);
      const spans = await recordSpans(logOf(VQ_CLOSED));
      const size = (await readFile(logOf(VQ_CLOSED))).length;
      // Offsets inside records (including ones split over a block boundary), inside a header, at 32 KiB.
      const cuts = [10, 500, 4000, 32770, 40000, 65536, 65540, size - 3];
      for (const cut of cuts) {
        const dir = await copyRun(VQ_CLOSED, { cut, withFiles: false });
        const d = await readWandbRun(dir);
        const whole = spans.filter((s) => s.end <= cut);
        const inside = spans.find((s) => s.start < cut && s.end > cut);
        const wantSteps = full.scalars.train_loss.steps.filter((_, i) => i < (d.scalars.train_loss?.steps.length ?? 0));
        assert.deepEqual(d.scalars.train_loss?.steps ?? [], wantSteps, `cut ${cut}`);
        assert.deepEqual(d.scalars.train_loss?.values ?? [], full.scalars.train_loss.values.slice(0, wantSteps.length), `cut ${cut}`);
        const cutWarnings = d.warnings.filter((w) => /never closed/.test(w.message));
        assert.equal(cutWarnings.length, 1, `cut ${cut}: ${JSON.stringify(d.warnings)}`);
        assert.equal(cutWarnings[0].file, logOf(dir));
        if (inside) assert.match(cutWarnings[0].message, new RegExp(`offset ${inside.start}\\b.*read the ${whole.length} whole record`), `cut ${cut}`);
        assert.equal(d.warnings.length, 1, `cut ${cut}: ${JSON.stringify(d.warnings)}`);
      }
    });

    it('the history points of a cut file are exactly those in the records before the cut', async () => {
      const spans = await recordSpans(logOf(VQ_OPEN));
      // Cut half-way through the 200th record: the points are those of the history records in the first 199.
      const cut = Math.floor((spans[199].start + spans[199].end) / 2);
      const dir = await copyRun(VQ_OPEN, { cut });
      const d = await readWandbRun(dir);
      const full = await readWandbRun(VQ_OPEN);
      const n = d.scalars.train_loss.steps.length;
      assert.ok(n > 10 && n < 83, String(n));
      assert.deepEqual(d.scalars.train_loss.values, full.scalars.train_loss.values.slice(0, n));
    });

    it('a flipped byte (bad checksum): a warning with the offset, the records after it still read', async () => {
      const spans = await recordSpans(logOf(VQ_CLOSED));
      const full = await readWandbRun(VQ_CLOSED);
      const victim = spans[100];
      const dir = await copyRun(VQ_CLOSED, { mutate: (b) => void (b[victim.start + 7 + 2] ^= 0x40) });
      const d = await readWandbRun(dir);
      const bad = d.warnings.filter((w) => /checksum/.test(w.message));
      assert.equal(bad.length, 1, JSON.stringify(d.warnings));
      assert.equal(bad[0].file, logOf(dir));
      assert.match(bad[0].message, new RegExp(`offset ${victim.start}\\b`));
      const total = (s: Record<string, { steps: number[] }>): number => Object.values(s).reduce((a, x) => a + x.steps.length, 0);
      assert.ok(total(d.scalars) >= total(full.scalars) - 3, `${total(d.scalars)} of ${total(full.scalars)}`);
      assert.equal(d.scalars.train_loss.values.at(-1), full.scalars.train_loss.values.at(-1), 'the last point is still read');
    });

    it('a bad length: the rest of that 32 KiB block is skipped, the next blocks are read', async () => {
      const spans = await recordSpans(logOf(VQ_CLOSED));
      const full = await readWandbRun(VQ_CLOSED);
      const victim = spans[50];
      assert.ok(victim.end < 32768);
      const dir = await copyRun(VQ_CLOSED, { mutate: (b) => void b.writeUInt16LE(40000 & 0xffff, victim.start + 4) });
      const d = await readWandbRun(dir);
      assert.equal(d.warnings.length, 1, JSON.stringify(d.warnings));
      assert.match(d.warnings[0].message, new RegExp(`offset ${victim.start}\\b`));
      const after = full.scalars.train_loss.steps.filter((s) => d.scalars.train_loss.steps.includes(s));
      assert.ok(after.length > 10 && after.length < 62, String(after.length));
      assert.equal(d.scalars.train_loss.values.at(-1), full.scalars.train_loss.values.at(-1));
    });

    it('not a W&B log at all (a Git LFS pointer): a warning, the config still read', async () => {
      const dir = await copyRun(UNET, { mutate: (b) => b.fill(0x61) });
      await writeFile(logOf(dir), 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 29705\n');
      const d = await readWandbRun(dir);
      assert.match(d.warnings.map((w) => w.message).join('\n'), /not a W&B run log/);
      assert.equal(d.params[0].values.learning_rate, 1e-5);
    });
  });

  describe('config and summary', () => {
    it('a run folder with only files/config.yaml is a run with no points, not dropped', async () => {
      const root = await tempDir('heatcap-wandb-');
      await writeText(join(root, 'wandb', 'run-20240101_000000-abc123', 'files', 'config.yaml'), 'wandb_version: 1\n_wandb:\n  desc: null\n  value: {cli_version: 0.16.0}\nlr:\n  desc: null\n  value: 0.05\nbatch_size:\n  value: 128\n');
      const disc = await discoverRuns(root);
      assert.equal(disc.runs.length, 1, JSON.stringify(disc.warnings));
      const run = disc.runs[0];
      assert.equal(run.format, 'wandb');
      assert.deepEqual(Object.keys(run.scalars), []);
      assert.equal(run.hparams.lr?.value, 0.05);
      assert.equal(run.hparams.batch_size?.value, 128);
      assert.match(run.warnings.map((w) => w.message).join('\n'), /no run-<id>\.wandb log/);
    });

    it('typed YAML tags are read as plain data, never constructed', async () => {
      const root = await tempDir('heatcap-wandb-');
      const dir = join(root, 'wandb', 'run-20240101_000000-tags01');
      await writeText(
        join(dir, 'files', 'config.yaml'),
        [
          'optimizer:',
          '  desc: null',
          '  value: !!python/object:torch.optim.SGD',
          '    lr: 0.1',
          '    momentum: 0.9',
          'sizes:',
          '  value: !!python/tuple [1, 2]',
          'flags:',
          '  value: !!set {a: null}',
          'name:',
          '  value: !!python/name:os.system ""',
          'epochs:',
          '  value: 3',
          '',
        ].join('\n'),
      );
      const d = await readWandbRun(dir);
      assert.deepEqual({ ...d.params[0].values }, { 'optimizer.lr': 0.1, 'optimizer.momentum': 0.9, name: '', epochs: 3 });
    });

    it('wandb-summary.json only as a last resort, and marked as such', async () => {
      // The 0.12.15 run folder at ARM-software/keyword-transformer has a log with no history; here a
      // log cut to its file header stands for one.
      const dir = await copyRun(SRGAN, { cut: 7 });
      const d = await readWandbRun(dir);
      assert.equal(d.scalars['stage-1/val_loss_avg'].steps[0], 159);
      assert.equal(d.scalars['stage-1/val_loss_avg'].values[0], 0.07776146830618381);
      assert.equal(d.scalars.epoch.values[0], 10);
      assert.ok(!('_runtime' in d.scalars) && !('_wandb/runtime' in d.scalars));
      const w = d.warnings.find((x) => /wandb-summary\.json/.test(x.message));
      assert.ok(w, JSON.stringify(d.warnings));
      assert.match(w.message, /last resort/);
      assert.ok(d.files.some((f) => f.endsWith('wandb-summary.json')));
    });

    it('history values: nested keys joined with "/", NaN and ±Infinity kept, media and booleans skipped', async () => {
      const dir = join(await tempDir('heatcap-wandb-'), 'wandb', 'run-x-made01');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'run-made01.wandb'), makeLog([
        history([['_step', '0'], ['loss', 'NaN'], ['acc', 'true'], ['img', '{"_type": "image-file", "path": "x.png"}'], ['opt', '{"lr": 0.1, "m": {"b": 2}}']]),
        history([['_step', '5'], ['loss', 'Infinity'], ['_timestamp', '1700000000.5']], [['train', 'loss'], '0.25']),
        exitRecord(),
      ]));
      const d = await readWandbRun(dir);
      assert.deepEqual(Object.keys(d.scalars).sort(), ['loss', 'opt/lr', 'opt/m/b', 'train/loss']);
      assert.deepEqual(d.scalars.loss.values, [NaN, Infinity]);
      assert.deepEqual(d.scalars.loss.steps, [0, 5]);
      assert.deepEqual(d.scalars['train/loss'], { steps: [5], values: [0.25], wallTimes: [1700000000.5] });
      assert.match(d.warnings.map((w) => w.message).join('\n'), /2 history key\(s\) hold no numbers.*acc, img/);
    });

    it('without a _step item the history record’s step number is the step; without either, the next step', async () => {
      const dir = join(await tempDir('heatcap-wandb-'), 'wandb', 'run-x-step01');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'run-step01.wandb'), makeLog([history([['loss', '3']], undefined, 7), history([['loss', '2']], undefined, 300), history([['loss', '1']]), exitRecord()]));
      const d = await readWandbRun(dir);
      assert.deepEqual(d.scalars.loss, { steps: [7, 300, 301], values: [3, 2, 1] });
    });

    it('a record split FIRST/MIDDLE/LAST over three blocks is reassembled', async () => {
      const dir = join(await tempDir('heatcap-wandb-'), 'wandb', 'run-x-big001');
      await mkdir(dir, { recursive: true });
      const big: [string, string][] = [['_step', '3']];
      for (let i = 0; i < 3000; i++) big.push([`metric_${String(i).padStart(4, '0')}`, String(i)]);
      await writeFile(join(dir, 'run-big001.wandb'), makeLog([history([['_step', '1'], ['loss', '1']]), history(big), history([['_step', '4'], ['loss', '0.5']]), exitRecord()]));
      const d = await readWandbRun(dir);
      assert.deepEqual(d.warnings, []);
      assert.equal(Object.keys(d.scalars).length, 3001);
      assert.deepEqual(d.scalars.metric_2999, { steps: [3], values: [2999] });
      assert.deepEqual(d.scalars.loss.steps, [1, 4]);
    });
  });
});

describe('fuzzing the W&B reader (time-bounded)', () => {
  after(cleanupTempDirs);
  const LIMIT_MS = 2500;

  async function onlyHeatcapErrors(p: Promise<unknown>): Promise<boolean> {
    try {
      await p;
    } catch (e) {
      if (!isHeatcapError(e)) throw e;
    }
    return true;
  }

  async function runDir(): Promise<string> {
    const d = join(await tempDir('heatcap-wandb-fuzz-'), 'wandb', 'run-x-fuzz01');
    await mkdir(join(d, 'files'), { recursive: true });
    return d;
  }

  it('random bytes as the log, config.yaml and summary: data or a HeatcapError, never a crash or a hang', async () => {
    const d = await runDir();
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 700 }),
      fc.uint8Array({ maxLength: 700 }).map((b) => Uint8Array.from([0x3a, 0x57, 0x26, 0x42, 0xe1, 0xbe, 0x00, ...b])),
    );
    const res = await fc.check(
      fc.asyncProperty(bytes, fc.string({ maxLength: 200 }), async (b, text) => {
        await writeFile(join(d, 'run-fuzz01.wandb'), b);
        await writeFile(join(d, 'files', 'config.yaml'), text);
        await writeFile(join(d, 'files', 'wandb-summary.json'), text);
        return onlyHeatcapErrors(readWandbRun(d));
      }),
      { seed: 17, numRuns: 400, interruptAfterTimeLimit: LIMIT_MS },
    );
    assert.ok(!res.failed, fc.defaultReportMessage(res) ?? 'failed');
  });

  it('a real log with bytes changed or cut anywhere: data or a HeatcapError, points only from whole records', async () => {
    const d = await runDir();
    const real = await readFile(logOf(VQ_CLOSED));
    const full = await readWandbRun(VQ_CLOSED);
    const fullLoss = new Map(full.scalars.train_loss.steps.map((s, i) => [s, full.scalars.train_loss.values[i]]));
    const res = await fc.check(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: real.length - 1 }), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        fc.option(fc.nat({ max: real.length }), { nil: undefined }),
        async (flips, cut) => {
          const b = Buffer.from(real.subarray(0, cut ?? real.length));
          for (const [at, x] of flips) if (at < b.length) b[at] ^= x;
          await writeFile(join(d, 'run-fuzz01.wandb'), b);
          try {
            const got = await readWandbRun(d);
            // A value that survives is a value the writer wrote at that step, or a changed byte inside a
            // record whose checksum still matched (2^-32): no point is invented from a broken frame.
            const loss = got.scalars.train_loss;
            if (loss && flips.length === 0) loss.steps.forEach((s, i) => assert.equal(loss.values[i], fullLoss.get(s)));
          } catch (e) {
            if (!isHeatcapError(e)) throw e;
          }
          return true;
        },
      ),
      { seed: 19, numRuns: 300, interruptAfterTimeLimit: LIMIT_MS },
    );
    assert.ok(!res.failed, fc.defaultReportMessage(res) ?? 'failed');
  });
});

// --- A minimal writer for synthetic logs (the framing and protobuf as the clients write them). ---

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function field(num: number, bytes: Uint8Array | number[]): number[] {
  const b = [...bytes];
  return [...varint((num << 3) | 2), ...varint(b.length), ...b];
}

const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];

function item(key: string | string[], valueJson: string): number[] {
  const keyPart = Array.isArray(key) ? key.flatMap((k) => field(2, utf8(k))) : field(1, utf8(key));
  return [...keyPart, ...field(16, utf8(valueJson))];
}

function history(items: [string, string][], nested?: [string[], string], stepNum?: number): Uint8Array {
  const body = items.flatMap(([k, v]) => field(1, item(k, v)));
  if (nested) body.push(...field(1, item(nested[0], nested[1])));
  if (stepNum !== undefined) body.push(...field(2, [8, ...varint(stepNum)]));
  return new Uint8Array(field(2, body));
}

function exitRecord(): Uint8Array {
  return new Uint8Array(field(18, [8, 0]));
}

/** A log as the writer frames it: header, records split at 32 KiB block boundaries. */
function makeLog(records: Uint8Array[]): Uint8Array {
  const out: number[] = [0x3a, 0x57, 0x26, 0x42, 0xe1, 0xbe, 0x00];
  const BLOCK = 32768;
  for (const rec of records) {
    let off = 0;
    let first = true;
    do {
      let left = BLOCK - (out.length % BLOCK);
      if (left < 7) {
        for (let i = 0; i < left; i++) out.push(0);
        left = BLOCK;
      }
      const n = Math.min(rec.length - off, left - 7);
      const last = off + n === rec.length;
      const type = first && last ? 1 : first ? 2 : last ? 4 : 3;
      const data = rec.subarray(off, off + n);
      const c = crcWithType(type, data);
      out.push(c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, (c >>> 24) & 0xff, n & 0xff, n >> 8, type, ...data);
      off += n;
      first = false;
    } while (off < rec.length);
  }
  return new Uint8Array(out);
}

function crcWithType(type: number, data: Uint8Array): number {
  const b = new Uint8Array(data.length + 1);
  b[0] = type;
  b.set(data, 1);
  return crc32(b);
}
