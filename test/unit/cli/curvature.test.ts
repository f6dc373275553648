import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { runCli } from '../../support/cli';

const digits = path.resolve(__dirname, '../../../examples/digits');

/** `heatcap curvature` on the digits MLP's ONNX export, two eigenpairs, 100 examples for the projections, plus `extra`. */
const digitsOnnxArgs = (...extra: string[]) => [
  'curvature',
  '--model', path.join(digits, 'checkpoints/mlp-onnx/model.onnx'),
  '--data', path.join(digits, 'data/x.npy'),
  '--labels', path.join(digits, 'data/y.npy'),
  '--loss', 'cross_entropy',
  '--eigenpairs', '2',
  '--max-examples', '100',
  ...extra,
  '--json',
];

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

  // Oracle: the native runtime's own λ_1 (a different ORT build running the same program); float32
  // differences agree to the products' stated error (~1e-4), so 1e-3 relative.
  it('--runtime wasm runs the Hessian-vector products on onnxruntime-web, says so, and agrees with native', async () => {
    const args = (runtime: string) => digitsOnnxArgs('--runtime', runtime);
    const wasm = await runCli(args('wasm'));
    assert.equal(wasm.code, 0, wasm.err);
    const native = await runCli(args('native'));
    assert.equal(native.code, 0, native.err);
    const w = JSON.parse(wasm.out);
    const n = JSON.parse(native.out);
    assert.ok(w.notes.some((t: string) => /ONNX Runtime \(wasm/.test(t)), w.notes.join('\n'));
    assert.ok(!n.notes.some((t: string) => /ONNX Runtime \(wasm/.test(t)), n.notes.join('\n'));
    const rel = Math.abs(w.eigenvalues[0].value - n.eigenvalues[0].value) / n.eigenvalues[0].value;
    assert.ok(rel < 1e-3, `λ_1 wasm ${w.eigenvalues[0].value} vs native ${n.eigenvalues[0].value}`);
    const bad = await runCli(['curvature', '--model', 'm.json', '--data', 'x.npy', '--runtime', 'gpu']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--runtime must be auto, native, wasm/);
  });

  // Oracle: the exact forward-over-reverse products (a different computation: tangent rules, no step);
  // float32 differences carry the step's stated error (~1e-4 relative on the products), so 1e-3 on λ.
  it('--hvp differences runs central differences, says so in hvp and the notes, and agrees with the exact products', async () => {
    const args = (hvp: string) => digitsOnnxArgs('--hvp', hvp);
    const d = await runCli(args('differences'));
    assert.equal(d.code, 0, d.err);
    const e = await runCli(args('auto'));
    assert.equal(e.code, 0, e.err);
    const dj = JSON.parse(d.out);
    const ej = JSON.parse(e.out);
    assert.equal(dj.hvp, 'central_difference_float32');
    assert.equal(ej.hvp, 'r_operator_float32');
    assert.ok(dj.notes.some((t: string) => /central differences asked for/.test(t)), dj.notes.join('\n'));
    for (let i = 0; i < 2; i++) {
      const rel = Math.abs(dj.eigenvalues[i].value - ej.eigenvalues[i].value) / ej.eigenvalues[0].value;
      assert.ok(rel < 1e-3, `λ_${i + 1} differences ${dj.eigenvalues[i].value} vs exact ${ej.eigenvalues[i].value}`);
    }
    const bad = await runCli(['curvature', '--model', 'm.json', '--data', 'x.npy', '--hvp', 'exact']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--hvp must be auto or differences/);
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
