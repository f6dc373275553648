/**
 * Stats and theory benchmark: how long the observed-slope statistics take on long loss series, and how
 * the Hessian-based refinements (reshuffling curve, L2-without-penalty slope: O(P³) symmetric
 * eigen-decompositions through ml-matrix) scale with the parameter count P, which decides the
 * "small enough model" cut-off (`maxParams`, default 5,000). All figures are measured in one process.
 *
 *   npx tsx bench/stats.ts                  P up to 800
 *   HEATCAP_BENCH_STATS_QUICK=1 npx tsx bench/stats.ts    P up to 200
 */
import * as os from 'node:os';
import { convergedLoss } from '../src/core/stats/converged';
import { fitSweep } from '../src/core/stats/sweep-fit';
import { findScheduleEvents, multiStepSchedule } from '../src/core/stats/schedule';
import { predictSlope } from '../src/core/theory/predict';
import { reshufflePrediction } from '../src/core/theory/reshuffle';
import { symmetricEigen } from '../src/core/linalg/symmetric-eigen';
import { ar1, range, Rng } from '../test/support/oracle/rng';

const quick = process.env.HEATCAP_BENCH_STATS_QUICK === '1';

function time<T>(f: () => T, reps = 1): { ms: number; value: T } {
  let value = f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) value = f();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6 / reps, value };
}

function spd(p: number, rng: Rng): Float64Array {
  // A = XᵀX/m + 0.1 I: a symmetric positive-definite Hessian-like matrix.
  const m = p + 10;
  const x = Float64Array.from({ length: m * p }, () => rng.normal());
  const a = new Float64Array(p * p);
  for (let r = 0; r < m; r++) for (let i = 0; i < p; i++) {
    const xi = x[r * p + i];
    for (let j = 0; j < p; j++) a[i * p + j] += (xi * x[r * p + j]) / m;
  }
  for (let i = 0; i < p; i++) a[i * p + i] += 0.1;
  return a;
}

export async function run(): Promise<string> {
  const rng = new Rng(1);
  const lines: string[] = ['## Stats and theory (observed and predicted slopes)', ''];
  lines.push('| operation | size | time |', '|---|---|---|');
  for (const n of [1e5, 1e6]) {
    const values = ar1(rng, n, 0.3, 0.9, 0.01);
    const steps = range(n);
    const t = time(() => convergedLoss({ steps, values }), 3);
    lines.push(`| convergedLoss (MSER-5, 20 batch means, trend test) | ${n.toLocaleString('en-US')} values | ${t.ms.toFixed(1)} ms (${(n / t.ms / 1e3).toFixed(0)} M values/s) |`);
  }
  {
    const n = 1e6;
    const steps = range(n);
    const lrAt = (s: number): number => (s < n / 3 ? 0.1 : s < (2 * n) / 3 ? 0.01 : 0.001);
    const values = ar1(rng, n, 0, 0.5, 0.01).map((v, i) => v + 0.5 * lrAt(i));
    const t = time(() => findScheduleEvents(multiStepSchedule(0.1, [n / 3, (2 * n) / 3], 0.1), { steps, values }), 3);
    lines.push(`| findScheduleEvents (2 step decays) | 1,000,000 steps | ${t.ms.toFixed(1)} ms |`);
  }
  {
    const pts = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128].map((lr, i) => ({ run: `r${i}`, lr, loss: 0.2 + 0.5 * lr + 3 * lr * lr + 1e-4 * rng.normal(), stderr: 1e-4 }));
    const t = time(() => fitSweep(pts), 200);
    lines.push(`| fitSweep (linear-range selection) | 8 runs | ${(t.ms * 1e3).toFixed(0)} µs |`);
  }
  {
    const stats = { n: 1797, meanLoss: 0.1, meanSqNorm: 2, meanGradSqNorm: 0.001, traceCov: 1.999 };
    const setup = { batch_size: 8, momentum: 0.9, dampening: 0, nesterov: false, sampling: 'with_replacement' as const, optimizer: 'sgd', weight_decay: 0, loss_includes_penalty: false, dataset_size: 1797, sources: {} };
    const t = time(() => predictSlope(setup, stats), 1000);
    lines.push(`| predictSlope (no Hessian) | — | ${(t.ms * 1e3).toFixed(1)} µs |`);
  }
  lines.push('', '| P (parameters) | symmetric eigen (ml-matrix) | reshuffle curve, N = 1,000, 5 η | ratio to P/2 |', '|---|---|---|---|');
  const sizes = quick ? [50, 100, 200] : [100, 200, 400, 800];
  let prev: number | null = null;
  for (const p of sizes) {
    const h = spd(p, rng);
    const n = 1000;
    const g = Float64Array.from({ length: n * p }, () => rng.normal());
    const te = time(() => symmetricEigen(h, p));
    const tr = time(() => reshufflePrediction(h, g, { batchSize: 8, lrs: [0.01, 0.02, 0.05, 0.1, 0.2] }));
    lines.push(`| ${p} | ${(te.ms / 1e3).toFixed(2)} s | ${(tr.ms / 1e3).toFixed(2)} s | ${prev === null ? '—' : `${(tr.ms / prev).toFixed(1)}×`} |`);
    prev = tr.ms;
  }
  lines.push('', 'Doubling P multiplies the Hessian-based cost by about 8 (O(P³)); extrapolate from the last row for larger models before raising `maxParams`.', '');
  lines.push(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}${quick ? ' (quick sizes)' : ''}; shared with other jobs, so compare rows of one run.`);
  return lines.join('\n');
}

if (require.main === module) {
  run().then((md) => console.log(md), (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
