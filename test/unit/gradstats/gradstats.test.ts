/**
 * The Python package heatcap_torch (python/) run with Debian's torch 1.13 (/usr/bin/python3; never plain
 * `python3`, another interpreter without torch) on CPU, against a naive per-example loop in float64, the
 * ONNX engine (float32), itself on two gloo processes, and through `heatcap analyze --gradstats`.
 * Skipped, with the reason printed, when /usr/bin/python3 has no torch.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { readNpy } from '../../../src/core/data/npy';
import { computeOnnxPartial } from '../../../src/core/engine/compute';
import { openEngineProblem } from '../../../src/core/engine/problem';
import { isHeatcapError } from '../../../src/core/errors';
import { finishStats } from '../../../src/core/gradnorm/engine';
import { readGradStatsFile, toTheoryStats } from '../../../src/core/gradstats/read';
import { schemaErrors } from '../../../src/core/gradstats/validate';
import gradstatsSchema from '../../../src/core/result/gradstats.schema.json';
import { runCli } from '../../support/cli';
import { assertValidResult, undeclaredKeys } from '../../support/resultSchema';

const PY = '/usr/bin/python3';
const HERE = __dirname;
const REPO = join(__dirname, '../../..');
const SWEEP = join(REPO, 'examples/digits/sweeps/softmax-iid');

const torchCheck = spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const skipReason = torchCheck.error ? `${PY} not found` : torchCheck.status !== 0 ? `${PY} cannot import torch and numpy (apt-get install -y python3-torch)` : null;

function py(args: string[], timeoutMs = 60_000): string {
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

describe('heatcap_torch (Python package) and gradstats.json', function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    if (skipReason) {
      console.log(`      skipped: ${skipReason}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'heatcap-gradstats-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('equals a naive per-example autograd loop in float64 (MLP + LayerNorm + penalty, CNN + BatchNorm, Embedding, tied weights; vmap, hooks, auto)', () => {
    const out = JSON.parse(py(['check_naive.py', 'mlp', 'cnn', 'tok', 'tied'])) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(out).sort(), ['cnn/auto', 'cnn/hooks', 'cnn/vmap', 'mlp/auto', 'mlp/hooks', 'mlp/vmap', 'tied/auto', 'tied/vmap', 'tok/auto', 'tok/hooks', 'tok/vmap']);
    for (const [k, e] of Object.entries(out)) {
      for (const q of ['mean_loss', 'mean_sq_norm', 'trace_cov', 'mean_grad_sq_norm', 'per_weight', 'diag']) assert.ok((e[q] as number) < 1e-10, `${k} ${q}: ${e[q]}`);
      assert.equal(e.top_same, true, `${k}: top-k`);
      assert.equal(e.n_same, true, `${k}: N`);
      // auto: the per-layer hooks when they cover the model, checked against autograd on the first batch;
      // the tied embedding (its matrix also used outside Embedding.forward) fails that check → vmap.
      assert.equal(e.method, k.endsWith('vmap') || k === 'tied/auto' ? 'functorch.vmap' : 'hooks', k);
      if (k === 'tied/auto') assert.match((e.notes as string[])[1], /per-layer hooks disagree with autograd on 'emb\.weight'.*vmap used instead/);
      assert.match((e.notes as string[])[0], /reduction='none'/);
    }
  });

  for (const [kind, method] of [['mlp', 'vmap'], ['cnn', 'hooks']]) {
    it(`equals the TypeScript ONNX engine on the same model exported to ONNX (${kind}, ${method}, float32, 1e-4)`, async () => {
      const d = mkdtempSync(join(dir, `${kind}-`));
      py(['export_onnx.py', kind, d, method]);
      const f = readGradStatsFile(join(d, 'gradstats.json'));
      assert.match(f.method, method === 'vmap' ? /vmap/ : /^hooks$/);
      assert.ok(ajvValidate(JSON.parse(readFileSync(join(d, 'gradstats.json'), 'utf8'))), JSON.stringify(ajvValidate.errors));
      const problem = await openEngineProblem({ model: join(d, 'model.onnx'), data: { data: join(d, 'x.npy'), labels: join(d, 'y.npy') }, loss: 'cross_entropy' });
      const norms = new Float64Array(problem.n);
      try {
        const r = await computeOnnxPartial(problem, { threads: 1, chunkSize: 64, onNorms: (s, sq) => norms.set(sq, s) });
        const s = finishStats([r], r.partial, r.seconds);
        assert.equal(f.n, s.n);
        assert.ok(rel(f.mean_loss, s.meanLoss) < 1e-4, `mean loss ${f.mean_loss} vs ${s.meanLoss}`);
        assert.ok(rel(f.mean_sq_norm, s.meanSqNorm) < 1e-4, `E‖g‖² ${f.mean_sq_norm} vs ${s.meanSqNorm}`);
        assert.ok(rel(f.trace_cov, s.traceCov) < 1e-4, `tr Σ ${f.trace_cov} vs ${s.traceCov}`);
        assert.ok(Math.abs(f.mean_grad_sq_norm - s.meanGradSqNorm) < 1e-4 * s.meanSqNorm, `‖ḡ‖² ${f.mean_grad_sq_norm} vs ${s.meanGradSqNorm}`);
        assert.equal(f.per_weight.length, s.perWeight.length);
        f.per_weight.forEach((w, i) => {
          assert.equal(w.size, s.perWeight[i].size, w.name);
          assert.ok(rel(w.mean_sq_norm, s.perWeight[i].meanSqNorm) < 1e-4, `${w.name}: ${w.mean_sq_norm} vs ${s.perWeight[i].meanSqNorm}`);
        });
        const sq = readNpy(join(d, 'sq.npy')).data;
        let worst = 0;
        for (let b = 0; b < sq.length; b++) if (sq[b] > 1e-6 * f.mean_sq_norm) worst = Math.max(worst, rel(sq[b], norms[b]));
        assert.ok(worst < 1e-4, `worst per-example relative difference ${worst}`);
        assert.deepEqual(f.top.map((t) => t.index), s.top.slice(0, f.top.length).map((t) => t.index));
      } finally {
        problem.close();
      }
    });
  }

  it('two gloo processes (DistributedSampler with padding, DDP-wrapped) write the same file as one process', () => {
    const d = mkdtempSync(join(dir, 'dist-'));
    py(['check_dist.py', d], 50_000);
    const one = JSON.parse(readFileSync(join(d, 'one.json'), 'utf8'));
    const two = JSON.parse(readFileSync(join(d, 'two.json'), 'utf8'));
    assert.equal(one.world_size, 1);
    assert.equal(two.world_size, 2);
    assert.equal(two.backend, 'gloo');
    assert.equal(two.n, 201);
    assert.equal(one.n, two.n);
    for (const k of ['mean_loss', 'mean_sq_norm', 'mean_grad_sq_norm', 'trace_cov', 'sq_norm_sd']) assert.ok(rel(two[k], one[k]) < 1e-10, `${k}: ${two[k]} vs ${one[k]}`);
    one.per_weight.forEach((w: { name: string; mean_sq_norm: number }, i: number) => {
      assert.equal(two.per_weight[i].name, w.name);
      assert.ok(rel(two.per_weight[i].mean_sq_norm, w.mean_sq_norm) < 1e-10, w.name);
    });
    one.diag_second_moment.forEach((v: number, i: number) => assert.ok(Math.abs(two.diag_second_moment[i] - v) <= 1e-10 * Math.abs(v) + 1e-300, `diag ${i}`));
    assert.deepEqual(two.top.map((t: { index: number }) => t.index), one.top.map((t: { index: number }) => t.index));
    two.top.forEach((t: { sq_norm: number }, i: number) => assert.ok(rel(t.sq_norm, one.top[i].sq_norm) < 1e-10));
    assert.deepEqual(two.histogram, one.histogram);
    assert.deepEqual(two.data, one.data);
    assert.deepEqual(two.model, one.model);
    const a = readNpy(join(d, 'one.npy')).data;
    const b = readNpy(join(d, 'two.npy')).data;
    assert.equal(a.length, 201);
    assert.equal(b.length, 201);
    a.forEach((v, i) => assert.ok(rel(b[i], v) < 1e-10, `example ${i}`));
    readGradStatsFile(join(d, 'two.json'));
  });

  it('python -m heatcap_torch --script: one process, and two ranks started as torchrun would (RANK/WORLD_SIZE env, gloo, loader sharded by rank)', async () => {
    const d = mkdtempSync(join(dir, 'cli-'));
    const script = join(REPO, 'python/examples/eval_gradstats.py');
    const env = { ...process.env, PYTHONPATH: join(REPO, 'python'), OMP_NUM_THREADS: '1' };
    const help = spawnSync(PY, ['-m', 'heatcap_torch', '--help'], { env, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--script SCRIPT/);
    const one = spawnSync(PY, ['-m', 'heatcap_torch', '--script', script, '--out', join(d, 'one.json'), '--no-progress'], { env, encoding: 'utf8', cwd: d });
    assert.equal(one.status, 0, one.stderr);
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const { spawn } = await import('node:child_process');
    const runs = [0, 1].map(
      (rank) =>
        new Promise<{ code: number | null; err: string }>((done) => {
          const c = spawn(PY, ['-m', 'heatcap_torch', '--script', script, '--out', join(d, 'two.json')], {
            cwd: d,
            env: { ...env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: port },
          });
          let err = '';
          c.stderr.on('data', (b: Buffer) => (err += b.toString()));
          c.on('close', (code) => done({ code, err }));
        }),
    );
    const [r0, r1] = await Promise.all(runs);
    assert.equal(r0.code, 0, r0.err);
    assert.equal(r1.code, 0, r1.err);
    assert.match(r0.err, /wrote .*two\.json: N = 1797/);
    assert.equal(r1.err, '', 'progress and messages on rank 0 only');
    const a = readGradStatsFile(join(d, 'one.json'));
    const b = readGradStatsFile(join(d, 'two.json'));
    assert.equal(b.world_size, 2);
    assert.equal(b.n, a.n);
    // float32 model: per-example values depend on the batch's composition at rounding level
    for (const k of ['mean_loss', 'mean_sq_norm', 'trace_cov'] as const) assert.ok(rel(b[k], a[k]) < 1e-6, k);
    assert.deepEqual(b.top.map((t) => t.index), a.top.map((t) => t.index));
    assert.deepEqual(b.data, a.data);
    assert.deepEqual(b.model, a.model);
  });

  it('an interrupted run (KeyboardInterrupt in the loop) leaves no file, partial or temporary, and restores train()', () => {
    const d = mkdtempSync(join(dir, 'interrupt-'));
    assert.deepEqual(JSON.parse(py(['check_interrupt.py', d])), { files: [], training: true });
  });

  describe('readGradStatsFile', () => {
    let good: Record<string, unknown>;
    let goodFile: string;
    before(() => {
      goodFile = join(dir, 'digits.json');
      py(['digits_softmax.py', goodFile]);
      good = JSON.parse(readFileSync(goodFile, 'utf8'));
    });
    const write = (name: string, doc: unknown): string => {
      const f = join(dir, name);
      writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc));
      return f;
    };

    it('reads a file heatcap_torch wrote, valid for ajv too, into the theory statistics', () => {
      assert.ok(ajvValidate(good), JSON.stringify(ajvValidate.errors));
      assert.deepEqual(schemaErrors(good, gradstatsSchema), []);
      const f = readGradStatsFile(goodFile);
      const s = toTheoryStats(f);
      assert.equal(s.n, 1797);
      assert.equal(s.traceCov, good.trace_cov);
      assert.equal(s.diagSecondMoment?.length, 650);
      assert.equal(s.meanGrad?.length, 650);
      assert.equal(f.loss.penalty, true);
    });

    it('rejects schema violations with the JSON pointer of each (and ajv agrees)', () => {
      const bad = structuredClone(good);
      bad.n = 'many';
      delete bad.trace_cov;
      (bad.per_weight as { size: number }[])[1].size = -3;
      const file = write('bad.json', bad);
      expectHeatcapError(() => readGradStatsFile(file), /bad\.json: does not match gradstats\.schema\.json: \/ must have property 'trace_cov'; \/n must be integer, got string; \/per_weight\/1\/size must be ≥ 1, got -3/);
      assert.equal(ajvValidate(bad), false);
      for (const doc of [{ ...good, model: { ...(good.model as object), sha256: 'xyz' } }, { ...good, top: [{ index: 1.5, sq_norm: 1 }] }, { ...good, kind: 'other' }, { ...good, loss: {} }]) {
        assert.equal(ajvValidate(doc), false);
        assert.notDeepEqual(schemaErrors(doc, gradstatsSchema), []);
      }
    });

    it('rejects other schema versions, non-JSON and contradictory numbers', () => {
      expectHeatcapError(() => readGradStatsFile(write('v3.json', { ...good, schema_version: 3 })), /schema_version 3 is not supported: this heatcap reads gradstats\.json schema_version 1 and 2/);
      // heatcap_torch now writes version 2; a version 1 file (no curvature section) is still read
      assert.equal(good.schema_version, 2);
      assert.equal(readGradStatsFile(write('v1.json', { ...good, schema_version: 1 })).n, 1797);
      expectHeatcapError(() => readGradStatsFile(write('text.json', 'N = 12')), /not valid JSON/);
      expectHeatcapError(() => readGradStatsFile(write('n.json', { ...good, data: { ...(good.data as object), n: 12 } })), /data\.n = 12 but n = 1797/);
      expectHeatcapError(() => readGradStatsFile(write('tr.json', { ...good, trace_cov: 7 })), /trace_cov 7 ≠/);
      expectHeatcapError(() => readGradStatsFile(write('diag.json', { ...good, diag_second_moment: [1, 2] })), /diag_second_moment has 2 values for 650 parameters/);
      expectHeatcapError(() => readGradStatsFile(join(dir, 'missing.json')), /cannot read \(ENOENT\)/);
    });

    it('heatcap analyze examples/digits/sweeps/softmax-iid --gradstats: end to end, the result says where the statistics came from', async () => {
      const r = await runCli(['analyze', SWEEP, '--gradstats', goodFile, '--json']);
      assert.equal(r.code, 0, r.err);
      const res = JSON.parse(r.out);
      assertValidResult(res);
      assert.deepEqual(undeclaredKeys(res), []);
      assert.equal(res.gradnorms.source, `gradstats.json (${goodFile})`);
      assert.match(res.gradnorms.engine, /^heatcap_torch 0\.1\.0 \(hooks\)$/);
      assert.equal(res.gradnorms.n, 1797);
      assert.ok(rel(res.predicted.trace_cov, good.trace_cov as number) < 1e-12);
      // The sweep manifest says the runs started at the checkpoint: L* is the file's mean loss (penalty included).
      assert.ok(res.ratio > 0.9 && res.ratio < 1.1, `ratio ${res.ratio}`);
      assert.equal(res.verdict.status, 'agree');
    });

    it('a gradstats.json in the sweep folder is found without the flag', async () => {
      const { cpSync } = await import('node:fs');
      const copy = join(dir, 'sweep-copy');
      cpSync(SWEEP, copy, { recursive: true });
      // The copied manifest's relative checkpoint path no longer resolves: only the gradstats.json can predict.
      cpSync(goodFile, join(copy, 'gradstats.json'));
      const r = await runCli(['analyze', copy, '--json']);
      assert.equal(r.code, 0, r.err);
      assert.equal(JSON.parse(r.out).gradnorms.source, `gradstats.json (${join(copy, 'gradstats.json')})`);
    });

    it('a file whose N or loss disagrees with the runs is a clear error', async () => {
      const sub = join(dir, 'subset.json');
      py(['digits_softmax.py', sub, '1000']);
      let r = await runCli(['analyze', SWEEP, '--gradstats', sub]);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /subset\.json: computed on N = 1000 examples, but the runs were trained on dataset_size = 1797/);
      const mse = { ...good, loss: { name: 'MSELoss' } };
      const mseFile = write('mse.json', mse);
      r = await runCli(['analyze', SWEEP, '--gradstats', mseFile]);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /mse\.json: loss 'MSELoss' \(mean squared error\) disagrees with the analysis's loss 'sparse_categorical_crossentropy'/);
    });
  });
});
