import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { analyzeArgs, checkpointFromSettings, displayCommand, gradNormsArgs, runsArgs, sweepArgs } from '../../../src/extension/compute/cliArgs';
import { DEFAULT_SETTINGS, type Settings } from '../../../src/extension/config';
import { RunOverrides } from '../../../src/extension/state/runOverrides';

const settings = (change: Partial<Settings> = {}): Settings => ({ ...structuredClone(DEFAULT_SETTINGS), ...change });
const none = RunOverrides.empty().for('/r');

describe('extension: CLI command lines from settings and run overrides', () => {
  it('default settings give the shortest analyze command (plus the search depth)', () => {
    assert.deepEqual(analyzeArgs({ root: '/r', all: true, checkpoint: null, overrides: none }, settings()), ['analyze', '/r', '--all', '--max-depth=8', '--json']);
    assert.deepEqual(runsArgs('/r', settings()), ['runs', '/r', '--max-depth=8', '--json']);
  });

  it('passes every override the user set, in the contract order', () => {
    const s = settings({ lossTag: 'train/loss', backend: 'wasm', batchSize: 16, momentum: 0.9, sampling: 'reshuffle', optimizer: 'nesterov' });
    const args = analyzeArgs({ root: '/r', all: false, sweepId: 'sweeps/a', checkpoint: { model: '/m.json', data: '/x.npy', labels: '/y.npy', loss: 'mse' }, overrides: none }, s);
    assert.deepEqual(args, [
      'analyze', '/r', '--sweep=sweeps/a', '--max-depth=8', '--tag=train/loss',
      '--model=/m.json', '--data=/x.npy', '--labels=/y.npy', '--loss=mse', '--backend=wasm',
      '--batch-size=16', '--momentum=0.9', '--sampling=reshuffle', '--optimizer=nesterov', '--json',
    ]);
  });

  it('finite η: off gives --no-finite-eta, another number of directions gives --eigenpairs, the full solve --finite-eta-full, the default none', () => {
    const args = (finiteEta: Settings['finiteEta']) => analyzeArgs({ root: '/r', all: true, checkpoint: null, overrides: none }, settings({ finiteEta }));
    assert.deepEqual(args({ enabled: true, directions: 10, fullSolve: false }), ['analyze', '/r', '--all', '--max-depth=8', '--json']);
    assert.deepEqual(args({ enabled: false, directions: 20, fullSolve: true }).slice(4, -1), ['--no-finite-eta']);
    assert.deepEqual(args({ enabled: true, directions: 20, fullSolve: false }).slice(4, -1), ['--eigenpairs=20']);
    assert.deepEqual(args({ enabled: true, directions: 10, fullSolve: true }).slice(4, -1), ['--finite-eta-full']);
  });

  it('passes exclusions and η set by hand, sorted, each value glued to its flag', () => {
    const o = RunOverrides.empty().withExcluded('/r', 'b', true).withExcluded('/r', 'a', true).withLr('/r', 'z', 0.05).withLr('/r', '--all', 1e-3);
    const args = analyzeArgs({ root: '/r', all: true, checkpoint: null, overrides: o.for('/r') }, settings());
    assert.deepEqual(args.slice(4, -1), ['--exclude-run=a', '--exclude-run=b', '--set-lr=--all=0.001', '--set-lr=z=0.05']);
  });

  it('a run folder named like a flag stays a value (--flag=value form)', () => {
    const o = RunOverrides.empty().withExcluded('/r', '--json', true);
    const args = analyzeArgs({ root: '/r', all: true, checkpoint: null, overrides: o.for('/r') }, settings());
    assert.ok(args.includes('--exclude-run=--json'));
    assert.equal(args.filter((a) => a === '--json').length, 1);
  });

  it('lists settings differing from the defaults as repeated flags', () => {
    const args = runsArgs('/r', settings({ runs: { include: ['exp/**'], exclude: [], maxDepth: 3 }, lrKeys: ['eta'] }));
    assert.deepEqual(args, ['runs', '/r', '--max-depth=3', '--include-glob=exp/**', '--lr-key=eta', '--json']);
  });

  it('resolves the checkpoint from the settings against the folder; no model, no checkpoint', () => {
    const folder = path.resolve('/proj');
    const s = settings({ checkpoint: { model: 'ckpt/model.json', data: 'data/x.npz', labels: null, loss: null, frozen: [] } });
    assert.deepEqual(checkpointFromSettings(s, folder), { model: path.join(folder, 'ckpt/model.json'), data: path.join(folder, 'data/x.npz'), labels: null, loss: null });
    assert.equal(checkpointFromSettings(settings(), folder), null);
    assert.deepEqual(gradNormsArgs(checkpointFromSettings(s, folder)!, settings({ backend: 'cpu' })), [
      'gradnorms', `--model=${path.join(folder, 'ckpt/model.json')}`, `--data=${path.join(folder, 'data/x.npz')}`, '--backend=cpu', '--json',
    ]);
  });

  it('builds the sweep-lab command', () => {
    const args = sweepArgs({ checkpoint: { model: '/m.json', data: '/x.npy', labels: null, loss: null }, lrs: [0.01, 0.02], steps: 1000, batchSize: 8, out: '/out' }, settings());
    assert.deepEqual(args, ['sweep', '--model=/m.json', '--data=/x.npy', '--lrs=0.01,0.02', '--steps=1000', '--batch-size=8', '--out=/out', '--json']);
  });

  it('frozen parameters go to analyze and gradnorms as one --freeze list, not to the lab (it trains every weight)', () => {
    const s = settings({ checkpoint: { model: '/m.onnx', data: '/x.npy', labels: null, loss: null, frozen: ['backbone', 'head.norm.weight'] } });
    const c = { model: '/m.onnx', data: '/x.npy', labels: null, loss: null };
    assert.ok(analyzeArgs({ root: '/r', all: true, checkpoint: c, overrides: none }, s).includes('--freeze=backbone,head.norm.weight'));
    assert.ok(gradNormsArgs(c, s).includes('--freeze=backbone,head.norm.weight'));
    assert.ok(!sweepArgs({ checkpoint: c, lrs: [0.01], steps: 10, batchSize: 8, out: '/out' }, s).some((a) => a.startsWith('--freeze')));
  });

  it('spells the engine runtime setting as --runtime for analyze and gradnorms, not for the lab', () => {
    const s = settings({ engineRuntime: 'wasm' });
    assert.ok(analyzeArgs({ root: '/r', all: true, checkpoint: null, overrides: none }, s).includes('--runtime=wasm'));
    const c = { model: '/m.onnx', data: '/x.npy', labels: null, loss: null };
    assert.deepEqual(gradNormsArgs(c, s), ['gradnorms', '--model=/m.onnx', '--data=/x.npy', '--runtime=wasm', '--json']);
    assert.ok(!sweepArgs({ checkpoint: c, lrs: [0.1], steps: 10, batchSize: 8, out: '/o' }, s).some((a) => a.startsWith('--runtime')));
    assert.ok(!gradNormsArgs(c, settings()).some((a) => a.startsWith('--runtime')));
  });

  it('shows a command line a user can paste, quoting what needs it', () => {
    assert.equal(displayCommand(['analyze', '/a b', "--tag=it's", '--json']), `heatcap analyze '/a b' '--tag=it'\\''s' --json`);
  });
});
