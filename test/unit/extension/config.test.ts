import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { DEFAULT_SETTINGS, readSettings, resolveSettingPath } from '../../../src/extension/config';

const source = (values: Record<string, unknown>) => ({ get: (key: string) => values[key] });

describe('extension: settings reader', () => {
  it('gives the defaults when nothing is set, with no problems', () => {
    const r = readSettings(source({}));
    assert.deepEqual(r.settings, DEFAULT_SETTINGS);
    assert.deepEqual(r.problems, []);
  });

  it('reads every setting of the right type', () => {
    const r = readSettings(
      source({
        'runs.include': ['runs/**'],
        'runs.exclude': [],
        'runs.maxDepth': 3,
        lossTag: ' train/loss ',
        lrKeys: ['lr', ''],
        backend: 'wasm',
        sampling: 'reshuffle',
        batchSize: 32,
        momentum: 0.9,
        optimizer: 'sgd',
        'checkpoint.model': 'ckpt/model.json',
        'checkpoint.data': 'data/x.npy',
        'checkpoint.labels': '',
        'checkpoint.loss': 'mse',
        'checkpoint.frozen': ['backbone', ' ', 'head.norm.weight '],
        'codeLens.enabled': false,
        'server.maxFileSize': 5000,
      }),
    );
    assert.deepEqual(r.problems, []);
    const s = r.settings;
    assert.deepEqual(s.runs, { include: ['runs/**'], exclude: [], maxDepth: 3 });
    assert.equal(s.lossTag, 'train/loss');
    assert.deepEqual(s.lrKeys, ['lr']);
    assert.equal(s.backend, 'wasm');
    assert.equal(s.sampling, 'reshuffle');
    assert.equal(s.batchSize, 32);
    assert.equal(s.momentum, 0.9);
    assert.deepEqual(s.checkpoint, { model: 'ckpt/model.json', data: 'data/x.npy', labels: null, loss: 'mse', frozen: ['backbone', 'head.norm.weight'] });
    assert.equal(s.codeLensEnabled, false);
    assert.equal(s.serverMaxFileSize, 5000);
  });

  it('falls back to the default for a value of the wrong type and says which setting', () => {
    const r = readSettings(source({ momentum: '0.9', batchSize: 0, backend: 'gpu', 'runs.maxDepth': 2.5, lrKeys: 'lr' }));
    assert.equal(r.settings.momentum, null);
    assert.equal(r.settings.batchSize, null);
    assert.equal(r.settings.backend, 'auto');
    assert.equal(r.settings.runs.maxDepth, DEFAULT_SETTINGS.runs.maxDepth);
    assert.deepEqual(r.settings.lrKeys, DEFAULT_SETTINGS.lrKeys);
    assert.equal(r.problems.length, 5);
    assert.match(r.problems[0], /^heatcap\.\S+: expected/);
    assert.ok(r.problems.some((p) => p.startsWith('heatcap.momentum: expected a number in [0, 1)')));
  });

  it('finite η: enabled and directions, a directions value outside 1–200 falls back to 10', () => {
    assert.deepEqual(readSettings(source({ 'finiteEta.enabled': false, 'finiteEta.directions': 20, 'finiteEta.fullSolve': true })).settings.finiteEta, { enabled: false, directions: 20, fullSolve: true });
    const r = readSettings(source({ 'finiteEta.directions': 0, 'finiteEta.enabled': 'no', 'finiteEta.fullSolve': 1 }));
    assert.deepEqual(r.settings.finiteEta, DEFAULT_SETTINGS.finiteEta);
    assert.ok(r.problems.some((p) => p.startsWith('heatcap.finiteEta.directions: expected an integer from 1 to 200')));
    assert.ok(r.problems.some((p) => p.startsWith('heatcap.finiteEta.enabled: expected true or false')));
    assert.ok(r.problems.some((p) => p.startsWith('heatcap.finiteEta.fullSolve: expected true or false')));
  });

  it('momentum 1 is refused (no stationary distribution), null is "from the runs"', () => {
    assert.equal(readSettings(source({ momentum: 1 })).settings.momentum, null);
    assert.equal(readSettings(source({ momentum: null })).problems.length, 0);
  });

  it('resolves checkpoint paths against the workspace folder', () => {
    const folder = path.resolve('/work/project');
    assert.equal(resolveSettingPath('ckpt/model.json', folder), path.join(folder, 'ckpt/model.json'));
    assert.equal(resolveSettingPath('${workspaceFolder}/m.json', folder), path.join(folder, 'm.json'));
    assert.equal(resolveSettingPath(path.resolve('/abs/m.json'), folder), path.resolve('/abs/m.json'));
    assert.equal(resolveSettingPath('rel.json', undefined), 'rel.json');
    assert.equal(resolveSettingPath(null, folder), null);
  });
});
