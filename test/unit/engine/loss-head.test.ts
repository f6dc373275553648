/**
 * The cross-entropy-from-logits head (src/core/engine/loss-head.ts) alone, in float32 (the per-example
 * program's) and float64 (the curvature module's), against an independent oracle: PyTorch's definition
 * of ℓ_b and δ computed with 60-digit decimals (test/fixtures/loss-head/make_ce_oracle.py) on confident
 * rows (ℓ down to 1e-17: the float32 cancellation of p − 1), ties of the largest logit, logits spread
 * over ±80, soft targets, label smoothing, weights 0 and ½, and three positions per example.
 * Tolerances, relative per element: float64 ℓ 1e-12 and δ 1.2e-7 (δ leaves the head as float32); float32 ℓ 2e-6 and δ 2e-5 (s = z − max z is rounded
 * to float32, so exp(s) carries ≈ |s|·6e-8: 2e-5 covers |s| up to ≈ 160, beyond float32's exp range).
 * Elements whose true value is below float32's smallest normal (1.2e-38) are compared absolutely.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Emitter } from '../../../src/core/engine/emitter';
import { emitHead, type LossHead } from '../../../src/core/engine/loss-head';
import { buildModel } from '../../../src/core/engine/onnx-encode';
import { encodeModel } from '../../../src/core/onnx/proto';

interface Case {
  name: string;
  shape: number[];
  labelSmoothing: number;
  unitTargets: boolean;
  z: number[];
  y: number[];
  w: number[];
  loss: number[];
  delta: number[];
}

const ORACLE = JSON.parse(readFileSync(join(__dirname, '../../fixtures/loss-head/ce_oracle.json'), 'utf8')) as { cases: Case[] };

async function runHead(c: Case, precision: 'float32' | 'float64', unitTargets: boolean) {
  const em = new Emitter(17, 'head');
  const head: LossHead = { kind: 'ce_logits', input: 'z', labelSmoothing: c.labelSmoothing, unitTargets, describe: '' };
  const { loss, dz } = emitHead(em, head, 'z', c.shape, 'y', 'w', { crossEntropyPrecision: precision });
  const model = buildModel({
    opset: 17,
    name: 'head',
    nodes: em.nodes,
    initializers: em.constants,
    inputs: [
      { name: 'z', dtype: 'float32', shape: c.shape },
      { name: 'y', dtype: 'float32', shape: c.shape },
      { name: 'w', dtype: 'float32', shape: [c.shape[0]] },
    ],
    outputs: [{ name: loss }, { name: dz }],
  });
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const res = await session.run({
      z: new ort.Tensor('float32', Float32Array.from(c.z), c.shape),
      y: new ort.Tensor('float32', Float32Array.from(c.y), c.shape),
      w: new ort.Tensor('float32', Float32Array.from(c.w), [c.shape[0]]),
    });
    assert.equal(res[loss].type, 'float64');
    assert.equal(res[dz].type, 'float32');
    return { loss: Array.from(res[loss].data as Float64Array), delta: Array.from(res[dz].data as Float32Array) };
  } finally {
    await session.release();
  }
}

function worstRel(got: number[], want: number[]): { err: number; at: number } {
  let err = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(want[i]) < 1.2e-38 ? Math.abs(got[i] - want[i]) / 1.2e-38 : Math.abs(got[i] - want[i]) / Math.abs(want[i]);
    if (!(e <= err)) {
      err = e;
      at = i;
    }
  }
  return { err, at };
}

describe('engine loss head: cross-entropy from logits vs a 60-digit oracle', function () {
  this.timeout(30_000);
  for (const precision of ['float32', 'float64'] as const) {
    const [lossTol, deltaTol] = precision === 'float32' ? [2e-6, 2e-5] : [1e-12, 1.2e-7];
    for (const c of ORACLE.cases) {
      // Class-index targets run both ways: S taken as 1, and S summed from the rows.
      for (const unit of c.unitTargets ? [true, false] : [false]) {
        it(`${precision}, ${c.name}${c.unitTargets ? (unit ? ' (S = 1)' : ' (S summed)') : ''}: ℓ to ${lossTol}, δ to ${deltaTol} per element`, async () => {
          const got = await runHead(c, precision, unit);
          // Examples of weight 0 are padding: their loss is never read, their δ must be 0.
          const keep = c.w.map((w) => w !== 0);
          const l = worstRel(got.loss.filter((_, b) => keep[b]), c.loss.filter((_, b) => keep[b]));
          assert.ok(l.err < lossTol, `ℓ: relative error ${l.err} at example ${l.at}`);
          const d = worstRel(got.delta, c.delta);
          assert.ok(d.err < deltaTol, `δ: relative error ${d.err} at element ${d.at} (${got.delta[d.at]} vs ${c.delta[d.at]})`);
        });
      }
    }
  }
  it('the confident rows are the cancellation case: δ at the target is −Σ_{j≠y} p_j, far below float32 ε', () => {
    const c = ORACLE.cases.find((x) => x.name === 'confident')!;
    const C = c.shape[1];
    const tiny = c.delta.filter((_, i) => i % C === 3).slice(2, 7);
    assert.ok(tiny.every((v) => v < 0 && -v < 1e-7), JSON.stringify(tiny));
  });
});
