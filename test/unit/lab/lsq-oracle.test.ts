import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabSetup } from '../../../src/core/lab/config';
import { openLab } from '../../../src/core/lab/open';
import { trainRun } from '../../../src/core/lab/train';
import { writeNpy } from '../../../src/core/data/npy';
import { buildSequential } from '../../../src/core/model/build';
import { saveLayersModel } from '../../../src/core/model/load';
import { setFlatParams, trainableParams } from '../../../src/core/model/params';
import { initBackend } from '../../../src/core/tf/backend';
import { oracleExcess, type OracleSetup } from '../../support/oracle/lsq-oracle';
import { randomLsqProblem, type LsqProblem } from '../../support/oracle/lsq-problem';
import { tempDir } from './fixtures';

/**
 * The lab's stationary full-training-set loss against the exact oracle of THEORY.md §4
 * (test/support/oracle/lsq-oracle.ts, an independent linear-algebra solution for E[eeᵀ]).
 * The lab trains a Keras `Dense(1, use_bias=False)` with loss `mse`, i.e. ℓ_b = (x_bᵀw − y_b)² = 2·ℓ_oracle;
 * SGD on 2ℓ with step η and coupled weight decay λ is SGD on ℓ with step 2η and decay λ/2 (momentum
 * buffers scale by 2), so L_lab(η) = 2·[L_data(w*) + excessData(2η)] exactly.
 * Tolerance: 4 standard errors of the tail mean (batch means over 20 batches, THEORY.md §5), and each
 * test first checks that its SE is below 1.5% of the excess, so a missing factor such as (N−B)/(N−1)
 * (8% here) or (1−d)/(1−β) would fail it.
 */
describe('lab vs the exact least-squares oracle (THEORY.md §4)', function () {
  this.timeout(60000);
  const tmp = tempDir('lsq');
  after(() => tmp.cleanup());

  /** The problem as float32 numbers, so the oracle and the lab (which reads float32 .npy) see the same data. */
  const problem: LsqProblem = (() => {
    const p = randomLsqProblem(21, 40, 4, 0.7);
    return { X: p.X.map((r) => r.map(Math.fround)), y: p.y.map(Math.fround) };
  })();

  async function checkpoint(dir: string, wStar: number[]): Promise<{ model: string; data: string; labels: string }> {
    await initBackend('cpu');
    const m = buildSequential([4], [{ type: 'dense', units: 1, useBias: false }]);
    setFlatParams(trainableParams(m), wStar);
    await saveLayersModel(m, join(dir, 'model'), { loss: 'mse' });
    writeNpy(join(dir, 'x.npy'), Float32Array.from(problem.X.flat()), [40, 4]);
    writeNpy(join(dir, 'y.npy'), Float32Array.from(problem.y), [40]);
    return { model: join(dir, 'model', 'model.json'), data: join(dir, 'x.npy'), labels: join(dir, 'y.npy') };
  }

  function tailMeanAndSe(values: number[]): { mean: number; se: number } {
    const k = 20;
    const len = Math.floor(values.length / k);
    const means = Array.from({ length: k }, (_, i) => values.slice(i * len, (i + 1) * len).reduce((a, b) => a + b, 0) / len);
    const mean = means.reduce((a, b) => a + b, 0) / k;
    const sd = Math.sqrt(means.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1));
    return { mean, se: sd / Math.sqrt(k) };
  }

  const cases: { name: string; lab: Omit<LabSetup, 'seed' | 'steps' | 'burnIn' | 'logEvery' | 'fullLossEvery'>; lr: number; steps: number }[] = [
    { name: 'B = 1, i.i.d.', lab: { batchSize: 1, sampling: 'with_replacement', momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 }, lr: 0.01, steps: 400000 },
    { name: 'B = 4 without replacement, weight decay 0.2', lab: { batchSize: 4, sampling: 'without_replacement', momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.2 }, lr: 0.04, steps: 1000000 },
    { name: 'B = 2 i.i.d., heavy ball β = 0.6, dampening 0.3', lab: { batchSize: 2, sampling: 'with_replacement', momentum: 0.6, dampening: 0.3, nesterov: false, weightDecay: 0 }, lr: 0.01, steps: 400000 },
    { name: 'B = 2 i.i.d., Nesterov β = 0.5', lab: { batchSize: 2, sampling: 'with_replacement', momentum: 0.5, dampening: 0, nesterov: true, weightDecay: 0 }, lr: 0.015, steps: 400000 },
  ];

  for (const [i, c] of cases.entries()) {
    it(`${c.name}: stationary full-set loss = exact L(η) within 4 SE`, async () => {
      const setup: OracleSetup = {
        batchSize: c.lab.batchSize,
        sampling: c.lab.sampling === 'with_replacement' ? 'with_replacement' : 'without_replacement',
        momentum: c.lab.momentum,
        dampening: c.lab.dampening,
        nesterov: c.lab.nesterov,
        weightDecay: c.lab.weightDecay / 2,
      };
      const oracle = oracleExcess(problem, setup, 2 * c.lr);
      const expected = 2 * (oracle.stats.LdataStar + oracle.excessData);
      const excess = 2 * oracle.excessData;
      const dir = join(tmp.dir, String(i));
      const f = await checkpoint(dir, oracle.stats.wStar);
      const lab = await openLab({ model: f.model, data: { data: f.data, labels: f.labels }, engine: 'auto', backend: 'cpu', batchSize: c.lab.batchSize });
      assert.equal(lab.model.engine, 'dense-f64');
      const burnIn = 20000;
      await trainRun(lab.model, lab.initial, {
        logs: { tfevents: join(dir, 'tb'), csv: join(dir, 'csv') },
        stateFile: join(dir, 'state'),
        lr: c.lr,
        setup: { ...c.lab, seed: 7 + i, steps: c.steps, burnIn, logEvery: 50, fullLossEvery: 50 },
        hparams: {},
      });
      const rows = readFileSync(join(dir, 'csv', 'metrics.csv'), 'utf8').trim().split('\n').slice(1);
      const full = rows.map((r) => Number(r.split(',')[2]));
      const { mean, se } = tailMeanAndSe(full);
      if (process.env.HEATCAP_VERBOSE) console.log(`${c.name}: lab ${mean} ± ${se}, oracle ${expected}, z = ${((mean - expected) / se).toFixed(2)}, SE/excess = ${(se / excess).toFixed(4)}`);
      assert.ok(se < 0.015 * excess, `SE ${se} too large for a discriminating test (excess ${excess})`);
      assert.ok(Math.abs(mean - expected) < 4 * se, `lab ${mean} ± ${se}, oracle ${expected} (excess ${excess}, off by ${((mean - expected) / excess) * 100}% of it)`);
      lab.model.dispose();
    });
  }
});
