import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { engineGradients } from '../../../src/core/analysis/engineGradients';
import { CancelSource } from '../../../src/core/cancel';
import { CancelledError } from '../../../src/core/errors';
import { finiteEtaDynamics, stabilityFromFiniteEta } from '../../../src/core/analysis/finiteEta';
import type { GradientInputs, GradientProvider } from '../../../src/core/analysis/gradients';
import { analyzeFolder } from '../../../src/core/analysis/pipeline';
import { LightningCsvWriter } from '../../../src/core/logs/csv/writer';
import { mulberry32 } from '../../../src/core/random';
import type { TrainingSetup } from '../../../src/core/theory/setup';
import { GOLDEN_PROBLEM, lsqStats } from '../../support/oracle/lsq-problem';
import { assertValidResult } from '../../support/resultSchema';
import { leastSquaresCurvature } from '../finite-eta/curvature-fixtures';

const SGD: TrainingSetup = {
  batch_size: 8,
  momentum: 0,
  dampening: 0,
  nesterov: false,
  sampling: 'with_replacement',
  optimizer: 'sgd',
  weight_decay: 0,
  loss_includes_penalty: false,
  dataset_size: 1797,
  sources: {},
};

/** The golden problem's exact statistics and curvature (k = P = 2), as a gradstats.json with a curvature section gives them. */
function goldenInputs(): GradientInputs {
  const s = lsqStats(GOLDEN_PROBLEM);
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
      top: [],
      histogram: { log10_edges: [-3, 3], counts: [s.n], zeros: 0 },
      backend: 'exact',
      engine: 'closed form',
      seconds: 0,
      model: 'least squares',
      data: 'THEORY.md §4.1',
    },
    model: { hasBatchNorm: false, hasRegularizers: false },
    warnings: [],
    curvature: leastSquaresCurvature(GOLDEN_PROBLEM),
  };
}

