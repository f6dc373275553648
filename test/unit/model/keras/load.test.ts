import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync, zipSync } from 'fflate';
import { readNpy } from '../../../../src/core/data/npy';
import { HeatcapError } from '../../../../src/core/errors';
import { perExampleLoss, resolveLoss } from '../../../../src/core/gradnorm/loss';
import { loadKerasModel, type LoadedKerasModel } from '../../../../src/core/model/keras';
import { initBackend } from '../../../../src/core/tf/backend';

// Real Keras files (test/fixtures/keras/README.md) against an independent PyTorch float64 oracle
// computed from the same weights read with h5py (test/fixtures/keras/make_oracle.py).
const FIXTURES = join(__dirname, '../../../fixtures/keras');
const fixture = (name: string) => join(FIXTURES, name);

interface Case {
  model: string;
  file: string;
  kerasVersion: string;
  format: 'keras' | 'h5';
  loss: { kind: string; fromLogits: boolean };
  trainable: number;
  /** tfjs' autodiff has no gradient for dilated convolutions (the oracle's g2 is still written, for the engine graph). */
  tfjsGrads: boolean;
}

const CASES: Case[] = [
  { model: 'flownet_mlp', file: 'flownet_mlp.keras', kerasVersion: '3.9.2', format: 'keras', loss: { kind: 'mse', fromLogits: false }, trainable: 8, tfjsGrads: true },
  { model: 'crispr_resnet1d', file: 'crispr_resnet1d.keras', kerasVersion: '3.12.0', format: 'keras', loss: { kind: 'mse', fromLogits: false }, trainable: 26, tfjsGrads: false },
  { model: 'mnist_cnn_tf210', file: 'mnist_cnn_tf210.h5', kerasVersion: '2.10.0', format: 'h5', loss: { kind: 'sparse_categorical_crossentropy', fromLogits: false }, trainable: 12, tfjsGrads: true },
];

function npyTensor(name: string): tf.Tensor {
  const { shape, data } = readNpy(fixture(name));
  return tf.tensor(Float32Array.from(data), shape, 'float32');
}

