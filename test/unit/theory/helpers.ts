import type { GradStats } from '../../../src/core/theory/predict';
import type { TrainingSetup } from '../../../src/core/theory/setup';

/** Gradient statistics from per-example gradient rows, by naive loops (what the engine computes). */
export function gradStatsOf(rows: number[][]): GradStats {
  const n = rows.length;
  const d = rows[0].length;
  const meanGrad = new Float64Array(d);
  const diag = new Float64Array(d);
  let msn = 0;
  for (const r of rows) {
    let s = 0;
    r.forEach((v, i) => {
      meanGrad[i] += v / n;
      diag[i] += (v * v) / n;
      s += v * v;
    });
    msn += s / n;
  }
  const mg = meanGrad.reduce((a, v) => a + v * v, 0);
  const sq = rows.map((r) => r.reduce((a, v) => a + v * v, 0));
  const sd = Math.sqrt(sq.reduce((a, v) => a + (v - msn) ** 2, 0) / (n - 1));
  return { n, meanLoss: 0, meanSqNorm: msn, meanGradSqNorm: mg, traceCov: msn - mg, diagSecondMoment: diag, meanGrad, sqNormSd: sd };
}

export function sgdSetup(over: Partial<TrainingSetup> = {}): TrainingSetup {
  return {
    batch_size: 1,
    momentum: 0,
    dampening: 0,
    nesterov: false,
    sampling: 'with_replacement',
    optimizer: 'sgd',
    weight_decay: 0,
    loss_includes_penalty: false,
    dataset_size: null,
    sources: {},
    ...over,
  };
}

export function relClose(a: number, b: number, tol: number, what: string): void {
  if (!(Math.abs(a - b) <= tol * Math.abs(b))) {
    throw new Error(`${what}: ${a} vs ${b} (relative error ${(Math.abs(a - b) / Math.abs(b)).toExponential(2)} > ${tol})`);
  }
}
