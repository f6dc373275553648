import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancelSource } from '../../../src/core/cancel';
import { CancelledError } from '../../../src/core/errors';
import type { LabSetup } from '../../../src/core/lab/config';
import { runSweep, type SweepOptions } from '../../../src/core/lab/sweep';
import { discoverRuns } from '../../../src/core/runs/discover';
import { readRun } from '../../../src/core/runs/read-run';
import type { ScalarSeries } from '../../../src/core/runs/model';
import { main } from '../../../src/cli/main';
import { runCli } from '../../support/cli';
import { tempDir, writeFixture, type LabFixture } from './fixtures';

/**
 * Sweeps end to end: worker threads, sweep.json, and the logs read back by the product's own run
 * readers (oracle: the values the lab wrote — the CSV keeps float64, the event file float32, so each
 * event value must equal Math.fround of its CSV value exactly).
 */
describe('lab sweeps', function () {
  this.timeout(60000);
  const tmp = tempDir('sweep');
  after(() => tmp.cleanup());
  let fx: LabFixture;
  const setup: LabSetup = { batchSize: 4, sampling: 'without_replacement', momentum: 0.5, dampening: 0.1, nesterov: false, weightDecay: 0.001, seed: 11, steps: 4000, burnIn: 500, logEvery: 50, fullLossEvery: 100 };
  const lrs = [0.02, 0.05, 0.1];
  const options = (out: string, extra: Partial<SweepOptions> = {}): SweepOptions => ({
    out,
    model: fx.model,
    data: fx.data,
    labels: fx.labels,
    lrs,
    setup,
    engine: 'auto',
    backend: 'cpu',
    toolVersion: 'test',
    ...extra,
  });

  before(async () => {
    fx = await writeFixture(join(tmp.dir, 'fx'), { inputDim: 6, layers: [{ type: 'dense', units: 3, activation: 'softmax', kernelL2: 0.01 }], loss: 'sparse_categorical_crossentropy', n: 50, labels: 'classes', outDim: 3 });
  });

  it('runs every η in worker threads and writes sweep.json with the setup the analysis reads', async () => {
    const out = join(tmp.dir, 'a');
    const progress: number[] = [];
    const s = await runSweep(options(out, { workers: 2, onProgress: (p) => progress.push(p.fraction ?? -1) }));
    assert.equal(s.workers, 2);
    const m = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    assert.equal(m.complete, true);
    assert.deepEqual(m.runs.map((r: { path: string; lr: number }) => [r.path, r.lr]), [['tensorboard/lr_0.02', 0.02], ['tensorboard/lr_0.05', 0.05], ['tensorboard/lr_0.1', 0.1]]);
    assert.equal(m.checkpoint, '../fx/model/model.json');
    assert.equal(m.data, '../fx/x.npy');
    assert.equal(m.labels, '../fx/y.npy');
    assert.equal(m.loss, 'sparse_categorical_crossentropy');
    assert.equal(m.started_at_checkpoint, true);
    for (const [k, v] of Object.entries({ batch_size: 4, sampling: 'without_replacement', momentum: 0.5, dampening: 0.1, nesterov: false, weight_decay: 0.001, seed: 11, steps: 4000, burn_in: 500, log_every: 50, full_loss_every: 100, dataset_size: 50, tool_version: 'test', engine: 'dense-f64' })) assert.deepEqual(m[k], v, k);
    assert.ok(Math.abs(m.checkpoint_loss - s.runs[0].checkpointLoss) === 0);
    assert.ok(!existsSync(join(out, '.lab-state')), 'run states are removed once the sweep is complete');
    assert.ok(progress.length > 0 && progress.every((f) => f >= 0 && f <= 1));

    const d = await discoverRuns(out);
    const sweep = d.sweeps.find((x) => x.id === '.#sweep.json');
    assert.ok(sweep, `sweeps found: ${d.sweeps.map((x) => x.id).join(', ')}`);
    assert.deepEqual(sweep.runIds, ['tensorboard/lr_0.02', 'tensorboard/lr_0.05', 'tensorboard/lr_0.1']);
    // The CSV copies are mirrors of the event-file runs: discovery lists each run once; read on their own
    // they carry the same setup and values.
    assert.ok(!d.runs.some((r) => r.id.startsWith('csv/')), 'CSV mirrors are not listed as runs');
    for (const lr of lrs) {
      const tb = d.runs.find((r) => r.id === `tensorboard/lr_${lr}`);
      const csv = await readRun(join(out, 'csv', `lr_${lr}`));
      assert.ok(tb && csv);
      assert.equal(tb.format, 'tfevents');
      assert.equal(csv.format, 'csv');
      for (const run of [tb, csv]) {
        const h = run.hparams;
        assert.equal(h.lr?.value, lr);
        assert.equal(h.batch_size?.value, 4);
        assert.equal(h.sampling?.value, 'without_replacement');
        assert.equal(h.momentum?.value, 0.5);
        assert.equal(h.dampening?.value, 0.1);
        assert.equal(h.nesterov?.value, false);
        assert.equal(h.weight_decay?.value, 0.001);
        assert.equal(h.dataset_size?.value, 50);
        assert.equal(h.optimizer?.value, 'sgd');
      }
      assert.deepEqual(Object.keys(tb.scalars).sort(), ['full_train_loss', 'lr', 'train_loss']);
      for (const tag of ['full_train_loss', 'lr', 'train_loss']) {
        const a: ScalarSeries = tb.scalars[tag];
        const b: ScalarSeries = csv.scalars[tag];
        assert.deepEqual(a.steps, b.steps, tag);
        a.values.forEach((v: number, i: number) => assert.equal(v, Math.fround(b.values[i]), `${tag}[${i}]`));
      }
      // full_train_loss every 100 updates from the end of burn-in, train_loss every 50, on the same grid.
      assert.deepEqual(tb.scalars.full_train_loss.steps, Array.from({ length: 36 }, (_, i) => 500 + 100 * i));
      assert.deepEqual(tb.scalars.train_loss.steps, Array.from({ length: 70 }, (_, i) => 550 + 50 * i));
    }
  });

  it('refuses to overwrite a sweep, and to resume it with another setup', async () => {
    const out = join(tmp.dir, 'b');
    await runSweep(options(out, { workers: 0 }));
    await assert.rejects(runSweep(options(out, { workers: 0 })), /a sweep is already here: continue it with --resume/);
    await assert.rejects(runSweep(options(out, { workers: 0, resume: true, setup: { ...setup, batchSize: 5 } })), /cannot resume with a different setup: batch_size is 4 in sweep.json but 5 now/);
    await assert.rejects(runSweep(options(join(tmp.dir, 'c'), { workers: 0, lrs: [0.1, 0.1] })), /lists a learning rate twice/);
    await assert.rejects(runSweep(options(join(tmp.dir, 'c'), { workers: 0, setup: { ...setup, burnIn: 4000 } })), /burn-in must be an integer in \[0, steps\)/);
    await assert.rejects(runSweep(options(join(tmp.dir, 'c'), { workers: 2, data: join(tmp.dir, 'nope.npy') })), (e: Error) => e.name === 'HeatcapError' && /nope\.npy/.test(e.message));
    await assert.rejects(runSweep(options(join(tmp.dir, 'c'), { workers: 2, setup: { ...setup, batchSize: 51 } })), /has 50 examples, fewer than the batch size 51/);
  });

  // Bit-for-bit continuation is tested in resume.test.ts (in this thread, where the stop point is exact);
  // here: worker threads stop at once, the manifest says incomplete, and --resume finishes every run.
  it('a cancelled sweep stops its workers at once and stays resumable, with the same setup only', async () => {
    const big = { ...setup, steps: 50_000_000, logEvery: 100000, fullLossEvery: 100000 };
    const out = join(tmp.dir, 'cancel');
    const source = new CancelSource();
    setTimeout(() => source.cancel(), 3500);
    const t0 = Date.now();
    await assert.rejects(runSweep(options(out, { workers: 2, lrs: [0.02, 0.05], setup: big, token: source.token })), CancelledError);
    assert.ok(Date.now() - t0 < 5000, 'workers terminated on cancel');
    assert.equal(JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')).complete, false);
    const short = { ...big, steps: 200_000 };
    await assert.rejects(runSweep(options(out, { workers: 2, lrs: [0.02, 0.05], setup: short, resume: true })), /cannot resume with a different setup: steps is 50000000/);
  });

  it('--resume after a cancel in worker threads skips finished runs and completes the rest, as an uninterrupted sweep', async () => {
    const out = join(tmp.dir, 'resume-workers');
    const source = new CancelSource();
    const two = [0.02, 0.05];
    await assert.rejects(runSweep(options(out, { workers: 1, lrs: two, token: source.token, onRunDone: () => source.cancel() })), CancelledError);
    assert.ok(existsSync(join(out, '.lab-state', 'lr_0.02')), 'the finished run is recorded as done');
    const resumed = await runSweep(options(out, { workers: 1, lrs: two, resume: true }));
    assert.deepEqual(resumed.runs.map((r) => r.skipped), [true, false]);
    const whole = await runSweep(options(join(tmp.dir, 'resume-whole'), { workers: 1, lrs: two }));
    for (const lr of two) {
      assert.equal(readFileSync(join(out, `csv/lr_${lr}/metrics.csv`), 'utf8'), readFileSync(join(whole.dir, `csv/lr_${lr}/metrics.csv`), 'utf8'), `η = ${lr}`);
    }
  });

  it('heatcap sweep --ipc: progress fractions for the extension, nothing per run on stderr', async () => {
    const progress: { fraction?: number; message: string }[] = [];
    let err = '';
    const code = await main(
      ['sweep', '--model', fx.model, '--data', fx.data, '--labels', fx.labels, '--lrs', '0.02,0.05', '--steps', '1000', '--workers', '0', '--out', join(tmp.dir, 'ipc'), '--ipc'],
      { out: () => undefined, err: (t) => (err += t), cwd: tmp.dir, ipc: { progress: (p) => progress.push(p), warning: () => undefined } },
    );
    assert.equal(code, 0, err);
    assert.equal(err, '');
    assert.ok(progress.length >= 2);
    assert.ok(progress.every((p) => p.fraction !== undefined && p.fraction >= 0 && p.fraction <= 1));
    assert.equal(progress[progress.length - 1].fraction, 1);
    assert.match(progress[progress.length - 1].message, /η = 0\.05: done/);
  });

  it('heatcap sweep: runs from flags, prints the table, and names what is missing', async () => {
    const out = join(tmp.dir, 'cli');
    const args = ['sweep', '--model', fx.model, '--data', fx.data, '--labels', fx.labels, '--lrs', '0.02,0.05', '--batch-size', '4', '--steps', '2000', '--burn-in', '100', '--workers', '0', '--out', out];
    const r = await runCli(args, tmp.dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /sweep "cli": 2 runs × 2000 steps, B = 4, with_replacement, engine dense-f64, 0 workers/);
    assert.match(r.out, /analyse with: heatcap analyze cli/);
    const again = await runCli(args, tmp.dir);
    assert.equal(again.code, 1);
    assert.match(again.err, /^heatcap: error: .*sweep\.json: a sweep is already here/);
    const resume = await runCli(['sweep', '--resume', '--out', out, '--workers', '0'], tmp.dir);
    assert.equal(resume.code, 1);
    assert.match(resume.err, /already complete: nothing to resume/);
    for (const [argv, msg] of [
      [['sweep', '--model', fx.model, '--data', fx.data, '--lrs', '0.1', '--steps', '10'], /--out <dir> is required/],
      [['sweep', '--out', out, '--data', fx.data, '--lrs', '0.1', '--steps', '10'], /--model <model.json> is required/],
      [['sweep', '--out', join(tmp.dir, 'x'), '--model', fx.model, '--data', fx.data, '--labels', fx.labels, '--lrs', '0.1,-2', '--steps', '10'], /--lrs expects positive numbers/],
      [['sweep', '--out', join(tmp.dir, 'x'), '--model', fx.model, '--data', fx.data, '--labels', fx.labels, '--lrs', '0.1', '--steps', '10', '--sampling', 'shuffle'], /--sampling must be one of with_replacement, without_replacement, reshuffle/],
      [['sweep', '--resume', '--out', join(tmp.dir, 'nothing')], /holds no sweep.json written by 'heatcap sweep'/],
    ] as [string[], RegExp][]) {
      const e = await runCli(argv, tmp.dir);
      assert.equal(e.code, 1, argv.join(' '));
      assert.match(e.err, msg);
      assert.equal(e.err.trim().split('\n').length, 1, 'one line');
    }
  });
});
