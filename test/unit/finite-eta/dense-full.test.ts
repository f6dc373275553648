/**
 * The full-parameter Dense-layer fixed point against the dense vectorised solve on the same problem.
 * Oracle: a softmax layer with C = 3 outputs and F = 3 inputs (2 + bias), P = 9, written out as a
 * SubspaceCurvature with k = P in H's eigenbasis (per-example A_b = J_bᵀK_bJ_b + D and g_b = r_b ⊗ x̃_b
 * formed by naive loops), solved by finiteEtaPrediction. Tolerance 1e-9 relative (fixed point to 1e-13).
 */
import { strict as assert } from 'node:assert';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { join } from 'node:path';
import { denseLayerCurvature } from '../../../src/core/analysis/finiteEta';
import { denseFullExcess, denseFullSolution, denseLayerSubspace, excessAt, finiteEtaPrediction, type DenseLayerCurvature } from '../../../src/core/finite-eta';
import type { SgdDynamics, SubspaceCurvature } from '../../../src/core/finite-eta/types';
import { Rng } from '../../support/oracle/rng';
import { relClose, sgd } from './curvature-fixtures';

const C = 3;
const F = 3;
const P = C * F;

/** Softmax layer at a random (not optimal) W̃: K_b = diag(p) − ppᵀ, r_b = p − y; penalty 0.02 on weights, not on biases. */
function softmaxLayer(seed: number, n: number): DenseLayerCurvature {
  const rng = new Rng(seed);
  const W = Array.from({ length: C }, () => Array.from({ length: F }, () => 0.7 * rng.normal()));
  const inputs = new Float64Array(n * F);
  const K = new Float64Array(n * C * C);
  const r = new Float64Array(n * C);
  for (let b = 0; b < n; b++) {
    const x = [rng.normal(), rng.normal(), 1];
    inputs.set(x, b * F);
    const z = W.map((w) => w.reduce((a, v, f) => a + v * x[f], 0));
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    const p = e.map((v) => v / e.reduce((a, u) => a + u, 0));
    const label = rng.int(C);
    for (let c = 0; c < C; c++) {
      r[b * C + c] = p[c] - (c === label ? 1 : 0);
      for (let c2 = 0; c2 < C; c2++) K[(b * C + c) * C + c2] = (c === c2 ? p[c] : 0) - p[c] * p[c2];
    }
  }
  const penalty = new Float64Array(P).map((_, i) => (i % F === F - 1 ? 0 : 0.02));
  return { n, features: F, outputs: C, inputs, outputCurvature: K, outputGradient: r, penaltyDiagonal: penalty };
}

/**
 * The same layer as a SubspaceCurvature with k = P in the eigenbasis of mean_b A_b. ‖ḡ‖² is reported as 0:
 * W̃ is not an optimum, but both solvers see the same quadratic model, which is all this test compares.
 */
