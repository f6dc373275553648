import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attachFiniteEtaExtras, CLOSURE_DEFAULT_MAX_EXAMPLES, FULL_SOLVE_DEFAULT_MAX_PARAMETERS } from '../../../src/core/analysis/finiteEta';
import { computeSubspaceCurvature } from '../../../src/core/curvature';
import { writeNpy } from '../../../src/core/data/npy';
import { buildSequential } from '../../../src/core/model/build';
import { saveLayersModel } from '../../../src/core/model/load';
import { mulberry32 } from '../../../src/core/random';
import { initBackend } from '../../../src/core/tf/backend';

/**
 * `--finite-eta-full` / `heatcap.finiteEta.fullSolve`: the pipeline attaches the whole Dense layer (for the
 * full-parameter solve, tested in test/unit/finite-eta/dense-full.test.ts and against SGD in sgd-sweep.test.ts)
 * by default only for small layers (≤ FULL_SOLVE_DEFAULT_MAX_PARAMETERS), else only when asked; otherwise
 * it attaches the per-example curvature for the first-order coupling. Oracle: the layer's own shape
 * (64 pixels + bias → 10 classes = 650 parameters, THEORY.md §6; 20 + 1 → 10 = 210 for the small model).
 */
const digits = path.resolve(__dirname, '../../../examples/digits');
const spec = { model: path.join(digits, 'checkpoints/softmax/model.json'), data: path.join(digits, 'data/x.npy'), labels: path.join(digits, 'data/y.npy') };

describe('finite η on a one-Dense-layer model: full-parameter solve by default when small, else when asked', function () {
  this.timeout(300_000);

  it('default: the top directions with their coupling (no layer attached); full: the layer, 10 × 65', async () => {
    const curvature = () => computeSubspaceCurvature({ model: spec.model, data: { data: spec.data, labels: spec.labels } }, { k: 3 });
    const quick = await attachFiniteEtaExtras(await curvature(), spec);
    assert.equal(quick.denseLayer, undefined);
    assert.ok(quick.perExampleCurvatureSquare, quick.notes.join('\n'));
    const full = await attachFiniteEtaExtras(await curvature(), spec, { full: true });
    assert.ok(full.denseLayer, full.notes.join('\n'));
    assert.equal(full.denseLayer.correctNonQuadratic, true, 'asked for: with the non-quadratic correction');
    assert.equal(full.denseLayer.outputs, 10);
    assert.equal(full.denseLayer.features, 65);
    assert.equal(full.denseLayer.n, 1797);
  });

  it(`a layer of ≤ ${FULL_SOLVE_DEFAULT_MAX_PARAMETERS} parameters gets the full-parameter solve by default (20 features → 10 classes), with the non-quadratic correction up to ${CLOSURE_DEFAULT_MAX_EXAMPLES} examples`, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'heatcap-fe-small-'));
    try {
      await initBackend('cpu');
      for (const n of [300, 600]) {
        const r = mulberry32(5);
        writeNpy(path.join(dir, `x${n}.npy`), Float32Array.from({ length: n * 20 }, () => r() * 2 - 1), [n, 20]);
        writeNpy(path.join(dir, `y${n}.npy`), Float32Array.from({ length: n }, () => Math.floor(r() * 10)), [n]);
        const model = await saveLayersModel(buildSequential([20], [{ type: 'dense', units: 10, activation: 'softmax' }], 1), path.join(dir, `m${n}`), { loss: 'sparse_categorical_crossentropy' });
        const small = { model, data: path.join(dir, `x${n}.npy`), labels: path.join(dir, `y${n}.npy`) };
        const c = await computeSubspaceCurvature({ model, data: { data: small.data, labels: small.labels } }, { k: 3 });
        assert.equal(c.parameters, 210);
        const got = await attachFiniteEtaExtras(c, small);
        assert.ok(got.denseLayer, got.notes.join('\n'));
        assert.equal(got.denseLayer.outputs * got.denseLayer.features, 210);
        assert.ok(got.denseLayer.outputLoss, 'cross-entropy: the output loss for the closure');
        assert.equal(got.denseLayer.correctNonQuadratic === true, n <= CLOSURE_DEFAULT_MAX_EXAMPLES, `n = ${n}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
