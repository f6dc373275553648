import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { modelFactsFromJson, modelFactsOfTopology } from '../../../src/core/analysis/engineGradients';

const topology = (layers: unknown[]) => ({ class_name: 'Sequential', config: { name: 's', layers } });
const dense = (reg: unknown) => ({ class_name: 'Dense', config: { units: 2, kernel_regularizer: reg } });

describe('model facts from model.json (oracle: hand-written Keras topologies)', () => {
  it('finds Keras weight regularisers and BatchNormalization, nested or not', () => {
    assert.deepEqual(modelFactsOfTopology(topology([dense(null)])), { hasBatchNorm: false, hasRegularizers: false });
    assert.deepEqual(modelFactsOfTopology(topology([dense({ class_name: 'L2', config: { l2: 0.001 } })])), { hasBatchNorm: false, hasRegularizers: true });
    const nested = { class_name: 'Sequential', config: { layers: [{ class_name: 'BatchNormalization', config: { axis: -1 } }] } };
    assert.equal(modelFactsOfTopology(topology([dense(null), nested])).hasBatchNorm, true);
  });

  it('reads the bundled digits softmax checkpoint: L2 regulariser, no BatchNorm', () => {
    const file = path.resolve(__dirname, '../../../examples/digits/checkpoints/softmax/model.json');
    assert.deepEqual(modelFactsFromJson(file), { hasBatchNorm: false, hasRegularizers: true });
  });
});