function asSubspace(d: DenseLayerCurvature): SubspaceCurvature {
  const A = Array.from({ length: d.n }, (_, b) =>
    Array.from({ length: P }, (_, i) =>
      Array.from({ length: P }, (__, j) => {
        const [c, f, c2, f2] = [Math.floor(i / F), i % F, Math.floor(j / F), j % F];
        return d.outputCurvature[(b * C + c) * C + c2] * d.inputs[b * F + f] * d.inputs[b * F + f2] + (i === j ? d.penaltyDiagonal[i] : 0);
      }),
    ),
  );
  const g = Array.from({ length: d.n }, (_, b) => Array.from({ length: P }, (_, i) => d.outputGradient[b * C + Math.floor(i / F)] * d.inputs[b * F + (i % F)]));
  const H = A[0].map((row, i) => row.map((_, j) => A.reduce((a, Ab) => a + Ab[i][j], 0) / d.n));
  const eig = new EigenvalueDecomposition(new Matrix(H), { assumeSymmetric: true });
  const order = eig.realEigenvalues.map((_, i) => i).sort((a, b) => eig.realEigenvalues[b] - eig.realEigenvalues[a]);
  const V = order.map((c) => eig.eigenvectorMatrix.getColumn(c));
  const curvature = new Float64Array(d.n * P * P);
  const grads = new Float64Array(d.n * P);
  A.forEach((Ab, b) => {
    V.forEach((u, i) => {
      grads[b * P + i] = u.reduce((a, ui, l) => a + ui * g[b][l], 0);
      V.forEach((v, j) => (curvature[(b * P + i) * P + j] = u.reduce((a, ui, l) => a + ui * Ab[l].reduce((s, alm, m) => s + alm * v[m], 0), 0)));
    });
  });
  const mean = Array.from({ length: P }, (_, i) => g.reduce((a, gb) => a + gb[i], 0) / d.n);
  const msn = g.reduce((a, gb) => a + gb.reduce((s, v) => s + v * v, 0), 0) / d.n;
  const mg = mean.reduce((a, v) => a + v * v, 0);
  return {
    parameters: P, k: P, n: d.n, eigenvalues: order.map((c) => eig.realEigenvalues[c]), residuals: new Array<number>(P).fill(0), converged: true,
    perExampleCurvature: curvature, perExampleGradProj: grads, traceCovTotal: msn - mg, meanGradSqNorm: 0, meanSqNorm: msn,
    method: 'dense_eigen', hvp: 'exact_float64', costGradientPasses: null, seconds: null, notes: [],
  };
}

