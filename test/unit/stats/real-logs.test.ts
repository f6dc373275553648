/**
 * The stats on a real log written by another tool, read in place (never copied): a HuggingFace Trainer
 * state with a constant learning rate and 30 epoch-level training losses that are still falling. The
 * file is parsed with plain JSON here so the test does not depend on the project's readers.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { convergedLoss } from '../../../src/core/stats/converged';
import { analyseSchedule } from '../../../src/core/stats/schedule';
import { chooseLossTag } from '../../../src/core/stats/tags';
import { requireRealLogOrSkip } from '../../support/external';

interface Entry { step: number; loss?: number; learning_rate?: number; [k: string]: unknown }

describe('stats on a real HuggingFace trainer_state.json', () => {
  // Read in a hook, not at load time: without ../shared (a bare clone) these tests skip, with the reason printed.
  let history: Entry[] = [];
  let train: Entry[] = [];
  let loss = { steps: [] as number[], values: [] as number[] };
  let lr = { steps: [] as number[], values: [] as number[] };
  before(function () {
    const file = requireRealLogOrSkip(this, 'hf-trainer-state/trainer_state.json');
    history = (JSON.parse(readFileSync(file, 'utf8')) as { log_history: Entry[] }).log_history;
    train = history.filter((e) => typeof e.loss === 'number');
    loss = { steps: train.map((e) => e.step), values: train.map((e) => e.loss as number) };
    lr = { steps: train.map((e) => e.step), values: train.map((e) => e.learning_rate as number) };
  });

  it('flags the 30-point, still-decreasing training loss as too short and trending instead of reporting a converged value as if it were', () => {
    assert.equal(train.length, 30);
    const r = convergedLoss(loss);
    assert.ok(r.flags.includes('too_short'), r.flags.join());
    assert.ok(r.flags.includes('trend'), `trend p = ${r.trend?.p_value}`);
    assert.equal(r.stationary, false);
    assert.ok(r.trend !== null && r.trend.slope_per_step < 0);
    // The reported mean is that of the second half, the window it says it used.
    const half = loss.values.slice(15);
    assert.ok(Math.abs((r.mean as number) - half.reduce((s, v) => s + v, 0) / half.length) < 1e-12);
  });

  it('finds no schedule events under the constant learning rate of 1e-5', () => {
    const a = analyseSchedule(lr, loss);
    assert.equal(a.events.length, 0);
    assert.match(a.notes.join(' '), /never changes/);
  });

  it('picks the training loss, never one of the six evaluation losses', () => {
    const evalTags = Object.keys(history.find((e) => Object.keys(e).some((k) => /^eval_.*loss$/.test(k))) ?? {}).filter((k) => /^eval_.*loss$/.test(k));
    assert.ok(evalTags.length >= 1);
    const tags = [{ name: 'loss', kind: 'train_step_loss' as const, count: 30 }, ...evalTags.map((name) => ({ name, kind: 'eval_loss' as const, count: 30 }))];
    assert.equal(chooseLossTag(tags).tag, 'loss');
    assert.equal(chooseLossTag(tags.slice(1)).tag, null);
  });
});
