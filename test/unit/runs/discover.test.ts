import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { CancelSource } from '../../../src/core/cancel';
import { CancelledError, isHeatcapError } from '../../../src/core/errors';
import { LightningCsvWriter } from '../../../src/core/logs/csv/writer';
import { discoverRuns } from '../../../src/core/runs/discover';
import { readRun } from '../../../src/core/runs/read-run';
import type { Run } from '../../../src/core/runs/model';
import { requireRealLogOrSkip } from '../../support/external';
import { cleanupTempDirs, tempDir, writeJsonl, writeKerasCsv, writeMlflowRun, writeText, writeTfeventsRun, writeTrainerState } from '../../support/logs/fixtures';

const loss = (n: number, scale = 1): [number, number][] => Array.from({ length: n }, (_, i) => [i, scale / (i + 1)]);
const HOSTILE_DIR = '<img src=x onerror=alert(1)> \u0007bell';
const HOSTILE_TAG = 'loss<script>\u001b[31m';

/** A workspace holding every format, laid out as each tool lays it out. */
async function workspace(): Promise<string> {
  const root = await tempDir('heatcap-ws-');
  for (const lr of ['0.1', '0.01', '0.001']) await writeTfeventsRun(join(root, 'tb_sweep', `lr_${lr}`), { loss: loss(20, Number(lr)) });
  for (const [v, lr, bs] of [
    [0, 0.1, 16],
    [1, 0.05, 16],
    [2, 0.02, 32],
  ]) {
    const w = await LightningCsvWriter.create(join(root, 'lightning', `version_${v}`), { lr, batch_size: bs, optimizer: 'torch.optim.SGD' });
    for (let s = 0; s < 5; s++) w.log({ train_loss_step: 1 / (s + 1), 'lr-SGD': lr }, s);
    await w.close();
  }
  await writeTfeventsRun(join(root, 'keras_run', 'train'), { epoch_loss: loss(5) }, { encoding: 'tensor' });
  await writeTfeventsRun(join(root, 'keras_run', 'validation'), { epoch_loss: loss(5, 2) }, { encoding: 'tensor' });
  await writeTfeventsRun(join(root, 'pt', 'exp1'), { 'Loss/train': loss(10) });
  await writeTfeventsRun(join(root, 'pt', 'exp1', '1690000000.1234567'), { 'hparam/loss': [[0, 0.1]] }, { hparams: { lr: 0.3, batch_size: 8, momentum: 0.9 } });
  for (const step of [10, 20]) {
    await writeTrainerState(join(root, 'hf', 'out', `checkpoint-${step}`), { log_history: loss(step / 10).map(([s, v]) => ({ step: s, loss: v, learning_rate: 2e-5 })), train_batch_size: 4 });
  }
  await writeMlflowRun(join(root, 'mlruns', '0'), 'aaa', { name: 'first', metrics: { loss: loss(4) }, params: { lr: '0.01', batch_size: '32' } });
  await writeMlflowRun(join(root, 'mlruns', '0'), 'bbb', { name: 'second', metrics: { loss: loss(4) }, params: { lr: '0.02', batch_size: '32' } });
  await writeJsonl(join(root, 'jsonl', 'train.jsonl'), [{ step: 1, loss: 2 }, { step: 2, loss: 1 }]);
  await writeText(join(root, 'jsonl', 'config.json'), JSON.stringify({ optimizer: { name: 'SGD', lr: 0.5, momentum: 0 } }));
  await writeKerasCsv(join(root, 'keras_csv', 'history.csv'), ['loss', 'val_loss'], [[1, 1.1], [0.5, 0.6]]);
  await writeKerasCsv(join(root, 'keras_csv', 'other.csv'), ['loss'], [[3]]);
  await writeText(join(root, 'data', 'table.csv'), 'x,y\n1,2\n'); // no step column: data, not a log
  await writeTfeventsRun(join(root, 'lab', 'a'), { full_train_loss: loss(3) });
  await writeTfeventsRun(join(root, 'lab', 'b'), { full_train_loss: loss(3) });
  await writeTfeventsRun(join(root, 'lab', 'csv_a'), { full_train_loss: loss(3) });
  await writeTfeventsRun(join(root, 'lab', 'csv_b'), { full_train_loss: loss(3) });
  await writeText(
    join(root, 'lab', 'sweep.json'),
    JSON.stringify({ name: 'lab sweep', runs: [{ path: 'a', lr: 0.2, csv: 'csv_a' }, { path: 'b', lr: 0.4, csv: 'csv_b' }, { path: 'missing', lr: 1 }] }),
  );
  await writeTfeventsRun(join(root, 'node_modules', 'pkg'), { loss: loss(2) });
  await writeTfeventsRun(join(root, '.hidden', 'run'), { loss: loss(2) });
  await writeTfeventsRun(join(root, HOSTILE_DIR), { [HOSTILE_TAG]: loss(2) });
  await writeText(join(root, 'odd', 'we\u0001ird name \n.csv'), 'step,loss\n1,2\n');
  return root;
}

