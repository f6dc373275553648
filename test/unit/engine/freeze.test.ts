import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeOnnxPartial } from '../../../src/core/engine/compute';
import { openEngineProblem } from '../../../src/core/engine/problem';
import { finishStats } from '../../../src/core/gradnorm/engine';
import { isHeatcapError } from '../../../src/core/errors';

/**
 * `--freeze`: parameters SGD did not train (requires_grad=False) are constants of the graph, so E‖g_b‖² is
 * the sum of the trained parameters' per-weight means. Oracle: the PyTorch float64 per-weight means of
 * test/fixtures/onnx/mlp (make_fixtures.py), which do not depend on what else is differentiated.
 */
const DIR = join(__dirname, '../../fixtures/onnx/mlp');
const oracle = JSON.parse(readFileSync(join(DIR, 'oracle.json'), 'utf8')) as { per_weight: { name: string; mean_sq_norm: number }[]; mean_loss: number };
const files = { data: join(DIR, 'x.npy'), labels: join(DIR, 'y.npy') };

async function run(frozen: string[]) {
  const problem = await openEngineProblem({ model: join(DIR, 'model.onnx'), data: files, loss: 'cross_entropy', frozen });
  try {
    const r = await computeOnnxPartial(problem, { threads: 1, chunkSize: 64 });
    return { stats: finishStats([r], r.partial, r.seconds), notes: r.notes };
  } finally {
    problem.close();
  }
}

describe('ONNX engine: frozen parameters (--freeze)', function () {
  this.timeout(60_000);

  it('a module prefix freezes its weight and bias: E‖g_b‖² is the trained parameters’ sum (1e-4), the loss unchanged, and a note lists them', async () => {
    const { stats, notes } = await run(['0']);
    const kept = oracle.per_weight.filter((w) => !w.name.startsWith('0.'));
    const want = kept.reduce((a, w) => a + w.mean_sq_norm, 0);
    assert.deepEqual(stats.perWeight.map((w) => w.name), ['2.weight', '2.bias']);
    assert.ok(Math.abs(stats.meanSqNorm - want) / want < 1e-4, `${stats.meanSqNorm} vs ${want}`);
    assert.ok(Math.abs(stats.meanLoss - oracle.mean_loss) / oracle.mean_loss < 1e-4);
    assert.ok(notes.some((n) => /^frozen \(not trained, left out of g_b\): 2 parameters, .*0\.weight, 0\.bias/.test(n)), notes.join('\n'));
  });

  it('an exact name freezes only that parameter (prefix "2.bias" does not reach "2.weight")', async () => {
    const { stats } = await run(['2.bias']);
    assert.deepEqual(stats.perWeight.map((w) => w.name), ['0.weight', '0.bias', '2.weight']);
  });

  it('a name that matches nothing, or freezing everything, is an error naming the model and its parameters', async () => {
    for (const [frozen, pattern] of [
      [['2.w'], /--freeze '2\.w' names no parameter of this model.*its parameters: 0\.weight, 0\.bias, 2\.weight, 2\.bias/],
      [['0', '2'], /--freeze leaves no trained parameter \(all 4 are frozen\)/],
    ] as const) {
      await assert.rejects(
        () => run([...frozen]),
        (e: unknown) => isHeatcapError(e) && e.file === join(DIR, 'model.onnx') && pattern.test(e.message),
      );
    }
  });
});