/** max |a − b| / max |b| over the arrays (relative to the oracle's scale). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / Math.max(scale, 1e-30);
}

function rejectsWith(p: Promise<unknown>, file: string, pattern: RegExp) {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof HeatcapError, `not a HeatcapError: ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.what, pattern);
    return true;
  });
}

describe('Keras front-end: real .keras and .h5 files against a PyTorch float64 oracle', () => {
  const loaded = new Map<string, LoadedKerasModel>();
  before(async () => {
    await initBackend('cpu');
    for (const c of CASES) loaded.set(c.model, await loadKerasModel(fixture(c.file)));
  });
  after(() => loaded.forEach((m) => m.model.dispose()));

  for (const c of CASES) {
    describe(`${c.file} (Keras ${c.kerasVersion})`, () => {
      it('predicts what the oracle computes (1e-4 relative)', () => {
        const m = loaded.get(c.model)!;
        const x = npyTensor(`x_${c.model}.npy`);
        const y = m.model.predict(x) as tf.Tensor;
        const want = readNpy(fixture(`y_${c.model}.npy`));
        assert.deepEqual(y.shape, want.shape);
        const err = relErr(y.dataSync(), want.data);
        assert.ok(err < 1e-4, `relative error ${err}`);
        tf.dispose([x, y]);
      });

      (c.tfjsGrads ? it : it.skip)('has the per-example gradient norms of the recorded loss that the oracle computes (1e-4 relative)', () => {
        const m = loaded.get(c.model)!;
        const spec = resolveLoss(undefined, m.trainingConfig, m.file);
        const x = npyTensor(`x_${c.model}.npy`);
        const t = npyTensor(`t_${c.model}.npy`);
        // The first two examples: tfjs' cpu backend is slow at conv gradients.
        const want = readNpy(fixture(`g2_${c.model}.npy`)).data.subarray(0, 2);
        const vars = m.model.trainableWeights.map((w) => w.read() as tf.Variable);
        const got: number[] = [];
        for (let b = 0; b < want.length; b++) {
          const g2 = tf.tidy(() => {
            const xb = x.slice([b], [1]);
            const tb = t.slice([b], [1]);
            const { grads } = tf.variableGrads(() => perExampleLoss(spec, tb, m.model.apply(xb) as tf.Tensor).sum() as tf.Scalar, vars);
            return Object.values(grads).reduce((a, g) => a + tf.sum(tf.square(g)).dataSync()[0], 0);
          });
          got.push(g2);
        }
        const err = relErr(got, want);
        assert.ok(err < 1e-4, `relative error ${err}: ${got} vs ${Array.from(want)}`);
        tf.dispose([x, t]);
      });

      it('has the file’s trainable weights (count, layers, shapes) and its recorded loss', () => {
        const m = loaded.get(c.model)!;
        assert.equal(m.format, c.format);
        assert.equal(m.kerasVersion, c.kerasVersion);
        assert.equal(m.model.trainableWeights.length, c.trainable);
        const names = JSON.parse(readFileSync(fixture(`names_${c.model}.json`), 'utf8')) as [string, number, number[]][];
        const key = (layer: string, shape: number[]) => `${layer} [${shape}]`;
        const fromFile = names.map(([l, , s]) => key(l, s)).sort();
        const fromModel = m.model.trainableWeights.map((w) => key(w.originalName.split('/')[0], w.shape as number[])).sort();
        assert.deepEqual(fromModel, fromFile);
        const spec = resolveLoss(undefined, m.trainingConfig, m.file);
        assert.deepEqual({ kind: spec.kind, fromLogits: spec.fromLogits }, c.loss);
        assert.ok(m.notes.some((n) => n.includes(`Keras ${c.kerasVersion}`)));
      });
    });
  }
});

describe('Keras front-end: bad input names the file (and the layer)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keras-'));
  const archive = () => unzipSync(new Uint8Array(readFileSync(fixture('flownet_mlp.keras'))));
  const write = (name: string, bytes: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const withConfig = (edit: (cfg: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } }) => void) => {
    const files = archive();
    const cfg = JSON.parse(new TextDecoder().decode(files['config.json']));
    edit(cfg);
    files['config.json'] = new TextEncoder().encode(JSON.stringify(cfg));
    return zipSync(files);
  };

  before(async () => {
    await initBackend('cpu');
  });

  it('a file that is neither zip nor HDF5', async () => {
    const p = write('junk.keras', new TextEncoder().encode('{"not": "a model"}'));
    await rejectsWith(loadKerasModel(p), p, /neither a Keras 3 \.keras archive \(zip\) nor a Keras \.h5 model \(HDF5\)/);
  });

  it('a missing file', async () => {
    const p = join(dir, 'nope.h5');
    await rejectsWith(loadKerasModel(p), p, /cannot open \(ENOENT\)/);
  });

  it('a truncated .h5', async () => {
    const bytes = readFileSync(fixture('mnist_cnn_tf210.h5'));
    const p = write('truncated.h5', bytes.subarray(0, Math.floor(bytes.length / 2)));
    await rejectsWith(loadKerasModel(p), p, /is not a readable HDF5 file \(truncated file: eof = \d+/);
  });

  it('a .keras archive without model.weights.h5', async () => {
    const files = archive();
    delete files['model.weights.h5'];
    const p = write('noweights.keras', zipSync(files));
    await rejectsWith(loadKerasModel(p), p, /has no model\.weights\.h5/);
  });

  it('a .keras archive whose weights member is not HDF5', async () => {
    const files = archive();
    files['model.weights.h5'] = new Uint8Array(1000).fill(7);
    const p = write('badweights.keras', zipSync(files));
    await rejectsWith(loadKerasModel(p), p, /model\.weights\.h5: not an HDF5 file/);
  });

  it('a zip that is not a Keras archive', async () => {
    const p = write('other.keras', zipSync({ 'a.txt': new Uint8Array([1, 2, 3]) }));
    await rejectsWith(loadKerasModel(p), p, /without config\.json/);
  });

  it('a weight whose shape disagrees with the layer, naming the layer and both shapes', async () => {
    const p = write(
      'shape.keras',
      withConfig((cfg) => {
        const dense = cfg.config.layers.find((l) => l.config.name === 'dense_1')!;
        dense.config.units = 63;
      }),
    );
    await rejectsWith(loadKerasModel(p), p, /layer 'dense_1': weight 'vars\/0' has shape \[128,64\] in the file but the layer needs \[128,63\]/);
  });

  it('a layer with no stored weights, naming it', async () => {
    const p = write(
      'missing.keras',
      withConfig((cfg) => {
        cfg.config.layers.push({ class_name: 'Dense', config: { name: 'extra_head', units: 3, activation: 'linear', use_bias: true, dtype: 'float32' } });
      }),
    );
    await rejectsWith(loadKerasModel(p), p, /no weights stored for layer 'extra_head' \(Dense, needs 2\)/);
  });

  it('a config with a layer class tfjs does not know', async () => {
    const p = write(
      'unknown.keras',
      withConfig((cfg) => {
        cfg.config.layers[2].class_name = 'MyCustomLayer';
      }),
    );
    await rejectsWith(loadKerasModel(p), p, /cannot be built by TensorFlow\.js: .*MyCustomLayer/);
  });

  it('a layer size that the stored weights cannot hold is refused before tfjs allocates it', async () => {
    const p = write(
      'huge.keras',
      withConfig((cfg) => {
        cfg.config.layers[1].config.units = 2 ** 30;
      }),
    );
    await rejectsWith(loadKerasModel(p), p, /units=1073741824 cannot match the \d+ stored weight values/);
  });

  it('a Keras 3 Sequential without an InputLayer takes its input shape from build_config', async () => {
    const p = write(
      'noinput.keras',
      withConfig((cfg) => {
        assert.equal(cfg.config.layers[0].class_name, 'InputLayer');
        cfg.config.layers.shift();
      }),
    );
    const m = await loadKerasModel(p);
    assert.deepEqual(m.model.inputs[0].shape, [null, 2]);
    const { shape, data } = readNpy(fixture('x_flownet_mlp.npy'));
    const y = m.model.predict(tf.tensor(Float32Array.from(data), shape)) as tf.Tensor;
    const err = relErr(y.dataSync(), readNpy(fixture('y_flownet_mlp.npy')).data);
    assert.ok(err < 1e-4, `relative error ${err}`);
    m.model.dispose();
  });

  describe('legacy .h5 edge cases (small files written with h5wasm)', () => {
    type H5 = typeof import('h5wasm');
    let h5: H5;
    before(async () => {
      h5 = await import('h5wasm');
      await h5.ready;
    });
    const DENSE_CONFIG = JSON.stringify({
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: [null, 4], dtype: 'float32', name: 'input_1' } },
          { class_name: 'Dense', config: { name: 'dense', units: 3, activation: 'linear', use_bias: true, dtype: 'float32' } },
        ],
      },
    });
    const makeH5 = (name: string, opts: { config?: boolean; kernelShape?: number[]; weightNames?: string[] }) => {
      const mem = `/test-${name}`;
      const f = new h5.File(mem, 'w');
      if (opts.config !== false) {
        f.create_attribute('model_config', DENSE_CONFIG);
        f.create_attribute('keras_version', '2.15.0');
        f.create_attribute('training_config', JSON.stringify({ loss: 'mse' }));
      }
      const mw = f.create_group('model_weights');
      mw.create_attribute('layer_names', ['dense']);
      const g = mw.create_group('dense');
      g.create_attribute('weight_names', opts.weightNames ?? ['dense/kernel:0', 'dense/bias:0']);
      const d = g.create_group('dense');
      const ks = opts.kernelShape ?? [4, 3];
      d.create_dataset({ name: 'kernel:0', data: new Float32Array(ks[0] * ks[1]).fill(0.5), shape: ks, dtype: '<f' });
      d.create_dataset({ name: 'bias:0', data: new Float32Array([1, 2, 3]), shape: [3], dtype: '<f' });
      f.close();
      const FS = h5.FS as unknown as { readFile(p: string): Uint8Array; unlink(p: string): void };
      const bytes = FS.readFile(mem);
      FS.unlink(mem);
      return write(name, bytes);
    };

    it('loads a well-formed one (weights by weight_names, loss from training_config)', async () => {
      const p = makeH5('ok.h5', {});
      const m = await loadKerasModel(p);
      const y = m.model.predict(tf.ones([1, 4])) as tf.Tensor;
      assert.deepEqual(Array.from(y.dataSync()), [3, 4, 5]);
      assert.deepEqual(m.trainingConfig, { loss: 'mse' });
      m.model.dispose();
    });

    it('weights only (save_weights): no model_config', async () => {
      const p = makeH5('weightsonly.h5', { config: false });
      await rejectsWith(loadKerasModel(p), p, /holds weights only \(save_weights\), no model_config attribute/);
    });

    it('a kernel of the wrong shape, naming the layer', async () => {
      const p = makeH5('badshape.h5', { kernelShape: [5, 3] });
      await rejectsWith(loadKerasModel(p), p, /layer 'dense': weight 'dense\/kernel:0' has shape \[5,3\] in the file but the layer needs \[4,3\]/);
    });

    it('a weight listed in weight_names but absent', async () => {
      const p = makeH5('absent.h5', { weightNames: ['dense/kernel:0', 'dense/gone:0'] });
      await rejectsWith(loadKerasModel(p), p, /layer 'dense': weight 'dense\/gone:0' is missing from the file/);
    });

    it('fewer stored weights than the layer has', async () => {
      const p = makeH5('fewer.h5', { weightNames: ['dense/kernel:0'] });
      await rejectsWith(loadKerasModel(p), p, /layer 'dense' \(Dense\): the file stores 1 weights \(dense\/kernel:0\) but the layer has 2/);
    });
  });

  it('a corrupted member is caught by its CRC', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('flownet_mlp.keras')));
    const at = bytes.length - 40_000; // inside model.weights.h5's raw float data (stored, not deflated)
    bytes[at] ^= 0xff;
    const p = write('crc.keras', bytes);
    await rejectsWith(loadKerasModel(p), p, /archive member 'model\.weights\.h5' is corrupt \(CRC mismatch\)/);
  });
});
