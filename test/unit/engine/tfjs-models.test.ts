/**
 * The ONNX engine on TF.js LayersModels of every layer type (test/support/models/cases.ts), against an
 * independent oracle: the TF.js engine's naive loop — tf.variableGrads of one example at a time through
 * tfjs' own layers, losses and regularisers (src/core/gradnorm/naive.ts). Tolerance 1e-4 relative, as
 * for the TF.js engine (both float32; the random models here saturate nothing, so clipped and exact
 * cross-entropy coincide).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeOnnxPartial } from '../../../src/core/engine/compute';
import { openEngineProblem } from '../../../src/core/engine/problem';
import { finishStats } from '../../../src/core/gradnorm/engine';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { saveLayersModel } from '../../../src/core/model/load';
import { initBackend } from '../../../src/core/tf/backend';
import { cases, dataFor, type Case } from '../../support/models/cases';
import { assertEnginesAgree, runEngine, type EngineRun } from '../../support/models/compare';
import { asLoaded, seqModel } from '../../support/models/random';

const TOL = 1e-4;

/**
 * Conv layers with ≥ 100 output positions take the reversed per-example product (a_bᵀ·δ_b, with the batch sum
 * and the Adam diagonal transposed back, src/core/engine/per-example.ts): one case here reaches it, the
 * shared cases (≤ 64 positions) do not.
 */
const reversedProductCases: Case[] = [
  {
    name: 'Conv2D with 100 output positions (reversed per-example product, diagonal transposed back) + max pooling + Dense',
    inputShape: [12, 12, 2],
    layers: [{ type: 'conv2d', filters: 3, kernelSize: 3, activation: 'relu', kernelL2: 0.01 }, { type: 'maxPool2d', poolSize: 2 }, { type: 'flatten' }, { type: 'dense', units: 3 }],
    loss: 'sparse_categorical_crossentropy_from_logits',
    labels: { classes: 3 },
  },
];

describe('ONNX engine = TF.js naive per-example loop on TF.js models (oracle: tf.variableGrads per example; 1e-4)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'onnx-tfjs-'));
  before(async () => {
    await initBackend('cpu');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  [...cases, ...reversedProductCases].forEach((c, i) => {
    it(c.name, async () => {
      const model = seqModel(c.inputShape, c.layers, 11);
      const file = await saveLayersModel(model, join(dir, `m${i}`), { loss: c.loss });
      const oracleProblem = await openGradProblem({ model: asLoaded(model, c.loss), data: dataFor(c, 5) });
      const naive = await runEngine(oracleProblem, { engine: 'naive', diagonal: true });
      const problem = await openEngineProblem({ model: file, data: dataFor(c, 5) });
      try {
        const norms = new Float64Array(problem.n);
        const r = await computeOnnxPartial(problem, { threads: 1, chunkSize: 5, diagonal: true, onNorms: (s, v) => norms.set(v, s) });
        const onnx: EngineRun = { stats: finishStats([r], r.partial, r.seconds), norms };
        assert.equal(onnx.stats.engine, 'onnx', onnx.stats.notes.join(' | '));
        assertEnginesAgree(onnx, naive, TOL);
      } finally {
        problem.close();
        model.dispose();
      }
    });
  });
});
