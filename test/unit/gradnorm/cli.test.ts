import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelSource } from '../../../src/core/cancel';
import { CancelledError } from '../../../src/core/errors';
import { readNpy, writeNpy } from '../../../src/core/data/npy';
import { runGradNorms } from '../../../src/core/gradnorm/run';
import { buildSequential } from '../../../src/core/model/build';
import { saveLayersModel } from '../../../src/core/model/load';
import { initBackend } from '../../../src/core/tf/backend';
import { runCli } from '../../support/cli';
import { randomArray, randomLabels } from '../../support/models/random';

const N = 600;

describe('heatcap gradnorms (CLI contract) and splitting over workers', function () {
  this.timeout(120000);
  const dir = mkdtempSync(join(tmpdir(), 'gn-cli-'));
  const x = join(dir, 'x.npy');
  const y = join(dir, 'y.npy');
  let model = '';

  before(async () => {
    await initBackend('cpu');
    const m = buildSequential([6], [{ type: 'dense', units: 8, activation: 'relu', kernelL2: 0.001 }, { type: 'dense', units: 3, activation: 'softmax' }], 4);
    model = await saveLayersModel(m, join(dir, 'model'), { loss: 'sparse_categorical_crossentropy' });
    writeNpy(x, randomArray(N * 6, 1), [N, 6]);
    writeNpy(y, Int32Array.from(randomLabels(N, 3, 2)), [N]);
  });

  it('prints the documented JSON, with manifest weight names, sorted top-k and the per-example .npy', async () => {
    const out = join(dir, 'norms.npy');
    const r = await runCli(['gradnorms', '--model', model, '--data', x, '--labels', y, '--json', '--per-example', out, '--workers', '0', '--backend', 'cpu', '--top', '5']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    for (const k of ['n', 'mean_loss', 'mean_sq_norm', 'mean_grad_sq_norm', 'trace_cov', 'per_weight', 'top', 'backend', 'engine', 'seconds']) assert.ok(k in j, `missing ${k}`);
    assert.equal(j.n, N);
    // The default engine: the model's ONNX gradient program in ONNX Runtime.
    assert.equal(j.engine, 'onnx');
    assert.equal(j.backend, 'onnxruntime-cpu');
    const manifest = JSON.parse(readFileSync(model, 'utf8')).weightsManifest[0].weights.map((w: { name: string }) => w.name);
    assert.equal(manifest.length, 4);
    assert.deepEqual(
      j.per_weight.map((w: { name: string }) => w.name),
      manifest,
    );
    assert.equal(j.top.length, 5);
    for (let i = 1; i < j.top.length; i++) assert.ok(j.top[i - 1].sq_norm >= j.top[i].sq_norm);
    assert.ok(Math.abs(j.trace_cov - (j.mean_sq_norm - j.mean_grad_sq_norm)) < 1e-12 * j.mean_sq_norm);
    const norms = readNpy(out);
    assert.deepEqual(norms.shape, [N]);
    const mean = norms.data.reduce((a, b) => a + b, 0) / N;
    assert.ok(Math.abs(mean / j.mean_sq_norm - 1) < 1e-12);
    assert.equal(norms.data[j.top[0].index], j.top[0].sq_norm);
  });

  it('--engine naive runs the exact loop and agrees to 1e-4 (oracle for the default engine)', async () => {
    const a = JSON.parse((await runCli(['gradnorms', '--model', model, '--data', x, '--labels', y, '--json', '--workers', '0', '--backend', 'cpu'])).out);
    const b = JSON.parse((await runCli(['gradnorms', '--model', model, '--data', x, '--labels', y, '--json', '--workers', '0', '--backend', 'cpu', '--engine', 'naive'])).out);
    assert.equal(b.engine, 'naive');
    assert.ok(Math.abs(a.mean_sq_norm / b.mean_sq_norm - 1) < 1e-4);
    assert.ok(Math.abs(a.trace_cov / b.trace_cov - 1) < 1e-4);
  });

  it('--engine vectorized (the removed TF.js vectorised engine) is a deprecated alias of auto, with one note saying so', async () => {
    const a = JSON.parse((await runCli(['gradnorms', '--model', model, '--data', x, '--labels', y, '--json', '--workers', '0'])).out);
    const r = await runCli(['gradnorms', '--model', model, '--data', x, '--labels', y, '--json', '--workers', '0', '--backend', 'cpu', '--engine', 'vectorized']);
    assert.equal(r.code, 0, r.err);
    const b = JSON.parse(r.out);
    assert.equal(b.engine, 'onnx');
    assert.equal(b.notes.filter((n: string) => /vectorized/.test(n)).length, 1, b.notes.join(' | '));
    assert.match(b.notes[0], /engine 'vectorized' is deprecated .*ran 'auto' instead/);
    assert.equal(b.mean_sq_norm, a.mean_sq_norm);
    assert.equal(b.mean_loss, a.mean_loss);
  });

  it('usage errors exit 2, bad values exit 1 with one line', async () => {
    assert.equal((await runCli(['gradnorms', '--data', x])).code, 2);
    const r = await runCli(['gradnorms', '--model', model, '--data', x, '--labels', y, '--backend', 'gpu']);
    assert.equal(r.code, 1);
    assert.match(r.err, /--backend must be one of auto, wasm, node, cpu, got 'gpu'/);
    const m = await runCli(['gradnorms', '--model', join(dir, 'nope.json'), '--data', x, '--labels', y, '--workers', '0']);
    assert.equal(m.code, 1);
    assert.match(m.err, /nope\.json: cannot open \(ENOENT\)/);
  });

  it('cancelling a run in worker threads rejects with CancelledError (the workers are terminated)', async () => {
    const source = new CancelSource();
    const run = runGradNorms({ model, data: { data: x, labels: y }, backend: 'cpu', engine: 'naive', workers: 1, chunkSize: 16, onProgress: () => source.cancel(), token: source.token });
    await assert.rejects(run, CancelledError);
  });

  it('two worker threads give the same per-example norms as one thread, and the same statistics (1e-12: float64 summation order)', async () => {
    const one = join(dir, 'one.npy');
    const two = join(dir, 'two.npy');
    const base = { model, data: { data: x, labels: y }, backend: 'cpu' as const, engine: 'naive' as const, chunkSize: 128, diagonal: true };
    const a = await runGradNorms({ ...base, workers: 0, perExamplePath: one });
    const b = await runGradNorms({ ...base, workers: 2, perExamplePath: two });
    assert.equal(b.workers, 2);
    assert.deepEqual(Array.from(readNpy(two).data), Array.from(readNpy(one).data));
    for (const k of ['meanSqNorm', 'meanGradSqNorm', 'traceCov', 'meanLoss'] as const) assert.ok(Math.abs(a[k] / b[k] - 1) < 1e-12, k);
    assert.deepEqual(b.top, a.top);
    assert.deepEqual(b.histogram, a.histogram);
    assert.ok(a.diagSecondMoment!.every((v, i) => Math.abs(v - b.diagSecondMoment![i]) <= 1e-12 * Math.abs(v)));
  });
});