describe('run discovery', () => {
  let root: string;
  let found: Awaited<ReturnType<typeof discoverRuns>>;
  const byPath = (p: string): Run => {
    const r = found.runs.find((x) => x.path === p);
    assert.ok(r, `run ${JSON.stringify(p)} not found among ${found.runs.map((x) => x.path).join(', ')}`);
    return r;
  };
  before(async () => {
    root = await workspace();
    found = await discoverRuns(root);
  });
  after(cleanupTempDirs);

  it('finds every run of every format, and nothing in node_modules, hidden folders or data tables', () => {
    const paths = found.runs.map((r) => `${r.path} ${r.format}`).sort();
    assert.deepEqual(paths, [
      `${HOSTILE_DIR} tfevents`,
      'hf/out trainer_state',
      'jsonl jsonl',
      'keras_csv/history.csv csv',
      'keras_csv/other.csv csv',
      'keras_run tfevents',
      'lab/a tfevents',
      'lab/b tfevents',
      'lightning/version_0 csv',
      'lightning/version_1 csv',
      'lightning/version_2 csv',
      'mlruns/0/aaa mlflow',
      'mlruns/0/bbb mlflow',
      'odd csv',
      'pt/exp1 tfevents',
      'tb_sweep/lr_0.001 tfevents',
      'tb_sweep/lr_0.01 tfevents',
      'tb_sweep/lr_0.1 tfevents',
    ]);
  });

  it('gives each run its η, B, momentum with where each came from', () => {
    assert.deepEqual(byPath('tb_sweep/lr_0.01').hparams.lr, { value: 0.01, source: "directory name 'lr_0.01'" });
    const l0 = byPath('lightning/version_0').hparams;
    assert.deepEqual(l0.lr, { value: 0.1, source: 'hparams.yaml: lr' });
    assert.deepEqual(l0.batch_size, { value: 16, source: 'hparams.yaml: batch_size' });
    assert.equal(l0.optimizer?.value, 'sgd');
    assert.equal(byPath('lightning/version_0').lrTag, 'lr-SGD');
    const pt = byPath('pt/exp1');
    assert.equal(pt.hparams.lr?.value, 0.3);
    assert.match(pt.hparams.lr?.source ?? '', /^hparams plugin \(1690000000\.1234567\/events\.out\.tfevents\.[^)]+\): lr$/);
    assert.equal(pt.hparams.momentum?.value, 0.9);
    assert.deepEqual(Object.keys(pt.scalars).sort(), ['Loss/train', 'hparam/loss']);
    assert.deepEqual(byPath('mlruns/0/aaa').hparams.lr, { value: 0.01, source: 'MLflow params: lr' });
    assert.equal(byPath('mlruns/0/aaa').name, 'first');
    assert.deepEqual(byPath('jsonl').hparams.lr, { value: 0.5, source: 'config.json: optimizer.lr' });
    assert.equal(byPath('jsonl').hparams.momentum?.value, 0);
    const hf = byPath('hf/out');
    assert.deepEqual(hf.hparams.batch_size, { value: 4, source: 'trainer_state.json: train_batch_size' });
    assert.deepEqual(hf.scalars.loss.steps, [0, 1], 'the latest checkpoint (20) was read');
    assert.equal(byPath('keras_csv/history.csv').hparams.lr, undefined);
  });

  it("merges Keras' train/ and validation/ into one run, validation tags prefixed", () => {
    const k = byPath('keras_run');
    assert.deepEqual(Object.keys(k.scalars).sort(), ['epoch_loss', 'validation/epoch_loss']);
    assert.equal(k.scalars['validation/epoch_loss'].values[0], 2);
    assert.equal(k.files.length, 2);
  });

  it('groups runs that differ only in η into sweeps, and honours sweep.json', () => {
    const sweeps = Object.fromEntries(found.sweeps.map((s) => [s.id, s]));
    assert.deepEqual(sweeps.tb_sweep?.runIds, ['tb_sweep/lr_0.001', 'tb_sweep/lr_0.01', 'tb_sweep/lr_0.1']);
    assert.deepEqual(sweeps.lightning?.runIds, ['lightning/version_1', 'lightning/version_0'], 'version_2 has another batch size');
    assert.deepEqual(sweeps['mlruns/0']?.runIds, ['mlruns/0/aaa', 'mlruns/0/bbb']);
    assert.deepEqual(sweeps['lab#sweep.json'], { id: 'lab#sweep.json', path: 'lab', name: 'lab sweep', runIds: ['lab/a', 'lab/b'] });
    assert.deepEqual(byPath('lab/b').hparams.lr, { value: 0.4, source: 'sweep.json (lab): lr' });
    assert.ok(found.warnings.some((w) => /run 'missing' was not found/.test(w.message)));
    assert.equal(found.sweeps.length, 4);
  });

  it("lists a lab run once: the manifest's csv copies are mirrors, not runs", () => {
    assert.equal(found.runs.filter((r) => r.path.startsWith('lab/')).length, 2);
    assert.ok(!found.runs.some((r) => r.path === 'lab/csv_a' || r.path === 'lab/csv_b'));
  });

  it('returns hostile names and tags verbatim, as data', () => {
    const h = byPath(HOSTILE_DIR);
    assert.equal(h.name, HOSTILE_DIR);
    assert.deepEqual(Object.keys(h.scalars), [HOSTILE_TAG]);
  });

  it('respects the depth limit', async () => {
    const shallow = await discoverRuns(root, { maxDepth: 1 });
    // Level 1 only: keras_run/train (level 2) is not looked into, so keras_run is not seen.
    assert.deepEqual(shallow.runs.map((r) => r.path).sort(), ['jsonl', 'keras_csv/history.csv', 'keras_csv/other.csv', 'odd', HOSTILE_DIR].sort());
  });

  it('reports progress and stops when cancelled', async () => {
    const fractions: number[] = [];
    await discoverRuns(join(root, 'tb_sweep'), { onProgress: (p) => p.fraction !== undefined && fractions.push(p.fraction) });
    assert.deepEqual(fractions, [1 / 3, 2 / 3, 1]);
    const cs = new CancelSource();
    cs.cancel();
    await assert.rejects(discoverRuns(root, { token: cs.token }), CancelledError);
  });

  it('reads one run by path (a Keras folder is one run); several or none is an error naming the path', async () => {
    const k = await readRun(join(root, 'keras_run'));
    assert.equal(k.path, '.');
    assert.deepEqual(Object.keys(k.scalars).sort(), ['epoch_loss', 'validation/epoch_loss']);
    const f = await readRun(join(root, 'keras_csv', 'other.csv'));
    assert.equal(f.format, 'csv');
    await assert.rejects(readRun(join(root, 'mlruns', '0')), (e) => isHeatcapError(e) && /holds 2 runs/.test(e.message) && e.message.includes(join(root, 'mlruns', '0')));
    await assert.rejects(readRun(join(root, 'data')), (e) => isHeatcapError(e) && /no training log found/.test(e.message));
    await assert.rejects(readRun(join(root, 'nope')), (e) => isHeatcapError(e) && /no such file/.test(e.message));
  });

  it('turns an unreadable run into a warning and keeps the others', async () => {
    const ws = await tempDir('heatcap-bad-');
    await writeTrainerState(join(ws, 'broken'), {}, '{"log_history": [');
    await writeTfeventsRun(join(ws, 'ok'), { loss: loss(2) });
    const r = await discoverRuns(ws);
    assert.deepEqual(r.runs.map((x) => x.path), ['ok']);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0].message, /run skipped: not valid JSON/);
    assert.match(r.warnings[0].file ?? '', /broken[\\/]trainer_state\.json$/);
  });
});