describe('finite-η full-parameter Dense-layer fixed point vs the dense k = P solve (softmax, P = 9)', () => {
  const layer = softmaxLayer(7, 11);
  const cases: { name: string; dyn: SgdDynamics; penalty: boolean }[] = [
    { name: 'B=1 i.i.d., bias-sum direction flat', dyn: sgd(), penalty: false },
    { name: 'B=3 distinct of 11, weight decay 0.01 measured', dyn: sgd({ batchSize: 3, sampling: 'without_replacement', datasetSize: 11, weightDecay: 0.01 }), penalty: true },
  ];
  for (const c of cases) {
    it(`${c.name}: L(η) − L* at 0.3 and 0.7 of η_MS (tol 1e-9)`, () => {
      const fe = finiteEtaPrediction(asSubspace(layer), c.dyn, { lossIncludesPenalty: c.penalty, points: 10 });
      assert.equal(fe.status, 'ok', fe.message);
      for (const frac of [0.3, 0.7]) {
        const eta = frac * fe.limits.mean_square!;
        const full = denseFullExcess(layer, c.dyn, eta, { lossIncludesPenalty: c.penalty, tolerance: 1e-13 });
        assert.ok(full.converged, `converged in ${full.iterations} iterations`);
        const reference = finiteEtaPrediction(asSubspace(layer), c.dyn, { lossIncludesPenalty: c.penalty, lrs: [eta], points: 1 });
        relClose(full.excess, excessAt(reference, eta)!, 1e-9, `η = ${eta}`);
      }
    });
  }

  for (const c of cases) {
    it(`${c.name}: the Krylov solve (all η from one Lanczos run) equals the dense solve: limit and L(η) − L* at 0.1…0.9 of η_MS (tol 1e-9)`, () => {
      const sol = denseFullSolution(layer, c.dyn, { lossIncludesPenalty: c.penalty, tolerance: 1e-13 });
      assert.ok(sol.converged, `converged in ${sol.steps} steps`);
      const fe = finiteEtaPrediction(asSubspace(layer), c.dyn, { lossIncludesPenalty: c.penalty, points: 10 });
      relClose(sol.meanSquareLimit!, fe.limits.mean_square!, 1e-9, 'mean-square limit');
      const etas = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => f * fe.limits.mean_square!);
      const reference = finiteEtaPrediction(asSubspace(layer), c.dyn, { lossIncludesPenalty: c.penalty, lrs: etas, points: 1 });
      for (const eta of etas) relClose(sol.excess(eta)!, excessAt(reference, eta)!, 1e-9, `η = ${eta}`);
      assert.equal(sol.excess(1.01 * sol.meanSquareLimit!), null);
    });
  }

  it('finiteEtaPrediction with the layer attached to a top-3 subspace: form second_moment_full over P = 9, the k = P curve and limit (tol 1e-6)', () => {
    const c = cases[1];
    const whole = asSubspace(layer);
    const k = 3;
    const top: SubspaceCurvature = {
      ...whole,
      k,
      eigenvalues: whole.eigenvalues.slice(0, k),
      residuals: whole.residuals.slice(0, k),
      perExampleCurvature: Float64Array.from({ length: layer.n * k * k }, (_, u) => {
        const [b, i, j] = [Math.floor(u / (k * k)), Math.floor(u / k) % k, u % k];
        return whole.perExampleCurvature[(b * P + i) * P + j];
      }),
      perExampleGradProj: Float64Array.from({ length: layer.n * k }, (_, u) => whole.perExampleGradProj[Math.floor(u / k) * P + (u % k)]),
    };
    const reference = finiteEtaPrediction(whole, c.dyn, { lossIncludesPenalty: c.penalty, points: 10 });
    const subspace = finiteEtaPrediction(top, c.dyn, { lossIncludesPenalty: c.penalty, points: 10 });
    const full = finiteEtaPrediction({ ...top, denseLayer: layer }, c.dyn, { lossIncludesPenalty: c.penalty, points: 10 });
    assert.equal(subspace.form, 'second_moment_subspace');
    assert.equal(full.form, 'second_moment_full');
    assert.equal(full.directions, P);
    assert.ok(full.notes.some((n) => n.startsWith('Full-parameter solve over 9 parameters')), full.notes.join('\n'));
    relClose(full.limits.mean_square!, reference.limits.mean_square!, 1e-6, 'limit');
    const cv = full.curve!;
    // Both grids end at a fraction of their own limit; the two limits agree to rounding (~1e-15), so the top
    // point is read at the reference grid's end when it lies a few ulps past it.
    const refEnd = reference.curve!.lr[reference.curve!.lr.length - 1];
    cv.lr.forEach((eta, i) => relClose(cv.excess[i], excessAt(reference, eta > refEnd && eta <= refEnd * (1 + 1e-12) ? refEnd : eta)!, 1e-6, `η = ${eta}`));
    // Off: the subspace form, as without the layer.
    assert.equal(finiteEtaPrediction({ ...top, denseLayer: layer }, c.dyn, { lossIncludesPenalty: c.penalty, points: 10, fullSolve: false }).form, 'second_moment_subspace');
    // Momentum: the full solve does not apply.
    assert.equal(finiteEtaPrediction({ ...top, denseLayer: layer }, sgd({ momentum: 0.5 }), { points: 4 }).form, 'second_moment_subspace');
  });

  it('refuses momentum', () => {
    assert.throws(() => denseFullExcess(layer, sgd({ momentum: 0.9 }), 0.1), /momentum/);
    assert.throws(() => denseFullSolution(layer, sgd({ momentum: 0.9 })), /momentum/);
  });
});

describe('finite-η: the Dense layer read from a model (denseLayerCurvature) on THEORY.md §6’s checkpoint', function () {
  this.timeout(120000);
  it('tr Σ = 0.80668 and λ_max = 0.46560 as §6 (from K_b, r_b, x̃_b and the 2·5e-4 kernel penalty); an MLP is not covered', async () => {
    const repo = join(__dirname, '../../..');
    const data = { data: join(repo, 'examples/digits/data/x.npy'), labels: join(repo, 'examples/digits/data/y.npy') };
    const layer = await denseLayerCurvature({ model: join(repo, 'test/fixtures/finite-eta-sgd/softmax-l2-5e-4/model.json'), ...data });
    assert.ok(layer);
    assert.deepEqual([layer.n, layer.outputs, layer.features], [1797, 10, 65]);
    const top = denseLayerSubspace(layer, 1);
    relClose(top.traceCovTotal, 0.80668, 1e-4, 'tr Σ');
    relClose(top.eigenvalues[0], 0.4656, 1e-4, 'λ_max');
    assert.equal(await denseLayerCurvature({ model: join(repo, 'examples/digits/checkpoints/mlp/model.json'), ...data }), null);
  });
});
