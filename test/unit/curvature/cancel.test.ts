import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { CancelSource } from '../../../src/core/cancel';
import { computeSubspaceCurvature } from '../../../src/core/curvature';
import { CancelledError } from '../../../src/core/errors';

const MLP = join(__dirname, '..', '..', 'fixtures', 'curvature', 'mlp');
const spec = { model: join(MLP, 'model.onnx'), data: { data: join(MLP, 'x.npy'), labels: join(MLP, 'y.npy') }, loss: 'cross_entropy' };

describe('curvature: progress and cancellation', function () {
  this.timeout(120000);

  it('reports progress in order through every phase, ending at 1', async () => {
    const seen: { fraction?: number; message?: string }[] = [];
    const r = await computeSubspaceCurvature(spec, { k: 2, maxExamples: 20 }, undefined, (p) => seen.push(p));
    assert.equal(r.n, 20);
    const f = seen.map((p) => p.fraction ?? 0);
    f.slice(1).forEach((x, i) => assert.ok(x >= f[i] - 1e-12, `progress went back: ${f[i]} → ${x} (${seen[i + 1].message})`));
    assert.ok(Math.abs(f[f.length - 1] - 1) < 1e-12);
    for (const phase of ['per-example gradient norms', 'eigenpairs: Lanczos', 'residuals', 'per-example projections']) {
      assert.ok(seen.some((p) => p.message?.startsWith(phase)), `no progress from '${phase}'`);
    }
  });

  it('stops with CancelledError when cancelled during Lanczos', async () => {
    const cancel = new CancelSource();
    await assert.rejects(
      computeSubspaceCurvature(spec, { k: 3 }, cancel.token, (p) => {
        if (p.message?.includes('Lanczos step 2')) cancel.cancel();
      }),
      (e) => e instanceof CancelledError,
    );
  });
});
