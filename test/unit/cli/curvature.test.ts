import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { runCli } from '../../support/cli';

const digits = path.resolve(__dirname, '../../../examples/digits');

describe('heatcap curvature (CLI contract)', function () {
  this.timeout(180_000);

  // Oracle: 2/λ_1 by hand from the printed λ_1 (SGD, no momentum); the mean-square limit lies below it (THEORY.md §4).
  it('prints the top eigenpairs with residuals and both limits for the digits softmax checkpoint (--json)', async () => {
    const r = await runCli([
      'curvature',
      '--model', path.join(digits, 'checkpoints/softmax/model.json'),
      '--data', path.join(digits, 'data/x.npy'),
      '--labels', path.join(digits, 'data/y.npy'),
      '--eigenpairs', '3',
      '--batch-size', '8',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.parameters, 650);
    assert.equal(j.k, 3);
    assert.equal(j.converged, true);
    assert.equal(j.eigenvalues.length, 3);
    assert.ok(j.eigenvalues[0].value >= j.eigenvalues[1].value && j.eigenvalues[1].value >= j.eigenvalues[2].value);
    assert.ok(j.eigenvalues.every((e: { residual: number }) => e.residual < 1e-6));
    assert.ok(Math.abs(j.limits.deterministic - 2 / j.eigenvalues[0].value) < 1e-12 * j.limits.deterministic);
    assert.ok(j.limits.mean_square > 0 && j.limits.mean_square < j.limits.deterministic, JSON.stringify(j.limits));
  });

  it('without --model or with a bad --sampling: one line naming the flag, non-zero exit', async () => {
    const a = await runCli(['curvature', '--data', 'x.npy']);
    assert.notEqual(a.code, 0);
    assert.match(a.err, /--model and --data are required/);
    const b = await runCli(['curvature', '--model', 'm.json', '--data', 'x.npy', '--sampling', 'reshuffle']);
    assert.notEqual(b.code, 0);
    assert.match(b.err, /--sampling must be with_replacement or without_replacement/);
  });
});
