import { strict as assert } from 'node:assert';
import { toSnakeCase, translateLoss, translateModel, type JsonObject } from '../../../../src/core/model/keras/config';
import { keras3Keys } from '../../../../src/core/model/keras/weights';

// The Keras 3 → Keras 2 config translation on small hand-written configs in Keras 3's serialisation
// format (the real files are exercised in load.test.ts).
const policy = (name: string) => ({ module: 'keras', class_name: 'DTypePolicy', config: { name }, registered_name: null });
const tensor = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 4], dtype: 'float32', keras_history: [layer, 0, 0] } });

describe('Keras 3 config translation', () => {
  it('rewrites a functional model: nodes, endpoints, InputLayer, dtype policies, serialised objects', () => {
    const notes = new Set<string>();
    const out = translateModel(
      {
        module: 'keras',
        class_name: 'Functional',
        config: {
          name: 'f',
          trainable: true,
          layers: [
            { module: 'keras.layers', class_name: 'InputLayer', name: 'in', config: { batch_shape: [null, 4], dtype: 'float32', sparse: false, name: 'in', optional: false }, inbound_nodes: [] },
            {
              module: 'keras.layers',
              class_name: 'Dense',
              name: 'd',
              config: {
                name: 'd',
                units: 4,
                dtype: policy('mixed_float16'),
                kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null },
                kernel_regularizer: { module: 'keras.regularizers', class_name: 'L2', config: { l2: 0.01 }, registered_name: null },
              },
              inbound_nodes: [{ args: [tensor('in')], kwargs: { mask: null } }],
            },
            { module: 'keras.layers', class_name: 'LeakyReLU', name: 'lr', config: { name: 'lr', negative_slope: 0.2, dtype: policy('float32') }, inbound_nodes: [{ args: [tensor('d')], kwargs: {} }] },
            { module: 'keras.layers', class_name: 'Add', name: 'add', config: { name: 'add', dtype: policy('float32') }, inbound_nodes: [{ args: [[tensor('lr'), tensor('in')]], kwargs: {} }] },
          ],
          input_layers: ['in', 0, 0],
          output_layers: ['add', 0, 0],
        },
      },
      notes,
    );
    const cfg = out.config as JsonObject;
    const layers = cfg.layers as JsonObject[];
    assert.equal(out.class_name, 'Functional');
    assert.deepEqual(cfg.input_layers, [['in', 0, 0]]);
    assert.deepEqual(cfg.output_layers, [['add', 0, 0]]);
    assert.deepEqual(layers[0].config, { batch_input_shape: [null, 4], dtype: 'float32', sparse: false, name: 'in' });
    const dense = layers[1].config as JsonObject;
    assert.equal(dense.dtype, 'float32');
    assert.deepEqual(dense.kernel_initializer, { class_name: 'GlorotUniform', config: { seed: null } });
    assert.deepEqual(dense.kernel_regularizer, { class_name: 'L2', config: { l2: 0.01 } });
    assert.deepEqual(layers[1].inbound_nodes, [[['in', 0, 0, {}]]]);
    assert.deepEqual((layers[2].config as JsonObject).alpha, 0.2);
    assert.equal('negative_slope' in (layers[2].config as JsonObject), false);
    assert.deepEqual(layers[3].inbound_nodes, [[['lr', 0, 0, {}], ['in', 0, 0, {}]]]);
    assert.ok([...notes].some((n) => /mixed_float16.*float32/.test(n)));
  });

  it('gives a Sequential without an InputLayer the build_config input shape', () => {
    const out = translateModel(
      {
        class_name: 'Sequential',
        config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2 }, build_config: { input_shape: [null, 7] } }] },
        build_config: { input_shape: [null, 7] },
      },
      new Set(),
    );
    assert.deepEqual(((out.config as JsonObject).layers as JsonObject[])[0].config, { name: 'd', units: 2, batch_input_shape: [null, 7] });
  });

  it('refuses what tfjs would silently get wrong', () => {
    const seq = (layer: JsonObject) => ({ class_name: 'Sequential', config: { layers: [{ class_name: 'InputLayer', config: { batch_shape: [null, 8, 3] } }, layer] } });
    assert.throws(() => translateModel(seq({ class_name: 'Conv1D', config: { name: 'c', filters: 4, kernel_size: [3], groups: 3 } }), new Set()), /grouped convolutions/);
    assert.throws(() => translateModel(seq({ class_name: 'GlobalAveragePooling1D', config: { name: 'g', keepdims: true } }), new Set()), /keepdims=true/);
    assert.throws(() => translateModel({ class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { name: 'd', units: 2 } }] } }, new Set()), /records no input shape/);
    assert.throws(() => translateModel({ class_name: 'Dense', config: {} }, new Set()), /not a Sequential or functional/);
  });

  it('reads losses as resolveLoss expects them', () => {
    assert.equal(translateLoss('mse'), 'mse');
    assert.equal(translateLoss({ module: 'keras.losses', class_name: 'function', config: 'sparse_categorical_crossentropy', registered_name: 'sparse_categorical_crossentropy' }), 'sparse_categorical_crossentropy');
    assert.deepEqual(
      translateLoss({ module: 'keras.losses', class_name: 'SparseCategoricalCrossentropy', config: { name: 'scce', from_logits: true, reduction: 'sum_over_batch_size' }, registered_name: null }),
      { class_name: 'SparseCategoricalCrossentropy', config: { name: 'scce', from_logits: true, reduction: 'sum_over_batch_size' } },
    );
    assert.equal(translateLoss(null), undefined);
  });

  it('names Keras 3 weight groups by class, with per-class counters, skipping a Sequential InputLayer', () => {
    assert.equal(toSnakeCase('BatchNormalization'), 'batch_normalization');
    assert.equal(toSnakeCase('Conv2D'), 'conv2d');
    assert.equal(toSnakeCase('LeakyReLU'), 'leaky_re_lu');
    assert.equal(toSnakeCase('GlobalAveragePooling1D'), 'global_average_pooling1d');
    const keys = keras3Keys({
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'InputLayer', config: { name: 'input_layer' } },
          { class_name: 'Dense', config: { name: 'hidden' } },
          { class_name: 'Dense', config: { name: 'out' } },
          { class_name: 'Concatenate', config: { name: 'embedding_2' } },
        ],
      },
    });
    assert.deepEqual(
      [...keys].map(([n, k]) => [n, k.key]),
      [
        ['hidden', 'dense'],
        ['out', 'dense_1'],
        ['embedding_2', 'concatenate'],
      ],
    );
  });
});
