import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { OnnxCurvatureEvaluator } from '../../../src/core/curvature/onnx-evaluator';
import { axpy, randomUnit } from '../../../src/core/curvature/vectors';
import { writeNpy } from '../../../src/core/data/npy';
import { computeOnnxPartial } from '../../../src/core/engine/compute';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import { openEngineProblem, type EngineProblemSpec } from '../../../src/core/engine/problem';
import { buildSequential } from '../../../src/core/model/build';
import { saveLayersModel } from '../../../src/core/model/load';
import { mulberry32 } from '../../../src/core/random';
import { encodeModel } from '../../../src/core/onnx/proto';
import { initBackend } from '../../../src/core/tf/backend';

/**
 * The vectorised projection program (projection-program.ts: ⟨g_b, v_i⟩ from each layer's per-example
 * form, a batch at a time) against the batch-1 loop (the gradient program once per example, its float32
 * gradient projected in float64). They share the ops' VJP rules for the cotangents, not the per-example
 * part: the loop takes the weights' own VJPs at B = 1; the program contracts the directions with the ops'
 * per-example forms (x_bᵀ V y_b for Dense layers, materialised multi-position gradients for Conv,
 * directions taken through a TF.js kernel's Transpose into Conv layout), at batch n.
 *
 * Tolerance: both are float32 computations of the same quantity, differing only in the order of their
 * roundings (batched vs batch-1 kernels, summation order of the contraction). Each float32 op adds a
 * relative error of at most a few u = 2⁻²⁴ ≈ 6e-8 per term, growing ~√(length) over a sum and by a small
 * factor per layer, so |Δ⟨g_b, v⟩| ≲ c·u·Σ_p |v_p g_bp| ≤ c·u·‖g_b‖ (‖v‖ = 1). c = 160 (1e-5·‖g_b‖) leaves
 * room for sums of ~10³ terms over three layers; a wrong layer, direction slice or layout would be off by
 * O(‖g_b‖). ‖g_b‖ comes from the engine's per-example-norm pass (a third, independent computation).
 */
const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'curvature');
const REL = 1e-5;

/** `openK`: the directions the evaluator is opened for (another count rebuilds the program on first use). */
async function compare(spec: EngineProblemSpec, k: number, expectForm: RegExp, openK = k): Promise<void> {
  const problem = await openEngineProblem(spec);
  try {
    const rows = Int32Array.from({ length: problem.n }, (_, i) => i);
    const norms = new Float64Array(problem.n);
    await computeOnnxPartial(problem, { threads: 1, onNorms: (start, sq) => sq.forEach((s, i) => (norms[start + i] = Math.sqrt(s))) });
    const vec = await OnnxCurvatureEvaluator.open(problem, rows, 1, undefined, { k: openK });
    const loop = await OnnxCurvatureEvaluator.open(problem, rows, 1, undefined, { k, projections: 'loop' });
    try {
      assert.match(vec.projectionNote, /vectorised projection program/);
      assert.match(vec.projectionNote, expectForm);
      assert.match(loop.projectionNote, /batch 1/);
      const V = Array.from({ length: k }, (_, i) => randomUnit(vec.P, 10 + i));
      // At the checkpoint and at a perturbed point (the points the curvature differences use).
      for (const w of [vec.w0, axpy(vec.w0, 1e-2, V[0])]) {
        const a = await vec.subsetGradProjections(w, V);
        const b = await loop.subsetGradProjections(w, V);
        assert.equal(a.length, problem.n * k);
        let worst = 0;
        for (let e = 0; e < problem.n; e++) {
          // The per-example norm is at w₀; at w₀ + 1e-2·v the gradients differ by ~1e-2·‖A_b‖, far less than 2×.
          const tol = REL * 2 * norms[e] + 1e-12;
          for (let i = 0; i < k; i++) {
            const d = Math.abs(a[e * k + i] - b[e * k + i]);
            worst = Math.max(worst, d / tol);
            assert.ok(d <= tol, `example ${e}, v_${i + 1}: ${a[e * k + i]} vs loop ${b[e * k + i]} (‖g_b‖ ${norms[e]})`);
          }
        }
        // The comparison is not vacuous: the projections are of the gradients' size.
        assert.ok(Math.max(...Array.from(b, Math.abs)) > 1e-3 * Math.max(...norms), 'projections too small to compare');
        assert.ok(worst < 1, String(worst));
      }
      assert.equal(vec.projectionRuns, 2, 'one run per point (all examples in one batch)');
      assert.equal(loop.projectionRuns, 2 * problem.n);
    } finally {
      await vec.release();
      await loop.release();
    }
  } finally {
    problem.close();
  }
}

