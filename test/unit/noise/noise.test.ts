import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { readRun } from '../../../src/core/runs/read-run';
import { LightningCsvWriter } from '../../../src/core/logs/csv/writer';
import { estimateRunNoise, estimateUnitNoise, type RunNoiseEstimate } from '../../../src/core/noise/estimate';
import { noiseTagKind } from '../../../src/core/noise/tags';
import type { Run } from '../../../src/core/runs/model';
import { runCli } from '../../support/cli';
import { renderMarkdownReport } from '../../../src/core/report/markdown';
import { cleanupTempDirs, tempDir, writeTfeventsRun, type Series } from '../../support/logs/fixtures';
import { GOLDEN_PROBLEM, lsqStats } from '../../support/oracle/lsq-problem';
import { Rng } from '../../support/oracle/rng';
import { assertValidResult } from '../../support/resultSchema';

/**
 * Oracle: the least-squares problem of THEORY.md §4.1, whose per-example gradient covariance at w* is known
 * exactly (tr Σ = 1.7736625514403292). Data-parallel SGD is simulated with R ranks of B_small examples each
 * (B_big = R·B_small, indices i.i.d. with replacement), logging per step the mean over ranks of the per-rank
 * squared gradient norm and the squared norm of the all-reduced gradient, as heatcap_torch.noise does.
 */
const TRACE = 1.7736625514403292;
const P = GOLDEN_PROBLEM;
const N = P.X.length;
const W_STAR = [7 / 9, 13 / 9];

function grad(w: number[], idx: number[]): number[] {
  const g = [0, 0];
  for (const b of idx) {
    const r = P.X[b][0] * w[0] + P.X[b][1] * w[1] - P.y[b];
    g[0] += (r * P.X[b][0]) / idx.length;
    g[1] += (r * P.X[b][1]) / idx.length;
  }
  return g;
}

function fullLoss(w: number[]): number {
  let s = 0;
  for (let b = 0; b < N; b++) s += 0.5 * (P.X[b][0] * w[0] + P.X[b][1] * w[1] - P.y[b]) ** 2;
  return s / N;
}

interface SimLog {
  steps: number[];
  loss: number[];
  sqSmall: number[];
  sqBig: number[];
}

/** η = 0: the gradients are sampled at w* every step (the estimator alone); η > 0: SGD from w*. */
function simulate(seed: number, steps: number, lr: number, ranks = 4, bSmall = 2, w0 = W_STAR): SimLog {
  const rng = new Rng(seed);
  const w = [...w0];
  const out: SimLog = { steps: [], loss: [], sqSmall: [], sqBig: [] };
  for (let t = 0; t < steps; t++) {
    const big = [0, 0];
    let small = 0;
    for (let r = 0; r < ranks; r++) {
      const idx = Array.from({ length: bSmall }, () => rng.int(N));
      const g = grad(w, idx);
      small += (g[0] * g[0] + g[1] * g[1]) / ranks;
      big[0] += g[0] / ranks;
      big[1] += g[1] / ranks;
    }
    out.steps.push(t);
    out.loss.push(fullLoss(w));
    out.sqSmall.push(small);
    out.sqBig.push(big[0] * big[0] + big[1] * big[1]);
    w[0] -= lr * big[0];
    w[1] -= lr * big[1];
  }
  return out;
}

function series(log: SimLog, bSmall: number, bBig: number, prefix = 'gradient_noise/'): Series {
  const pts = (vals: number[]): [number, number][] => vals.map((v, i) => [log.steps[i], v]);
  return {
    loss: pts(log.loss),
    [`${prefix}sq_norm_small`]: pts(log.sqSmall),
    [`${prefix}sq_norm_big`]: pts(log.sqBig),
    [`${prefix}b_small`]: [[0, bSmall]],
    [`${prefix}b_big`]: [[0, bBig]],
  };
}

