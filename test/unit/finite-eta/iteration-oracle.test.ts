/**
 * The vectorised second-moment solve against a naive oracle on a random 3-d problem with general
 * symmetric per-example curvatures A_b (not rank one) and gradients whose mean is not zero.
 * Oracle: iterate Z ← Σ_batches p(batch)·(J Z Jᵀ + u uᵀ) to convergence, where every batch is
 * enumerated explicitly (ordered index tuples for i.i.d. sampling, subsets for distinct examples) and
 * J, u come from applying one step of PyTorch's update rule to unit states; no c1/c2/f formulas.
 * Tolerance 1e-9 relative (the iteration converges to ~1e-15). The mean-square limit is checked by
 * the growth rate of the same naive map without noise at 0.98 and 1.02 times the computed limit.
 */
import { strict as assert } from 'node:assert';
import { batchMoments, meanSquareLimit, secondMomentProblem, sgdSpectralSolution, stationarySecondMoment, subspaceModel } from '../../../src/core/finite-eta';
import type { SgdDynamics } from '../../../src/core/finite-eta/types';
import { Rng } from '../../support/oracle/rng';
import { relClose, sgd } from './curvature-fixtures';

const N = 5;
const D = 3;

interface RandomProblem {
  A: number[][][];
  g: number[][];
}

function randomProblem(seed: number): RandomProblem {
  const rng = new Rng(seed);
  const A = Array.from({ length: N }, () => {
    const x = Array.from({ length: D }, () => rng.normal());
    const y = Array.from({ length: D }, () => rng.normal());
    return x.map((xi, i) => x.map((xj, j) => 0.5 * xi * xj + 0.3 * y[i] * y[j] + (i === j ? 0.4 : 0)));
  });
  const g = Array.from({ length: N }, () => Array.from({ length: D }, () => rng.normal() + 0.2));
  return { A, g };
}

/** All batches with their probabilities. */
function batches(dyn: SgdDynamics): { idx: number[]; p: number }[] {
  const B = dyn.batchSize;
  const out: { idx: number[]; p: number }[] = [];
  const walk = (prefix: number[], from: number): void => {
    if (prefix.length === B) {
      out.push({ idx: prefix, p: 0 });
      return;
    }
    for (let b = dyn.sampling === 'with_replacement' ? 0 : from; b < N; b++) walk([...prefix, b], b + 1);
  };
  walk([], 0);
  out.forEach((o) => (o.p = 1 / out.length));
  return out;
}

/** One PyTorch step on state (e, v) with batch curvature Â and batch noise ξ̂: ĝ = (Â + λI)e + ξ̂. */
function step(dyn: SgdDynamics, eta: number, Ahat: number[][], xi: number[], e: number[], v: number[]): { e: number[]; v: number[] } {
  const g = e.map((_, i) => Ahat[i].reduce((a, aij, j) => a + aij * e[j], 0) + dyn.weightDecay * e[i] + xi[i]);
  if (dyn.momentum === 0) return { e: e.map((ei, i) => ei - eta * g[i]), v };
  const v2 = v.map((vi, i) => dyn.momentum * vi + (1 - dyn.dampening) * g[i]);
  const dir = dyn.nesterov ? g.map((gi, i) => gi + dyn.momentum * v2[i]) : v2;
  return { e: e.map((ei, i) => ei - eta * dir[i]), v: v2 };
}

/** J (columns = images of unit states) and u (image of the zero state) for one batch. */
function batchMaps(prob: RandomProblem, dyn: SgdDynamics, eta: number, idx: number[]): { J: number[][]; u: number[] } {
  const s = dyn.momentum === 0 ? 1 : 2;
  const n = s * D;
  const gbar = prob.g[0].map((_, i) => prob.g.reduce((a, gb) => a + gb[i], 0) / N);
  const Ahat = prob.A[0].map((r, i) => r.map((_, j) => idx.reduce((a, b) => a + prob.A[b][i][j], 0) / idx.length));
  const xi = gbar.map((m, i) => idx.reduce((a, b) => a + prob.g[b][i] - m, 0) / idx.length);
  const zero = new Array<number>(D).fill(0);
  const flatten = (st: { e: number[]; v: number[] }): number[] => (s === 1 ? st.e : [...st.e, ...st.v]);
  const u = flatten(step(dyn, eta, Ahat, xi, zero, zero));
  const cols = Array.from({ length: n }, (_, c) => {
    const z = new Array<number>(n).fill(0);
    z[c] = 1;
    return flatten(step(dyn, eta, Ahat, zero, z.slice(0, D), s === 1 ? zero : z.slice(D)));
  });
  return { J: Array.from({ length: n }, (_, r) => cols.map((col) => col[r])), u };
}

