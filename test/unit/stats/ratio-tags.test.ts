import { strict as assert } from 'node:assert';
import { slopeRatioCi } from '../../../src/core/stats/ratio';
import { chooseLossTag } from '../../../src/core/stats/tags';
import { Rng } from '../../support/oracle/rng';

describe('slopeRatioCi', () => {
  it('exact denominator: (s ± 1.96·SE)/p (oracle: arithmetic; tol 1e-12)', () => {
    const r = slopeRatioCi(0.5, 0.01, 0.5);
    assert.equal(r.method, 'exact_denominator');
    assert.ok(Math.abs((r.ratio as number) - 1) < 1e-12);
    const c = 1.959963984540054;
    assert.ok(Math.abs((r.ci as [number, number])[0] - (0.5 - c * 0.01) / 0.5) < 1e-12);
    assert.ok(Math.abs((r.ci as [number, number])[1] - (0.5 + c * 0.01) / 0.5) < 1e-12);
    // t with 3 dof: t_{0.975,3} = 3.182446305284263.
    const t = slopeRatioCi(0.5, 0.01, 0.5, 3);
    assert.ok(Math.abs((t.ci as [number, number])[1] - (0.5 + 3.182446305284263 * 0.01) / 0.5) < 1e-9);
  });

  it('Fieller interval covers the true ratio at the nominal rate when both slopes are noisy (2000 draws; oracle: known ratio; tol 3 binomial sd)', () => {
    const rng = new Rng(77);
    let hits = 0;
    const trials = 2000;
    for (let i = 0; i < trials; i++) {
      const so = 0.9 * 0.4 + 0.05 * rng.normal();
      const sp = 0.4 + 0.03 * rng.normal();
      const r = slopeRatioCi(so, 0.05, sp, null, 0.03);
      assert.equal(r.method, 'fieller');
      if (r.ci && r.ci[0] <= 0.9 && 0.9 <= r.ci[1]) hits++;
    }
    assert.ok(Math.abs(hits / trials - 0.95) <= 3 * Math.sqrt((0.95 * 0.05) / trials), `coverage ${hits / trials}`);
  });

  it('returns no ratio for a non-positive prediction and an unbounded Fieller interval when the prediction is insignificant', () => {
    assert.equal(slopeRatioCi(0.5, 0.01, 0).ratio, null);
    const r = slopeRatioCi(0.5, 0.01, 0.05, null, 0.05);
    assert.equal(r.ci, null);
    assert.match(r.note, /unbounded/);
  });
});

describe('chooseLossTag', () => {
  it('prefers full-set over epoch-mean over per-step training loss and says why', () => {
    const tags = [
      { name: 'train/loss', kind: 'train_step_loss' as const, count: 10000 },
      { name: 'epoch_loss', kind: 'train_epoch_loss' as const, count: 50 },
      { name: 'val_loss', kind: 'eval_loss' as const, count: 50 },
      { name: 'full_train_loss', kind: 'full_train_loss' as const, count: 100 },
    ];
    const c = chooseLossTag(tags);
    assert.equal(c.tag, 'full_train_loss');
    assert.match(c.reason, /preferred over epoch-mean training loss "epoch_loss", per-step minibatch training loss "train\/loss"/);
    assert.equal(chooseLossTag(tags.slice(0, 3)).tag, 'epoch_loss');
    // A reader's `full_dataset` basis upgrades an epoch-kind tag.
    assert.equal(chooseLossTag([tags[1], { name: 'loss_full', kind: 'train_epoch_loss', basis: 'full_dataset', count: 5 }]).tag, 'loss_full');
  });

  it('never picks an evaluation loss silently, but honours an explicit request with a note', () => {
    const tags = [{ name: 'validation/epoch_loss', kind: 'eval_loss' as const, count: 10 }, { name: 'lr', kind: 'lr' as const, count: 10 }];
    const c = chooseLossTag(tags);
    assert.equal(c.tag, null);
    assert.match(c.reason, /only evaluation losses \(validation\/epoch_loss\)/);
    const r = chooseLossTag(tags, 'validation/epoch_loss');
    assert.equal(r.tag, 'validation/epoch_loss');
    assert.match(r.reason, /evaluation loss/);
    assert.equal(chooseLossTag(tags, 'nope').tag, null);
  });
});
