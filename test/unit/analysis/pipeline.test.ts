import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GradientInputs } from '../../../src/core/analysis/gradients';
import { analyzeFolder } from '../../../src/core/analysis/pipeline';
import { LightningCsvWriter } from '../../../src/core/logs/csv/writer';
import { GOLDEN_PROBLEM, lsqStats, type LsqProblem } from '../../support/oracle/lsq-problem';
import { simulateSgd, type SimOptions } from '../../support/oracle/sgd-sim';
import { assertValidResult } from '../../support/resultSchema';

/**
 * Whole-chain tests: SGD on the least-squares problem of THEORY.md §4.1 is simulated, its logs written
 * with our own Lightning-style writer, read back by discovery, and analysed with the problem's exact
 * per-example gradient statistics standing in for the gradient engine. Oracle: the exact slope
 * tr Σ/(4B) of THEORY.md §4 (0.4434156378600823 for B = 1), so the observed/predicted ratio must be 1
 * within its own confidence interval.
 */

function exactGradients(p: LsqProblem): GradientInputs {
  const s = lsqStats(p);
  const sq = s.g.map((g) => g.reduce((a, v) => a + v * v, 0));
  const mean = sq.reduce((a, v) => a + v, 0) / s.n;
  return {
    stats: { n: s.n, meanLoss: s.LdataStar, meanSqNorm: mean, meanGradSqNorm: 0, traceCov: mean },
    summary: {
      n: s.n,
      mean_loss: s.LdataStar,
      mean_sq_norm: mean,
      mean_grad_sq_norm: 0,
      trace_cov: mean,
      per_weight: [{ name: 'w', mean_sq_norm: mean, size: s.d }],
      top: sq.map((v, i) => ({ index: i, sq_norm: v })).sort((a, b) => b.sq_norm - a.sq_norm),
      histogram: { log10_edges: [-3, 3], counts: [s.n], zeros: 0 },
      backend: 'exact',
      engine: 'closed form',
      seconds: 0,
      model: 'least squares',
      data: 'THEORY.md §4.1',
    },
    model: { hasBatchNorm: false, hasRegularizers: false },
    warnings: [],
  };
}

async function writeRun(dir: string, hparams: Record<string, unknown>, sim: ReturnType<typeof simulateSgd>): Promise<void> {
  const w = await LightningCsvWriter.create(dir, hparams);
  const { steps, values } = sim.fullLoss;
  for (let i = 0; i < steps.length; i++) w.log({ full_train_loss: values[i] }, steps[i]);
  await w.close();
}

