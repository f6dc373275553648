/**
 * Runs the curvature programs (onnx-program.ts) in ONNX Runtime at arbitrary parameter points: the
 * full-batch mean gradient of the data loss (for Hessian-vector products by differences), and for a set
 * of examples their gradients g_b projected on given directions, by the same program at batch 1 run once
 * per example (the exact per-example loop: every op's VJP, no per-example rule needed).
 * Inputs and targets are read once and kept as ORT tensors per chunk; only the parameters change
 * between runs. Parameters are a flat float64 vector in the engine graph's parameter order
 * (engine/compute.ts describeParams); they are rounded to float32 when fed.
 * The model's own penalties R(Φ) are NOT included here: the caller adds their exact float64 terms.
 */
import { throwIfCancelled, type CancelToken } from '../cancel';
import { HeatcapError } from '../errors';
import type { ConstTensor } from '../graph/types';
import { describeParams } from '../engine/compute';
import type { EngineProblem } from '../engine/problem';
import { probeValues } from '../engine/probe';
import { createSession, ort, type RuntimeInfo } from '../engine/runtime';
import type { ParamDescription } from '../gradnorm/stats';
import { buildCurvatureProgram, type CurvatureProgram } from './onnx-program';

type OrtTensor = import('onnxruntime-node').Tensor;
type Session = import('onnxruntime-node').InferenceSession;

/** Examples per ORT run: large enough that ORT's per-run cost is paid rarely, small enough for memory. */
const CHUNK = 512;

interface Chunk {
  count: number;
  feed: Record<string, OrtTensor>;
}

function readRows(problem: EngineProblem, rows: Int32Array, B: number): { x: ConstTensor; y: Float32Array } {
  const rs = problem.inputs.rowSize;
  const ts = problem.targets.size;
  const f = new Float32Array(B * rs);
  const y = new Float32Array(B * ts);
  // Consecutive runs are read in one call; padding rows repeat the first example (weight 0).
  let r = 0;
  while (r < rows.length) {
    let e = r + 1;
    while (e < rows.length && rows[e] === rows[e - 1] + 1) e++;
    problem.inputs.readRows(rows[r], e - r, f.subarray(r * rs, e * rs));
    y.set(problem.targets.read(rows[r], e - r).subarray(0, (e - r) * ts), r * ts);
    r = e;
  }
  for (let b = rows.length; b < B; b++) {
    f.copyWithin(b * rs, 0, rs);
    y.copyWithin(b * ts, 0, ts);
  }
  for (let i = 0; i < rows.length * rs; i++) {
    if (!Number.isFinite(f[i])) throw new HeatcapError(problem.inputs.file, `input value ${f[i]} is not finite`);
  }
  const dims = [B, ...problem.inputs.rowShape];
  const dtype = problem.graph.input.dtype;
  if (dtype === 'int64') return { x: { dims, dtype, data: BigInt64Array.from(f, (v) => BigInt(Math.round(v))) }, y };
  if (dtype === 'int32') return { x: { dims, dtype, data: Int32Array.from(f, (v) => Math.round(v)) }, y };
  return { x: { dims, dtype: 'float32', data: f }, y };
}

export class OnnxCurvatureEvaluator {
  readonly params: ParamDescription[];
  readonly P: number;
  /** The checkpoint's parameters (float32 values, exact in float64). */
  readonly w0: Float64Array;
  gradientRuns = 0;
  exampleRuns = 0;

  private constructor(
    private readonly problem: EngineProblem,
    private readonly gradSession: Session,
    private readonly oneSession: Session,
    private readonly gradProgram: CurvatureProgram,
    private readonly oneProgram: CurvatureProgram,
    private readonly all: Chunk[],
    private readonly subset: Chunk[],
    readonly runtime: RuntimeInfo,
    private readonly token?: CancelToken,
  ) {
    this.params = describeParams(problem);
    this.P = this.params.reduce((a, p) => a + p.size, 0);
    this.w0 = new Float64Array(this.P);
    problem.graph.params.forEach((p, i) => this.w0.set(p.tensor.data as Float32Array, this.params[i].offset));
  }

