import { strict as assert } from 'node:assert';
import { optimizerFamily, parseBatchSizeFromName, parseLrFromName, resolveHparams } from '../../../src/core/runs/hparams';
import type { ParamSource } from '../../../src/core/logs/types';
import type { ScalarSeries } from '../../../src/core/runs/model';

const src = (label: string, values: ParamSource['values']): ParamSource => ({ label, values });
const series = (values: number[]): ScalarSeries => ({ steps: values.map((_, i) => i), values });

describe('hyperparameter resolution with provenance', () => {
  it('finds each field under its common aliases, flat or nested, with the key as the source', () => {
    const r = resolveHparams({
      sources: [src('hparams.yaml', { 'optimizer.lr': 0.05, 'data.batch_size': 64, 'optimizer.momentum': 0.9, 'optimizer.nesterov': 'True', 'optimizer._target_': 'torch.optim.SGD', weight_decay: '5e-4', shuffle: true, n_train: 50000 })],
      scalars: {},
      names: [],
    });
    const h = r.hparams;
    assert.deepEqual(h.lr, { value: 0.05, source: 'hparams.yaml: optimizer.lr' });
    assert.deepEqual(h.batch_size, { value: 64, source: 'hparams.yaml: data.batch_size' });
    assert.equal(h.momentum?.value, 0.9);
    assert.equal(h.nesterov?.value, true);
    assert.equal(h.optimizer?.value, 'sgd');
    assert.equal(h.weight_decay?.value, 5e-4);
    assert.deepEqual(h.sampling, { value: 'reshuffle', source: 'hparams.yaml: shuffle' });
    assert.equal(h.dataset_size?.value, 50000);
    assert.deepEqual(r.notes, []);
  });

  it('trusts the format\'s own record over files beside it, and says so when they disagree', () => {
    const r = resolveHparams({ sources: [src('MLflow params', { learning_rate: '0.1' }), src('config.json', { lr: 0.2 })], scalars: {}, names: ['lr_0.3'] });
    assert.deepEqual(r.hparams.lr, { value: 0.1, source: 'MLflow params: learning_rate' });
    assert.equal(r.notes.length, 2);
    assert.match(r.notes[0], /lr: MLflow params: learning_rate = 0.1, but config.json: lr = 0.2/);
    assert.match(r.notes[1], /lr: MLflow params: learning_rate = 0.1, but the directory name 'lr_0.3' says 0.3; using the first/);
  });

  it('says when a constant logged η or the nearest η-bearing name disagrees with the stated η (not a schedule, not a parent folder, not 1e-2 vs 0.01)', () => {
    const logged = resolveHparams({ sources: [src('hparams.yaml', { lr: 0.02 })], scalars: { lr: series([0.05, 0.05, 0.05]) }, names: ['run'] });
    assert.equal(logged.hparams.lr?.value, 0.02);
    assert.deepEqual(logged.notes, ["lr: hparams.yaml: lr = 0.02, but the logged series 'lr' is 0.05 throughout; the list shows the first, the analysis uses the logged value over its converged-loss window"]);
    const quiet = [
      resolveHparams({ sources: [src('hparams.yaml', { lr: 0.1 })], scalars: { lr: series([0.1, 0.01, 0.001]) }, names: [] }),
      resolveHparams({ sources: [src('hparams.yaml', { lr: '1e-2' })], scalars: { lr: series([0.01, 0.01]) }, names: ['lr_0.01', 'base_lr_0.1'] }),
    ];
    for (const r of quiet) assert.deepEqual(r.notes, []);
    const named = resolveHparams({ sources: [], scalars: { lr: series([0.05, 0.05]) }, names: ['lr_0.01'] });
    assert.deepEqual(named.notes, ["lr: logged series 'lr' (constant) = 0.05, but the directory name 'lr_0.01' says 0.01; using the first"]);
  });

  it('ignores values that cannot be what the field means, and scheduler/warmup settings', () => {
    const r = resolveHparams({ sources: [src('args.json', { momentum: 1.5, batch_size: 0.5, lr: -1, 'scheduler.lr': 0.3, 'warmup.lr': 0.2, nesterov: 'maybe' })], scalars: {}, names: [] });
    assert.equal(r.hparams.momentum, undefined);
    assert.equal(r.hparams.batch_size, undefined);
    assert.equal(r.hparams.lr, undefined);
    assert.equal(r.hparams.nesterov, undefined);
    assert.equal(r.hparams.raw.momentum.value, 1.5, 'raw keeps every value as stated');
  });

  it('uses a logged lr series when nothing states η: constant, or a schedule (last value, range in the source)', () => {
    const constant = resolveHparams({ sources: [], scalars: { learning_rate: series([1e-5, 1e-5, 1e-5]) }, names: [] });
    assert.deepEqual(constant.hparams.lr, { value: 1e-5, source: "logged series 'learning_rate' (constant)" });
    assert.equal(constant.lrTag, 'learning_rate');
    const sched = resolveHparams({ sources: [src('hparams.yaml', { lr: 0.1 })], scalars: { 'lr-SGD': series([0.1, 0.1, 0.01, 0.001]) }, names: [] });
    assert.equal(sched.hparams.lr?.value, 0.1, 'a stated η wins; the series is the schedule');
    assert.equal(sched.lrTag, 'lr-SGD');
    const only = resolveHparams({ sources: [], scalars: { 'lr-SGD': series([0.1, 0.01]) }, names: [] });
    assert.deepEqual(only.hparams.lr, { value: 0.01, source: "logged series 'lr-SGD' (last value; varies from 0.01 to 0.1)" });
  });

  it('falls back to the directory name last, nearest name first', () => {
    const r = resolveHparams({ sources: [], scalars: {}, names: ['seed_1', 'lr=1e-3_bs_32', 'lr_0.5'] });
    assert.deepEqual(r.hparams.lr, { value: 1e-3, source: "directory name 'lr=1e-3_bs_32'" });
    assert.deepEqual(r.hparams.batch_size, { value: 32, source: "directory name 'lr=1e-3_bs_32'" });
  });

  it('never invents: nothing stated, nothing returned (Keras runs log no learning rate)', () => {
    const r = resolveHparams({ sources: [src('hparams plugin', { units: 200, dropout: 0.2, optimizer: 'sgd' })], scalars: { epoch_loss: series([1, 0.5]) }, names: ['Exp_2_sgd_200_0.2'] });
    assert.equal(r.hparams.lr, undefined);
    assert.equal(r.hparams.batch_size, undefined);
    assert.equal(r.hparams.optimizer?.value, 'sgd');
  });

  it('parses learning rates and batch sizes out of names, and nothing out of look-alikes', () => {
    const lr: [string, number | undefined][] = [
      ['lr_0.01', 0.01],
      ['lr=1e-3', 1e-3],
      ['lr0.1', 0.1],
      ['run-lr-0.05-seed1', 0.05],
      ['eta_2.5e-4', 2.5e-4],
      ['learning_rate=3e-4', 3e-4],
      ['lr_sweep', undefined],
      ['clr_0.1', undefined],
      ['lr_0', undefined],
    ];
    for (const [name, want] of lr) assert.equal(parseLrFromName(name), want, name);
    assert.equal(parseBatchSizeFromName('bs_32'), 32);
    assert.equal(parseBatchSizeFromName('batch_size=128'), 128);
    assert.equal(parseBatchSizeFromName('absolute'), undefined);
  });

  it('reduces optimizer names to a lower-case family', () => {
    assert.equal(optimizerFamily('torch.optim.sgd.SGD'), 'sgd');
    assert.equal(optimizerFamily('SGD (\nParameter Group 0\n lr: 0.1)'), 'sgd');
    assert.equal(optimizerFamily('adamw_torch'), 'adamw_torch');
    assert.equal(optimizerFamily(3), undefined);
  });
});

describe('sampling scheme', () => {
  it('prefers an explicit sampling word over replacement over shuffle', () => {
    const r = resolveHparams({ sources: [{ label: 'config.json', values: { shuffle: true, 'data.sampler': 'with_replacement' } }], scalars: {}, names: [] });
    assert.deepEqual(r.hparams.sampling, { value: 'with_replacement', source: 'config.json: data.sampler' });
    const s = resolveHparams({ sources: [{ label: 'args.json', values: { shuffle: 'True', replacement: false } }], scalars: {}, names: [] });
    assert.equal(s.hparams.sampling?.value, 'reshuffle');
  });
});
