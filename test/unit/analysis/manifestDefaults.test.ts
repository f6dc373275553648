/** sweep.json's defaults under an explicit checkpoint (a flag, or the extension's settings). */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { withManifestDefaults } from '../../../src/core/analysis/manifest';

const DIGITS = join(__dirname, '../../../examples/digits');
const softmax = join(DIGITS, 'checkpoints/softmax/model.json');
const x = join(DIGITS, 'data/x.npy');
const manifest = { file: join(DIGITS, 'sweeps/softmax-iid/sweep.json'), model: softmax, data: x, labels: join(DIGITS, 'data/y.npy'), startedAtCheckpoint: true };

describe('sweep.json defaults with an explicit checkpoint', () => {
  it('the very checkpoint the sweep started from (another spelling of its path) keeps started_at_checkpoint', () => {
    const o = withManifestDefaults({ root: DIGITS, model: join(DIGITS, 'checkpoints/../checkpoints/softmax/model.json') }, manifest);
    assert.equal(o.startedAtCheckpoint, true);
    assert.equal(o.data, x);
  });
  it('another checkpoint, or other data, takes nothing from the manifest', () => {
    assert.equal(withManifestDefaults({ root: DIGITS, model: join(DIGITS, 'checkpoints/mlp/model.json') }, manifest).startedAtCheckpoint, undefined);
    assert.equal(withManifestDefaults({ root: DIGITS, model: softmax, data: join(DIGITS, 'data/y.npy') }, manifest).startedAtCheckpoint, undefined);
  });
  it('a flag still wins', () => {
    assert.equal(withManifestDefaults({ root: DIGITS, model: softmax, startedAtCheckpoint: false }, manifest).startedAtCheckpoint, false);
  });
});