  /** `subset`: the examples whose per-example gradients are projected (sorted indices). */
  static async open(problem: EngineProblem, subset: Int32Array, threads: number, token?: CancelToken): Promise<OnnxCurvatureEvaluator> {
    const B = Math.max(1, Math.min(CHUNK, problem.n));
    const first = readRows(problem, Int32Array.from({ length: Math.min(B, problem.n) }, (_, i) => i), B);
    const values = await probeValues(problem.graph, first.x);
    const gradProgram = buildCurvatureProgram(problem.graph, problem.head, values, B, false);
    const one = readRows(problem, Int32Array.of(0), 1);
    const oneProgram = buildCurvatureProgram(problem.graph, problem.head, await probeValues(problem.graph, one.x), 1, false);
    const grad = await createSession(gradProgram.bytes, { threads }, problem.graph.file);
    const oneSession = await createSession(oneProgram.bytes, { threads }, problem.graph.file);
    const chunks = (rows: Int32Array, size: number): Chunk[] => {
      const Tensor = ort().Tensor;
      const out: Chunk[] = [];
      for (let s = 0; s < rows.length; s += size) {
        const part = rows.subarray(s, Math.min(rows.length, s + size));
        const { x, y } = readRows(problem, part, size);
        const w = new Float32Array(size);
        w.fill(1, 0, part.length);
        out.push({
          count: part.length,
          feed: {
            [gradProgram.input]: new Tensor(x.dtype, x.data as Float32Array, x.dims),
            targets: new Tensor('float32', y, [size, ...problem.targetShape]),
            weights: new Tensor('float32', w, [size]),
          },
        });
      }
      return out;
    };
    const all = chunks(Int32Array.from({ length: problem.n }, (_, i) => i), B);
    return new OnnxCurvatureEvaluator(problem, grad.session, oneSession.session, gradProgram, oneProgram, all, chunks(subset, 1), grad.info, token);
  }

  get examples(): number {
    return this.problem.n;
  }

  describe(): string {
    return `ONNX Runtime (${this.runtime.provider}, ${this.runtime.threads} thread(s)): gradient program of ${this.gradProgram.nodeCount} nodes at batch ${this.gradProgram.B}, parameters as graph inputs`;
  }

  private weightFeed(w: Float64Array): Record<string, OrtTensor> {
    const Tensor = ort().Tensor;
    const feed: Record<string, OrtTensor> = {};
    this.problem.graph.params.forEach((p, i) => {
      const { offset, size } = this.params[i];
      feed[p.name] = new Tensor('float32', Float32Array.from(w.subarray(offset, offset + size)), p.tensor.dims);
    });
    return feed;
  }

  private async run(session: Session, feed: Record<string, OrtTensor>, what: string): Promise<Record<string, OrtTensor>> {
    throwIfCancelled(this.token);
    try {
      return await session.run(feed);
    } catch (e) {
      throw new HeatcapError(this.problem.graph.file, `ONNX Runtime failed on the curvature ${what} program: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    }
  }

  /** (1/N) Σ_b ∇ℓ_b(w) over every example, penalties excluded; float32 program, float64 accumulation. */
  async meanDataGrad(w: Float64Array): Promise<Float64Array> {
    const wf = this.weightFeed(w);
    const g = new Float64Array(this.P);
    for (const c of this.all) {
      const res = await this.run(this.gradSession, { ...c.feed, ...wf }, 'gradient');
      this.gradProgram.outputs.grads.forEach((name, i) => {
        const d = res[name].data as Float32Array;
        const off = this.params[i].offset;
        for (let k = 0; k < d.length; k++) g[off + k] += d[k];
      });
    }
    this.gradientRuns++;
    const inv = 1 / this.problem.n;
    for (let i = 0; i < this.P; i++) g[i] *= inv;
    await new Promise((r) => setImmediate(r));
    return g;
  }

  /**
   * V·g_b(w) for every subset example (n × k, row-major), penalties excluded: the batch-1 program once
   * per example, its float32 gradient projected in float64.
   */
  async subsetGradProjections(w: Float64Array, V: Float64Array[]): Promise<Float64Array> {
    const wf = this.weightFeed(w);
    const k = V.length;
    const out = new Float64Array(this.subset.length * k);
    for (let b = 0; b < this.subset.length; b++) {
      const res = await this.run(this.oneSession, { ...this.subset[b].feed, ...wf }, 'per-example gradient');
      this.oneProgram.outputs.grads.forEach((name, p) => {
        const d = res[name].data as Float32Array;
        const off = this.params[p].offset;
        for (let i = 0; i < k; i++) {
          const v = V[i];
          let s = 0;
          for (let q = 0; q < d.length; q++) s += v[off + q] * d[q];
          out[b * k + i] += s;
        }
      });
      if (b % 256 === 255) await new Promise((r) => setImmediate(r));
    }
    this.exampleRuns += this.subset.length;
    return out;
  }

  async release(): Promise<void> {
    await this.gradSession.release();
    await this.oneSession.release();
  }
}
