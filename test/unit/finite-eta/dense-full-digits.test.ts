/**
 * The full-parameter solve on the digits softmax checkpoint (examples/digits/checkpoints/softmax, P = 650,
 * the `--finite-eta-full` run on examples/digits/sweeps/softmax-iid: B = 8 with replacement, tolerance 1e-7),
 * pinned to the figures of the previous implementation (plain-JS products over the sparse inputs, before
 * the packed products of src/core/linalg/gemm.ts): Lanczos steps, mean-square limit and L(η) − L* to 1e-10
 * relative (the two differ by floating-point reassociation only). Regression oracle: that implementation;
 * its correctness rests on the independent checks in dense-full.test.ts (the fixed point denseFullExcess and
 * the dense k = P solve, THEORY.md §6 figures), which stay as they are.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { denseLayerCurvature } from '../../../src/core/analysis/finiteEta';
import { denseFullSolution } from '../../../src/core/finite-eta';
import { relClose, sgd } from './curvature-fixtures';

const LIMIT = 2.2923013933954417;
/** [η, L(η) − L*] from the previous implementation. */
const EXCESS: [number, number][] = [
  [0.01, 0.0003522523789381781],
  [0.1, 0.003624882620687355],
  [0.98, 0.050853508042505116],
  [1, 0.0524433758229713],
  [2.063, 0.36925477094869114],
];
/** [fraction of the limit, L(η) − L*]. */
const EXCESS_AT_FRACTION: [number, number][] = [
  [0.05, 0.004174460314742831],
  [0.3, 0.031045841200948582],
  [0.7, 0.12969916314707713],
  [0.9, 0.3693563450036042],
  [0.95, 0.6845610720326404],
];

describe('finite-η full-parameter solve on the digits softmax checkpoint (P = 650): pinned to the previous implementation', function () {
  this.timeout(300_000);

  it('15 Lanczos steps, mean-square limit 2.2923 and L(η) − L* at 0.01…2.063 and 0.05…0.95 of the limit (1e-10 relative)', async () => {
    const repo = join(__dirname, '../../..');
    const layer = await denseLayerCurvature({
      model: join(repo, 'examples/digits/checkpoints/softmax/model.json'),
      data: join(repo, 'examples/digits/data/x.npy'),
      labels: join(repo, 'examples/digits/data/y.npy'),
    });
    assert.ok(layer);
    const sol = denseFullSolution(layer, sgd({ batchSize: 8, datasetSize: 1797 }), { tolerance: 1e-7 });
    assert.ok(sol.converged);
    assert.equal(sol.steps, 15);
    relClose(sol.meanSquareLimit!, LIMIT, 1e-10, 'mean-square limit');
    for (const [eta, v] of EXCESS) relClose(sol.excess(eta)!, v, 1e-10, `η = ${eta}`);
    for (const [fr, v] of EXCESS_AT_FRACTION) relClose(sol.excess(fr * sol.meanSquareLimit!)!, v, 1e-10, `η = ${fr}·limit`);
  });
});
