import { strict as assert } from 'node:assert';
import { isAbsolute, join } from 'node:path';
import { runCli } from '../../support/cli';
import { requireRealLogOrSkip } from '../../support/external';
import { cleanupTempDirs, tempDir, writeText, writeTfeventsRun } from '../../support/logs/fixtures';

describe('heatcap runs / heatcap scalars', () => {
  let root: string;
  before(async () => {
    root = await tempDir('heatcap-cli-');
    await writeTfeventsRun(join(root, 'sweep', 'lr_0.1'), { loss: [[0, 1], [1, 0.5]] });
    await writeTfeventsRun(join(root, 'sweep', 'lr_0.2'), { loss: [[0, 2], [1, NaN]] });
    await writeText(join(root, 'bad', 'trainer_state.json'), '{"log_history": 3}');
  });
  after(cleanupTempDirs);

  it('runs --json follows the CLI contract: relative paths, hparams with null for missing, tag summaries, warnings', async () => {
    const r = await runCli(['runs', root, '--json']);
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.out);
    assert.deepEqual(Object.keys(doc), ['runs', 'sweeps', 'warnings']);
    const run = doc.runs[0];
    assert.deepEqual(Object.keys(run), ['id', 'path', 'name', 'format', 'files', 'hparams', 'hparam_sources', 'lr_tag', 'step_unit', 'tags', 'warnings']);
    assert.equal(run.path, 'sweep/lr_0.1');
    assert.equal(run.format, 'tfevents');
    assert.equal(run.files.length, 1, 'the run’s log files, for "Reveal Log File"');
    assert.ok(isAbsolute(run.files[0]) && run.files[0].startsWith(join(root, 'sweep', 'lr_0.1', 'events.out.tfevents.')), run.files[0]);
    assert.deepEqual(run.hparams, { lr: 0.1, batch_size: null, momentum: null, dampening: null, nesterov: null, optimizer: null, weight_decay: null, sampling: null, dataset_size: null });
    assert.equal(run.hparam_sources.lr, "directory name 'lr_0.1'");
    assert.deepEqual(run.tags, { loss: { count: 2, first_step: 0, last_step: 1, last_value: 0.5 } });
    assert.equal(doc.runs[1].tags.loss.last_value, null, 'NaN is printed as null');
    assert.deepEqual(doc.sweeps, [{ id: 'sweep', path: 'sweep', name: 'sweep', runs: ['sweep/lr_0.1', 'sweep/lr_0.2'] }]);
    assert.deepEqual(doc.warnings, ['bad/trainer_state.json: run skipped: not a HuggingFace trainer state: no "log_history" array']);
    assert.match(r.err, /^heatcap: warning: bad\/trainer_state\.json: run skipped/m);
  });

  it('runs without --json prints a table with the sweep', async () => {
    const r = await runCli(['runs', root]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^PATH\s+FORMAT\s+LR\s+B\s+MOMENTUM\s+TAGS\s+LR SOURCE$/m);
    assert.match(r.out, /^sweep\/lr_0\.1\s+tfevents\s+0\.1\s+-\s+-\s+1\s+directory name 'lr_0\.1'$/m);
    assert.match(r.out, /sweeps:\n {2}sweep \(sweep\): 2 runs/);
  });

  it('scalars --json prints {tag, steps, values}', async () => {
    const r = await runCli(['scalars', join(root, 'sweep', 'lr_0.1'), '--tag', 'loss', '--json']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), { tag: 'loss', steps: [0, 1], values: [1, 0.5] });
  });

  it('scalars on the real Keras run reads the merged validation tag', async function () {
    const r = await runCli(['scalars', requireRealLogOrSkip(this, 'keras-tf2-mnist/experiments/Exp_2_sgd_200_0.2'), '--tag', 'validation/epoch_loss', '--json']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out).steps, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('exits non-zero with one line naming the file on unusable input', async () => {
    const bad = await runCli(['scalars', join(root, 'bad', 'trainer_state.json'), '--tag', 'loss']);
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim().split('\n').length, 1);
    assert.match(bad.err, /^heatcap: error: .*bad[\\/]trainer_state\.json: .*log_history/);
    const missing = await runCli(['runs', join(root, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /nope: no such file or folder/);
    // A symbolic-link loop is named as one, not as a missing path.
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(root, 'loop2'), join(root, 'loop1'));
    symlinkSync(join(root, 'loop1'), join(root, 'loop2'));
    for (const cmd of [['runs', join(root, 'loop1')], ['scalars', join(root, 'loop1'), '--tag', 'loss']]) {
      const loop = await runCli(cmd);
      assert.equal(loop.code, 1);
      assert.match(loop.err, /loop1: is a loop of symbolic links/);
    }
    const noTag = await runCli(['scalars', join(root, 'sweep', 'lr_0.1'), '--tag', 'acc']);
    assert.equal(noTag.code, 1);
    assert.match(noTag.err, /no tag 'acc' in this run; tags: 'loss'/);
    const usage = await runCli(['runs']);
    assert.equal(usage.code, 2, 'usage errors exit 2');
    assert.match(usage.err, /expected one <path>/);
  });
});