describe('curvature: vectorised projection program vs the batch-1 loop', function () {
  this.timeout(120000);

  it('MLP 64-12-10 (ONNX from PyTorch, 160 digits): Dense layers as x_bᵀ V y_b', async () => {
    const d = join(FIXTURES, 'mlp');
    await compare({ model: join(d, 'model.onnx'), data: { data: join(d, 'x.npy'), labels: join(d, 'y.npy') }, loss: 'cross_entropy' }, 5, /x_bᵀ V y_b/);
  });

  it('CNN with BatchNorm and MaxPool (ONNX from PyTorch, 160 digits): Conv layers over positions', async () => {
    const d = join(FIXTURES, 'cnn_bn');
    await compare({ model: join(d, 'model.onnx'), data: { data: join(d, 'x.npy'), labels: join(d, 'y.npy') }, loss: 'cross_entropy' }, 3, /over \d+ positions/);
  });

  it('small TF.js CNN (model.json): the kernel reaches Conv through a Transpose, and so do the directions (program rebuilt for k = 4)', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'proj-program-'));
    try {
      await initBackend('cpu');
      const n = 48;
      const r = mulberry32(5);
      writeNpy(join(dir, 'x.npy'), Float32Array.from({ length: n * 64 }, () => r() * 2 - 1), [n, 8, 8, 1]);
      writeNpy(join(dir, 'y.npy'), Int32Array.from({ length: n }, () => Math.floor(r() * 4)), [n]);
      const model = await saveLayersModel(
        buildSequential([8, 8, 1], [
          { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'tanh' },
          { type: 'flatten' },
          { type: 'dense', units: 4, activation: 'softmax' },
        ], 3),
        join(dir, 'cnn'),
        { loss: 'sparse_categorical_crossentropy' },
      );
      await compare({ model, data: { data: join(dir, 'x.npy'), labels: join(dir, 'y.npy') } }, 4, /through Transpose/, 7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shared weights (one matrix read by two MatMuls): no per-example form, the batch-1 loop, and the reason', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'proj-program-'));
    try {
      const r = mulberry32(9);
      const W = Float32Array.from({ length: 16 }, () => r() - 0.5);
      const model = buildModel({
        opset: 17,
        name: 'tied',
        nodes: [
          { op: 'MatMul', name: 'm1', inputs: ['x', 'W'], outputs: ['h'], attrs: {} },
          { op: 'Tanh', name: 't', inputs: ['h'], outputs: ['a'], attrs: {} },
          { op: 'MatMul', name: 'm2', inputs: ['a', 'W'], outputs: ['z'], attrs: {} },
        ],
        initializers: [{ name: 'W', tensor: { dims: [4, 4], dtype: 'float32', data: W } }],
        inputs: [{ name: 'x', dtype: 'float32', shape: [null, 4] }],
        outputs: [{ name: 'z', dtype: 'float32', shape: [null, 4] }],
      });
      writeFileSync(join(dir, 'model.onnx'), encodeModel(model));
      const n = 12;
      writeNpy(join(dir, 'x.npy'), Float32Array.from({ length: n * 4 }, () => r() * 2 - 1), [n, 4]);
      writeNpy(join(dir, 'y.npy'), Int32Array.from({ length: n }, () => Math.floor(r() * 4)), [n]);
      const problem = await openEngineProblem({ model: join(dir, 'model.onnx'), data: { data: join(dir, 'x.npy'), labels: join(dir, 'y.npy') }, loss: 'cross_entropy' });
      try {
        const ev = await OnnxCurvatureEvaluator.open(problem, Int32Array.from({ length: n }, (_, i) => i), 1, undefined, { k: 2 });
        try {
          assert.match(ev.projectionNote, /batch 1.*shared weights/);
          const p = await ev.subsetGradProjections(ev.w0, [randomUnit(16, 1), randomUnit(16, 2)]);
          assert.equal(p.length, 2 * n);
          assert.equal(ev.projectionRuns, n);
        } finally {
          await ev.release();
        }
      } finally {
        problem.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
