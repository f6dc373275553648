/**
 * The additive per-direction form and the linear law against closed forms written out here
 * independently (THEORY.md §6): SGD η·f·σ²/(4(1 − ηh/2)); heavy ball with dampening d, from the
 * 1-d stationary variance η'σ²(1+β)/(h(1−β)(2(1+β) − η'h)), η' = η(1−d). Tolerance 1e-12 relative.
 */
import { strict as assert } from 'node:assert';
import { additiveExcess, batchMoments, finiteEtaPrediction, linearSlope, momentumFactor } from '../../../src/core/finite-eta';
import { GOLDEN_PROBLEM } from '../../support/oracle/lsq-problem';
import { leastSquaresCurvature, relClose, sgd } from './curvature-fixtures';

const DIRS = [
  { curvature: 2.5, noiseVariance: 0.7 },
  { curvature: 0.4, noiseVariance: 1.3 },
  { curvature: 0.05, noiseVariance: 0.2 },
];

const sgdClosedForm = (eta: number, f: number): number => DIRS.reduce((a, d) => a + (eta * f * d.noiseVariance) / (4 * (1 - (eta * d.curvature) / 2)), 0);

function heavyBallClosedForm(eta: number, f: number, beta: number, damp: number): number {
  const e = eta * (1 - damp);
  return DIRS.reduce((a, d) => a + 0.5 * d.curvature * ((e * f * d.noiseVariance * (1 + beta)) / (d.curvature * (1 - beta) * (2 * (1 + beta) - e * d.curvature))), 0);
}

describe('finite-η additive form and linear law', () => {
  const none = { momentum: 0, dampening: 0, nesterov: false };
  it('SGD B=4 i.i.d.: Σ_i η f σ_i²/(4(1 − ηh_i/2)) (tol 1e-12)', () => {
    const moments = batchMoments(sgd({ batchSize: 4 }));
    for (const eta of [0.01, 0.3, 0.79]) relClose(additiveExcess(DIRS, { moments, momentum: none, weightDecay: 0, lossIncludesPenalty: false }, eta)!, sgdClosedForm(eta, 0.25), 1e-12, `η=${eta}`);
  });

  it('SGD B=3 distinct of N=10: f = (N−B)/(B(N−1)) (tol 1e-12)', () => {
    const moments = batchMoments(sgd({ batchSize: 3, sampling: 'without_replacement', datasetSize: 10 }));
    relClose(additiveExcess(DIRS, { moments, momentum: none, weightDecay: 0, lossIncludesPenalty: false }, 0.5)!, sgdClosedForm(0.5, 7 / 27), 1e-12, 'η=0.5');
  });

  it('heavy ball β=0.9, dampening 0 and 0.3: closed form (tol 1e-12)', () => {
    const moments = batchMoments(sgd({ batchSize: 2 }));
    for (const damp of [0, 0.3]) {
      const momentum = { momentum: 0.9, dampening: damp, nesterov: false };
      for (const eta of [0.01, 0.5, 1.2]) relClose(additiveExcess(DIRS, { moments, momentum, weightDecay: 0, lossIncludesPenalty: false }, eta)!, heavyBallClosedForm(eta, 0.5, 0.9, damp), 1e-12, `d=${damp} η=${eta}`);
    }
  });

  it('is null at or beyond a direction’s deterministic limit 2/h', () => {
    const moments = batchMoments(sgd());
    assert.equal(additiveExcess(DIRS, { moments, momentum: none, weightDecay: 0, lossIncludesPenalty: false }, 2 / 2.5), null);
  });

  it('weight decay λ, loss without the penalty: ½h·E e² with E e² = ηfσ²/((h+λ)(2 − η(h+λ))) (tol 1e-12)', () => {
    const moments = batchMoments(sgd());
    const lam = 0.1;
    const eta = 0.3;
    const expected = DIRS.reduce((a, d) => a + 0.5 * d.curvature * ((eta * d.noiseVariance) / ((d.curvature + lam) * (2 - eta * (d.curvature + lam)))), 0);
    relClose(additiveExcess(DIRS, { moments, momentum: none, weightDecay: lam, lossIncludesPenalty: false }, eta)!, expected, 1e-12, 'data loss');
  });

  it('linear law: η·f·tr Σ/4·(1−d)/(1−β); momentum factor 1 for plain SGD even with dampening', () => {
    relClose(linearSlope(2, batchMoments(sgd({ batchSize: 8 })), { momentum: 0.9, dampening: 0.5, nesterov: false }), (2 / 8 / 4) * 5, 1e-15, 'slope');
    assert.equal(momentumFactor({ momentum: 0, dampening: 0.5, nesterov: false }), 1);
  });

  it('the curve’s additive column on the golden problem is the SGD closed form over its two eigen-directions (tol 1e-12)', () => {
    const c = leastSquaresCurvature(GOLDEN_PROBLEM);
    const fe = finiteEtaPrediction(c, sgd(), { points: 7 });
    const sigma = [0, 1].map((i) => {
      const col = Array.from({ length: c.n }, (_, b) => c.perExampleGradProj[b * 2 + i]);
      const m = col.reduce((a, v) => a + v, 0) / c.n;
      return col.reduce((a, v) => a + (v - m) ** 2, 0) / c.n;
    });
    fe.curve!.lr.forEach((eta, j) => {
      const expected = c.eigenvalues.reduce((a, h, i) => a + (eta * sigma[i]) / (4 * (1 - (eta * h) / 2)), 0);
      relClose(fe.curve!.additive[j], expected, 1e-12, `η=${eta}`);
      relClose(fe.curve!.linear[j], (eta * c.traceCovTotal) / 4, 1e-12, `linear η=${eta}`);
    });
  });
});
