/**
 * The Adam row rests on an assumption (β2 → 1: v_i frozen at E ĝ_i², THEORY.md §2) that the exact
 * fixed-preconditioner oracle cannot test. Here real Adam (PyTorch's update: β1 = 0.9, β2 = 0.999,
 * ε = 1e-8, bias correction) runs on the least-squares problem and its stationary excess loss ½eᵀHe
 * (exact for a quadratic) is averaged. Tolerance: 4 Monte Carlo standard errors (≈ 4%) — the
 * O(η) correction and v's fluctuation were measured below 1.5% at these settings.
 */
import { strict as assert } from 'node:assert';
import { predictSlope } from '../../../src/core/theory/predict';
import { lsqStats, randomLsqProblem } from '../../support/oracle/lsq-problem';
import { Rng } from '../../support/oracle/rng';
import { gradStatsOf, sgdSetup } from './helpers';

function adamExcess(eta: number, B: number, steps: number, burn: number, seed: number): { mean: number; se: number } {
  const prob = randomLsqProblem(3);
  const st = lsqStats(prob);
  const d = st.d;
  const N = st.n;
  const rng = new Rng(seed);
  const w = [...st.wStar];
  const m = new Array<number>(d).fill(0);
  const v = new Array<number>(d).fill(0);
  const g = new Array<number>(d).fill(0);
  const batches = 50;
  const per = Math.floor((steps - burn) / batches);
  const bm: number[] = [];
  let acc = 0;
  let cnt = 0;
  for (let t = 1; t <= burn + batches * per; t++) {
    g.fill(0);
    for (let i = 0; i < B; i++) {
      const b = rng.int(N);
      let r = -prob.y[b];
      for (let j = 0; j < d; j++) r += prob.X[b][j] * w[j];
      for (let j = 0; j < d; j++) g[j] += (r * prob.X[b][j]) / B;
    }
    for (let j = 0; j < d; j++) {
      m[j] = 0.9 * m[j] + 0.1 * g[j];
      v[j] = 0.999 * v[j] + 0.001 * g[j] * g[j];
      w[j] -= (eta * (m[j] / (1 - 0.9 ** t))) / (Math.sqrt(v[j] / (1 - 0.999 ** t)) + 1e-8);
    }
    if (t > burn) {
      let q = 0;
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) q += (w[i] - st.wStar[i]) * st.H[i][j] * (w[j] - st.wStar[j]);
      acc += q / 2;
      if (++cnt === per) {
        bm.push(acc / cnt);
        acc = 0;
        cnt = 0;
      }
    }
  }
  const mean = bm.reduce((a, b) => a + b, 0) / bm.length;
  const sd = Math.sqrt(bm.reduce((a, b) => a + (b - mean) ** 2, 0) / (bm.length - 1));
  return { mean, se: sd / Math.sqrt(bm.length) };
}

describe('Adam row vs a simulation of Adam itself', () => {
  it('excess/η of Adam (β2 = 0.999) at η = 0.001, B = 4 matches ¼ Σ_i Σ_B,ii/(√Σ_B,ii + ε) (oracle: Monte Carlo; tol 4 SE)', () => {
    const B = 4;
    const eta = 0.001;
    const pred = predictSlope(sgdSetup({ batch_size: B, optimizer: 'adam', adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8 } }), gradStatsOf(lsqStats(randomLsqProblem(3)).g)).predicted;
    const mc = adamExcess(eta, B, 1_200_000, 200_000, 3);
    const ratio = mc.mean / eta / (pred.slope as number);
    const se = mc.se / eta / (pred.slope as number);
    assert.ok(Math.abs(ratio - 1) <= 4 * se, `ratio ${ratio.toFixed(4)} ± ${se.toFixed(4)}`);
    assert.ok(se < 0.02, `MC standard error ${se}`);
  });
});
