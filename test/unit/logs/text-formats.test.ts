import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseJsonLenient } from '../../../src/core/logs/json-lenient';
import { readJsonlLog } from '../../../src/core/logs/read';
import { readTrainerState } from '../../../src/core/logs/trainer-state';
import { readMlflowRun } from '../../../src/core/logs/mlflow';
import { isHeatcapError } from '../../../src/core/errors';
import { requireRealLogOrSkip } from '../../support/external';
import { cleanupTempDirs, tempDir, writeMlflowRun, writeText, writeTrainerState } from '../../support/logs/fixtures';

describe('JSON with NaN / Infinity (Python json.dumps)', () => {
  it('parses the bare tokens outside strings and leaves strings alone', () => {
    const v = parseJsonLenient('{"a": NaN, "b": [Infinity, -Infinity], "s": "NaN and Infinity", "n": 1}') as Record<string, unknown>;
    assert.ok(Number.isNaN(v.a as number));
    assert.deepEqual(v.b, [Infinity, -Infinity]);
    assert.equal(v.s, 'NaN and Infinity');
    assert.equal(v.n, 1);
  });

  it('still rejects invalid JSON with a SyntaxError, and never throws anything else (property)', () => {
    assert.throws(() => parseJsonLenient('{"a": NaN'), SyntaxError);
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          parseJsonLenient(s);
        } catch (e) {
          if (!(e instanceof SyntaxError)) throw e;
        }
        return true;
      }),
      { seed: 1, numRuns: 1000 },
    );
  });
});

