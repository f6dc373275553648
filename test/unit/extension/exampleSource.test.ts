import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { exampleArgs } from '../../../src/extension/compute/cliArgs';
import { parseExampleOutput } from '../../../src/extension/compute/cliOutput';
import { exampleSource } from '../../../src/extension/panel/exampleSource';
import { HOST_CAPABILITIES, snapshotMessage } from '../../../src/extension/panel/snapshot';
import { fixtureResult } from './support/results';

describe('extension: training examples for the panel', () => {
  const withData = (data: string, model = '/w/ckpt/model.json') => {
    const r = fixtureResult('iid-sweep');
    if (r.gradnorms) r.gradnorms = { ...r.gradnorms, data, model };
    return r;
  };
  const settings = { model: '/w/ckpt/model.json', data: '/w/data/x.npy', labels: '/w/data/y.npy', loss: null };

  it('reads the checkpoint settings’ data (with its labels and model) when the analysis used that file', () => {
    assert.deepEqual(exampleSource(withData('/w/data/./x.npy'), settings), { ok: true, data: '/w/data/x.npy', labels: '/w/data/y.npy', model: '/w/ckpt/model.json' });
    assert.deepEqual(exampleSource(withData('data/x.npy'), settings), { ok: true, data: '/w/data/x.npy', labels: '/w/data/y.npy', model: '/w/ckpt/model.json' }, 'a relative path in the result cannot contradict the settings');
  });

  it('reads the analysed file, without the settings’ labels, when the two differ or no data is set', () => {
    const lab = path.resolve('/w/sweeps/lab/x.npz');
    assert.deepEqual(exampleSource(withData(lab), settings), { ok: true, data: lab, labels: null, model: '/w/ckpt/model.json' });
    assert.deepEqual(exampleSource(withData(lab, 'rel/model.json'), null), { ok: true, data: lab, labels: null, model: null });
  });

  it('says why when there is nothing to read', () => {
    const noData = exampleSource(withData('digits.csv'), null);
    assert.ok(!noData.ok && /set heatcap\.checkpoint\.data/.test(noData.reason));
    const r = fixtureResult('iid-sweep');
    r.gradnorms = null;
    const none = exampleSource(r, settings);
    assert.ok(!none.ok && /no per-example gradient norms/.test(none.reason));
  });

  it('spells the CLI command and checks its answer with the panel protocol', () => {
    assert.deepEqual(exampleArgs({ data: '/d/x.npy', labels: '/d/y.npy', model: '/m.json' }, 905), ['example', '--data=/d/x.npy', '--labels=/d/y.npy', '--model=/m.json', '--index=905', '--json']);
    assert.deepEqual(exampleArgs({ data: '/d/x.csv', labels: null, model: null }, 0), ['example', '--data=/d/x.csv', '--index=0', '--json']);
    const ok = parseExampleOutput({ index: 2, n: 10, label: 3, example: { kind: 'row', columns: ['x[0]'], values: [1] } });
    assert.deepEqual(ok, { type: 'example', index: 2, label: 3, example: { kind: 'row', columns: ['x[0]'], values: [1] } });
    assert.throws(() => parseExampleOutput({ index: 2, label: 3, example: { kind: 'image', width: 2, height: 2, channels: 1, pixels: [1], range: [0, 1] } }), /malformed payload/);
    assert.throws(() => parseExampleOutput([1]), /expected an example object/);
  });

  it('offers examples in the panel only for an analysis with gradient norms', () => {
    const withNorms = snapshotMessage(fixtureResult('iid-sweep'), null, null);
    assert.equal(withNorms.type === 'snapshot' && withNorms.capabilities.examples, true);
    assert.equal(HOST_CAPABILITIES.examples, true);
    const r = fixtureResult('iid-sweep');
    r.gradnorms = null;
    const without = snapshotMessage(r, null, null);
    assert.equal(without.type === 'snapshot' && without.capabilities.examples, false);
  });
});
