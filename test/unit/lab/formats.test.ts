/**
 * The sweep lab trains what TensorFlow.js can train: model.json and Keras files (a real Keras 3 file
 * here); an ONNX checkpoint gets one clear line instead (its statistics come from the ONNX engine).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli';

const KERAS = join(__dirname, '../../fixtures/keras');
const ONNX = join(__dirname, '../../fixtures/onnx/mlp');

describe('heatcap sweep from Keras and ONNX checkpoints', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'lab-formats-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains a real Keras 3 .keras file and writes ordinary logs naming it in sweep.json', async () => {
    const out = join(dir, 'keras');
    const r = await runCli(['sweep', '--model', join(KERAS, 'flownet_mlp.keras'), '--data', join(KERAS, 'x_flownet_mlp.npy'), '--labels', join(KERAS, 't_flownet_mlp.npy'), '--lrs', '0.001', '--steps', '200', '--batch-size', '4', '--log-every', '50', '--out', out, '--backend', 'cpu', '--json']);
    assert.equal(r.code, 0, r.err);
    const manifest = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    assert.match(manifest.checkpoint ?? manifest.model ?? JSON.stringify(manifest), /flownet_mlp\.keras/);
    assert.ok(existsSync(join(out, 'csv')));
  });

  it('an ONNX checkpoint is one line saying the lab cannot train it', async () => {
    const r = await runCli(['sweep', '--model', join(ONNX, 'model.onnx'), '--data', join(ONNX, 'x.npy'), '--labels', join(ONNX, 'y.npy'), '--loss', 'cross_entropy', '--lrs', '0.01', '--steps', '10', '--out', join(dir, 'onnx')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /is an ONNX model: .*the sweep lab trains TensorFlow\.js and Keras models only/);
  });
});
