import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { computeGradStats } from '../../../src/core/gradnorm/engine';
import { openGradProblem } from '../../../src/core/gradnorm/problem';
import { initBackend } from '../../../src/core/tf/backend';
import { asLoaded, memoryArrays, randomArray } from '../../support/models/random';

/** Solves A x = b (small, dense, float64) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((r, i) => r[n] / r[i]);
}

describe('statistics at an optimum (oracle: closed-form least squares)', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('THEORY.md §4.1 golden problem: tr Σ = 4 × 1.7736625514403292 for mse = 2·½(xᵀw − y)², ‖ḡ‖² ≈ 0', async () => {
    const X = [1, 0, 0, 1, 1, 1, 2, -1, -1, 2, 1, -2];
    const y = [1, 2, 2, 0, 3, -1];
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1, useBias: false })] });
    model.setWeights([tf.tensor2d([[7 / 9], [13 / 9]])]);
    const p = await openGradProblem({ model: asLoaded(model, 'mse'), data: memoryArrays(Float32Array.from(X), [2], Float64Array.from(y), [1], false) });
    const s = await computeGradStats(p);
    // Keras mse is (xᵀw − y)², twice THEORY's ½(…)², so g doubles and tr Σ quadruples; L* doubles.
    // Tolerance 1e-6: w* rounded to float32 (≈ 3e-8 relative) and float32 residuals.
    assert.ok(Math.abs(s.traceCov / (4 * 1.7736625514403292) - 1) < 1e-6, `tr Σ = ${s.traceCov}`);
    assert.ok(Math.abs(s.meanLoss / (2 * 0.20370370370370372) - 1) < 1e-6, `L* = ${s.meanLoss}`);
    assert.ok(s.meanGradSqNorm < 1e-10 * s.meanSqNorm, `‖ḡ‖² = ${s.meanGradSqNorm}`);
  });

  it('ridge regression with a bias: the penalty is in every g_b, ḡ ≈ 0 at the regularised optimum, and E‖g_b‖² matches', async () => {
    const N = 40;
    const d = 3;
    const lambda = 0.05;
    const X = randomArray(N * d, 21);
    const noise = randomArray(N, 22, 0.3);
    const wTrue = [0.5, -1, 2];
    const y = Array.from({ length: N }, (_, b) => wTrue.reduce((a, w, k) => a + w * X[b * d + k], 0.7) + noise[b]);
    // Mean of (xᵀw + c − y)² + λ‖w‖²: normal equations [XᵀX/N + λI, X̄ᵀ; X̄, 1][w; c] = [Xᵀy/N; ȳ].
    const A = Array.from({ length: d + 1 }, () => new Array(d + 1).fill(0));
    const rhs = new Array(d + 1).fill(0);
    for (let b = 0; b < N; b++) {
      const xt = [...Array.from(X.subarray(b * d, b * d + d)), 1];
      for (let i = 0; i <= d; i++) {
        rhs[i] += (xt[i] * y[b]) / N;
        for (let j = 0; j <= d; j++) A[i][j] += (xt[i] * xt[j]) / N;
      }
    }
    for (let i = 0; i < d; i++) A[i][i] += lambda;
    const theta = solve(A, rhs);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [d], units: 1, kernelRegularizer: tf.regularizers.l2({ l2: lambda }) })] });
    model.setWeights([tf.tensor2d(theta.slice(0, d), [d, 1]), tf.tensor1d([theta[d]])]);
    // Oracle E‖g_b‖²: g_b = 2 r_b [x_b; 1] + [2λw; 0], computed from the float32-rounded weights.
    const w32 = Float32Array.from(theta);
    let want = 0;
    for (let b = 0; b < N; b++) {
      const xt = [...Array.from(X.subarray(b * d, b * d + d)), 1];
      const r = xt.reduce((a, v, k) => a + v * w32[k], 0) - y[b];
      want += xt.reduce((a, v, k) => a + (2 * r * v + (k < d ? 2 * lambda * w32[k] : 0)) ** 2, 0) / N;
    }
    const p = await openGradProblem({ model: asLoaded(model, 'mse'), data: memoryArrays(X, [d], Float64Array.from(y), [1], false) });
    const s = await computeGradStats(p, { chunkSize: 16 });
    assert.ok(Math.abs(s.meanSqNorm / want - 1) < 1e-5, `E‖g_b‖² = ${s.meanSqNorm}, oracle ${want}`);
    assert.ok(s.meanGradSqNorm < 1e-9 * s.meanSqNorm, `‖ḡ‖²/E‖g_b‖² = ${s.meanGradSqNorm / s.meanSqNorm}`);
    assert.ok(s.notes.some((n) => /weight penalties included/.test(n)));
  });
});