describe('sweep grouping of nested layouts', () => {
  after(cleanupTempDirs);
  it("groups Lightning's sweep/lr_X/version_N runs at sweep/, seeds included", async () => {
    const ws = await tempDir('heatcap-nested-');
    for (const [lr, v] of [
      ['0.1', 0],
      ['0.1', 1],
      ['0.01', 0],
      ['0.001', 0],
    ] as const) {
      const w = await LightningCsvWriter.create(join(ws, 'sweep', `lr_${lr}`, `version_${v}`), { batch_size: 8 });
      w.log({ train_loss: 1 }, 0);
      await w.close();
    }
    const r = await discoverRuns(ws);
    assert.deepEqual(
      r.sweeps.map((s) => [s.id, s.runIds]),
      [['sweep', ['sweep/lr_0.001/version_0', 'sweep/lr_0.01/version_0', 'sweep/lr_0.1/version_0', 'sweep/lr_0.1/version_1']]],
    );
    assert.equal(r.runs.find((x) => x.path === 'sweep/lr_0.01/version_0')?.hparams.lr?.source, "directory name 'lr_0.01'");
  });
});

describe('run discovery on the real logs (../shared/data/real-logs)', () => {
  it('finds the HF run and the three Keras runs; Keras η is absent, not invented', async function () {
    const found = await discoverRuns(requireRealLogOrSkip(this));
    const paths = found.runs.map((r) => r.path).sort();
    assert.deepEqual(paths, ['hf-trainer-state', 'keras-tf2-mnist/experiments/Exp_11_sgd_300_0.5', 'keras-tf2-mnist/experiments/Exp_2_sgd_200_0.2', 'keras-tf2-mnist/hparam_tuning/Experiment 2_sgd_200_0.2']);
    for (const r of found.runs.filter((x) => x.path.startsWith('keras'))) assert.equal(r.hparams.lr, undefined, r.path);
    const hf = found.runs.find((r) => r.path === 'hf-trainer-state');
    assert.deepEqual(hf?.hparams.lr, { value: 1e-5, source: "logged series 'learning_rate' (constant)" });
    assert.equal(hf?.hparams.batch_size?.value, 4);
    const trial = found.runs.find((r) => r.path.startsWith('keras-tf2-mnist/hparam_tuning/'));
    assert.equal(trial?.hparams.optimizer?.value, 'sgd');
    assert.equal(trial?.hparams.raw.units.value, 200);
    assert.deepEqual(found.sweeps, []);
    assert.ok(found.warnings.some((w) => /hparams experiment definition/.test(w.message)));
  });
});
