/**
 * heatcap_torch's opt-in curvature (gradstats(..., curvature=...); issue 20): top-k Hessian eigenpairs by
 * Lanczos on autograd Hessian-vector products and the per-example projections v_iᵀg_b, v_iᵀA_b v_j, checked
 * with /usr/bin/python3 (torch 1.13, CPU) against independent float64 oracles (check_curvature.py): THEORY.md
 * §4.1's least squares in closed form, dense Hessian eigen-solves and explicit per-example Hessians for an MLP
 * and a CNN with BatchNorm in eval(); then 2 gloo ranks against 1 process, and the TypeScript reader
 * (gradstats.json schema_version 2's `curvature` section → SubspaceCurvature) on good and hostile files.
 * CUDA is not exercised here (no GPU on this machine). Skipped, with the reason printed, without torch.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { isHeatcapError } from '../../../src/core/errors';
import { gradStatsInputs, readGradStatsFile } from '../../../src/core/gradstats/read';
import { schemaErrors } from '../../../src/core/gradstats/validate';
import gradstatsSchema from '../../../src/core/result/gradstats.schema.json';
import { runCli } from '../../support/cli';

const PY = '/usr/bin/python3';
const HERE = __dirname;
const REPO = join(__dirname, '../../..');
const torchCheck = spawnSync(PY, ['-c', 'import torch, functorch'], { encoding: 'utf8' });
const skipReason = torchCheck.error ? `${PY} not found` : torchCheck.status !== 0 ? `${PY} cannot import torch and functorch (apt-get install -y python3-torch)` : null;

function py(args: string[], timeoutMs = 120_000): string {
  const r = spawnSync(PY, args, { cwd: HERE, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) throw new Error(`${PY} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return r.stdout;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
const ajvValidate = ajv.compile(gradstatsSchema);

function expectHeatcapError(f: () => unknown, re: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(isHeatcapError(e), `expected a HeatcapError, got ${String(e)}`);
    assert.match((e as Error).message, re);
    return true;
  });
}

type Doc = Record<string, unknown> & { curvature: Record<string, unknown> };

describe('heatcap_torch curvature (Lanczos eigenpairs and per-example projections) and its gradstats.json section', function () {
  this.timeout(180_000);
  let dir: string;
  before(function () {
    if (skipReason) {
      console.log(`      skipped: ${skipReason}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'heatcap-curvature-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('THEORY.md §4.1 least squares: eigenvalues of [[4/3, −5/6], [−5/6, 11/6]], A_b = x_b x_bᵀ and g_b in closed form (float64)', () => {
    const g = JSON.parse(py(['check_curvature.py', 'golden'])).golden;
    assert.equal(g.schema_version, 2);
    assert.equal(g.k, 2); // k = 10 asked, P = 2
    assert.equal(g.n, 6);
    assert.equal(g.converged, true);
    assert.equal(g.method, 'lanczos');
    assert.equal(g.hvp, 'torch_autograd');
    assert.deepEqual(g.indices, [0, 1, 2, 3, 4, 5]);
    assert.ok(g.eig_err < 1e-14, `eigenvalues ${g.eig_err}`);
    g.eigenvalues.forEach((v: number, i: number) => assert.ok(rel(v, g.closed_form[i]) < 1e-14, `λ_${i + 1} ${v} vs ${g.closed_form[i]}`));
    assert.ok(Math.abs(2 / g.eigenvalues[0] - 0.8152089039132809) < 1e-14, '2/λ_max (THEORY.md §4.1)');
    for (const q of ['max_residual', 'VtV_err', 'VtHV_err', 'curv_err', 'grad_err']) assert.ok(g[q] < 1e-13, `${q}: ${g[q]}`);
  });

  for (const kind of ['mlp', 'cnn']) {
    it(`${kind === 'mlp' ? 'MLP (tanh, LayerNorm)' : 'CNN with BatchNorm in eval()'}: λ_1..λ_5 against a dense float64 Hessian eigen-solve (1e-6), per-example projections against explicit per-example Hessians`, () => {
      const r = JSON.parse(py(['check_curvature.py', kind]))[kind];
      assert.equal(r.k, 6);
      assert.equal(r.n, 96);
      assert.equal(r.converged, true);
      assert.ok(r.eig_err_1_5 < 1e-6, `λ_1..5 relative error ${r.eig_err_1_5}`);
      assert.ok(r.max_residual < 1e-8 && r.dense_residual < 1e-8, `residuals ${r.max_residual} (reported), ${r.dense_residual} (dense H)`);
      assert.ok(Math.abs(r.max_residual - r.dense_residual) < 1e-12, 'the reported residuals are the true ones');
      assert.ok(r.vec_err_1_5 < 1e-8, `eigenvectors: 1 − |v·u| = ${r.vec_err_1_5}`);
      assert.ok(r.VtV_err < 1e-12, `orthonormality ${r.VtV_err}`);
      assert.ok(r.curv_err < 1e-10, `v_iᵀA_b v_j vs explicit A_b: ${r.curv_err}`);
      assert.ok(r.grad_err < 1e-10, `v_iᵀg_b vs explicit g_b: ${r.grad_err}`);
      assert.ok(r.mean_curv_vs_lambda < 1e-10, `mean_b VᵀA_bV vs diag(λ): ${r.mean_curv_vs_lambda}`);
      assert.ok(r.mean_grad_proj_err < 1e-10, `mean_b Vᵀg_b vs Vᵀḡ: ${r.mean_grad_proj_err}`);
      // functorch 1.13's vmap(jacrev(jacrev)) is wrong for LayerNorm's affine parameters: auto checks vmap
      // against the autograd loop on the first examples and falls back
      assert.equal(r.per_example_method, kind === 'mlp' ? 'autograd loop over examples' : 'functorch.vmap(jacrev(jacrev))');
    });
  }

  it('per-example engines: vmap = the autograd loop (CNN, penalty in every A_b and in H); where vmap is wrong (LayerNorm) auto falls back and an explicit vmap fails', () => {
    const r = JSON.parse(py(['check_curvature.py', 'loop'])).loop;
    assert.deepEqual(r.methods, ['functorch.vmap(jacrev(jacrev))', 'autograd loop over examples']);
    assert.ok(r.vec_diff < 1e-14, `same Lanczos: ${r.vec_diff}`);
    assert.ok(r.grad_diff < 1e-12 && r.curv_diff < 1e-12, `${r.grad_diff} ${r.curv_diff}`);
    assert.ok(r.curv_err_penalty < 1e-12, `with penalty vs explicit A_b: ${r.curv_err_penalty}`);
    assert.ok(r.eig_err_penalty < 1e-10, `with penalty vs dense H: ${r.eig_err_penalty}`);
    assert.equal(r.mlp_auto_method, 'autograd loop over examples');
    assert.match(r.mlp_auto_notes.join('\n'), /vmap disagrees with the autograd loop on the first examples.*autograd loop over examples used instead/);
    assert.match(r.mlp_vmap_error, /^curvature: vmap disagrees with the autograd loop/);
  });

  it('deterministic given the seed (shuffling loader), with a seeded, recorded subsample of the examples', () => {
    const r = JSON.parse(py(['check_curvature.py', 'determinism'])).determinism;
    assert.equal(r.same, true, 'two runs with the same seed give identical numbers');
    assert.equal(r.n, 25);
    assert.equal(r.subsampled, true);
    assert.equal(r.indices.length, 25);
    assert.ok(r.indices.every((v: number, i: number) => i === 0 || v > r.indices[i - 1]), 'ascending dataset indices');
    assert.equal(r.other_seed_indices_differ, true);
    assert.ok(r.other_seed_eig_diff < 1e-8, `another start vector, the same eigenvalues: ${r.other_seed_eig_diff}`);
    assert.match(r.errors[0], /curvature options: unknown \['bogus'\]/);
    assert.match(r.errors[1], /curvature k must be a positive integer, got 0/);
    assert.match(r.errors[2], /curvature needs a loader that can be iterated several times/);
  });

  it('two gloo processes (spawn; DDP, DistributedSampler with padding) write the same curvature as one process', function () {
    this.timeout(300_000); // three torch imports (spawn) and ~20 Lanczos passes each: 40 s idle, 90 s seen on a loaded machine
    const d = mkdtempSync(join(dir, 'dist-'));
    py(['check_curvature.py', 'dist', d], 280_000);
    const one = JSON.parse(readFileSync(join(d, 'one.json'), 'utf8')) as Doc;
    const two = JSON.parse(readFileSync(join(d, 'two.json'), 'utf8')) as Doc;
    assert.equal(two.world_size, 2);
    assert.equal(two.n, 101);
    const a = one.curvature;
    const b = two.curvature;
    assert.equal(b.k, 4);
    assert.equal(b.n, 50);
    assert.equal(b.subsampled, true);
    assert.deepEqual(b.per_example_indices, a.per_example_indices, 'the same subsample, by dataset index');
    assert.equal(b.converged, true);
    (a.eigenvalues as number[]).forEach((v, i) => assert.ok(rel((b.eigenvalues as number[])[i], v) < 1e-10, `λ_${i + 1}`));
    for (const key of ['vectors', 'per_example_grad_proj', 'per_example_curvature']) {
      const x = a[key] as number[];
      const y = b[key] as number[];
      assert.equal(y.length, x.length, key);
      const scale = Math.max(...x.map(Math.abs));
      x.forEach((v, i) => assert.ok(Math.abs(y[i] - v) <= 1e-8 * scale, `${key}[${i}]: ${y[i]} vs ${v}`));
    }
    const f = readGradStatsFile(join(d, 'two.json'));
    assert.equal(f.subspaceCurvature?.n, 50);
    assert.match(f.subspaceCurvature?.notes.join('\n') ?? '', /× 2 ranks/);
  });

  describe('the TypeScript reader (SubspaceCurvature)', () => {
    let goldenFile: string;
    let golden: Doc;
    before(() => {
      goldenFile = join(dir, 'golden.json');
      py(['check_curvature.py', 'golden_file', goldenFile]);
      golden = JSON.parse(readFileSync(goldenFile, 'utf8')) as Doc;
    });
    const write = (name: string, doc: unknown): string => {
      const f = join(dir, name);
      writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc));
      return f;
    };
    const withCurv = (patch: Record<string, unknown>, top: Record<string, unknown> = {}) => ({ ...golden, ...top, curvature: { ...golden.curvature, ...patch } });

    it('reads the golden file: eigenvalues, vectors, per-example arrays in SubspaceCurvature units, valid for ajv too; the pipeline gets it', () => {
      assert.ok(ajvValidate(golden), JSON.stringify(ajvValidate.errors));
      assert.deepEqual(schemaErrors(golden, gradstatsSchema), []);
      const f = readGradStatsFile(goldenFile);
      const c = f.subspaceCurvature;
      assert.ok(c);
      assert.equal(c.parameters, 2);
      assert.equal(c.k, 2);
      assert.equal(c.n, 6);
      const lam = [(19 / 6 + Math.sqrt(109 / 36)) / 2, (19 / 6 - Math.sqrt(109 / 36)) / 2];
      c.eigenvalues.forEach((v, i) => assert.ok(rel(v, lam[i]) < 1e-14, `λ_${i + 1}`));
      assert.equal(c.method, 'lanczos');
      assert.equal(c.hvp, 'torch_autograd');
      assert.equal(c.converged, true);
      assert.equal(c.vectors?.length, 4);
      assert.equal(c.perExampleGradProj.length, 6 * 2);
      assert.equal(c.perExampleCurvature.length, 6 * 2 * 2);
      // A_b = x_b x_bᵀ: v_iᵀA_b v_j = (v_i·x_b)(v_j·x_b)
      const X = [[1, 0], [0, 1], [1, 1], [2, -1], [-1, 2], [1, -2]];
      const v = c.vectors as Float64Array;
      X.forEach((x, b) => {
        const p = [v[0] * x[0] + v[1] * x[1], v[2] * x[0] + v[3] * x[1]];
        for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) assert.ok(Math.abs(c.perExampleCurvature[(b * 2 + i) * 2 + j] - p[i] * p[j]) < 1e-14);
      });
      assert.equal(c.traceCovTotal, f.trace_cov);
      assert.equal(c.meanGradSqNorm, f.mean_grad_sq_norm);
      assert.equal(c.meanSqNorm, f.mean_sq_norm);
      assert.deepEqual(f.curvatureIndices, [0, 1, 2, 3, 4, 5]);
      assert.match(c.notes.join('\n'), /mean over the examples of v_iᵀA_b v_i vs λ_i: largest deviation/);
      assert.equal(gradStatsInputs(goldenFile).curvature?.k, 2);
    });

    it('large arrays as .npy files beside the JSON read the same as inline ones; the vectors are optional', () => {
      const d = mkdtempSync(join(dir, 'npy-'));
      const r = JSON.parse(py(['check_curvature.py', 'npy', d]));
      assert.deepEqual(r.files, ['inline.json', 'npy.curvature_per_example_curvature.npy', 'npy.curvature_per_example_grad_proj.npy', 'npy.curvature_vectors.npy', 'npy.json']);
      assert.equal(r.no_out_has_vectors, false);
      assert.equal(r.no_out_notes.length, 1);
      const a = readGradStatsFile(join(d, 'inline.json')).subspaceCurvature;
      const b = readGradStatsFile(join(d, 'npy.json')).subspaceCurvature;
      assert.ok(a && b);
      for (const key of ['vectors', 'perExampleGradProj', 'perExampleCurvature'] as const) {
        const x = a[key] as Float64Array;
        const y = b[key] as Float64Array;
        assert.equal(y.length, x.length, key);
        x.forEach((v, i) => assert.ok(Math.abs(y[i] - v) <= 1e-12 * (Math.abs(v) + 1), `${key}[${i}]`));
      }
      // a sidecar with the wrong shape, or a path outside the folder
      const doc = JSON.parse(readFileSync(join(d, 'npy.json'), 'utf8')) as Doc;
      copyFileSync(join(d, 'npy.curvature_vectors.npy'), join(d, 'wrong.npy'));
      writeFileSync(join(d, 'shape.json'), JSON.stringify({ ...doc, curvature: { ...doc.curvature, per_example_grad_proj_npy: 'wrong.npy' } }));
      expectHeatcapError(() => readGradStatsFile(join(d, 'shape.json')), /wrong\.npy: shape \(3, 566\), but curvature\.per_example_grad_proj must be \(30, 3\)/);
      writeFileSync(join(d, 'escape.json'), JSON.stringify({ ...doc, curvature: { ...doc.curvature, vectors_npy: '../x.npy' } }));
      expectHeatcapError(() => readGradStatsFile(join(d, 'escape.json')), /curvature\.vectors_npy must be a file name beside gradstats\.json/);
      const noVec = structuredClone(golden);
      delete noVec.curvature.vectors;
      assert.equal(readGradStatsFile(write('novec.json', noVec)).subspaceCurvature?.vectors, undefined);
    });

    it('rejects corrupt or hostile curvature sections, naming the file and the field', () => {
      const cases: [string, unknown, RegExp][] = [
        ['c-v1.json', { ...golden, schema_version: 1 }, /c-v1\.json: inconsistent statistics: a curvature section needs schema_version 2/],
        ['c-type.json', withCurv({ k: 'two' }), /c-type\.json: does not match gradstats\.schema\.json: \/curvature\/k must be integer, got string/],
        ['c-missing.json', withCurv({ eigenvalues: undefined }), /\/curvature must have property 'eigenvalues'/],
        ['c-method.json', withCurv({ method: 'guess' }), /\/curvature\/method must be one of/],
        ['c-hvp.json', withCurv({ hvp: 'magic' }), /\/curvature\/hvp must be one of/],
        ['c-neg-res.json', withCurv({ residuals: [-1, 0] }), /\/curvature\/residuals\/0 must be ≥ 0/],
        ['c-params.json', withCurv({ parameters: 3 }), /c-params\.json: inconsistent curvature section: parameters = 3 but per_weight sizes add up to 2/],
        ['c-k.json', withCurv({ k: 3 }), /k = 3 directions for 2 parameters/],
        ['c-eig-len.json', withCurv({ eigenvalues: [2] }), /1 eigenvalues for k = 2/],
        ['c-res-len.json', withCurv({ residuals: [0, 0, 0] }), /3 residuals for k = 2/],
        ['c-order.json', withCurv({ eigenvalues: [0.7, 2.4] }), /eigenvalues are not descending \(0\.7, then 2\.4\)/],
        ['c-inf.json', JSON.stringify(withCurv({})).replace(/"eigenvalues":\[[^\]]*\]/, '"eigenvalues":[1e999,0.7]'), /eigenvalues\[0\] is not a finite number/],
        ['c-conv.json', withCurv({ residuals: [0.5, 0], converged: true }), /converged is true but a residual is 0\.5 ≥ tolerance 1e-8/],
        ['c-notconv.json', withCurv({ converged: false }), /converged is false but every residual is below tolerance/],
        ['c-n.json', withCurv({ n: 7 }), /n = 7 examples, more than the file's n = 6/],
        ['c-idx-len.json', withCurv({ per_example_indices: [0, 1, 2] }), /per_example_indices has 3 entries for n = 6/],
        ['c-idx-order.json', withCurv({ per_example_indices: [0, 2, 1, 3, 4, 5] }), /per_example_indices are not strictly ascending at position 2/],
        ['c-idx-range.json', withCurv({ per_example_indices: [0, 1, 2, 3, 4, 9] }), /per_example index 9 lies beyond data\.dataset_length = 6/],
        ['c-sub.json', withCurv({ n: 5, per_example_indices: [0, 1, 2, 3, 4], per_example_grad_proj: Array(10).fill(0), per_example_curvature: Array(20).fill(0) }), /subsampled is false but n = 5 ≠ the file's n = 6/],
        ['c-proj-len.json', withCurv({ per_example_grad_proj: [1, 2, 3] }), /curvature\.per_example_grad_proj has 3 values, expected 6 × 2 = 12/],
        ['c-curv-len.json', withCurv({ per_example_curvature: [1] }), /curvature\.per_example_curvature has 1 values, expected 6 × 2 × 2 = 24/],
        ['c-curv-none.json', withCurv({ per_example_curvature: undefined }), /per_example_curvature \(or per_example_curvature_npy\) is missing/],
        ['c-both.json', withCurv({ vectors_npy: 'v.npy' }), /curvature\.vectors is given both inline and as vectors_npy/],
        ['c-vec-len.json', withCurv({ vectors: [1, 0, 0] }), /curvature\.vectors has 3 values, expected 2 × 2 = 4/],
        ['c-vec-orth.json', withCurv({ vectors: [1, 0, 1, 0] }), /vectors are not orthonormal/],
      ];
      const asym = structuredClone(golden);
      (asym.curvature.per_example_curvature as number[])[1] += 0.25;
      cases.push(['c-asym.json', asym, /per_example_curvature is not symmetric \(example row 0, entries 0,1/]);
      for (const [name, doc, re] of cases) {
        expectHeatcapError(() => readGradStatsFile(write(name, doc)), re);
      }
      // the schema-level ones are rejected by ajv as well
      for (const name of ['c-type.json', 'c-missing.json', 'c-method.json', 'c-hvp.json', 'c-neg-res.json']) {
        assert.equal(ajvValidate(JSON.parse(readFileSync(join(dir, name), 'utf8'))), false, name);
      }
    });

    it('python -m heatcap_torch --curvature K: the CLI writes the section (digits softmax regression, float32); heatcap analyze --gradstats predicts the finite-η curve from it', async () => {
      const d = mkdtempSync(join(dir, 'cli-'));
      const env = { ...process.env, PYTHONPATH: join(REPO, 'python'), OMP_NUM_THREADS: '1' };
      const r = spawnSync(PY, ['-m', 'heatcap_torch', '--script', join(REPO, 'python/examples/eval_gradstats.py'), '--out', join(d, 'g.json'), '--curvature', '3', '--curvature-examples', '300', '--no-progress'], { env, encoding: 'utf8', cwd: d, timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /curvature: lambda_1\.\.3 = [\d.]+, [\d.]+, [\d.]+; largest residual .* \(converged\), \d+ Lanczos steps, per-example projections on 300 examples/);
      const f = readGradStatsFile(join(d, 'g.json'));
      const c = f.subspaceCurvature;
      assert.ok(c);
      assert.equal(c.k, 3);
      assert.equal(c.n, 300);
      assert.equal(c.parameters, 650);
      assert.equal(f.curvatureIndices?.length, 300);
      assert.ok(c.costGradientPasses !== null && c.costGradientPasses > 0);
      assert.ok(c.residuals.every((x) => x < 1e-4));
      assert.match(c.notes.join('\n'), /per-example projections on 300 of the 1797 examples \(seeded subsample, seed 0\)/);

      const a = await runCli(['analyze', join(REPO, 'examples/digits/sweeps/softmax-iid'), '--gradstats', join(d, 'g.json'), '--json']);
      assert.equal(a.code, 0, a.err);
      const fe = JSON.parse(a.out).predicted.finite_eta;
      assert.equal(fe.status, 'ok', fe.message);
      assert.equal(fe.method, 'lanczos');
      assert.equal(fe.hvp, 'torch_autograd');
      assert.equal(fe.parameters, 650);
      assert.deepEqual(fe.eigenvalues.map((e: { value: number }) => e.value), c.eigenvalues);
      assert.ok(Math.abs(fe.limits.deterministic - 2 / c.eigenvalues[0]) < 1e-9 * fe.limits.deterministic, 'deterministic limit 2/λ_1');
      assert.ok(fe.limits.mean_square > 0 && fe.limits.mean_square < fe.limits.deterministic, `mean-square limit ${fe.limits.mean_square}`);
    });
  });
});
