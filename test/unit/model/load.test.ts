import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeatcapError } from '../../../src/core/errors';
import { buildSequential } from '../../../src/core/model/build';
import { loadModel, saveLayersModel } from '../../../src/core/model/load';
import { initBackend } from '../../../src/core/tf/backend';

const fresh = () => mkdtempSync(join(tmpdir(), 'model-'));

async function saved() {
  const dir = fresh();
  const model = buildSequential([4], [{ type: 'dense', units: 3, activation: 'relu', kernelL2: 0.01 }, { type: 'dense', units: 2, activation: 'softmax' }], 5);
  const file = await saveLayersModel(model, dir, { loss: 'sparse_categorical_crossentropy' });
  return { dir, file, model };
}

function rejectsWith(p: Promise<unknown>, file: string, pattern: RegExp) {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof HeatcapError, `not a HeatcapError: ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.what, pattern);
    return true;
  });
}

describe('model.json loading and saving with our own IO handler', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('round-trips a model: same weights (exact) and the recorded loss', async () => {
    const { file, model } = await saved();
    const loaded = await loadModel(file);
    const a = model.getWeights().map((w) => Array.from(w.dataSync()));
    const b = loaded.model.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(b, a);
    assert.deepEqual(loaded.trainingConfig, { loss: 'sparse_categorical_crossentropy' });
    assert.deepEqual(
      loaded.manifest!.groups[0].weights.map((w) => w.name),
      loaded.model.trainableWeights.map((w) => w.originalName),
    );
    // The saved file is also readable by tfjs' own loader (no trainingConfig it cannot compile).
    const json = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(json.trainingConfig, undefined);
  });

  it('names a missing weight shard', async () => {
    const { dir, file } = await saved();
    rmSync(join(dir, 'group1-shard1of1.bin'));
    await rejectsWith(loadModel(file), join(dir, 'group1-shard1of1.bin'), /weight shard is missing \(listed in .*model\.json\)/);
  });

  it('names a shard of the wrong length, with both byte counts', async () => {
    const { dir, file } = await saved();
    const shard = join(dir, 'group1-shard1of1.bin');
    const size = statSync(shard).size;
    writeFileSync(shard, readFileSync(shard).subarray(0, size - 4));
    await rejectsWith(loadModel(file), shard, new RegExp(`holds ${size - 4} bytes but .*model\\.json lists weights .* needing ${size} bytes`));
  });

  it('rejects an unsupported dtype, a GraphModel and broken JSON on model.json', async () => {
    const { file } = await saved();
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.weightsManifest[0].weights[0].dtype = 'string';
    writeFileSync(file, JSON.stringify(json));
    await rejectsWith(loadModel(file), file, /dtype 'string' is not supported/);
    writeFileSync(file, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    await rejectsWith(loadModel(file), file, /GraphModel/);
    writeFileSync(file, '{"modelTopology": ');
    await rejectsWith(loadModel(file), file, /is not valid JSON/);
  });

  it('refuses a layer size no stored weights could match, before tfjs allocates it', async () => {
    const { file } = await saved();
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.modelTopology.config.layers[0].config.units = 1e9;
    writeFileSync(file, JSON.stringify(json));
    await rejectsWith(loadModel(file), file, /units=1000000000 cannot match the \d+ stored weight values/);
  });

  it('loads Keras L2 regularisers (class L2, which tfjs does not register) as L1L2', async () => {
    const { file } = await saved();
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.modelTopology.config.layers[0].config.kernel_regularizer = { class_name: 'L2', config: { l2: 0.25 } };
    writeFileSync(file, JSON.stringify(json));
    const m = await loadModel(file);
    assert.deepEqual((m.model.layers[0].getConfig() as { kernelRegularizer: unknown }).kernelRegularizer, { className: 'L1L2', config: { l1: 0, l2: 0.25 } });
  });

  it('wraps what tfjs rejects while building as a HeatcapError on model.json', async () => {
    const { file } = await saved();
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.modelTopology.config.layers[0].class_name = 'NoSuchLayer';
    writeFileSync(file, JSON.stringify(json));
    await rejectsWith(loadModel(file), file, /not a loadable TensorFlow.js LayersModel/);
  });
});