async function tfeventsRun(log: SimLog, hparams: Record<string, number | string>, bSmall = 2, bBig = 8): Promise<Run> {
  const dir = await tempDir('heatcap-noise-');
  await writeTfeventsRun(dir, series(log, bSmall, bBig), { hparams });
  return readRun(dir);
}

function ok(e: ReturnType<typeof estimateRunNoise>): RunNoiseEstimate {
  assert.ok(e && !('reason' in e), `expected an estimate, got ${JSON.stringify(e)}`);
  return e;
}

describe('gradient noise logged during training (McCandlish et al. 2018, appendix A)', function () {
  this.timeout(120_000);
  after(cleanupTempDirs);

  it('recognises our naming convention and the names other tools log', () => {
    const cases: [string, string | null][] = [
      ['gradient_noise/sq_norm_small', 'sq_small'],
      ['train/gradient_noise/sq_norm_big', 'sq_big'],
      ['gns.b_small', 'b_small'],
      ['gradient_noise/trace_cov', 'trace_cov'],
      ['gradient_noise/grad_sq_norm', 'grad_sq_norm'],
      ['grad_norm_small', 'norm_small'],
      ['grad_norm_big', 'norm_big'],
      ['train/noise_scale', 'b_simple'],
      ['noise_scale', null],
      ['diffusion/noise_scale', null],
      ['gradient_noise_scale', 'b_simple'],
      ['grad_norm', 'grad_norm'],
      ['grad_2.0_norm_total', 'grad_norm'],
      ['grad_l2_norm/step', 'grad_norm'],
      ['l2_norm/grad/global', 'grad_norm'],
      ['grad-norm', 'grad_norm'],
      ['train_loss', null],
      ['gradient_norms/layer.weight', null],
    ];
    for (const [tag, kind] of cases) assert.equal(noiseTagKind(tag), kind, tag);
  });

  it('at w* (η = 0): the tail mean equals the exact tr Σ within its batch-means error, and the error is calibrated over 12 seeds', async () => {
    const s = lsqStats(P);
    const exact = s.g.reduce((a, g) => a + g.reduce((b, v) => b + v * v, 0), 0) / N;
    assert.ok(Math.abs(exact - TRACE) < 1e-12);
    const zs: number[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const log = simulate(seed, 4000, 0);
      const run = await tfeventsRun(log, { lr: 0.01, batch_size: 8 });
      const e = ok(estimateRunNoise(run));
      assert.equal(e.method, 'two_batch_sizes');
      assert.ok(e.trace_cov_stderr !== null && e.trace_cov_stderr > 0);
      zs.push(((e.trace_cov as number) - TRACE) / (e.trace_cov_stderr as number));
      assert.ok(Math.abs(e.grad_sq_norm as number) < 4 * (e.grad_sq_norm_stderr as number), `‖G‖² at w* = ${e.grad_sq_norm} ± ${e.grad_sq_norm_stderr}`);
    }
    const rms = Math.sqrt(zs.reduce((a, z) => a + z * z, 0) / zs.length);
    assert.ok(zs.every((z) => Math.abs(z) < 4), `z = ${zs.map((z) => z.toFixed(2)).join(', ')}`);
    assert.ok(rms > 0.5 && rms < 1.6, `rms z = ${rms.toFixed(2)}`);
  });

  it('along an SGD trajectory (η = 0.01, B = 8 over 4 ranks): tr Σ within 3 SE + the O(η) trajectory bias of 1%', async () => {
    const log = simulate(7, 40_000, 0.01, 4, 2, [0, 0]);
    const run = await tfeventsRun(log, { lr: 0.01, batch_size: 8 });
    const e = ok(estimateRunNoise(run));
    const se = e.trace_cov_stderr as number;
    const err = Math.abs((e.trace_cov as number) - TRACE);
    assert.ok(err < 3 * se + 0.01 * TRACE, `tr Σ = ${e.trace_cov} ± ${se} vs ${TRACE}`);
    assert.ok(se / TRACE < 0.03, `relative SE ${se / TRACE}`);
    assert.ok(e.tail_start_step !== null && e.tail_start_step > 0, 'the transient from w = 0 is dropped');
  });

  it('reads a logged trace_cov series directly, and norms (not squared) under grad_norm_small/grad_norm_big with batch sizes from the hyperparameters', async () => {
    const log = simulate(3, 4000, 0);
    const dir = await tempDir('heatcap-noise-');
    const pts = (vals: number[]): [number, number][] => vals.map((v, i) => [i, v]);
    const bs = 2;
    const bb = 8;
    await writeTfeventsRun(dir, {
      loss: pts(log.loss),
      grad_norm_small: pts(log.sqSmall.map(Math.sqrt)),
      grad_norm_big: pts(log.sqBig.map(Math.sqrt)),
    }, { hparams: { lr: 0.01, batch_size: 8, b_small: bs } });
    const e1 = ok(estimateRunNoise(await readRun(dir)));
    assert.equal(e1.b_small, 2);
    assert.equal(e1.b_big, 8, 'B_big falls back to the run batch size');
    const dir2 = await tempDir('heatcap-noise-');
    const trace = log.sqSmall.map((s, i) => (s - log.sqBig[i]) / (1 / bs - 1 / bb));
    await writeTfeventsRun(dir2, { loss: pts(log.loss), 'gradient_noise/trace_cov': pts(trace) }, { hparams: { lr: 0.01, batch_size: 8 } });
    const e2 = ok(estimateRunNoise(await readRun(dir2)));
    assert.equal(e2.method, 'logged_trace_cov');
    // TensorBoard scalars are float32: the two routes agree to float32 rounding.
    assert.ok(Math.abs((e1.trace_cov as number) - (e2.trace_cov as number)) < 1e-5 * TRACE, `${e1.trace_cov} vs ${e2.trace_cov}`);
  });

  it('B_simple (gpt-neox train/noise_scale) with the minibatch grad_norm at the run batch size: tr Σ = B‖G_B‖²·B_simple/(B + B_simple)', async () => {
    const log = simulate(11, 6000, 0);
    const dir = await tempDir('heatcap-noise-');
    const pts = (vals: number[]): [number, number][] => vals.map((v, i) => [i, v]);
    // At w* the mean gradient vanishes, B_simple → ∞; a gpt-neox-style smoothed value of 1e9 stands for it.
    await writeTfeventsRun(dir, { 'train/lm_loss': pts(log.loss), 'train/noise_scale': [[0, 1e9]], grad_norm: pts(log.sqBig.map(Math.sqrt)) }, { hparams: { lr: 0.01, batch_size: 8 } });
    const e = ok(estimateRunNoise(await readRun(dir)));
    assert.equal(e.method, 'b_simple_and_grad_norm');
    assert.ok(Math.abs((e.trace_cov as number) - TRACE) < 4 * (e.trace_cov_stderr as number), `tr Σ = ${e.trace_cov} ± ${e.trace_cov_stderr}`);
  });

  it('a sweep whose trajectory noise grows with η is extrapolated to η → 0 by weighted least squares', async () => {
    const rng = new Rng(9);
    const runs: Run[] = [];
    const T0 = 2;
    for (const lr of [0.01, 0.02, 0.04, 0.08]) {
      const dir = await tempDir('heatcap-noise-');
      const pts: [number, number][] = Array.from({ length: 4000 }, (_, i) => [i, T0 * (1 + 5 * lr) + 0.2 * rng.normal()]);
      const loss: [number, number][] = pts.map(([i]) => [i, 1 + 0.01 * rng.normal()]);
      await writeTfeventsRun(dir, { loss, 'gradient_noise/trace_cov': pts }, { hparams: { lr, batch_size: 8 } });
      runs.push(await readRun(dir));
    }
    const { estimate } = estimateUnitNoise(runs);
    assert.ok(estimate);
    assert.match(estimate.combination, /extrapolated to η → 0/);
    assert.ok(Math.abs(estimate.trace_cov - T0) < 3 * (estimate.trace_cov_stderr as number), `${estimate.trace_cov} ± ${estimate.trace_cov_stderr}`);
  });

  it('says why a run with only B_simple or only grad_norm gives no tr Σ', async () => {
    const dir = await tempDir('heatcap-noise-');
    const pts: [number, number][] = Array.from({ length: 50 }, (_, i) => [i, 100 + i]);
    await writeTfeventsRun(dir, { loss: pts, 'train/noise_scale': pts }, { hparams: { lr: 0.01 } });
    const skip = estimateRunNoise(await readRun(dir));
    assert.ok(skip && 'reason' in skip && /ratio/.test(skip.reason), JSON.stringify(skip));
    const dir2 = await tempDir('heatcap-noise-');
    await writeTfeventsRun(dir2, { loss: pts, grad_norm: pts }, { hparams: { lr: 0.01 } });
    assert.equal(estimateRunNoise(await readRun(dir2)), null, 'grad_norm alone is not a noise measurement');
    assert.equal(estimateUnitNoise([await readRun(dir2)]).estimate, null);
  });

  it('heatcap analyze <sweep> with no checkpoint predicts tr Σ/(4B) from the logged noise, with the caveat, and agrees with the observed slope', async () => {
    const root = await tempDir('heatcap-noise-sweep-');
    const lrs = [0.005, 0.01, 0.02, 0.04];
    for (const [i, lr] of lrs.entries()) {
      const log = simulate(100 + i, 30_000, lr, 4, 2);
      const w = await LightningCsvWriter.create(join(root, `lr_${lr}`), { lr, batch_size: 8, sampling: 'with_replacement' });
      log.steps.forEach((t, k) => {
        w.log({ train_loss: log.loss[k], 'gradient_noise/sq_norm_small': log.sqSmall[k], 'gradient_noise/sq_norm_big': log.sqBig[k], 'gradient_noise/b_small': 2, 'gradient_noise/b_big': 8 }, t);
      });
      await w.flush();
    }
    const r = await runCli(['analyze', root, '--json']);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out);
    assertValidResult(res);
    assert.ok(res.gradnorms, 'gradnorms block');
    assert.match(res.gradnorms.source, /^logged gradient noise \(tags gradient_noise\/sq_norm_small, gradient_noise\/sq_norm_big, gradient_noise\/b_small, gradient_noise\/b_big\), along the trajectory, not at Φ\*$/);
    const ln = res.gradnorms.logged_noise;
    assert.equal(ln.method, 'two_batch_sizes');
    assert.equal(ln.runs.length, 4);
    const tc = res.predicted.trace_cov;
    assert.ok(Math.abs(tc - TRACE) < 3 * ln.trace_cov_stderr + 0.02 * TRACE, `tr Σ = ${tc} ± ${ln.trace_cov_stderr}`);
    assert.ok(Math.abs(res.predicted.slope - tc / 32) < 1e-12);
    assert.equal(res.predicted.dataset_size, null, 'no dataset size is invented');
    assert.ok(res.predicted.assumptions[0].includes('not at Φ*'));
    assert.ok(res.warnings.some((w: { code: string; message: string }) => w.code === 'gradient_noise_along_trajectory' && /not at the optimum Φ\*/.test(w.message)));
    assert.ok(!res.warnings.some((w: { code: string }) => w.code === 'intercept_mismatch'));
    assert.match(res.verdict.message, /along the trajectory, not at Φ\*/);
    assert.equal(res.verdict.status, 'agree', `${res.verdict.message} ratio ${res.ratio} ${JSON.stringify(res.ratio_ci)}`);
    // The human-readable report shows the caveat too.
    const text = await runCli(['analyze', root]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /along the trajectory/);
    // The Markdown report shows the logged noise, not empty per-example tables.
    const md = renderMarkdownReport(res);
    assert.match(md, /## Gradient noise logged during training/);
    assert.match(md, /tr Σ per run/);
    assert.doesNotMatch(md, /## Per-example gradient norms/);
  });
});
