/**
 * predictSlope against the exact least-squares oracle (THEORY.md §4): the oracle's dL/dη at η → 0
 * (Richardson extrapolation of exact secants, error ~1e-12) must equal the prediction to 1e-6 relative
 * — the brief's bound; the agreement is exact in theory, so anything above round-off is a formula bug.
 */
import { strict as assert } from 'node:assert';
import { predictSlope } from '../../../src/core/theory/predict';
import { engineView, oracleSlope, type OracleSetup } from '../../support/oracle/lsq-oracle';
import { flat, GOLDEN_PROBLEM, lsqStats, randomLsqProblem, type LsqProblem } from '../../support/oracle/lsq-problem';
import { gradStatsOf, relClose, sgdSetup } from './helpers';

const TOL = 1e-6;
const PROBLEMS: [string, LsqProblem][] = [
  ['golden N=6 d=2', GOLDEN_PROBLEM],
  ['random N=40 d=4', randomLsqProblem(1)],
];

describe('predictSlope vs the exact oracle (tol 1e-6 relative)', () => {
  for (const [pname, prob] of PROBLEMS) {
    const N = prob.X.length;
    const stats = gradStatsOf(lsqStats(prob).g);
    for (const B of [1, 4, 10].filter((b) => b < N)) {
      for (const sampling of ['with_replacement', 'without_replacement'] as const) {
        it(`${pname}: plain SGD, B=${B}, ${sampling}`, () => {
          const pred = predictSlope(sgdSetup({ batch_size: B, sampling, dataset_size: N }), stats).predicted;
          assert.equal(pred.regime, 'linear');
          relClose(pred.slope as number, oracleSlope(prob, { batchSize: B, sampling }), TOL, 'slope');
        });
      }
      const momenta: [string, OracleSetup, Partial<Parameters<typeof sgdSetup>[0]>, string][] = [
        ['heavy ball β=0.9', { batchSize: B, sampling: 'with_replacement', momentum: 0.9 }, { momentum: 0.9 }, 'heavy_ball'],
        ['heavy ball β=0.5 d=0.3', { batchSize: B, sampling: 'with_replacement', momentum: 0.5, dampening: 0.3 }, { momentum: 0.5, dampening: 0.3 }, 'heavy_ball'],
        ['Nesterov β=0.9', { batchSize: B, sampling: 'with_replacement', momentum: 0.9, nesterov: true }, { momentum: 0.9, nesterov: true }, 'nesterov'],
        ['Nesterov β=0.5 d=0.3', { batchSize: B, sampling: 'with_replacement', momentum: 0.5, dampening: 0.3, nesterov: true }, { momentum: 0.5, dampening: 0.3, nesterov: true }, 'nesterov'],
        ['EMA momentum β=d=0.8', { batchSize: B, sampling: 'with_replacement', momentum: 0.8, dampening: 0.8 }, { momentum: 0.8, dampening: 0.8 }, 'ema_momentum'],
      ];
      for (const [mname, os, ts, id] of momenta) {
        it(`${pname}: ${mname}, B=${B}`, () => {
          const pred = predictSlope(sgdSetup({ batch_size: B, ...ts }), stats).predicted;
          assert.equal(pred.formula_id, `iid_with_replacement+${id}`);
          relClose(pred.slope as number, oracleSlope(prob, os), TOL, 'slope');
        });
      }
    }
  }

  const prob = randomLsqProblem(2);
  const N = prob.X.length;
  it('L2 (coupled), loss measured with the penalty: covariance of data gradients, not E‖g_b‖² (B=4)', () => {
    const os: OracleSetup = { batchSize: 4, sampling: 'with_replacement', weightDecay: 0.3 };
    // The engine sees data-loss gradients, whose mean is −λw* ≠ 0: tr Σ must subtract it.
    const stats = gradStatsOf(lsqStats(prob, 0.3).gData);
    assert.ok(stats.meanGradSqNorm > 0.01 * stats.meanSqNorm);
    const rep = predictSlope(sgdSetup({ batch_size: 4, weight_decay: 0.3, loss_includes_penalty: true }), stats);
    assert.match(rep.predicted.formula_id, /l2_in_loss/);
    relClose(rep.predicted.slope as number, oracleSlope(prob, os, 'excess'), TOL, 'slope');
  });

  for (const [name, os, ts] of [
    ['SGD', { batchSize: 4, sampling: 'with_replacement', weightDecay: 0.3 }, {}],
    ['heavy ball β=0.5', { batchSize: 4, sampling: 'with_replacement', weightDecay: 0.3, momentum: 0.5 }, { momentum: 0.5 }],
    ['without replacement', { batchSize: 4, sampling: 'without_replacement', weightDecay: 0.3 }, { sampling: 'without_replacement' as const }],
  ] as [string, OracleSetup, object][]) {
    it(`L2 (coupled), loss measured without the penalty, ${name}: ¼ tr[H(H+λI)⁻¹Σ_B] from the Hessian`, () => {
      const view = engineView(prob, os);
      const rep = predictSlope(sgdSetup({ batch_size: 4, weight_decay: 0.3, dataset_size: N, ...ts }), gradStatsOf(view.gData), {
        hessian: flat(view.Hdata),
        perExampleGrads: flat(view.gData),
      });
      assert.match(rep.predicted.formula_id, /l2_without_penalty/);
      const truth = oracleSlope(prob, os, 'excessData');
      relClose(rep.predicted.slope as number, truth, TOL, 'slope');
      assert.ok((rep.predicted.upper_bound as number) > truth, 'the with-penalty figure bounds it from above');
      // Without the Hessian only the bound is available, and the report says so.
      const noH = predictSlope(sgdSetup({ batch_size: 4, weight_decay: 0.3, dataset_size: N, ...ts }), gradStatsOf(view.gData));
      assert.equal(noH.predicted.slope, null);
      assert.ok(noH.warnings.some((w) => w.code === 'penalty_excluded_upper_bound'));
    });
  }

  for (const B of [1, 4]) {
    it(`Adam / RMSprop as a fixed diagonal preconditioner P = diag(1/(√Σ_B,ii + ε)), B=${B}: ¼ Σ Σ_B,ii/(√Σ_B,ii + ε) (oracle: preconditioned SGD)`, () => {
      const s = lsqStats(prob);
      const eps = 0.05; // large enough that ε matters in the formula
      const precond = s.Sigma.map((row, i) => 1 / (Math.sqrt(row[i] / B) + eps));
      const os: OracleSetup = { batchSize: B, sampling: 'with_replacement', precond };
      for (const optimizer of ['adam', 'rmsprop']) {
        const rep = predictSlope(sgdSetup({ batch_size: B, optimizer, adam: { beta1: 0.9, beta2: 0.999, eps } }), gradStatsOf(s.g));
        assert.equal(rep.predicted.formula_id, 'adam_diag');
        relClose(rep.predicted.slope as number, oracleSlope(prob, os), TOL, optimizer);
      }
    });
  }

  it('AdamW (decoupled decay), loss without the penalty, with the Hessian (oracle: decoupled preconditioned update)', () => {
    const B = 4;
    const lambda = 0.2;
    const eps = 0.05;
    // The preconditioner Adam would settle on at the decoupled fixed point.
    const view0 = engineView(prob, { batchSize: B, sampling: 'with_replacement', weightDecay: lambda, decay: 'decoupled' });
    // P depends on the fixed point which depends on P: iterate the (contracting) map a few times.
    let precond = new Array<number>(4).fill(1);
    let view = view0;
    for (let it = 0; it < 50; it++) {
      view = engineView(prob, { batchSize: B, sampling: 'with_replacement', weightDecay: lambda, decay: 'decoupled', precond });
      const st = gradStatsOf(view.gData);
      precond = Array.from(st.diagSecondMoment as Float64Array, (m2, i) => 1 / (Math.sqrt((m2 - (st.meanGrad as Float64Array)[i] ** 2) / B) + eps));
    }
    const os: OracleSetup = { batchSize: B, sampling: 'with_replacement', weightDecay: lambda, decay: 'decoupled', precond };
    view = engineView(prob, os);
    const rep = predictSlope(sgdSetup({ batch_size: B, optimizer: 'adamw', weight_decay: lambda, adam: { beta1: 0.9, beta2: 0.999, eps } }), gradStatsOf(view.gData), {
      hessian: flat(view.Hdata),
      perExampleGrads: flat(view.gData),
    });
    assert.match(rep.predicted.formula_id, /adam_diag\+l2_without_penalty/);
    relClose(rep.predicted.slope as number, oracleSlope(prob, os, 'excessData'), 1e-5, 'slope');
  });
});
