import { strict as assert } from 'node:assert';
import { computeGradStats, type GradOptions } from '../../../src/core/gradnorm/engine';
import type { GradProblem } from '../../../src/core/gradnorm/problem';
import type { GradStats } from '../../../src/core/gradnorm/stats';

export interface EngineRun {
  stats: GradStats;
  norms: Float64Array;
}

export async function runEngine(problem: GradProblem, opts: GradOptions): Promise<EngineRun> {
  const norms = new Float64Array(problem.n);
  const stats = await computeGradStats(problem, { ...opts, onNorms: (s, v) => norms.set(v, s) });
  return { stats, norms };
}

/** |a − b| ≤ tol·max(|b|, floor): relative error with a floor for values near zero. */
export function assertClose(a: number, b: number, tol: number, floor: number, what: string): void {
  const err = Math.abs(a - b);
  assert.ok(err <= tol * Math.max(Math.abs(b), floor), `${what}: ${a} vs ${b} (error ${err.toExponential(2)}, allowed ${(tol * Math.max(Math.abs(b), floor)).toExponential(2)})`);
}

/** Max-norm relative error of two vectors, relative to the oracle's max-norm. */
export function vectorRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

/**
 * Asserts that the vectorised engine reproduces the naive per-example loop (the oracle): every
 * example's ‖g_b‖² to `tol` relative (with a floor of 1e-6·mean for near-zero norms), the means,
 * per-weight means, ḡ and (when both have it) the diagonal second moment.
 */
export function assertEnginesAgree(v: EngineRun, n: EngineRun, tol: number): void {
  assert.ok(v.stats.engine === 'vectorized' || v.stats.engine === 'onnx', v.stats.engine);
  assert.equal(n.stats.engine, 'naive');
  const floor = 1e-6 * n.stats.meanSqNorm;
  for (let b = 0; b < n.norms.length; b++) assertClose(v.norms[b], n.norms[b], tol, floor, `‖g_${b}‖²`);
  assertClose(v.stats.meanSqNorm, n.stats.meanSqNorm, tol, floor, 'E‖g_b‖²');
  assertClose(v.stats.meanGradSqNorm, n.stats.meanGradSqNorm, tol, floor, '‖ḡ‖²');
  assertClose(v.stats.meanLoss, n.stats.meanLoss, tol, 1e-6, 'mean loss');
  v.stats.perWeight.forEach((w, i) => assertClose(w.meanSqNorm, n.stats.perWeight[i].meanSqNorm, tol, floor, `E‖g_b,${w.name}‖²`));
  assert.ok(vectorRelError(v.stats.meanGrad, n.stats.meanGrad) <= tol, `ḡ differs by ${vectorRelError(v.stats.meanGrad, n.stats.meanGrad)}`);
  if (v.stats.diagSecondMoment && n.stats.diagSecondMoment) {
    const e = vectorRelError(v.stats.diagSecondMoment, n.stats.diagSecondMoment);
    assert.ok(e <= tol, `diagonal second moment differs by ${e}`);
  }
  assert.deepEqual(
    v.stats.top.map((t) => t.index),
    n.stats.top.map((t) => t.index),
  );
}
