import { strict as assert } from 'node:assert';
import { analyseSchedule, findScheduleEvents, multiStepSchedule, pooledEventSlope } from '../../../src/core/stats/schedule';
import type { ScheduleEvent } from '../../../src/core/result/schema';
import { ar1, range, Rng } from '../../support/oracle/rng';

const SLOPE = 0.5;
const L_STAR = 0.2;

/**
 * A run whose plateau level is exactly L* + s·η (the oracle), relaxing to each new level as e^(−t/τ)
 * after a change, plus AR(1) noise. Changes at 3000 and 6000 steps: 0.1 → 0.01 → 0.001.
 */
function stepRun(seed: number, tau = 200, total = 9000): { steps: number[]; loss: number[]; lr: number[] } {
  const steps = range(total);
  const noise = ar1(new Rng(seed), total, 0, 0.5, 0.01);
  const lrAt = (t: number): number => (t < 3000 ? 0.1 : t < 6000 ? 0.01 : 0.001);
  const loss: number[] = [];
  let level = L_STAR + SLOPE * 0.1 + 0.5;
  for (const t of steps) {
    const target = L_STAR + SLOPE * lrAt(t);
    level = target + (level - target) * Math.exp(-1 / tau);
    loss.push(level + noise[t]);
  }
  return { steps, loss, lr: steps.map(lrAt) };
}

describe('schedule events', () => {
  it('finds both step decays and measures ΔL/Δη; the 95% CIs cover the true slope at the nominal rate (200 seeds; oracle: generating levels; tol 3 binomial sd)', () => {
    const trials = 200;
    let hits = 0;
    let n = 0;
    let pooledHits = 0;
    for (let seed = 1; seed <= trials; seed++) {
      const r = stepRun(seed);
      // lr logged every 100 steps, as a callback would.
      const lrSeries = { steps: r.steps.filter((s) => s % 100 === 0), values: r.lr.filter((_, i) => i % 100 === 0) };
      const events = findScheduleEvents(lrSeries, { steps: r.steps, values: r.loss }, { run: 'resnet' });
      assert.equal(events.length, 2);
      assert.deepEqual(events.map((e) => [e.step, e.lr_before, e.lr_after]), [[3000, 0.1, 0.01], [6000, 0.01, 0.001]]);
      for (const e of events) {
        assert.equal(e.run, 'resnet');
        n++;
        if (Math.abs((e.slope as number) - SLOPE) <= 1.96 * (e.slope_stderr as number)) hits++;
      }
      const pooled = pooledEventSlope(events);
      if (Math.abs((pooled.slope as number) - SLOPE) <= 1.96 * (pooled.slope_stderr as number)) pooledHits++;
    }
    const tol = 3 * Math.sqrt((0.95 * 0.05) / n);
    assert.ok(Math.abs(hits / n - 0.95) <= tol, `event coverage ${hits / n}`);
    assert.ok(Math.abs(pooledHits / trials - 0.95) <= 3 * Math.sqrt((0.95 * 0.05) / trials), `pooled coverage ${pooledHits / trials}`);
  });

  it('accepts a stated MultiStep schedule and gives the same events as the logged one (oracle: the logged-lr analysis)', () => {
    const r = stepRun(11);
    const loss = { steps: r.steps, values: r.loss };
    const stated = findScheduleEvents(multiStepSchedule(0.1, [3000, 6000], 0.1), loss);
    const logged = findScheduleEvents({ steps: r.steps, values: r.lr }, loss);
    assert.equal(stated.length, 2);
    stated.forEach((e, i) => {
      assert.equal(e.step, logged[i].step);
      assert.ok(Math.abs(e.lr_after - logged[i].lr_after) < 1e-15);
      assert.ok(Math.abs((e.slope as number) - (logged[i].slope as number)) < 1e-12);
    });
  });

  it('marks an event unsettled when the loss is still relaxing at the next change or the end', () => {
    // τ = 3000 steps: the last plateau (3000 steps) never reaches its level.
    const r = stepRun(12, 3000);
    const a = analyseSchedule({ steps: r.steps, values: r.lr }, { steps: r.steps, values: r.loss });
    assert.equal(a.events.length, 2);
    assert.equal(a.events[1].settled, false);
    assert.ok(a.details[1].notes.some((t) => /not settled/.test(t)));
    const pooled = pooledEventSlope(a.events);
    assert.ok(pooled.n_events < 2 || pooled.notes.length > 0);
  });

  it('reports no events for a continuous (cosine) schedule or a constant lr, saying why', () => {
    const steps = range(5000);
    const lr = steps.map((t) => 0.05 * (1 + Math.cos((Math.PI * t) / 5000)));
    const loss = { steps, values: ar1(new Rng(3), 5000, 0.3, 0.5, 0.01) };
    const a = analyseSchedule({ steps, values: lr }, loss);
    assert.equal(a.events.length, 0);
    assert.match(a.notes.join(' '), /continuously/);
    const c = analyseSchedule({ steps, values: steps.map(() => 0.01) }, loss);
    assert.equal(c.events.length, 0);
    assert.match(c.notes.join(' '), /never changes/);
  });

  it('pools by inverse variance (oracle: hand computation) and scales the SE when events disagree', () => {
    const ev = (slope: number, se: number): ScheduleEvent => ({
      run: 'r', step: 0, lr_before: 0.1, lr_after: 0.01, loss_before: 0, loss_after: 0, loss_before_stderr: 0, loss_after_stderr: 0, slope, slope_stderr: se, settled: true,
    });
    const p = pooledEventSlope([ev(1, 0.1), ev(2, 0.2)]);
    // weights 100 and 25: (100·1 + 25·2)/125 = 1.2; SE = 1/√125; χ² = (0.2/0.1)² + (0.8/0.2)² = 20 → scaled.
    assert.ok(Math.abs((p.slope as number) - 1.2) < 1e-12);
    assert.ok(Math.abs((p.chi2 as number) - 20) < 1e-12);
    assert.ok(Math.abs((p.slope_stderr as number) - Math.sqrt(20) / Math.sqrt(125)) < 1e-12);
    const q = pooledEventSlope([ev(1, 0.1), ev(1.1, 0.2)]);
    assert.ok(Math.abs((q.slope_stderr as number) - 1 / Math.sqrt(125)) < 1e-12);
    assert.equal(pooledEventSlope([]).slope, null);
  });
});
