/**
 * Issue 20: the cost of the top k = 10 Hessian eigenpairs and their per-example projections
 * (src/core/curvature, `computeSubspaceCurvature`) as a multiple of one per-example-norm pass of the
 * engine over the same examples — the figure the CLI prints as `cost_gradient_passes`. Models: those of
 * bench/onnx.ts that the curvature module runs:
 *  - MLP 784-512-256-10 (ReLU, softmax, random weights as a TF.js model.json), 512 random examples, through
 *    the float32 ONNX program (engine `onnx`: the float64 Dense path would be pure JS over 535k parameters);
 *  - the CNN 28×28×1 (conv 16, pool, conv 32, pool, dense 10; model.json), 256 random examples, ONNX program;
 *  - the digits MLP 64-32-10 (examples/digits, 1797 examples) on its default float64 Dense path, and forced
 *    through the ONNX program for comparison;
 *  - issue 14's fixtures resnet_tiny and transformer_tiny (test/fixtures/onnx, 256 examples each, their own
 *    trained weights and losses), as in bench/onnx.ts.
 * One thread (ORT intra-op 1). Run pinned for the README figures:
 *   taskset -c 0 npx tsx bench/run.ts curvature     (or taskset -c 0 npx tsx bench/curvature.ts)
 * The per-example-norm pass (its seconds are the yardstick) is timed inside the same call, on the same
 * core; model loading and session creation are excluded from the ratio and shown apart.
 * A second table: the CPU time of one exact Hessian-vector product (the forward-over-reverse program,
 * src/core/curvature/jvp) against one full-batch gradient of the same gradient program, over the same
 * examples, interleaved rounds after warm-up, medians (process CPU time, so the shared core's other load
 * counts less than in wall time).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { computeSubspaceCurvature, type CurvatureSpec } from '../src/core/curvature';
import { OnnxCurvatureEvaluator } from '../src/core/curvature/onnx-evaluator';
import { randomUnit } from '../src/core/curvature/vectors';
import { openEngineProblem } from '../src/core/engine/problem';
import { writeNpy } from '../src/core/data/npy';
import { mulberry32 } from '../src/core/random';

const REPO = join(__dirname, '..');
const DIGITS = join(REPO, 'examples/digits');
const FIX = join(REPO, 'test/fixtures/onnx');
const K = 10;
/** Examples of the random-weight MLP and CNN: fewer than bench/onnx.ts's 2560 and 512, so the section takes minutes on one shared core (the ratio is per pass over the same examples). */
const N_MLP = 512;
const N_CNN = 256;

function randn(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}
function labels(n: number, k: number, seed: number): Int32Array {
  const r = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * k));
}

