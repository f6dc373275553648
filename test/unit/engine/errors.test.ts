/** Bad input to the ONNX engine through the CLI: one line naming the file and what is wrong, exit 1. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../../../src/core/data/npy';
import { runCli } from '../../support/cli';
import { floats, node, value, write } from '../model/onnx/synth';

const MLP = join(__dirname, '../../fixtures/onnx/mlp');

describe('ONNX engine: bad input is one clear line', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'onnx-errors-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const gradnorms = (...args: string[]) => runCli(['gradnorms', '--workers', '0', ...args]);

  it('an ONNX model and no --loss: asks for one, listing the names', async () => {
    const r = await gradnorms('--model', join(MLP, 'model.onnx'), '--data', join(MLP, 'x.npy'), '--labels', join(MLP, 'y.npy'));
    assert.equal(r.code, 1);
    assert.match(r.err, /model\.onnx: records no training loss; pass --loss \(PyTorch names cross_entropy/);
  });
  it('rows that do not fit the model input name the data file', async () => {
    const x = join(dir, 'x3.npy');
    writeNpy(x, new Float32Array(600), [200, 3]);
    const r = await gradnorms('--model', join(MLP, 'model.onnx'), '--data', x, '--labels', join(MLP, 'y.npy'), '--loss', 'cross_entropy');
    assert.equal(r.code, 1);
    assert.match(r.err, /x3\.npy: rows of shape \(3\) \(3 values\) do not fit the model's input/);
  });
  it('a label outside the classes names the labels file and the example', async () => {
    const y = join(dir, 'ybad.npy');
    const labels = new Int32Array(200).fill(1);
    labels[7] = 12;
    writeNpy(y, labels, [200]);
    const r = await gradnorms('--model', join(MLP, 'model.onnx'), '--data', join(MLP, 'x.npy'), '--labels', y, '--loss', 'cross_entropy');
    assert.equal(r.code, 1);
    assert.match(r.err, /ybad\.npy: example 7: label 12 is not a class index/);
  });
  it('a token id outside the embedding table (negative, or ≥ V) names the data file, the example and the table; no ORT log line', async () => {
    const TF = join(__dirname, '../../fixtures/onnx/transformer_tiny');
    for (const [bad, want] of [
      [-1, /tok-1\.npy: example 3: token id -1 is outside the embedding table's 0\.\.19 \(Gather '.*' over 'emb\.weight'\)/],
      [20, /tok20\.npy: example 3: token id 20 is outside the embedding table's 0\.\.19/],
    ] as const) {
      const ids = new Int32Array(256 * 12).fill(2);
      ids[3 * 12 + 5] = bad;
      const x = join(dir, `tok${bad}.npy`);
      writeNpy(x, ids, [256, 12]);
      const r = await gradnorms('--model', join(TF, 'model.onnx'), '--data', x, '--labels', join(TF, 'y.npy'), '--loss', 'cross_entropy');
      assert.equal(r.code, 1);
      assert.match(r.err, want);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
    }
  });
  it('a model a gradient rule cannot take (nearest Resize by 1.5) is an error naming the model file, exit 1, not an internal error', async () => {
    const str = (name: string, v: string) => ({ name, type: 3, s: new TextEncoder().encode(v) });
    const model = write(dir, 'resize15.onnx', {
      nodes: [
        node('Conv', ['x', 'k'], ['h'], 'conv'),
        node('Resize', ['h', '', 'scales'], ['u'], 'up', [str('mode', 'nearest'), str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')]),
        node('Flatten', ['u'], ['f'], 'flat'),
        node('Gemm', ['f', 'W', 'b'], ['y'], 'fc', [{ name: 'transB', type: 2, i: 1 }]),
      ],
      inits: [floats('k', [1, 1, 1, 1], [1.5]), floats('scales', [4], [1, 1, 1.5, 1.5]), floats('W', [3, 9], Array.from({ length: 27 }, (_, i) => i / 27)), floats('b', [3], [0, 0, 0])],
      inputs: [value('x', ['batch', 1, 2, 2])],
      outputs: [value('y', ['batch', 3])],
    });
    const x = join(dir, 'x4.npy');
    const y = join(dir, 'y4.npy');
    writeNpy(x, Float32Array.from({ length: 32 }, (_, i) => i / 32), [8, 1, 2, 2]);
    writeNpy(y, new Int32Array(8).fill(1), [8]);
    const r = await gradnorms('--model', model, '--data', x, '--labels', y, '--loss', 'cross_entropy');
    assert.equal(r.code, 1, r.err + r.out);
    assert.match(r.err, /resize15\.onnx: cannot build the gradient program: Resize 'up': only nearest-neighbour upsampling by integer factors/);
    assert.doesNotMatch(r.err, /internal error/);
  });
  it('a PyTorch .pt file says what to export, and never "not valid JSON"', async () => {
    const pt = join(dir, 'model.pt');
    writeFileSync(pt, Buffer.from('PK\u0003\u0004archive/data.pkl'));
    const r = await gradnorms('--model', pt, '--data', join(MLP, 'x.npy'), '--labels', join(MLP, 'y.npy'));
    assert.equal(r.code, 1);
    assert.match(r.err, /model\.pt: holds weights without the architecture .*torch\.onnx\.export/);
    assert.doesNotMatch(r.err, /JSON/);
  });
  it('a truncated ONNX file names the file', async () => {
    const cut = join(dir, 'cut.onnx');
    writeFileSync(cut, require('node:fs').readFileSync(join(MLP, 'model.onnx')).subarray(0, 500));
    const r = await gradnorms('--model', cut, '--data', join(MLP, 'x.npy'), '--labels', join(MLP, 'y.npy'), '--loss', 'cross_entropy');
    assert.equal(r.code, 1);
    assert.match(r.err, /cut\.onnx: /);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  });
  it('--engine and --loss-semantics values are checked', async () => {
    const r = await gradnorms('--model', join(MLP, 'model.onnx'), '--data', join(MLP, 'x.npy'), '--engine', 'gpu');
    assert.equal(r.code, 1);
    assert.match(r.err, /--engine must be one of auto, onnx, onnx-loop, naive, got 'gpu'/);
  });
});
