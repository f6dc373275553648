import { strict as assert } from 'node:assert';
import { observeRun, observeUnit } from '../../../src/core/analysis/observe';
import type { Run, ScalarSeries } from '../../../src/core/runs/model';
import { resolveHparams } from '../../../src/core/runs/hparams';
import { isLrTag, lrGroupTags, pickLrTag } from '../../../src/core/runs/tags';
import { lrOverWindow } from '../../../src/core/stats/schedule';

/**
 * η from a logged learning-rate series: the value in force over the window where the converged loss is
 * measured; a change inside that window sends the run to the step-change analysis; parameter groups.
 * Oracle: synthetic runs whose schedule and window are known by construction.
 */

/** A deterministic stationary noise around `level` (no trend, so the converged-loss tail is long). */
function noisy(n: number, level: (step: number) => number, seed = 1): ScalarSeries {
  let x = seed;
  const steps: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    steps.push(i);
    values.push(level(i) + 0.05 * (x / 2147483648 - 0.5));
  }
  return { steps, values };
}

function series(n: number, f: (step: number) => number): ScalarSeries {
  return { steps: Array.from({ length: n }, (_, i) => i), values: Array.from({ length: n }, (_, i) => f(i)) };
}

function makeRun(id: string, scalars: Record<string, ScalarSeries>, params: Record<string, number> = {}): Run {
  const resolved = resolveHparams({ sources: Object.keys(params).length ? [{ label: 'config.yaml', values: params }] : [], scalars, names: [id] });
  const run: Run = { id, path: id, absPath: `/x/${id}`, name: id, format: 'csv', files: [`/x/${id}.csv`], hparams: resolved.hparams, scalars, warnings: [] };
  if (resolved.lrTag) run.lrTag = resolved.lrTag;
  return run;
}

