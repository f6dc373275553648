/**
 * The two builds of ONNX Runtime behind the engine: a native build that does not load falls back to the
 * WebAssembly build with a note (auto), or fails with one clear error (native); the result says which
 * runtime, provider and thread count ran. Oracle for the numbers: the native run of the same program
 * (float32 on both sides; tolerance 1e-5 relative on the aggregates).
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { isHeatcapError } from '../../../src/core/errors';
import { computeOnnxPartial } from '../../../src/core/engine/compute';
import { openEngineProblem } from '../../../src/core/engine/problem';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import { createSession, loadRuntime } from '../../../src/core/engine/runtime';
import { encodeModel } from '../../../src/core/onnx/proto';
import { finishStats } from '../../../src/core/gradnorm/engine';
import { runCli } from '../../support/cli';

const MLP = join(__dirname, '../../fixtures/onnx/mlp');
const MISSING = { native: 'onnxruntime-node-not-installed-here', wasm: 'onnxruntime-web' };

async function mlpOn(runtime: 'native' | 'auto' | 'wasm') {
  const problem = await openEngineProblem({ model: join(MLP, 'model.onnx'), data: { data: join(MLP, 'x.npy'), labels: join(MLP, 'y.npy') }, loss: 'cross_entropy' });
  try {
    const r = await computeOnnxPartial(problem, { threads: 1, runtime, chunkSize: 64 });
    return { r, stats: finishStats([r], r.partial, r.seconds) };
  } finally {
    problem.close();
  }
}

describe('ONNX Runtime builds: native, wasm, and the fallback between them', function () {
  this.timeout(120_000);

  it('auto takes the native build where it loads', () => {
    const rt = loadRuntime('auto');
    assert.equal(rt.kind, 'native');
    assert.equal(rt.fallback, undefined);
    assert.match(rt.name, /^onnxruntime-node \d+\.\d+\.\d+$/);
  });

  it('auto falls back to the wasm build when the native one does not load, and says why', () => {
    const rt = loadRuntime('auto', MISSING);
    assert.equal(rt.kind, 'wasm');
    assert.match(rt.name, /^onnxruntime-web \d+\.\d+\.\d+$/);
    assert.match(rt.fallback ?? '', /onnxruntime-node-not-installed-here\) could not be loaded on this platform \(Cannot find module/);
    assert.match(rt.fallback ?? '', /WebAssembly build \(onnxruntime-web\)/);
  });

  it('native asked for and not loadable: one error naming the wasm alternative', () => {
    assert.throws(
      () => loadRuntime('native', MISSING),
      (e: unknown) => isHeatcapError(e) && /could not be loaded on this platform/.test((e as Error).message) && /--runtime wasm/.test((e as Error).message),
    );
  });

  it('both builds missing: one error naming both', () => {
    assert.throws(
      () => loadRuntime('auto', { native: 'no-such-native-ort', wasm: 'no-such-wasm-ort' }),
      (e: unknown) => isHeatcapError(e) && /no-such-native-ort: .*; no-such-wasm-ort: /.test((e as Error).message),
    );
  });

  it('the engine on a platform without the native binary: wasm ran, the notes say so, same numbers as native', async () => {
    const native = await mlpOn('native');
    assert.equal(native.r.runtime.provider, 'cpu');
    assert.equal(native.r.backend, 'onnxruntime-cpu');
    process.env.HEATCAP_ORT_NATIVE_MODULE = MISSING.native;
    try {
      const { r, stats } = await mlpOn('auto');
      assert.equal(r.runtime.provider, 'wasm');
      assert.equal(r.backend, 'onnxruntime-wasm');
      // One thread asked; an earlier wasm session in this thread may have sized the pool (then a note says so).
      assert.ok(r.runtime.threads >= 1);
      assert.ok(r.notes.some((n) => /^the native ONNX Runtime \(onnxruntime-node-not-installed-here\) could not be loaded/.test(n)), r.notes.join(' | '));
      assert.ok(Math.abs(stats.meanSqNorm - native.stats.meanSqNorm) < 1e-5 * native.stats.meanSqNorm, `${stats.meanSqNorm} vs ${native.stats.meanSqNorm}`);
      assert.ok(Math.abs(stats.meanLoss - native.stats.meanLoss) < 1e-5 * native.stats.meanLoss);
    } finally {
      delete process.env.HEATCAP_ORT_NATIVE_MODULE;
    }
  });

  it('wasm: a session asking for more threads than the pool an earlier session sized runs on that pool, and says so', async () => {
    const bytes = encodeModel(buildModel({ opset: 17, name: 'relu', nodes: [{ op: 'Relu', name: 'r', inputs: ['x'], outputs: ['y'], attrs: {} }], initializers: [], inputs: [{ name: 'x', dtype: 'float32', shape: [2] }], outputs: [{ name: 'y' }] }));
    const first = await createSession(bytes, { threads: 1, runtime: 'wasm' }, 'relu.onnx');
    await first.session.release();
    const second = await createSession(bytes, { threads: first.info.threads + 1, runtime: 'wasm' }, 'relu.onnx');
    await second.session.release();
    assert.equal(second.info.threads, first.info.threads);
    assert.match(second.info.fallback ?? '', new RegExp(`ran ${first.info.threads} threads?, not the ${first.info.threads + 1} asked for: its thread pool was sized by an earlier session`));
  });

  it('CUDA asked for on the wasm build: one clear error', async () => {
    const problem = await openEngineProblem({ model: join(MLP, 'model.onnx'), data: { data: join(MLP, 'x.npy'), labels: join(MLP, 'y.npy') }, loss: 'cross_entropy' });
    try {
      await assert.rejects(
        computeOnnxPartial(problem, { threads: 1, runtime: 'wasm', provider: 'cuda' }),
        (e: unknown) => isHeatcapError(e) && /CUDA provider needs the native runtime/.test((e as Error).message),
      );
    } finally {
      problem.close();
    }
  });

  it('heatcap gradnorms --runtime wasm in a worker thread reports the runtime that ran', async () => {
    const r = await runCli(['gradnorms', '--model', join(MLP, 'model.onnx'), '--data', join(MLP, 'x.npy'), '--labels', join(MLP, 'y.npy'), '--loss', 'cross_entropy', '--runtime', 'wasm', '--threads', '2', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.backend, 'onnxruntime-wasm');
    assert.equal(j.workers, 1);
    assert.ok(j.notes.some((n: string) => /^ran on onnxruntime-web \d+\.\d+\.\d+ \(wasm\) \(wasm, [12] threads?\)/.test(n)), j.notes.join(' | '));
  });

  it('heatcap gradnorms --runtime: an unknown value is refused', async () => {
    const r = await runCli(['gradnorms', '--model', join(MLP, 'model.onnx'), '--data', join(MLP, 'x.npy'), '--runtime', 'gpu']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /--runtime must be one of auto, native, wasm, got 'gpu'/);
  });
});
