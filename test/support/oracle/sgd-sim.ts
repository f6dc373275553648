/**
 * A seeded SGD simulator on least squares (ℓ_b = ½(x_bᵀw − y_b)²), for end-to-end tests of the stats
 * chain: it writes the series a training script would log, the minibatch loss computed *before* each
 * update (unbiased for E L, THEORY.md §5) and a periodic full-training-set loss.
 * Update rules follow PyTorch's SGD: g = ĝ + λw; v ← βv + (1−d)g; w ← w − η(nesterov ? g + βv : v).
 */
import type { ScalarSeries } from '../../../src/core/runs/model';
import type { LsqProblem } from './lsq-problem';
import { Rng } from './rng';

export interface SimOptions {
  problem: LsqProblem;
  batchSize: number;
  sampling: 'with_replacement' | 'without_replacement' | 'reshuffle';
  /** Constant η or a schedule η(step). */
  lr: number | ((step: number) => number);
  steps: number;
  seed: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  /** Full-set loss every this many steps (default 10); 0 disables it. */
  fullEvery?: number;
  /** Start point (default: w = 0). */
  w0?: number[];
}

export interface SimResult {
  /** Mean minibatch data loss before each update, one value per step. */
  stepLoss: ScalarSeries;
  /** Full-training-set data loss before the update at every `fullEvery`-th step. */
  fullLoss: ScalarSeries;
  /** η at every `fullEvery`-th step (as a logger would record it). */
  lr: ScalarSeries;
  w: number[];
}

export function simulateSgd(o: SimOptions): SimResult {
  const { X, y } = o.problem;
  const n = X.length;
  const d = X[0].length;
  const B = o.batchSize;
  const rng = new Rng(o.seed);
  const x = Float64Array.from(X.flat());
  const yy = Float64Array.from(y);
  const w = Float64Array.from(o.w0 ?? new Array<number>(d).fill(0));
  const v = new Float64Array(d);
  const g = new Float64Array(d);
  const beta = o.momentum ?? 0;
  const damp = o.dampening ?? 0;
  const lambda = o.weightDecay ?? 0;
  const every = o.fullEvery ?? 10;
  const lrAt = typeof o.lr === 'number' ? ((c: number) => () => c)(o.lr) : o.lr;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let cursor = n; // reshuffle: position in the current permutation
  const stepLoss = new Array<number>(o.steps);
  const fullSteps: number[] = [];
  const fullVals: number[] = [];
  const lrVals: number[] = [];
  const idx = new Int32Array(B);
  for (let t = 0; t < o.steps; t++) {
    const eta = lrAt(t);
    if (every > 0 && t % every === 0) {
      let L = 0;
      for (let b = 0; b < n; b++) {
        let r = -yy[b];
        for (let j = 0; j < d; j++) r += x[b * d + j] * w[j];
        L += 0.5 * r * r;
      }
      fullSteps.push(t);
      fullVals.push(L / n);
      lrVals.push(eta);
    }
    // Draw the batch.
    if (o.sampling === 'with_replacement') {
      for (let i = 0; i < B; i++) idx[i] = rng.int(n);
    } else if (o.sampling === 'without_replacement') {
      // Partial Fisher–Yates: B distinct indices, fresh each step.
      for (let i = 0; i < B; i++) {
        const j = i + rng.int(n - i);
        const tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
        idx[i] = perm[i];
      }
    } else {
      // drop_last: a new permutation when fewer than B examples remain.
      if (cursor + B > n) {
        rng.shuffle(perm);
        cursor = 0;
      }
      for (let i = 0; i < B; i++) idx[i] = perm[cursor + i];
      cursor += B;
    }
    g.fill(0);
    let lb = 0;
    for (let i = 0; i < B; i++) {
      const b = idx[i];
      let r = -yy[b];
      for (let j = 0; j < d; j++) r += x[b * d + j] * w[j];
      lb += 0.5 * r * r;
      for (let j = 0; j < d; j++) g[j] += (r * x[b * d + j]) / B;
    }
    stepLoss[t] = lb / B;
    for (let j = 0; j < d; j++) {
      const gj = g[j] + lambda * w[j];
      if (beta === 0) {
        w[j] -= eta * gj;
      } else {
        v[j] = beta * v[j] + (1 - damp) * gj;
        w[j] -= eta * (o.nesterov ? gj + beta * v[j] : v[j]);
      }
    }
  }
  return {
    stepLoss: { steps: Array.from({ length: o.steps }, (_, i) => i), values: stepLoss },
    fullLoss: { steps: fullSteps, values: fullVals },
    lr: { steps: fullSteps, values: lrVals },
    w: Array.from(w),
  };
}