describe('η from a logged learning-rate series, over the converged-loss window', () => {
  it('names tools write are learning-rate tags: Keras, Lightning (per group), YOLO, HF, train/lr', () => {
    for (const t of ['lr', 'learning_rate', 'epoch_learning_rate', 'lr-SGD', 'lr-AdamW/pg1', 'x/lr0', 'x/lr2', 'lr/pg0', 'train/lr', 'train/learning_rate']) assert.ok(isLrTag(t), t);
    for (const t of ['lr-SGD-momentum', 'x/lrf', 'train/loss', 'lr_scale']) assert.ok(!isLrTag(t), t);
    const s = series(3, () => 1);
    assert.equal(pickLrTag({ 'x/lr2': s, 'x/lr0': s, 'x/lr1': s }), 'x/lr0');
    assert.equal(pickLrTag({ 'lr-SGD/pg1': s, 'lr-SGD/pg0': s }), 'lr-SGD/pg0');
    assert.deepEqual(lrGroupTags({ 'lr-SGD/pg1': s, 'lr-SGD/pg0': s, 'lr-Adam/pg0': s, 'train/loss': s }, 'lr-SGD/pg0'), ['lr-SGD/pg0', 'lr-SGD/pg1']);
    assert.deepEqual(lrGroupTags({ 'x/lr0': s, 'x/lr1': s }, 'x/lr0'), ['x/lr0', 'x/lr1']);
  });

  // Math.min(...xs) overflowed the call stack from ~124k elements (the run was skipped): 300k per-step values,
  // a warmup from 0.001 to 0.1 over the first 1,000 steps then constant, the loss settling over the first ~20k.
  it('a learning-rate series of 300,000 steps: resolved, its range and window read (no argument-spread limit)', () => {
    const n = 300_000;
    const lr = series(n, (s) => (s < 1000 ? 0.001 + (0.099 * s) / 1000 : 0.1));
    const run = makeRun('long', { train_loss: noisy(n, (s) => 1 + 3 * Math.exp(-s / 3000)), lr });
    assert.equal(run.hparams.lr?.value, 0.1);
    assert.match(run.hparams.lr?.source ?? '', /varies from 0\.001 to 0\.1/);
    const w = lrOverWindow(lr, 0, n);
    assert.equal(w.min, 0.001);
    assert.equal(w.max, 0.1);
    const o = observeRun(run, 'train_loss', {});
    assert.equal(o.lr, 0.1);
  });

  it('lrOverWindow: the value logged at or before the window start, then every change inside', () => {
    const lr = { steps: [0, 100, 200, 300], values: [0.1, 0.1, 0.05, 0.05] };
    assert.deepEqual(lrOverWindow(lr, 250, 400), { atStart: 0.05, values: [0.05, 0.05], changes: [], min: 0.05, max: 0.05 });
    const w = lrOverWindow(lr, 150, 400);
    assert.equal(w.atStart, 0.1);
    assert.deepEqual(w.changes, [{ step: 200, lr: 0.05 }]);
  });

  it('a run whose η drops inside the tail (ReduceLROnPlateau) is not fitted as one η: its constant-η segments are measured, and a note says so', () => {
    const loss = noisy(400, (s) => (s < 300 ? 1.0 : 0.9));
    const run = makeRun('plateau', { train_loss: loss, lr: series(400, (s) => (s < 300 ? 0.1 : 0.01)) });
    // The stated-by-series η at discovery is the last value; the analysis looks at the window.
    assert.equal(run.hparams.lr?.value, 0.01);
    const o = observeRun(run, 'train_loss', {});
    assert.ok(o.converged?.tail_start_step !== null && (o.converged?.tail_start_step as number) < 300, 'the window reaches back over the drop');
    assert.equal(o.hasSchedule, true);
    assert.equal(o.lr, null);
    assert.match(o.point.excluded_reason ?? '', /η changes inside the converged-loss window; measured through its constant-η segments/);
    assert.match(o.lrNotes.join('\n'), /η changed inside the window where the converged loss is measured \(steps \d+–399: 'lr' 0\.1 → 0\.01, 1 change\)/);
    const unit = observeUnit([o], { tag: 'train_loss', reason: 'test' });
    assert.equal(unit.observed.events.length, 1);
    assert.equal(unit.observed.events[0].step, 300);
    assert.ok(unit.warnings.some((w) => w.code === 'lr_series' && w.run === 'plateau'));
  });

  it('a warmup before the window: the run gets the η in force over the window (not the whole-run range) and joins a sweep', () => {
    const warm = (peak: number) => (s: number) => (s < 40 ? (peak * (s + 1)) / 40 : peak);
    const runs = [0.05, 0.1].map((peak, i) =>
      makeRun(`warm${i}`, { train_loss: noisy(400, (s) => (s < 40 ? 3 - s / 20 : 1 + peak), i + 3), learning_rate: series(400, warm(peak)) }),
    );
    const obs = runs.map((r) => observeRun(r, 'train_loss', {}));
    for (const [i, o] of obs.entries()) {
      assert.ok((o.converged?.tail_start_step as number) >= 40, `tail of ${o.run.id} starts after the warmup`);
      assert.equal(o.hasSchedule, false);
      assert.equal(o.lr, [0.05, 0.1][i]);
      assert.match(o.lrSource ?? '', /^logged series 'learning_rate', in force over the converged-loss window \(steps \d+–399\)$/);
      assert.match(o.lrNotes.join('\n'), /η changed before the converged-loss window \(warmup or decay/);
      assert.equal(o.point.excluded_reason, undefined);
    }
    const unit = observeUnit(obs, { tag: 'train_loss', reason: 'test' });
    assert.equal(unit.observed.fit.method, 'wls_sweep');
  });

  it('a stated η that differs from the logged value in force over the window: the logged one, with a note', () => {
    const run = makeRun('stated', { train_loss: noisy(300, () => 1), lr: series(300, () => 0.02) }, { lr: 0.1 });
    const o = observeRun(run, 'train_loss', {});
    assert.equal(o.lr, 0.02);
    assert.match(o.lrNotes.join('\n'), /config\.yaml: lr states η = 0\.1, but the logged 'lr' in force over steps \d+–299 is 0\.02: using the logged value/);
  });

  it('Lightning parameter groups: one η when they agree; the first group, with a note, when they do not', () => {
    const agree = makeRun('agree', { train_loss: noisy(300, () => 1), 'lr-SGD/pg0': series(300, () => 0.1), 'lr-SGD/pg1': series(300, () => 0.1) });
    const a = observeRun(agree, 'train_loss', {});
    assert.equal(a.lr, 0.1);
    assert.equal(a.lrNotes.length, 0);
    const differ = makeRun('differ', { train_loss: noisy(300, () => 1), 'lr-SGD/pg0': series(300, () => 0.1), 'lr-SGD/pg1': series(300, () => 0.01) });
    const d = observeRun(differ, 'train_loss', {});
    assert.equal(d.lr, 0.1);
    assert.equal(d.hasSchedule, false);
    assert.match(d.lrNotes.join('\n'), /its 2 parameter groups have different learning rates over steps \d+–299 \(lr-SGD\/pg0 = 0\.1, lr-SGD\/pg1 = 0\.01\): η is the first group's, 'lr-SGD\/pg0'/);
  });

  it('YOLO x/lr0..2: the bias group\'s warmup differs only before the window, so the groups agree where it counts', () => {
    const warm = (start: number) => (s: number) => (s < 30 ? start + ((0.01 - start) * s) / 30 : 0.01);
    const run = makeRun('yolo', { 'train/box_loss': noisy(300, (s) => (s < 30 ? 2 - s / 30 : 1)), 'x/lr0': series(300, warm(0)), 'x/lr1': series(300, warm(0)), 'x/lr2': series(300, warm(0.1)) });
    assert.equal(run.lrTag, 'x/lr0');
    const o = observeRun(run, 'train/box_loss', {});
    assert.equal(o.lr, 0.01);
    assert.ok(!o.lrNotes.some((n) => /parameter groups/.test(n)), o.lrNotes.join('\n'));
  });

  it('a run whose lr is constant over the window, with no stated η, gets that value; the user\'s --set-lr is kept', () => {
    const run = makeRun('keras', { loss: noisy(200, () => 0.5), lr: series(200, () => 0.003) });
    const o = observeRun(run, 'loss', {});
    assert.equal(o.lr, 0.003);
    assert.deepEqual(o.lrNotes, []);
    const user: Run = { ...run, hparams: { ...run.hparams, lr: { value: 0.004, source: 'flag --set-lr' } } };
    assert.equal(observeRun(user, 'loss', {}).lr, 0.004);
  });
});
