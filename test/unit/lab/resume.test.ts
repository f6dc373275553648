import { strict as assert } from 'node:assert';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancelSource } from '../../../src/core/cancel';
import { CancelledError } from '../../../src/core/errors';
import type { LabSetup } from '../../../src/core/lab/config';
import { openLab } from '../../../src/core/lab/open';
import { trainRun, type RunSpec } from '../../../src/core/lab/train';
import { readTfevents } from './readback';
import { tempDir, writeFixture, type LabFixture } from './fixtures';

/**
 * Resumability and cancellation. Oracle: the same run without interruption (same seed). A resumed run
 * must reproduce it exactly — every logged value bit for bit, in both log formats.
 */
describe('lab runs: resume and cancel', function () {
  this.timeout(60000);
  const tmp = tempDir('resume');
  after(() => tmp.cleanup());
  let fixture: LabFixture;
  const setups: LabSetup[] = (['with_replacement', 'without_replacement', 'reshuffle'] as const).map((sampling, i) => ({
    batchSize: 3,
    sampling,
    momentum: i === 2 ? 0.9 : 0,
    dampening: 0,
    nesterov: i === 2,
    weightDecay: 0.01,
    seed: 4,
    steps: 3000,
    burnIn: 100,
    logEvery: 7,
    fullLossEvery: 11,
  }));

  before(async () => {
    fixture = await writeFixture(join(tmp.dir, 'fx'), { inputDim: 5, layers: [{ type: 'dense', units: 4, activation: 'tanh', kernelL2: 0.01 }, { type: 'dense', units: 3, activation: 'softmax' }], loss: 'sparse_categorical_crossentropy', n: 31, labels: 'classes', outDim: 3 });
  });

  const spec = (dir: string, setup: LabSetup): RunSpec => ({ logs: { tfevents: join(dir, 'tb'), csv: join(dir, 'csv') }, stateFile: join(dir, 'state'), lr: 0.1, setup, hparams: { lr: 0.1 } });
  const open = () => openLab({ model: fixture.model, data: { data: fixture.data, labels: fixture.labels }, engine: 'auto', backend: 'cpu', batchSize: 3 });

  async function logsOf(dir: string) {
    const csv = readFileSync(join(dir, 'csv', 'metrics.csv'), 'utf8');
    const tb = await readTfevents(join(dir, 'tb'));
    return { csv, tb };
  }

  for (const [i, setup] of setups.entries()) {
    it(`${setup.sampling}${setup.momentum ? ' with Nesterov momentum' : ''}: stopped at several points and resumed, it equals the uninterrupted run`, async () => {
      const lab = await open();
      const whole = join(tmp.dir, `whole-${i}`);
      await trainRun(lab.model, lab.initial, spec(whole, setup));
      const pieces = join(tmp.dir, `pieces-${i}`);
      // Stops inside the burn-in, mid-window and right before the end; the last call finishes.
      for (const stopAt of [50, 1234, 1235, 2999]) {
        await assert.rejects(trainRun(lab.model, lab.initial, spec(pieces, setup), { resume: true, stopAtStep: stopAt }), CancelledError);
      }
      const done = await trainRun(lab.model, lab.initial, spec(pieces, setup), { resume: true });
      assert.equal(done.steps, 3000);
      const a = await logsOf(whole);
      const b = await logsOf(pieces);
      assert.equal(b.csv, a.csv, 'metrics.csv byte for byte');
      assert.deepEqual(b.tb, a.tb, 'event-file scalars');
      // A finished run is not run again.
      const again = await trainRun(lab.model, lab.initial, spec(pieces, setup), { resume: true });
      assert.equal(again.skipped, true);
      lab.model.dispose();
    });
  }

  it('discards log bytes written after the last saved state (a crash between flush and save)', async () => {
    const lab = await open();
    const setup = setups[0];
    const dir = join(tmp.dir, 'crash');
    await assert.rejects(trainRun(lab.model, lab.initial, spec(dir, setup), { resume: true, stopAtStep: 1500 }), CancelledError);
    // What a later flush (never followed by a state save) would have left: rows and a partial event record.
    appendFileSync(join(dir, 'csv', 'metrics.csv'), ',1500,9.99,0.1,9.99\n,1507,9.');
    const ev = readdirSync(join(dir, 'tb')).find((f) => f.startsWith('events.out.tfevents.'));
    appendFileSync(join(dir, 'tb', ev as string), Buffer.from([1, 2, 3, 4, 5, 6, 7]));
    await trainRun(lab.model, lab.initial, spec(dir, setup), { resume: true });
    const whole = join(tmp.dir, 'crash-whole');
    await trainRun(lab.model, lab.initial, spec(whole, setup));
    const a = await logsOf(whole);
    const b = await logsOf(dir);
    assert.equal(b.csv, a.csv);
    assert.deepEqual(b.tb, a.tb);
    lab.model.dispose();
  });

  it('a run that diverges stops at once, logs the blown-up loss and is marked diverged', async () => {
    const f = await writeFixture(join(tmp.dir, 'div'), { inputDim: 5, layers: [{ type: 'dense', units: 2 }], loss: 'mse', n: 20, labels: 'real', outDim: 2 });
    const lab = await openLab({ model: f.model, data: { data: f.data, labels: f.labels }, engine: 'auto', backend: 'cpu', batchSize: 2 });
    const dir = join(tmp.dir, 'div-run');
    // η far above 2/λ_max of the inputs' Hessian: the loss grows geometrically.
    const r = await trainRun(lab.model, lab.initial, { ...spec(dir, { ...setups[0], batchSize: 2, steps: 100000 }), lr: 10 });
    assert.equal(r.diverged, true);
    assert.ok(r.steps < 1000, `stopped after ${r.steps} steps`);
    const rows = readFileSync(join(dir, 'csv', 'metrics.csv'), 'utf8').trim().split('\n');
    assert.ok(rows.length > 1);
    lab.model.dispose();
  });

  it('cancelling through the token stops promptly with CancelledError and leaves a resumable state', async () => {
    const lab = await open();
    const setup = { ...setups[1], steps: 2_000_000, logEvery: 1000, fullLossEvery: 1000 };
    const dir = join(tmp.dir, 'cancel');
    const source = new CancelSource();
    const t0 = Date.now();
    setTimeout(() => source.cancel(), 300);
    await assert.rejects(trainRun(lab.model, lab.initial, spec(dir, setup), { token: source.token }), CancelledError);
    assert.ok(Date.now() - t0 < 3000, 'stopped within a chunk of updates');
    assert.ok(existsSync(join(dir, 'state')));
    // Resuming a few more updates continues from the saved step.
    const resumed = trainRun(lab.model, lab.initial, { ...spec(dir, setup), setup }, { resume: true, stopAtStep: 1 });
    await assert.rejects(resumed, CancelledError);
    lab.model.dispose();
  });
});