describe('finite η in the analysis pipeline (issue 20)', function () {
  this.timeout(240_000);

  describe('which setups get a finite-η model', () => {
    it('SGD with i.i.d. or fresh distinct batches, heavy ball and Nesterov: dynamics; Adam and reshuffling: unsupported, with the reason', () => {
      const d = finiteEtaDynamics({ ...SGD, optimizer: 'torch.optim.SGD', momentum: 0.9, nesterov: true }, 10);
      assert.ok('dynamics' in d);
      assert.deepEqual(d.dynamics, { batchSize: 8, sampling: 'with_replacement', datasetSize: 1797, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 0 });
      const adam = finiteEtaDynamics({ ...SGD, optimizer: 'adam' }, 10);
      assert.ok('block' in adam && adam.block.status === 'unsupported' && /adaptive optimiser/.test(adam.block.message) && adam.block.directions === 10);
      const reshuffle = finiteEtaDynamics({ ...SGD, sampling: 'reshuffle' }, 10);
      assert.ok('block' in reshuffle && reshuffle.block.status === 'unsupported' && /reshuffling/.test(reshuffle.block.message));
      const noB = finiteEtaDynamics({ ...SGD, batch_size: null }, 10);
      assert.ok('block' in noB && noB.block.status === 'skipped' && /batch size/.test(noB.block.message));
    });

    it('stability_lr: the mean-square limit when known, else the deterministic one', () => {
      const block = finiteEtaDynamics({ ...SGD, optimizer: 'adam' }, 10);
      assert.ok('block' in block);
      assert.equal(stabilityFromFiniteEta(block.block), null);
      assert.deepEqual(stabilityFromFiniteEta({ ...block.block, limits: { deterministic: 4.3, mean_square: 2.6 } }), { lr: 2.6, kind: 'mean_square' });
      assert.deepEqual(stabilityFromFiniteEta({ ...block.block, limits: { deterministic: 4.3, mean_square: null } }), { lr: 4.3, kind: 'deterministic' });
    });
  });

  describe('golden least-squares problem (THEORY.md §4.1, B = 1): curvature from the gradient inputs', () => {
    let root = '';
    before(async () => {
      root = mkdtempSync(path.join(os.tmpdir(), 'heatcap-finite-eta-'));
      // Runs at η below and above the mean-square limit 0.4455; only their η and B matter here.
      const rand = mulberry32(7);
      for (const lr of [0.01, 0.05, 0.6]) {
        const w = await LightningCsvWriter.create(path.join(root, 'sweep', `lr_${lr}`), { lr, batch_size: 1, sampling: 'with_replacement', optimizer: 'sgd' });
        for (let step = 0; step < 400; step++) w.log({ full_train_loss: 0.2037 + 0.45 * lr + 1e-3 * (rand() - 0.5) }, step * 10);
        await w.close();
      }
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    // Oracle: THEORY.md §4.1, η_MS(B = 1) = 0.44551099786453296 and 2/λ_max = 0.8152089039132809 (tolerance 1e-6 relative).
    it('finite_eta ok over both directions (exact form), stability_lr is the mean-square limit, and η above it is flagged', async () => {
      const gradients: GradientProvider = async () => goldenInputs();
      const { results } = await analyzeFolder({ root, model: 'exact', data: 'exact' }, { toolVersion: 'test', gradients }, false);
      const r = results[0];
      assertValidResult(JSON.parse(JSON.stringify(r)));
      const fe = r.predicted?.finite_eta;
      assert.ok(fe, 'a finite-η block');
      assert.equal(fe.status, 'ok', fe.message);
      assert.equal(fe.form, 'second_moment_full');
      assert.ok(Math.abs((fe.limits.mean_square as number) / 0.44551099786453296 - 1) < 1e-6, `mean-square ${fe.limits.mean_square}`);
      assert.ok(Math.abs((fe.limits.deterministic as number) / 0.8152089039132809 - 1) < 1e-6, `deterministic ${fe.limits.deterministic}`);
      assert.equal(r.predicted?.stability_lr, fe.limits.mean_square);
      // The curve covers the runs below the limit: η = 0.05 gives §4.1's exact excess 2.503393153e-2.
      const i = fe.curve!.lr.indexOf(0.05);
      assert.ok(i >= 0, 'the sweep’s η is on the curve');
      assert.ok(Math.abs(fe.curve!.excess[i] / 2.503393153e-2 - 1) < 1e-6, `excess ${fe.curve!.excess[i]}`);
      const above = r.warnings.find((w) => w.code === 'lr_above_stability');
      assert.ok(above && /η = 0\.6 is at or above the mean-square stability limit 0\.4455/.test(above.message), JSON.stringify(r.warnings));
    });

    it('--no-finite-eta: no block, and the stability limit stays unknown (no Hessian here)', async () => {
      const gradients: GradientProvider = async () => goldenInputs();
      const { results } = await analyzeFolder({ root, model: 'exact', data: 'exact', finiteEta: false }, { toolVersion: 'test', gradients }, false);
      assert.equal(results[0].predicted?.finite_eta, undefined);
      assert.equal(results[0].predicted?.stability_lr, null);
    });

    it('a curvature engine that fails leaves the slope analysis intact (skipped, with its message); a cancellation stops it', async () => {
      const failing: GradientProvider = async () => ({ ...goldenInputs(), curvature: undefined, loadCurvature: async () => Promise.reject(new Error('no HVP for op Foo')) });
      const { results } = await analyzeFolder({ root, model: 'exact', data: 'exact' }, { toolVersion: 'test', gradients: failing }, false);
      assert.equal(results[0].predicted?.finite_eta?.status, 'skipped');
      assert.match(results[0].predicted?.finite_eta?.message ?? '', /curvature not computed: no HVP for op Foo/);
      assert.ok(results[0].predicted?.slope !== null);
      const source = new CancelSource();
      const cancelling: GradientProvider = async () => ({
        ...goldenInputs(),
        curvature: undefined,
        loadCurvature: async () => {
          source.cancel();
          throw new CancelledError();
        },
      });
      await assert.rejects(analyzeFolder({ root, model: 'exact', data: 'exact' }, { toolVersion: 'test', gradients: cancelling, token: source.token }, false), CancelledError);
    });

    it('a gradstats.json without a curvature section: skipped, naming the file', async () => {
      const gradients: GradientProvider = async () => ({ ...goldenInputs(), curvature: undefined, origin: { file: '/runs/gradstats.json', n: 6, lossName: 'mse' } });
      const { results } = await analyzeFolder({ root, model: 'exact', data: 'exact' }, { toolVersion: 'test', gradients }, false);
      const fe = results[0].predicted?.finite_eta;
      assert.equal(fe?.status, 'skipped');
      assert.match(fe?.message ?? '', /\/runs\/gradstats\.json has no curvature section/);
    });
  });

  describe('digits softmax regression (examples/digits, engine curvature, float64 Dense path)', () => {
    const sweep = path.resolve(__dirname, '../../../examples/digits/sweeps/softmax-iid');
    it('produces finite_eta ok with both limits > 0 (mean-square below 2/λ_max), once per checkpoint, and a curve near the measured excess', async () => {
      let loads = 0;
      const counting: GradientProvider = async (o, c) => {
        const g = await engineGradients(o, c);
        const load = g.loadCurvature;
        return load ? { ...g, loadCurvature: (k, t, p) => (loads++, load(k, t, p)) } : g;
      };
      const { results } = await analyzeFolder({ root: sweep }, { toolVersion: 'test', gradients: counting }, false);
      assert.equal(loads, 1);
      const r = results[0];
      assertValidResult(JSON.parse(JSON.stringify(r)));
      const fe = r.predicted?.finite_eta;
      assert.ok(fe);
      assert.equal(fe.status, 'ok', fe.message);
      assert.equal(fe.eigenvalues.length, 10);
      const { mean_square: ms, deterministic: det } = fe.limits;
      assert.ok(ms !== null && det !== null && ms > 0 && det > 0 && ms < det, `limits ${ms} ${det}`);
      assert.equal(r.predicted?.stability_lr, ms);
      // Against the sweep's own converged losses (started at the checkpoint, L* = its loss): within 10% (THEORY.md §6: ≤ 2% at η ≤ 0.02).
      const a = r.observed.intercept as number;
      for (const p of r.observed.points) {
        const i = fe.curve!.lr.indexOf(p.lr as number);
        assert.ok(i >= 0, `η = ${p.lr} on the curve`);
        const measured = (p.loss as number) - a;
        assert.ok(Math.abs(fe.curve!.excess[i] / measured - 1) < 0.1, `η = ${p.lr}: predicted ${fe.curve!.excess[i]}, measured ${measured}`);
      }
    });

    it('Adam: unsupported with the reason, and the curvature is never computed', async () => {
      let loads = 0;
      const counting: GradientProvider = async (o, c) => {
        const g = await engineGradients(o, c);
        return { ...g, loadCurvature: async () => (loads++, Promise.reject(new Error('not expected'))) };
      };
      const { results } = await analyzeFolder({ root: sweep, optimizer: 'adam' }, { toolVersion: 'test', gradients: counting }, false);
      assert.equal(loads, 0);
      assert.equal(results[0].predicted?.finite_eta?.status, 'unsupported');
      assert.match(results[0].predicted?.finite_eta?.message ?? '', /adam/);
    });
  });
});
