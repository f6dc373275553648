import { strict as assert } from 'node:assert';
import { inputShapeOfTopology } from '../../../src/core/example/inputShape';
import { displayRange, examplePayload, imageShapeOf, labelOf, pickImageShape } from '../../../src/core/example/payload';
import { parseHostToPanel } from '../../../src/shared/webviewProtocol';

describe('training examples: how a row is shown', () => {
  it('draws an image from the model’s input shape, else the file’s row shape, else a square of side ≥ 8', () => {
    assert.deepEqual(pickImageShape(64, [64], [64]), { height: 8, width: 8, channels: 1 }, 'UCI digits: 64 values, flat input');
    assert.deepEqual(pickImageShape(16, [4, 4, 1], [16]), { height: 4, width: 4, channels: 1 }, 'the model says 4×4×1');
    assert.deepEqual(pickImageShape(12, undefined, [2, 2, 3]), { height: 2, width: 2, channels: 3 }, 'an (N, 2, 2, 3) array');
    assert.equal(pickImageShape(16, undefined, [16]), undefined, 'a 4×4 square is more likely 16 features');
    assert.equal(pickImageShape(65, undefined, [65]), undefined);
    assert.deepEqual(pickImageShape(784, [28, 28], [784]), { height: 28, width: 28, channels: 1 });
    assert.deepEqual(pickImageShape(64, [32, 32, 3], [64]), { height: 8, width: 8, channels: 1 }, 'a model shape of another size is ignored');
    assert.equal(imageShapeOf([3, 8, 8]), undefined, 'channels first is not an image shape here');
    assert.equal(imageShapeOf([8, 8, 2]), undefined);
  });

  it('maps black to 0 (or the minimum) and white to 1 for [0, 1] data, else to the maximum', () => {
    assert.deepEqual(displayRange([0, 0.5, 1]), [0, 1]);
    assert.deepEqual(displayRange([0, 3, 16]), [0, 16]);
    assert.deepEqual(displayRange([-1, 0.5]), [-1, 0.5]);
    assert.deepEqual(displayRange([0, 0, 0]), [0, 1], 'a blank image still has a valid range');
    assert.deepEqual(displayRange([Number.NaN, 2]), [0, 2]);
    const big = new Array(300_000).fill(0).map((_, i) => i % 256);
    assert.deepEqual(displayRange(big), [0, 255], 'more values than a function call can take as arguments');
  });

  it('builds payloads the panel accepts: images, rows (NaN as null), too-large rows unavailable', () => {
    const image = examplePayload([0, 16, Number.NaN, ...new Array(61).fill(1)], [64]);
    assert.equal(image.kind, 'image');
    assert.equal(image.kind === 'image' && image.pixels[2], 0, 'a NaN pixel is drawn black');
    const row = examplePayload([1, Number.NaN, 3], [3]);
    assert.deepEqual(row, { kind: 'row', columns: ['x[0]', 'x[1]', 'x[2]'], values: [1, null, 3] });
    const grid = examplePayload(new Array(30).fill(1), [2, 3, 5]);
    assert.deepEqual(grid.kind === 'row' ? [grid.columns[0], grid.columns[6], grid.columns[29]] : null, ['x[0,0,0]', 'x[0,1,1]', 'x[1,2,4]'], 'not an image (5 channels): indexed cells');
    assert.equal(examplePayload(new Array(100_001).fill(0), [100_001]).kind, 'unavailable');
    for (const example of [image, row]) assert.ok(parseHostToPanel({ type: 'example', index: 0, label: 1, example }).ok);
  });

  it('labels: a class or target, the class of a one-hot row, else the values written out', () => {
    assert.equal(labelOf([7]), 7);
    assert.equal(labelOf([Number.NaN]), null);
    assert.equal(labelOf([0, 0, 1, 0]), 2);
    assert.equal(labelOf([0.2, 0.8]), '[0.2, 0.8]');
    assert.equal(labelOf(new Array(10).fill(0.5)), '[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, …]');
    assert.equal(labelOf([]), null);
  });

  it('reads the input shape from Sequential and functional topologies without building the model', () => {
    const seq = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { batch_input_shape: [null, 64], units: 10 } }] } };
    assert.deepEqual(inputShapeOfTopology(seq), [64]);
    const oldSeq = { class_name: 'Sequential', config: [{ class_name: 'Conv2D', config: { batchInputShape: [null, 28, 28, 1] } }] };
    assert.deepEqual(inputShapeOfTopology(oldSeq), [28, 28, 1]);
    const functional = {
      class_name: 'Functional',
      config: { layers: [{ name: 'other', class_name: 'Dense', config: {} }, { name: 'img', class_name: 'InputLayer', config: { batch_shape: [null, 8, 8, 3] } }], input_layers: [['img', 0, 0]] },
    };
    assert.deepEqual(inputShapeOfTopology(functional), [8, 8, 3]);
    assert.deepEqual(inputShapeOfTopology({ model_config: seq }), [64]);
    assert.equal(inputShapeOfTopology({ ...functional, config: { ...functional.config, input_layers: [['a', 0, 0], ['b', 0, 0]] } }), undefined, 'two inputs');
    assert.equal(inputShapeOfTopology({ class_name: 'Sequential', config: { layers: [{ config: { batch_input_shape: [null, null, 3] } }] } }), undefined, 'an unknown dimension');
    assert.equal(inputShapeOfTopology(null), undefined);
  });
});
