import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { denseF64Refinements } from '../../../src/core/analysis/denseRefinements';
import { computeSubspaceCurvature } from '../../../src/core/curvature';
import { writeNpy } from '../../../src/core/data/npy';
import { symmetricEigen } from '../../../src/core/linalg/symmetric-eigen';
import { buildSequential } from '../../../src/core/model/build';
import { saveLayersModel } from '../../../src/core/model/load';
import { setFlatParams, trainableParams } from '../../../src/core/model/params';
import { initBackend } from '../../../src/core/tf/backend';
import { tempDir } from '../lab/fixtures';

const DIGITS = join(__dirname, '..', '..', '..', 'examples', 'digits');

/**
 * The float64 path (Dense-only models: Lanczos on central differences of the lab's exact float64
 * gradients) against independent oracles: the dense Hessian of src/core/analysis/denseRefinements.ts
 * (P columns of differences, a different code path) solved by src/core/linalg/symmetric-eigen.ts, and
 * closed forms for the least-squares problem of THEORY.md §4.1.
 */
describe('curvature: float64 path (Dense models)', function () {
  this.timeout(180000);

  it('digits softmax regression: top-5 eigenvalues, residuals and per-example projections match the dense Hessian', async () => {
    const model = join(DIGITS, 'checkpoints', 'softmax', 'model.json');
    const data = { data: join(DIGITS, 'data', 'x.npy'), labels: join(DIGITS, 'data', 'y.npy') };
    const k = 5;
    const r = await computeSubspaceCurvature({ model, data }, { k });
    assert.equal(r.hvp, 'central_difference_float64');
    assert.equal(r.method, 'lanczos');
    assert.equal(r.k, k);
    assert.ok(r.converged, r.notes.join('\n'));
    assert.ok(r.residuals.every((x) => x < 1e-6), String(r.residuals));
    const ref = await denseF64Refinements({ model, data: data.data, labels: data.labels });
    assert.ok(ref?.hessian && ref.perExampleGrads);
    const P = r.parameters;
    const eig = symmetricEigen(ref.hessian, P);
    const top = Array.from({ length: k }, (_, i) => eig.values[P - 1 - i]);
    // Both Hessians are central differences of the same exact float64 gradient (~1e-9 relative each).
    r.eigenvalues.forEach((v, i) => assert.ok(Math.abs(v - top[i]) <= 1e-7 * top[0], `λ_${i + 1}: ${v} vs ${top[i]}`));
    // Near a minimum: ‖ḡ‖² ≪ E‖g_b‖², and tr Σ = E‖g_b‖² − ‖ḡ‖².
    assert.ok(r.meanGradSqNorm < 1e-6 * r.meanSqNorm);
    assert.ok(Math.abs(r.traceCovTotal - (r.meanSqNorm - r.meanGradSqNorm)) < 1e-12);
    // Per-example: v_iᵀg_b from the oracle's per-example gradients; mean_b v_iᵀA_b v_j = v_iᵀHv_j.
    const V = r.vectors!;
    const n = r.n;
    assert.equal(n, 1797);
    let worstG = 0;
    let scaleG = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < k; i++) {
        let s = 0;
        for (let p = 0; p < P; p++) s += V[i * P + p] * ref.perExampleGrads![b * P + p];
        worstG = Math.max(worstG, Math.abs(s - r.perExampleGradProj[b * k + i]));
        scaleG = Math.max(scaleG, Math.abs(s));
      }
    }
    assert.ok(worstG <= 1e-12 * Math.max(scaleG, 1), `v·g_b off by ${worstG}`);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let mean = 0;
        for (let b = 0; b < n; b++) mean += r.perExampleCurvature[(b * k + i) * k + j] / n;
        let vhv = 0;
        for (let p = 0; p < P; p++) for (let q = 0; q < P; q++) vhv += V[i * P + p] * ref.hessian[p * P + q] * V[j * P + q];
        assert.ok(Math.abs(mean - vhv) < 1e-7 * top[0], `mean_b v_${i}ᵀA_b v_${j} = ${mean} vs ${vhv}`);
      }
    }
    assert.ok(r.costGradientPasses !== null && r.costGradientPasses > 0);
  });

  describe('golden least squares (THEORY.md §4.1) as a Keras Dense(2→1, no bias) with loss mse', () => {
    // Keras MSE is ℓ_b = (x_bᵀw − y_b)² = 2 × THEORY's ½(x_bᵀw − y_b)²: H, A_b and g_b all double.
    const X = [
      [1, 0],
      [0, 1],
      [1, 1],
      [2, -1],
      [-1, 2],
      [1, -2],
    ];
    const y = [1, 2, 2, 0, 3, -1];
    const H = [
      [4 / 3, -5 / 6],
      [-5 / 6, 11 / 6],
    ];
    const tr = H[0][0] + H[1][1];
    const det = H[0][0] * H[1][1] - H[0][1] * H[1][0];
    const lamTheory = [(tr + Math.sqrt(tr * tr - 4 * det)) / 2, (tr - Math.sqrt(tr * tr - 4 * det)) / 2];
    const tmp = tempDir('curvature-golden');
    after(() => tmp.cleanup());
    let files: { model: string; data: { data: string; labels: string } };
    const wStar = [7 / 9, 13 / 9].map(Math.fround);

    before(async () => {
      await initBackend('cpu');
      const m = buildSequential([2], [{ type: 'dense', units: 1, useBias: false }]);
      setFlatParams(trainableParams(m), wStar);
      await saveLayersModel(m, join(tmp.dir, 'model'), { loss: 'mse' });
      writeNpy(join(tmp.dir, 'x.npy'), Float32Array.from(X.flat()), [6, 2]);
      writeNpy(join(tmp.dir, 'y.npy'), Float32Array.from(y), [6]);
      files = { model: join(tmp.dir, 'model', 'model.json'), data: { data: join(tmp.dir, 'x.npy'), labels: join(tmp.dir, 'y.npy') } };
    });

    it('k ≥ P: dense eigen-solve, eigenvalues 2× those of §4.1 (2/λ_max(H_theory) = 0.81521) to 1e-9', async () => {
      const r = await computeSubspaceCurvature(files, {});
      assert.equal(r.method, 'dense_eigen');
      assert.equal(r.k, 2);
      assert.deepEqual(r.residuals, [0, 0]);
      assert.ok(Math.abs(2 / (r.eigenvalues[0] / 2) - 0.8152089039132809) < 1e-9);
      r.eigenvalues.forEach((v, i) => assert.ok(Math.abs(v - 2 * lamTheory[i]) < 1e-9 * lamTheory[0], `${v} vs ${2 * lamTheory[i]}`));
      // Per example: A_b = 2 x_b x_bᵀ and g_b = 2 x_b (x_bᵀw − y_b) at the (float32) checkpoint, exactly.
      const V = r.vectors!;
      X.forEach((x, b) => {
        const res = x[0] * wStar[0] + x[1] * wStar[1] - y[b];
        for (let i = 0; i < 2; i++) {
          const vx_i = V[i * 2] * x[0] + V[i * 2 + 1] * x[1];
          assert.ok(Math.abs(r.perExampleGradProj[b * 2 + i] - 2 * vx_i * res) < 1e-9);
          for (let j = 0; j < 2; j++) {
            const vx_j = V[j * 2] * x[0] + V[j * 2 + 1] * x[1];
            assert.ok(Math.abs(r.perExampleCurvature[(b * 2 + i) * 2 + j] - 2 * vx_i * vx_j) < 1e-9);
          }
        }
      });
      // tr Σ of §4.1 is at w*; the float32 checkpoint moves ḡ by ~1e-8, so Σ's trace (×4 for the factor 2) to 1e-6.
      assert.ok(Math.abs(r.traceCovTotal - 4 * 1.7736625514403292) < 1e-6, String(r.traceCovTotal));
    });

    it('k = 1 < P: Lanczos finds λ_max to 1e-9 with a residual below 1e-6', async () => {
      const r = await computeSubspaceCurvature(files, { k: 1 });
      assert.equal(r.method, 'lanczos');
      assert.ok(Math.abs(r.eigenvalues[0] - 2 * lamTheory[0]) < 1e-9 * lamTheory[0]);
      assert.ok(r.converged && r.residuals[0] < 1e-6);
    });
  });
});
