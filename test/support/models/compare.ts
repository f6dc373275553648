import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { computeOnnxPartial, type OnnxGradOptions } from '../../../src/core/engine/compute';
import { openEngineProblem } from '../../../src/core/engine/problem';
import type { TrainingArrays } from '../../../src/core/data/open';
import { computeGradStats, finishStats, type GradOptions } from '../../../src/core/gradnorm/engine';
import type { GradProblem } from '../../../src/core/gradnorm/problem';
import type { GradStats } from '../../../src/core/gradnorm/stats';
import { saveLayersModel } from '../../../src/core/model/load';

export interface EngineRun {
  stats: GradStats;
  norms: Float64Array;
}

/** TF.js' exact per-example loop (src/core/gradnorm/naive.ts): the oracle of the ONNX engine's tests on TF.js models. */
export async function runEngine(problem: GradProblem, opts: GradOptions = {}): Promise<EngineRun> {
  const norms = new Float64Array(problem.n);
  const stats = await computeGradStats(problem, { ...opts, onNorms: (s, v) => norms.set(v, s) });
  return { stats, norms };
}

/** The ONNX engine on a TF.js model: saved as model.json (its loss recorded) in a temporary folder, then opened as a user's file is. */
export async function runOnnxOnLayersModel(model: tf.LayersModel, loss: string, data: TrainingArrays, opts: Partial<OnnxGradOptions> = {}): Promise<EngineRun> {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-tfjs-'));
  try {
    const file = await saveLayersModel(model, dir, { loss });
    const problem = await openEngineProblem({ model: file, data });
    try {
      const norms = new Float64Array(problem.n);
      const r = await computeOnnxPartial(problem, { threads: 1, ...opts, onNorms: (s, v) => norms.set(v, s) });
      return { stats: finishStats([r], r.partial, r.seconds), norms };
    } finally {
      problem.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
 * Asserts that the ONNX engine reproduces the naive per-example loop (the oracle): every
 * example's ‖g_b‖² to `tol` relative (with a floor of 1e-6·mean for near-zero norms), the means,
 * per-weight means, ḡ and (when both have it) the diagonal second moment.
 */
export function assertEnginesAgree(v: EngineRun, n: EngineRun, tol: number): void {
  assert.ok(v.stats.engine === 'onnx' || v.stats.engine === 'onnx-loop', v.stats.engine);
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
