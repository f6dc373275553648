import { strict as assert } from 'node:assert';
import { classifyTag, classifyTags, isLrTag, pickLrTag, summarizeTags } from '../../../src/core/runs/tags';

describe('tag classification', () => {
  it('classes the names written by common tools', () => {
    const cases: [string, string, string?][] = [
      ['loss', 'train_step_loss', 'minibatch'],
      ['train_loss', 'train_step_loss', 'minibatch'],
      ['train/loss', 'train_step_loss', 'minibatch'],
      ['Loss/train', 'train_step_loss', 'minibatch'],
      ['batch_loss', 'train_step_loss', 'minibatch'],
      ['train_loss_step', 'train_step_loss', 'minibatch'],
      ['epoch_loss', 'train_epoch_loss', 'epoch_mean'],
      ['train_loss_epoch', 'train_epoch_loss', 'epoch_mean'],
      ['loss_epoch', 'train_epoch_loss', 'epoch_mean'],
      ['full_train_loss', 'train_epoch_loss', 'full_dataset'],
      ['eval_loss', 'eval_loss'],
      ['val_loss', 'eval_loss'],
      ['validation/epoch_loss', 'eval_loss'],
      ['eval_g3_loss', 'eval_loss'],
      ['Loss/test', 'eval_loss'],
      ['evaluation_loss_vs_iterations', 'eval_loss'],
      ['lr', 'lr'],
      ['lr-SGD', 'lr'],
      ['lr-SGD/pg1', 'lr'],
      ['learning_rate', 'lr'],
      ['train/lr', 'lr'],
      ['epoch_learning_rate', 'lr'],
      ['lr-SGD-momentum', 'other'],
      ['loss_scale', 'other'],
      ['summary/train_loss', 'other'],
      ['accuracy', 'other'],
      ['grad_norm', 'other'],
    ];
    for (const [tag, kind, basis] of cases) {
      const c = classifyTag(tag);
      assert.equal(c.kind, kind, tag);
      if (basis) assert.equal(c.basis, basis, tag);
    }
  });

  it('reads a plain `loss` as an epoch mean when the run\'s steps are epochs (Keras CSVLogger)', () => {
    assert.deepEqual(classifyTag('loss', { stepUnit: 'epoch' }), { kind: 'train_epoch_loss', basis: 'epoch_mean' });
  });

  it('orders candidates: full-dataset, epoch, step training losses, then eval, lr, other', () => {
    const s = (n: number) => ({ steps: new Array(n).fill(0), values: new Array(n).fill(0) });
    const order = classifyTags({ scalars: { acc: s(5), lr: s(5), val_loss: s(5), loss: s(100), train_loss_epoch: s(10), full_train_loss: s(3) } }).map((c) => c.tag);
    assert.deepEqual(order, ['full_train_loss', 'train_loss_epoch', 'loss', 'val_loss', 'lr', 'acc']);
  });

  it('picks the learning-rate series: lr before lr-<Opt> before per-group', () => {
    const s = { steps: [1], values: [0.1] };
    assert.equal(pickLrTag({ 'lr-SGD/pg2': s, 'lr-SGD': s, loss: s }), 'lr-SGD');
    assert.equal(pickLrTag({ 'lr-SGD': s, lr: s }), 'lr');
    assert.equal(pickLrTag({ loss: s }), undefined);
    assert.ok(!isLrTag('clr'));
  });

  it('summarises tags with null for non-finite or missing numbers', () => {
    const sum = summarizeTags({ scalars: { a: { steps: [1, 5], values: [1, NaN] }, e: { steps: [], values: [] } } });
    assert.deepEqual({ ...sum }, { a: { count: 2, first_step: 1, last_step: 5, last_value: null }, e: { count: 0, first_step: null, last_step: null, last_value: null } });
  });
});