/** Z ← Σ p (J Z Jᵀ + noise·u uᵀ), `iterations` times or until it stops changing. */
function iterate(prob: RandomProblem, dyn: SgdDynamics, eta: number, noise: number, start: number[][], iterations: number): number[][] {
  const maps = batches(dyn).map((b) => ({ p: b.p, ...batchMaps(prob, dyn, eta, b.idx) }));
  const n = maps[0].u.length;
  let Z = start;
  for (let it = 0; it < iterations; it++) {
    const next = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (const { p, J, u } of maps) {
      const JZ = J.map((r) => Z[0].map((_, j) => r.reduce((a, v, k) => a + v * Z[k][j], 0)));
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) next[i][j] += p * (JZ[i].reduce((a, v, k) => a + v * J[j][k], 0) + noise * u[i] * u[j]);
    }
    const change = Math.max(...next.flatMap((r, i) => r.map((v, j) => Math.abs(v - Z[i][j]))));
    Z = next;
    if (noise > 0 && change <= 1e-17 * Math.max(...Z.flat().map(Math.abs))) break;
  }
  return Z;
}

function productProblem(prob: RandomProblem, dyn: SgdDynamics) {
  const curvature = Float64Array.from(prob.A.flatMap((a) => a.flat()));
  const grads = Float64Array.from(prob.g.flat());
  return secondMomentProblem(subspaceModel(curvature, grads, N, D, D), batchMoments(dyn), dyn.weightDecay, true);
}

const CASES: { name: string; dyn: SgdDynamics; eta: number }[] = [
  { name: 'SGD B=1', dyn: sgd(), eta: 0.45 },
  { name: 'SGD B=2 i.i.d.', dyn: sgd({ batchSize: 2 }), eta: 0.5 },
  { name: 'SGD B=2 distinct of 5', dyn: sgd({ batchSize: 2, sampling: 'without_replacement', datasetSize: N }), eta: 0.6 },
  { name: 'SGD B=3 distinct of 5, weight decay 0.05', dyn: sgd({ batchSize: 3, sampling: 'without_replacement', datasetSize: N, weightDecay: 0.05 }), eta: 0.6 },
  { name: 'heavy ball β=0.7, dampening 0.2', dyn: sgd({ momentum: 0.7, dampening: 0.2 }), eta: 0.35 },
  { name: 'Nesterov β=0.8, B=2 i.i.d.', dyn: sgd({ batchSize: 2, momentum: 0.8, nesterov: true }), eta: 0.35 },
];

describe('finite-η second-moment solve vs naive iteration of the recursion (random 3-d problem)', () => {
  const prob = randomProblem(20);
  for (const c of CASES) {
    it(`${c.name}: stationary E[zzᵀ] and ½tr(H S) (tol 1e-9)`, () => {
      const problem = productProblem(prob, c.dyn);
      const solved = stationarySecondMoment(problem, c.dyn, c.eta)!;
      const n = solved.size;
      const Z = iterate(prob, c.dyn, c.eta, 1, Array.from({ length: n }, () => new Array<number>(n).fill(0)), 200000);
      const scale = Math.max(...Z.flat().map(Math.abs));
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.ok(Math.abs(solved.secondMoment[i * n + j] - Z[i][j]) <= 1e-9 * scale, `Z[${i},${j}]: ${solved.secondMoment[i * n + j]} vs ${Z[i][j]}`);
      let excess = 0;
      for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) excess += 0.5 * (problem.measuredHessian[i * D + j]) * Z[j][i];
      relClose(solved.excess, excess, 1e-9, 'excess');
      if (c.dyn.momentum === 0) relClose(sgdSpectralSolution(problem)!.excess(c.eta), excess, 1e-9, 'excess, SGD spectral form');
    });
  }

  for (const c of [CASES[0], CASES[2], CASES[4], CASES[5]]) {
    it(`${c.name}: the naive noiseless map decays at 0.98·η_MS and grows at 1.02·η_MS`, () => {
      const limit = meanSquareLimit(productProblem(prob, c.dyn), c.dyn)!;
      if (c.dyn.momentum === 0) relClose(sgdSpectralSolution(productProblem(prob, c.dyn))!.meanSquareLimit!, limit, 1e-9, 'spectral 1/μ_max vs bisection');
      assert.ok(c.eta > 0.4 * limit, 'the solve case above is well into the finite-η range');
      const growth = (eta: number): number => {
        const n = (c.dyn.momentum === 0 ? 1 : 2) * D;
        const eye = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (__, j) => (i === j ? 1 : 0)));
        const a = iterate(prob, c.dyn, eta, 0, eye, 1500);
        const b = iterate(prob, c.dyn, eta, 0, a, 500);
        return Math.pow(Math.max(...b.flat().map(Math.abs)) / Math.max(...a.flat().map(Math.abs)), 1 / 500);
      };
      assert.ok(growth(0.98 * limit) < 1, 'decays below the limit');
      assert.ok(growth(1.02 * limit) > 1, 'grows above the limit');
    });
  }
});