describe('analysis pipeline on simulated least-squares SGD (oracle: exact slope, THEORY.md §4)', function () {
  this.timeout(120_000);
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'heatcap-pipeline-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  async function sweep(name: string, sampling: SimOptions['sampling'], lrs: number[], steps: number): Promise<string> {
    const dir = path.join(root, name);
    for (const [i, lr] of lrs.entries()) {
      const w0 = lsqStats(GOLDEN_PROBLEM).wStar; // start at the optimum, as the sweep lab does
      const sim = simulateSgd({ problem: GOLDEN_PROBLEM, batchSize: 1, sampling, lr, steps, seed: 1000 + i, fullEvery: 25, w0 });
      await writeRun(path.join(dir, `lr_${lr}`), { lr, batch_size: 1, sampling, optimizer: 'sgd' }, sim);
    }
    return dir;
  }

  it('i.i.d. sampling, sweep started at the checkpoint (secant fit): CI contains 1 and the ratio is within 5%', async () => {
    const dir = await sweep('iid', 'with_replacement', [0.0025, 0.005, 0.01, 0.02], 400_000);
    const opts = { root: dir, model: 'exact', data: 'exact', startedAtCheckpoint: true };
    const { results } = await analyzeFolder(opts, { toolVersion: 'test', gradients: async () => exactGradients(GOLDEN_PROBLEM) }, false);
    assert.equal(results.length, 1);
    const r = results[0];
    assertValidResult(JSON.parse(JSON.stringify(r)));
    assert.equal(r.observed.tag, 'full_train_loss');
    assert.ok(r.predicted, 'a prediction');
    // Exact: tr Σ/(4B) with B = 1 (THEORY.md §4.1 golden value), to float rounding.
    assert.ok(Math.abs((r.predicted!.slope as number) - 0.4434156378600823) < 1e-12, `predicted ${r.predicted!.slope}`);
    assert.ok(r.ratio_ci, 'a ratio CI');
    const [lo, hi] = r.ratio_ci!;
    assert.ok(lo <= 1 && 1 <= hi, `CI [${lo}, ${hi}] must contain 1 (ratio ${r.ratio})`);
    assert.ok(Math.abs((r.ratio as number) - 1) < 0.05, `ratio ${r.ratio}`);
    assert.equal(r.verdict.status, 'agree');
    assert.equal(r.runs.length, 4);
    assert.ok(r.observed.fit.notes.some((n) => n.includes('secants')));
    assert.ok(r.runs.every((x) => x.curve.steps.length > 0 && x.curve.steps.length <= 2000));
  });

  it('i.i.d. sampling, L* unknown (free intercept) over a small-η range: CI contains 1', async () => {
    const dir = await sweep('iid-small', 'with_replacement', [0.001, 0.002, 0.003, 0.004], 400_000);
    const { results } = await analyzeFolder({ root: dir, model: 'exact', data: 'exact' }, { toolVersion: 'test', gradients: async () => exactGradients(GOLDEN_PROBLEM) }, false);
    const [lo, hi] = results[0].ratio_ci!;
    // Bias of the chord: q·η ≈ 1.04·0.005 ≈ 1% of s (q from THEORY.md §4.1's η = 0.01 row), inside the CI.
    assert.ok(lo <= 1 && 1 <= hi, `CI [${lo}, ${hi}] must contain 1 (ratio ${results[0].ratio})`);
  });

  it('random reshuffling: refuses the linear comparison and reports the suppressed slope', async () => {
    const dir = await sweep('rr', 'reshuffle', [0.0025, 0.005, 0.01, 0.02], 200_000);
    const { results } = await analyzeFolder({ root: dir, model: 'exact', data: 'exact' }, { toolVersion: 'test', gradients: async () => exactGradients(GOLDEN_PROBLEM) }, false);
    const r = results[0];
    assertValidResult(JSON.parse(JSON.stringify(r)));
    assert.equal(r.predicted?.regime, 'reshuffle_suppressed');
    assert.equal(r.verdict.status, 'not_comparable');
    assert.ok(r.warnings.some((w) => w.code === 'reshuffle_linear_law_fails'));
    // The observed slope is far below the i.i.d. figure (THEORY.md §3 measured 5–25% on digits).
    assert.ok((r.observed.slope as number) < 0.5 * (r.predicted!.upper_bound as number), `observed ${r.observed.slope} vs bound ${r.predicted!.upper_bound}`);
  });

  it('a single run with step decays gives per-event slopes and their pooled estimate', async () => {
    const dir = path.join(root, 'decay');
    const w0 = lsqStats(GOLDEN_PROBLEM).wStar;
    const lrAt = (step: number) => (step < 150_000 ? 0.02 : step < 300_000 ? 0.01 : 0.005);
    const sim = simulateSgd({ problem: GOLDEN_PROBLEM, batchSize: 1, sampling: 'with_replacement', lr: lrAt, steps: 450_000, seed: 77, fullEvery: 25, w0 });
    const w = await LightningCsvWriter.create(dir, { batch_size: 1, sampling: 'with_replacement' });
    for (let i = 0; i < sim.fullLoss.steps.length; i++) w.log({ full_train_loss: sim.fullLoss.values[i], lr: sim.lr.values[i] }, sim.fullLoss.steps[i]);
    await w.close();
    const { results } = await analyzeFolder({ root: dir, model: 'exact', data: 'exact' }, { toolVersion: 'test', gradients: async () => exactGradients(GOLDEN_PROBLEM) }, false);
    const r = results[0];
    assertValidResult(JSON.parse(JSON.stringify(r)));
    assert.equal(r.observed.fit.method, 'schedule_events');
    assert.equal(r.observed.events.length, 2);
    for (const e of r.observed.events) assert.ok(e.lr_before > e.lr_after);
    const [lo, hi] = r.ratio_ci!;
    assert.ok(lo <= 1 && 1 <= hi, `pooled-event CI [${lo}, ${hi}] must contain 1 (ratio ${r.ratio})`);
  });

  it('without a checkpoint: an observed slope, no prediction, verdict no_prediction', async () => {
    const { results } = await analyzeFolder({ root: path.join(root, 'iid') }, { toolVersion: 'test' }, false);
    assert.equal(results[0].predicted, null);
    assert.equal(results[0].verdict.status, 'no_prediction');
    assert.ok(results[0].observed.slope !== null);
  });

  it('a sweep.json written by the lab supplies the checkpoint and data; flags still win', async () => {
    const dir = path.join(root, 'iid');
    writeFileSync(path.join(root, 'model.json'), '{}');
    writeFileSync(path.join(root, 'x.npy'), '');
    writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify({ name: 'iid', runs: [0.0025, 0.005, 0.01, 0.02].map((lr) => ({ path: `lr_${lr}`, lr })), checkpoint: '../model.json', data: '../x.npy', started_at_checkpoint: true }));
    const seen: string[] = [];
    const gradients = async (o: { model?: string; data?: string; startedAtCheckpoint?: boolean }) => {
      seen.push(`${o.model}|${o.data}|${o.startedAtCheckpoint}`);
      return exactGradients(GOLDEN_PROBLEM);
    };
    const { results } = await analyzeFolder({ root: dir }, { toolVersion: 'test', gradients }, false);
    assert.deepEqual(seen, [`${path.join(root, 'model.json')}|${path.join(root, 'x.npy')}|true`]);
    assert.ok(results[0].predicted);
    seen.length = 0;
    await analyzeFolder({ root: dir, model: '/elsewhere/model.json', data: '/elsewhere/x.npy' }, { toolVersion: 'test', gradients }, false);
    assert.deepEqual(seen, ['/elsewhere/model.json|/elsewhere/x.npy|undefined']);
  });

  it('several sweeps under one folder: analyse all, or name one; otherwise a clear error', async () => {
    const all = await analyzeFolder({ root }, { toolVersion: 'test' }, true);
    assert.ok(all.results.length >= 2);
    await assert.rejects(analyzeFolder({ root }, { toolVersion: 'test' }, false), /several sweeps\/runs here: .*--sweep <id>/);
    const id = all.results.find((r) => r.sweep?.path === 'iid')?.sweep?.id as string;
    const one = await analyzeFolder({ root, sweepId: id }, { toolVersion: 'test' }, false);
    assert.equal(one.results[0].sweep?.id, id);
  });
});
