import { strict as assert } from 'node:assert';
import { curvesModel, tailRange } from '../../../webview/model/curves';
import { focusView } from '../../../webview/model/focus';
import { histogramModel, MAX_WEIGHT_BARS, weightsModel } from '../../../webview/model/gradnorms';
import { sampleLr, sweepModel } from '../../../webview/model/sweep';
import { fixture } from '../report/fixtures';

const near = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

describe('webview view models', () => {
  describe('sweep chart', () => {
    it('splits points into fitted / left out / not drawable, with ±1 SE error bars', () => {
      const m = sweepModel(fixture('iid-sweep'), { logX: false, focusLr: null });
      assert.deepEqual(m.fitted.map((p) => p.x), [0.0025, 0.005, 0.01, 0.02]);
      assert.deepEqual(m.excluded.map((p) => p.x), [0.04]);
      for (const p of m.fitted) assert.ok(near(p.yMax - p.y, 4e-6, 1e-12) && near(p.y - p.yMin, 4e-6, 1e-12));
      const gaps = sweepModel(fixture('gaps'), { logX: false, focusLr: null });
      assert.deepEqual(gaps.unplotted, [
        { name: 'a', reason: 'η unknown' },
        { name: 'b', reason: 'diverged' },
      ]);
    });

    it('draws the fit as a + sη over the fitted range only, and the prediction as a + s_pred·η (oracle: the fixture’s numbers)', () => {
      const r = fixture('iid-sweep');
      const m = sweepModel(r, { logX: false, focusLr: null });
      const a = r.observed.intercept as number;
      assert.ok(m.fit && m.predicted && m.bandLo && m.bandHi);
      assert.equal(m.fit[m.fit.length - 1].x, 0.02, 'fit ends at lr_max_used');
      for (const p of m.fit) assert.ok(near(p.y, a + (r.observed.slope as number) * p.x, 1e-14));
      for (const p of m.predicted) assert.ok(near(p.y, a + (r.predicted?.slope as number) * p.x, 1e-14));
      m.fit.forEach((p, i) => assert.ok((m.bandLo as { y: number }[])[i].y < p.y && p.y < (m.bandHi as { y: number }[])[i].y));
    });

    // Oracle: the fixture's hand-made finite-η block (limits 2.572 and 4.2956; curve points at the sweep's η).
    it('draws the finite-η curve from L* and the two limits, which lie beyond the sweep until "η to the limits"', () => {
      const r = fixture('finite-eta');
      const a = r.observed.intercept as number;
      const fe = r.predicted!.finite_eta!;
      const m = sweepModel(r, { logX: false, focusLr: null });
      assert.ok(m.finiteCurve, 'curve drawn');
      assert.deepEqual(m.finiteCurve[0], { x: 0, y: a }, 'starts at L* on a linear axis');
      const i = fe.curve!.lr.indexOf(0.02);
      assert.ok(near(m.finiteCurve.find((p) => p.x === 0.02)!.y, a + fe.curve!.excess[i], 1e-14));
      assert.ok(m.finiteCurve.every((p) => p.x <= m.xDomain[1]), 'only inside the drawn η range');
      assert.equal(m.limitsBeyond, true);
      assert.deepEqual(m.markers, []);
      assert.ok(m.notes.some((n) => n.startsWith('Beyond the η range drawn: mean-square limit 2.572, 2/λ_max limit 4.296')), m.notes.join('\n'));
      const wide = sweepModel(r, { logX: false, focusLr: null, toLimits: true });
      assert.ok(wide.xDomain[1] > 4.2956);
      assert.deepEqual(wide.markers.map((k) => [k.x, k.label, k.kind]), [
        [2.572, 'mean-square limit 2.572', 'limit'],
        [4.2956, '2/λ_max limit 4.296', 'limit'],
      ]);
      assert.equal(wide.finiteCurve!.length, fe.curve!.lr.length + 1, 'the whole curve, up to 0.9 of the mean-square limit');
      assert.match(wide.summary, /Finite-η predicted curve drawn\. Stability limits: mean-square limit 2\.572, 2\/λ_max limit 4\.296\./);
    });

    it('a finite-η block without a curve says why under the chart', () => {
      const r = fixture('finite-eta');
      r.predicted!.finite_eta = { ...r.predicted!.finite_eta!, status: 'not_converged', message: 'The eigen-solver did not converge.', curve: null };
      const m = sweepModel(r, { logX: false, focusLr: null });
      assert.equal(m.finiteCurve, null);
      assert.ok(m.notes.includes('No finite-η curve: The eigen-solver did not converge.'));
    });

    it('the focus card reads the finite-η curve, the linear law and the share of the limit', () => {
      const v = focusView(fixture('finite-eta'), 0.02);
      const labels = v.facts.map((f) => f.label);
      assert.ok(labels.includes('Predicted L(η) − L* (finite η)'), labels.join(', '));
      assert.equal(v.facts.find((f) => f.label === 'Share of the mean-square stability limit')?.cell.text, '0.78%');
      assert.ok(labels.includes('dL/dη (observed)'), 'the small-η slope is still shown');
    });

    it('on a log axis samples η geometrically and keeps the focused η', () => {
      const xs = sampleLr(1e-3, 1e-1, true, 3);
      assert.ok(near(xs[1], 1e-2, 1e-12));
      const m = sweepModel(fixture('iid-sweep'), { logX: true, focusLr: 0.01 });
      assert.ok(m.xDomain[0] > 0 && m.xDomain[0] < 0.0025 && m.xDomain[1] > 0.04);
      assert.deepEqual(m.markers, [{ x: 0.01, label: 'η = 0.01', kind: 'focus' }]);
    });

    it('for reshuffling draws the i.i.d. bound and the model curve, and explains missing lines', () => {
      const m = sweepModel(fixture('reshuffle-sweep'), { logX: false, focusLr: null });
      assert.ok(m.upperBound && m.reshuffleCurve && m.reshuffleCurve.length === 20);
      assert.ok(m.bandLo, 'band reconstructed from the points (the fixture reports no covariance)');
      const none = sweepModel(fixture('no-prediction'), { logX: false, focusLr: null });
      assert.ok(none.notes.includes('No predicted line: no checkpoint was analysed.'));
      assert.ok(none.bandLo, 'band reconstructed from the points when the covariance is not reported');
      const single = sweepModel(fixture('schedule-events'), { logX: false, focusLr: null });
      assert.ok(single.notes.some((n) => n.startsWith('No fitted line')));
    });
  });

  describe('loss curves', () => {
    it('breaks lines at missing values, hides runs, and marks events with observed vs predicted drops', () => {
      const gaps = curvesModel(fixture('gaps'), { logLoss: false, zoomTail: false, hiddenRuns: ['b'] });
      assert.deepEqual(gaps.series.map((s) => s.runId), ['a', 'c']);
      assert.equal(gaps.series[0].loss[5].y, null);
      assert.equal(gaps.series[1].colorIndex, 2, 'colour follows the run, not its position among shown runs');
      const m = curvesModel(fixture('schedule-events'), { logLoss: false, zoomTail: true, hiddenRuns: [] });
      assert.equal(m.showLrAxis, true);
      assert.deepEqual(m.events[0].detail, ['step 30000: η 0.1 → 0.01', 'observed drop 0.02078 ± 6.4e-4', 'predicted drop 0.01933', 'observed / predicted = 1.075']);
      assert.ok(m.events[1].detail.includes('the level after the change had not settled'));
    });

    it('zooms the loss axis to the 1st–99th percentile of the tails plus 8% (oracle: a hand-computed range)', () => {
      // One run, steps 0..10, values 10 at step 0 then 1..10 → tail (steps ≥ 2) holds 2..10 … plus an event at 0.5.
      const series = [{ runId: 'r', label: 'r', colorIndex: 0, lr: null, loss: Array.from({ length: 11 }, (_, i) => ({ x: i, y: i === 0 ? 100 : i })) }];
      const vals = [2, 3, 4, 5, 6, 7, 8, 9, 10];
      const q = (p: number): number => {
        const i = (vals.length - 1) * p;
        return vals[Math.floor(i)] + (vals[Math.ceil(i)] - vals[Math.floor(i)]) * (i - Math.floor(i));
      };
      const [lo, hi] = tailRange(series, [], false) as [number, number];
      const span = q(0.99) - q(0.01);
      assert.ok(near(lo, q(0.01) - 0.08 * span, 1e-12) && near(hi, q(0.99) + 0.08 * span, 1e-12));
      const withEvent = tailRange(series, [{ runId: 'r', colorIndex: 0, x: 1, y: 0.5, detail: [] }], false) as [number, number];
      assert.ok(withEvent[0] < 0.5);
    });

    it('leaves values ≤ 0 out on a log loss axis and says how many', () => {
      const r = fixture('iid-sweep');
      r.runs[0].curve.values[3] = 0;
      const m = curvesModel(r, { logLoss: true, zoomTail: false, hiddenRuns: [] });
      assert.equal(m.series[0].loss[3].y, null);
      assert.ok(m.notes.includes('1 loss value ≤ 0 left out on the log scale.'));
    });
  });

  describe('gradient norms', () => {
    it('centres histogram bars in log10 units and marks the mean at log10 E‖g_b‖²', () => {
      const g = fixture('iid-sweep').gradnorms;
      assert.ok(g);
      const m = histogramModel(g);
      assert.equal(m.bars.length, g.histogram.counts.length);
      assert.ok(near(m.bars[0].x, -3.875, 1e-12));
      assert.equal(m.bars.reduce((s, b) => s + b.y, 0), 1797);
      assert.ok(near(m.markers[0].x, Math.log10(0.8475), 1e-12));
      const zero = histogramModel(fixture('gaps').gradnorms as NonNullable<ReturnType<typeof fixture>['gradnorms']>);
      assert.deepEqual(zero.bars, []);
      assert.ok(zero.notes[0].startsWith('40 examples have'));
    });

    it('gives each weight its exact share of E‖g_b‖² and sums the smallest into one bar past the limit', () => {
      const g = fixture('schedule-events').gradnorms;
      assert.ok(g);
      const m = weightsModel(g);
      const total = g.per_weight.reduce((s, w) => s + w.mean_sq_norm, 0);
      assert.ok(near(m.bars[0].share, 1.9214 / total, 1e-12));
      assert.ok(near(m.bars.reduce((s, b) => s + b.share, 0), 1, 1e-12));
      const many = { ...g, per_weight: Array.from({ length: 40 }, (_, i) => ({ name: `w${i}`, mean_sq_norm: i + 1, size: 1 })) };
      const mm = weightsModel(many);
      assert.equal(mm.bars.length, MAX_WEIGHT_BARS);
      assert.equal(mm.bars[MAX_WEIGHT_BARS - 1].name, '17 other weights');
      assert.ok(near(mm.bars.reduce((s, b) => s + b.share, 0), 1, 1e-12));
    });
  });

  it('describes a focused η: fitted ± 95%, predicted, nearest run in log η, and warnings past the fitted range', () => {
    const r = fixture('iid-sweep');
    const f = focusView(r, 0.011);
    assert.equal(f.title, 'At η = 0.011');
    const fact = (v: ReturnType<typeof focusView>, label: string) => v.facts.find((x) => x.label === label)?.cell;
    assert.match(fact(f, 'Nearest run')!.text, /^lr_0\.01 \(η = 0\.01\): /);
    // The lens's words and numbers (oracle by hand: s = 0.0264804, s·0.011 = 2.913e-4, −s·0.011/2 = −1.456e-4).
    assert.equal(fact(f, 'dL/dη (observed)')!.text, '0.026');
    assert.equal(fact(f, 'Excess loss ≈ dL/dη·η')!.text, '+0.00029');
    assert.equal(fact(f, 'Halving η')!.text, '\u22120.00015');
    assert.deepEqual(focusView(r, 0.03).notes, ['η is above the largest η in the fit (0.02): the linear law was not checked there.']);
    assert.equal(fact(focusView(fixture('no-prediction'), 0.02), 'Predicted L(η)')!.missing, 'no prediction');
  });
});
