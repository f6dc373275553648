import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { attachFiniteEtaExtras } from '../../../src/core/analysis/finiteEta';
import { computeSubspaceCurvature } from '../../../src/core/curvature';

/**
 * `--finite-eta-full` / `heatcap.finiteEta.fullSolve`: the pipeline attaches the whole Dense layer (for the
 * full-parameter solve, tested in test/unit/finite-eta/dense-full.test.ts and against SGD in sgd-sweep.test.ts)
 * only when asked; by default it attaches the per-example curvature for the first-order coupling instead.
 * Oracle: the layer's own shape (64 pixels + bias → 10 classes = 650 parameters, THEORY.md §6).
 */
const digits = path.resolve(__dirname, '../../../examples/digits');
const spec = { model: path.join(digits, 'checkpoints/softmax/model.json'), data: path.join(digits, 'data/x.npy'), labels: path.join(digits, 'data/y.npy') };

describe('finite η on a one-Dense-layer model: full-parameter solve only when asked', function () {
  this.timeout(300_000);

  it('default: the top directions with their coupling (no layer attached); full: the layer, 10 × 65', async () => {
    const curvature = () => computeSubspaceCurvature({ model: spec.model, data: { data: spec.data, labels: spec.labels } }, { k: 3 });
    const quick = await attachFiniteEtaExtras(await curvature(), spec);
    assert.equal(quick.denseLayer, undefined);
    assert.ok(quick.perExampleCurvatureSquare, quick.notes.join('\n'));
    const full = await attachFiniteEtaExtras(await curvature(), spec, { full: true });
    assert.ok(full.denseLayer, full.notes.join('\n'));
    assert.equal(full.denseLayer.outputs, 10);
    assert.equal(full.denseLayer.features, 65);
    assert.equal(full.denseLayer.n, 1797);
  });
});
