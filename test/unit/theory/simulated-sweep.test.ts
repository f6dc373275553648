/**
 * The whole chain on a problem with an exact answer (THEORY.md §4): simulated SGD runs on least squares
 * → logged loss series → convergedLoss → fitSweep → slopeRatioCi against predictSlope. The oracle gives
 * the exact stationary L(η) of every run and the exact slope at η → 0.
 *
 * Range: ηh_max ≤ 0.013, where the O(η) correction to the secant slope is ≲ 1% (oracle: secants
 * L(η)−L*)/η differ by < 1% from s over the range), below the ~1.5% standard error of the fit.
 */
import { strict as assert } from 'node:assert';
import { convergedLoss } from '../../../src/core/stats/converged';
import { fitSweep } from '../../../src/core/stats/sweep-fit';
import { slopeRatioCi } from '../../../src/core/stats/ratio';
import { predictSlope } from '../../../src/core/theory/predict';
import { oracleExcess, oracleSlope, type OracleSetup } from '../../support/oracle/lsq-oracle';
import { lsqStats, randomLsqProblem } from '../../support/oracle/lsq-problem';
import { simulateSgd } from '../../support/oracle/sgd-sim';
import { gradStatsOf, sgdSetup } from './helpers';

const prob = randomLsqProblem(3);
const st = lsqStats(prob);

interface Case {
  name: string;
  oracle: OracleSetup;
  lrs: number[];
  /** Steps × η: how long each run is, in units of the slowest relaxation. */
  budget: number;
}

const CASES: Case[] = [
  { name: 'plain SGD, B=4, i.i.d.', oracle: { batchSize: 4, sampling: 'with_replacement' }, lrs: [0.002, 0.004, 0.006, 0.008], budget: 4000 },
  { name: 'heavy ball β=0.5, B=10, i.i.d.', oracle: { batchSize: 10, sampling: 'with_replacement', momentum: 0.5 }, lrs: [0.001, 0.002, 0.003, 0.004], budget: 2000 },
];

for (const c of CASES) {
  describe(`simulated sweep: ${c.name}`, () => {
    type SimRun = { eta: number; exact: number; full: ReturnType<typeof convergedLoss>; step: ReturnType<typeof convergedLoss> };
    let runs: SimRun[] = [];
    // Simulated once per case, in a hook so that filtering tests with --grep skips the work.
    before(() => {
      runs = c.lrs.map((eta, i) => {
        const sim = simulateSgd({
          problem: prob,
          batchSize: c.oracle.batchSize,
          sampling: 'with_replacement',
          momentum: c.oracle.momentum,
          lr: eta,
          steps: Math.round(c.budget / eta),
          seed: 1000 + i,
          fullEvery: 10,
        });
        const exact = st.Lstar + oracleExcess(prob, c.oracle, eta).excess;
        return { eta, exact, full: convergedLoss(sim.fullLoss), step: convergedLoss(sim.stepLoss) };
      });
    });

    it('converged loss of every run covers the exact stationary L(η), from full-set and from minibatch losses (oracle: §4 linear system; tol 3.5 SE)', () => {
      for (const r of runs) {
        for (const [what, cl] of [['full-set', r.full], ['minibatch', r.step]] as const) {
          assert.equal(cl.method, 'batch_means');
          const z = ((cl.mean as number) - r.exact) / (cl.stderr as number);
          assert.ok(Math.abs(z) < 3.5, `${what} η=${r.eta}: ${cl.mean} vs exact ${r.exact} (z = ${z.toFixed(2)})`);
        }
        // The full-set loss is far less noisy than per-step minibatch losses (THEORY.md §5).
        assert.ok((r.full.stderr as number) < 0.2 * (r.step.stderr as number));
        assert.ok(r.full.tail_start_step !== null && r.full.tail_start_step > 0, 'the transient from w = 0 was dropped');
      }
    });

    it('sweep fit slope agrees with the WLS line through the exact points (oracle: same fit on exact L(η); tol 3 SE)', () => {
      const pts = runs.map((r) => ({ run: String(r.eta), lr: r.eta, loss: r.full.mean, stderr: r.full.stderr }));
      const fit = fitSweep(pts);
      const exactFit = fitSweep(runs.map((r) => ({ run: String(r.eta), lr: r.eta, loss: r.exact, stderr: r.full.stderr })), { alpha: 1e-12 });
      assert.equal(fit.method, 'wls');
      const z = ((fit.slope as number) - (exactFit.slope as number)) / (fit.slope_stderr as number);
      assert.ok(Math.abs(z) < 3, `slope ${fit.slope} vs ${exactFit.slope} (z = ${z.toFixed(2)})`);
      assert.ok(Math.abs((fit.intercept as number) - st.Lstar) < 3 * (fit.intercept_stderr as number), 'intercept ≈ L*');
    });

    it('observed/predicted ratio: 95% CI contains 1 (prediction equals the oracle slope to 1e-6)', () => {
      const pts = runs.map((r) => ({ run: String(r.eta), lr: r.eta, loss: r.full.mean, stderr: r.full.stderr }));
      const fit = fitSweep(pts);
      const pred = predictSlope(sgdSetup({ batch_size: c.oracle.batchSize, momentum: c.oracle.momentum ?? 0 }), gradStatsOf(st.g)).predicted;
      const truth = oracleSlope(prob, c.oracle);
      assert.ok(Math.abs((pred.slope as number) / truth - 1) < 1e-6);
      const r = slopeRatioCi(fit.slope as number, fit.slope_stderr as number, pred.slope as number, fit.slope_dof);
      const [lo, hi] = r.ci as [number, number];
      assert.ok(lo <= 1 && 1 <= hi, `ratio ${r.ratio} CI [${lo}, ${hi}]`);
      // And the interval is informative: narrower than ±10%.
      assert.ok(hi - lo < 0.2, `CI width ${hi - lo}`);
    });
  });
}