function affinity(): string {
  try {
    // Linux: the CPUs this process may run on (taskset's mask), from /proc/self/status.
    const m = /Cpus_allowed_list:\s*(\S+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8') as string);
    return m ? m[1] : 'unknown';
  } catch {
    return 'unknown';
  }
}

function machineLine(): string {
  const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
  return `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores (this process on CPUs ${affinity()}), Node ${process.version}, onnxruntime-node ${ortVersion} (native CPU provider), 1 thread (ORT intra-op 1); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} at the start (the cores are shared).`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU ms of one full-batch gradient and one exact HVP (medians of `rounds` interleaved pairs after 2 warm-up pairs). */
async function hvpVsGradient(spec: CurvatureSpec, rounds = 15): Promise<{ grad: number; hvp: number; nodes: number } | string> {
  const problem = await openEngineProblem(spec);
  try {
    const ev = await OnnxCurvatureEvaluator.open(problem, Int32Array.of(0), 1, undefined, { k: 1 });
    try {
      const why = await ev.openHvp();
      if (why) return why;
      const v = randomUnit(ev.P, 5);
      const cpu = async (f: () => Promise<unknown>) => {
        const c0 = process.cpuUsage();
        await f();
        const c = process.cpuUsage(c0);
        return (c.user + c.system) / 1000;
      };
      const g: number[] = [];
      const h: number[] = [];
      for (let i = 0; i < rounds + 2; i++) {
        const a = await cpu(() => ev.meanDataGrad(ev.w0));
        const b = await cpu(() => ev.meanDataHvp(ev.w0, v));
        if (i >= 2) {
          g.push(a);
          h.push(b);
        }
      }
      return { grad: median(g), hvp: median(h), nodes: ev.hvpNodeCount };
    } finally {
      await ev.release();
    }
  } finally {
    problem.close();
  }
}

interface Case {
  label: string;
  spec: CurvatureSpec;
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-curvature-'));
  try {
    const { buildSequential } = await import('../src/core/model/build');
    const { saveLayersModel } = await import('../src/core/model/load');
    const { initBackend } = await import('../src/core/tf/backend');
    await initBackend('cpu');
    writeNpy(join(dir, 'mlp_x.npy'), randn(N_MLP * 784, 11), [N_MLP, 784]);
    writeNpy(join(dir, 'mlp_y.npy'), labels(N_MLP, 10, 12), [N_MLP]);
    writeNpy(join(dir, 'cnn_x.npy'), randn(N_CNN * 784, 13), [N_CNN, 28, 28, 1]);
    writeNpy(join(dir, 'cnn_y.npy'), labels(N_CNN, 10, 14), [N_CNN]);
    const mlp = await saveLayersModel(
      buildSequential([784], [
        { type: 'dense', units: 512, activation: 'relu' },
        { type: 'dense', units: 256, activation: 'relu' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ], 1),
      join(dir, 'mlp'),
      { loss: 'sparse_categorical_crossentropy' },
    );
    const cnn = await saveLayersModel(
      buildSequential([28, 28, 1], [
        { type: 'conv2d', filters: 16, kernelSize: 3, activation: 'relu' },
        { type: 'maxPool2d', poolSize: 2 },
        { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
        { type: 'maxPool2d', poolSize: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ], 1),
      join(dir, 'cnn'),
      { loss: 'sparse_categorical_crossentropy' },
    );
    const digitsData = { data: join(DIGITS, 'data/x.npy'), labels: join(DIGITS, 'data/y.npy') };
    const cases: Case[] = [
      { label: `MLP 784-512-256-10 (model.json, random weights), ${N_MLP} examples, ONNX program`, spec: { model: mlp, data: { data: join(dir, 'mlp_x.npy'), labels: join(dir, 'mlp_y.npy') }, engine: 'onnx' } },
      { label: `CNN 28×28×1 (model.json, random weights), ${N_CNN} examples, ONNX program`, spec: { model: cnn, data: { data: join(dir, 'cnn_x.npy'), labels: join(dir, 'cnn_y.npy') }, engine: 'onnx' } },
      { label: 'digits MLP 64-32-10 (model.json, L2), 1797 examples, float64 Dense path (default)', spec: { model: join(DIGITS, 'checkpoints/mlp/model.json'), data: digitsData } },
      { label: 'digits MLP 64-32-10 (model.json, L2), 1797 examples, ONNX program (forced)', spec: { model: join(DIGITS, 'checkpoints/mlp/model.json'), data: digitsData, engine: 'onnx' } },
      ...(['resnet_tiny', 'transformer_tiny'] as const).map((n) => {
        const oracle = JSON.parse(readFileSync(join(FIX, n, 'oracle.json'), 'utf8')) as { n: number; loss: string; label_smoothing?: number };
        return {
          label: `${n} (fixture model.onnx, trained), ${oracle.n} examples, ONNX program`,
          spec: { model: join(FIX, n, 'model.onnx'), data: { data: join(FIX, n, 'x.npy'), labels: join(FIX, n, 'y.npy') }, loss: oracle.loss, labelSmoothing: oracle.label_smoothing, engine: 'onnx' as const },
        };
      }),
    ];
    const rows: string[] = [];
    const notes: string[] = [];
    const header = machineLine();
    for (const c of cases) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await computeSubspaceCurvature(c.spec, { k: K, threads: 1 });
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      const costNote = r.notes.find((n) => n.startsWith('cost:')) ?? '';
      const pass = /× one per-example-norm pass \(([\d.]+) s/.exec(costNote)?.[1] ?? '?';
      const products = /; (\d+) Hessian-vector products/.exec(costNote)?.[1] ?? '?';
      const lanczos = /Lanczos with full reorthogonalisation: (\d+) steps/.exec(r.notes.join('\n'))?.[1] ?? (r.method === 'dense_eigen' ? 'dense' : '?');
      rows.push(
        `| ${c.label} | ${r.parameters.toLocaleString('en-US')} | ${r.hvp} | ${lanczos} | ${products} | ${Math.max(...r.residuals).toExponential(1)} (${r.converged ? 'converged' : 'not converged'}) | ${pass} | ${r.costGradientPasses?.toFixed(1) ?? '?'}× | ${wall.toFixed(1)} (${cpuS.toFixed(1)} CPU) |`,
      );
      const measured = r.notes.find((n) => n.startsWith('measured here'));
      notes.push(`- ${c.label}: λ_1…λ_3 = ${r.eigenvalues.slice(0, 3).map((v) => v.toPrecision(4)).join(', ')}; ${costNote}${measured ? `; ${measured}` : ''}`);
      process.stderr.write(`[curvature bench] ${c.label}: ${wall.toFixed(1)} s\n`);
    }
    const hvpRows: string[] = [];
    for (const c of cases.filter((c) => c.spec.engine === 'onnx')) {
      const m = await hvpVsGradient(c.spec);
      hvpRows.push(typeof m === 'string' ? `| ${c.label} | no exact products: ${m} | | | |` : `| ${c.label} | ${m.nodes} | ${m.grad.toFixed(1)} | ${m.hvp.toFixed(1)} | ${(m.hvp / m.grad).toFixed(2)}× |`);
    }
    return [
      `## Curvature: top ${K} Hessian eigenpairs (issue 20)`,
      '',
      header,
      '',
      `| model | params | Hessian-vector products | Lanczos steps | products | largest residual ‖Hv − λv‖/λ_1 | one per-example-norm pass (s) | cost (× that pass) | whole call, s wall (CPU) |`,
      '|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Cost = seconds of computation of \`computeSubspaceCurvature(spec, { k: ${K}, threads: 1 })\` (per-example-norm pass, difference step, Lanczos, residuals, per-example projections on every example) ÷ the seconds of its own per-example-norm pass over the same examples (steady state), as the CLI reports it; opening files and sessions is excluded from the ratio (the last column includes it). Random-weight models are not at a minimum (their eigenvalues are what they are); the cost does not depend on that.`,
      '',
      ...notes,
      '',
      'One exact Hessian-vector product (forward over reverse) against one full-batch gradient of the same program, CPU ms, medians of 15 interleaved pairs:',
      '',
      '| model | HVP program nodes | gradient (CPU ms) | exact HVP (CPU ms) | ratio |',
      '|---|---|---|---|---|',
      ...hvpRows,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().then(
    (md) => console.log(md),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