describe('JSONL, trainer_state.json and MLflow readers', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(cleanupTempDirs);

  it('JSONL: step key, nested objects as a/b tags, NaN tokens, bad lines skipped and counted', async () => {
    const file = await writeText(
      join(dir, 'log.jsonl'),
      ['{"step": 1, "loss": 0.5, "train": {"acc": 0.1}}', 'not json', '{"step": 2, "loss": NaN}', '[1,2]', '{"loss": 3}', '{"step": 3, "loss": 0.25, "note": "x"}', ''].join('\n'),
    );
    const data = await readJsonlLog(file);
    assert.deepEqual(data.scalars.loss, { steps: [1, 2, 3], values: [0.5, NaN, 0.25] });
    assert.deepEqual(data.scalars['train/acc'], { steps: [1], values: [0.1] });
    assert.equal(data.warnings.length, 2);
    assert.match(data.warnings[0].message, /2 line\(s\) were not JSON objects.*line 2, 4/);
  });

  it('JSONL: a last line cut mid-object (a run still writing) is said to be incomplete, not counted as a bad line', async () => {
    const file = await writeText(join(dir, 'writing.jsonl'), '{"step": 1, "loss": 0.5}\n{"step": 2, "loss": 0.4}\n{"step": 3, "lo');
    const data = await readJsonlLog(file);
    assert.deepEqual(data.scalars.loss, { steps: [1, 2], values: [0.5, 0.4] });
    assert.deepEqual(data.warnings.map((w) => w.message), ['the last line (3) has no line end and is not a whole JSON object yet (still being written?); skipped']);
  });

  it('JSONL: keeps every intact line when random garbage lines are inserted (property)', async () => {
    const file = join(dir, 'fuzz.jsonl');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')), { maxLength: 6 }), fc.nat(15), async (junk, at) => {
        const lines = Array.from({ length: 15 }, (_, i) => JSON.stringify({ step: i, loss: i / 2 }));
        // A junk line that happens to be a JSON object with a step would be data, not junk: avoid it.
        lines.splice(at, 0, ...junk.map((j) => `#${j}`));
        await writeText(file, lines.join('\n') + '\n');
        const data = await readJsonlLog(file);
        assert.deepEqual(data.scalars.loss.steps, Array.from({ length: 15 }, (_, i) => i));
      }),
      { seed: 2, numRuns: 60 },
    );
  });

  it('trainer_state.json (real file): training entries and six evaluation sets kept apart', async function () {
    const data = await readTrainerState(requireRealLogOrSkip(this, 'hf-trainer-state/trainer_state.json'));
    const tags = Object.keys(data.scalars);
    for (let g = 0; g < 6; g++) assert.ok(tags.includes(`eval_g${g}_loss`), `eval_g${g}_loss`);
    assert.ok(tags.includes('loss') && tags.includes('learning_rate') && tags.includes('grad_norm'));
    assert.ok(!tags.some((t) => t.startsWith('summary/')), 'this state has no final summary entry');
    // README: constant learning rate 1e-05 on each training entry; train_batch_size 4.
    assert.ok(data.scalars.learning_rate.values.every((v) => v === 1e-5));
    assert.equal(data.params[0].values.train_batch_size, 4);
    // Six eval sets at the same steps stay six series of equal length.
    const n = data.scalars.eval_g0_loss.steps.length;
    for (let g = 1; g < 6; g++) assert.deepEqual(data.scalars[`eval_g${g}_loss`].steps, data.scalars.eval_g0_loss.steps);
    assert.ok(n >= 30);
  });

  it('trainer_state.json: the final summary entry goes under summary/, apart from the training loss', async () => {
    const d = join(dir, 'hf-sum');
    await writeTrainerState(d, {
      log_history: [
        { step: 10, epoch: 1, loss: 0.9, learning_rate: 0.01 },
        { step: 10, epoch: 1, eval_loss: 1.1 },
        { step: 20, epoch: 2, train_runtime: 12.5, train_loss: 0.95, total_flos: 1e12 },
      ],
    });
    const data = await readTrainerState(join(d, 'trainer_state.json'));
    assert.deepEqual(data.scalars.loss, { steps: [10], values: [0.9] });
    assert.deepEqual(data.scalars.eval_loss, { steps: [10], values: [1.1] });
    assert.deepEqual(data.scalars['summary/train_loss'], { steps: [20], values: [0.95] });
    assert.equal(data.scalars.train_loss, undefined);
  });

  it('trainer_state.json: NaN/Infinity tokens parse; a file without log_history is an error naming it', async () => {
    const a = join(dir, 'hf-a');
    await writeTrainerState(a, {}, '{"log_history": [{"step": 10, "loss": NaN, "epoch": 0.5}, {"step": 20, "loss": Infinity}], "train_batch_size": 8}');
    const data = await readTrainerState(join(a, 'trainer_state.json'));
    assert.deepEqual(data.scalars.loss.values, [NaN, Infinity]);
    const b = join(dir, 'hf-b');
    await writeTrainerState(b, { global_step: 3 });
    await assert.rejects(readTrainerState(join(b, 'trainer_state.json')), (e) => isHeatcapError(e) && /hf-b.*log_history/.test(e.message));
    await writeTrainerState(b, {}, '{"log_history": [');
    await assert.rejects(readTrainerState(join(b, 'trainer_state.json')), (e) => isHeatcapError(e) && /not valid JSON/.test(e.message));
  });

  it('MLflow: metric lines with nan/inf, nested metric keys, params and the run name from meta.yaml', async () => {
    const runDir = await writeMlflowRun(join(dir, 'mlruns', '0'), 'abc123', {
      name: 'sgd-lr-0.1',
      metrics: { loss: [[0, 1.5], [1, 'nan'], [2, 0.5]], 'train/acc': [[0, 0.1], [1, 'inf']] },
      params: { lr: '0.1', batch_size: '32', optimizer: 'SGD' },
    });
    await writeText(join(runDir, 'metrics', 'broken'), '1700000000000 0.5 1\ngarbage line here extra\n1700000000001 0.25 2\n');
    const data = await readMlflowRun(runDir);
    assert.equal(data.name, 'sgd-lr-0.1');
    assert.deepEqual(data.scalars.loss.values, [1.5, NaN, 0.5]);
    assert.deepEqual(data.scalars['train/acc'].values, [0.1, Infinity]);
    assert.deepEqual(data.scalars.loss.wallTimes, [1700000000, 1700000001, 1700000002]);
    assert.deepEqual(data.scalars.broken.steps, [1, 2]);
    assert.equal(data.warnings.length, 1);
    assert.deepEqual({ ...data.params[0].values }, { batch_size: '32', lr: '0.1', optimizer: 'SGD' });
  });
});
