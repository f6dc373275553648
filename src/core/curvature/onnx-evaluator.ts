/**
 * Runs the curvature programs (onnx-program.ts) in ONNX Runtime at arbitrary parameter points: the
 * full-batch mean gradient of the data loss (for Hessian-vector products by differences), and for a set
 * of examples their gradients g_b projected on given directions. The projections come from the
 * vectorised projection program (projection-program.ts: ⟨g_b, v_i⟩ for a batch of examples at once, from
 * each layer's per-example form) where every weight has one; else (an op without a per-example rule,
 * shared weights) from the gradient program at batch 1 run once per example (the exact per-example loop:
 * every op's VJP, no per-example rule needed), and `projectionNote` says why.
 * Inputs and targets are read once and kept as ORT tensors per chunk; only the parameters change
 * between runs. Parameters are a flat float64 vector in the engine graph's parameter order
 * (engine/compute.ts describeParams); they are rounded to float32 when fed.
 * The model's own penalties R(Φ) are NOT included here: the caller adds their exact float64 terms.
 */
import { throwIfCancelled, type CancelToken } from '../cancel';
import { HeatcapError } from '../errors';
import type { ConstTensor } from '../graph/types';
import { checkTokenId, describeParams, memoryBudgetBytes } from '../engine/compute';
import type { EngineProblem } from '../engine/problem';
import { probeValues } from '../engine/probe';
import { NeedsLoop, type ValueInfo } from '../engine/program';
import { createSession, ort, type RuntimeChoice, type RuntimeInfo } from '../engine/runtime';
import type { ParamDescription } from '../gradnorm/stats';
import { NoTangentRule } from './jvp';
import { buildCurvatureProgram, buildHvpProgram, type CurvatureProgram } from './onnx-program';
import { buildProjectionProgram, buildProjectionTangentProgram, type ProjectionProgram } from './projection-program';

type OrtTensor = import('onnxruntime-node').Tensor;
type Session = import('onnxruntime-node').InferenceSession;

/** Examples per ORT run: large enough that ORT's per-run cost is paid rarely, small enough for memory. */
const CHUNK = 512;
/** Most examples per run of the projection program, and the intermediates one run may hold. */
const PROJ_MAX_BATCH = 2048;
const PROJ_BATCH_BYTES = 256 * 2 ** 20;

export interface EvaluatorOptions {
  /** `auto` (default): the vectorised projection program where it can be built; `loop`: batch 1 per example. */
  projections?: 'auto' | 'loop';
  /** Directions per projection call expected (the program is built for it; other counts build lazily). */
  k?: number;
  /** ONNX Runtime build (`auto`: native, else wasm), as `--runtime` / `heatcap.engineRuntime` ask. */
  runtime?: RuntimeChoice;
}

/**
 * Bytes per example of the projection program: the forward values that scale with the batch, three
 * times over (value, cotangent, per-example form), plus the largest layer's per-example gradients
 * (materialised for multi-position layers) and the k-wide products.
 */
function projectionBytesPerExample(values: Map<string, ValueInfo>, B: number, maxParam: number, k: number): number {
  let total = 0;
  let widest = 0;
  for (const v of values.values()) {
    if (v.dims[0] !== B) continue;
    const per = (v.dims.reduce((a, b) => a * b, 1) / B) * (v.dtype === 'float64' || v.dtype === 'int64' ? 8 : 4);
    total += per;
    widest = Math.max(widest, per);
  }
  return 3 * total + 4 * maxParam + k * widest;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

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
  const ints = problem.graph.input.dtype === 'int64' || problem.graph.input.dtype === 'int32';
  for (let i = 0; i < rows.length * rs; i++) {
    if (!Number.isFinite(f[i])) throw new HeatcapError(problem.inputs.file, `input value ${f[i]} is not finite`);
    if (ints) checkTokenId(problem, f[i], rows[Math.floor(i / rs)]);
  }
  const dims = [B, ...problem.inputs.rowShape];
  const dtype = problem.graph.input.dtype;
  if (dtype === 'int64') return { x: { dims, dtype, data: BigInt64Array.from(f, (v) => BigInt(Math.round(v))) }, y };
  if (dtype === 'int32') return { x: { dims, dtype, data: Int32Array.from(f, (v) => Math.round(v)) }, y };
  return { x: { dims, dtype: 'float32', data: f }, y };
}

/** The rows as ORT feeds in chunks of `size` (the last padded with weight-0 copies of its first row). */
function makeChunks(problem: EngineProblem, input: string, rows: Int32Array, size: number): Chunk[] {
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
        [input]: new Tensor(x.dtype, x.data as Float32Array, x.dims),
        targets: new Tensor('float32', y, [size, ...problem.targetShape]),
        weights: new Tensor('float32', w, [size]),
      },
    });
  }
  return out;
}

export class OnnxCurvatureEvaluator {
  readonly params: ParamDescription[];
  readonly P: number;
  /** The checkpoint's parameters (float32 values, exact in float64). */
  readonly w0: Float64Array;
  gradientRuns = 0;
  /**
   * Process CPU seconds spent in full-batch gradient and exact-HVP evaluations (each over all N
   * examples; CPU rather than wall time, so other load on shared cores counts less).
   */
  gradientSeconds = 0;
  hvpRuns = 0;
  hvpSeconds = 0;
  exampleRuns = 0;
  /** Runs of the projection program (vectorised path) or of the batch-1 program (loop). */
  projectionRuns = 0;
  /** How the projections are computed, in words (the loop's reason when it is used). */
  projectionNote = '';
  private proj?: { program: ProjectionProgram; session: Session; chunks: Chunk[]; values: Map<string, ValueInfo> };
  private loop?: { program: CurvatureProgram; session: Session; chunks: Chunk[] };
  private hvp?: { program: CurvatureProgram; session: Session };
  private projTangent?: { program: ProjectionProgram; session: Session };

  private constructor(
    private readonly problem: EngineProblem,
    private readonly probed: Map<string, ValueInfo>,
    private readonly gradSession: Session,
    private readonly gradProgram: CurvatureProgram,
    private readonly all: Chunk[],
    private readonly subsetRows: Int32Array,
    private readonly threads: number,
    readonly runtime: RuntimeInfo,
    private readonly token?: CancelToken,
    private readonly runtimeChoice: RuntimeChoice = 'auto',
  ) {
    this.params = describeParams(problem);
    this.P = this.params.reduce((a, p) => a + p.size, 0);
    this.w0 = new Float64Array(this.P);
    problem.graph.params.forEach((p, i) => this.w0.set(p.tensor.data as Float32Array, this.params[i].offset));
  }

  /** `subset`: the examples whose per-example gradients are projected (sorted indices). */
  static async open(problem: EngineProblem, subset: Int32Array, threads: number, token?: CancelToken, opts: EvaluatorOptions = {}): Promise<OnnxCurvatureEvaluator> {
    const B = Math.max(1, Math.min(CHUNK, problem.n));
    const first = readRows(problem, Int32Array.from({ length: Math.min(B, problem.n) }, (_, i) => i), B);
    const values = await probeValues(problem.graph, first.x);
    const gradProgram = buildCurvatureProgram(problem.graph, problem.head, values, B, false);
    const grad = await createSession(gradProgram.bytes, { threads, runtime: opts.runtime }, problem.graph.file);
    const all = makeChunks(problem, gradProgram.input, Int32Array.from({ length: problem.n }, (_, i) => i), B);
    const ev = new OnnxCurvatureEvaluator(problem, values, grad.session, gradProgram, all, subset, threads, grad.info, token, opts.runtime);
    const k = Math.max(1, Math.min(opts.k ?? 10, ev.P));
    if (opts.projections === 'loop') await ev.openLoop('batch-1 loop asked for');
    else await ev.openProjection(k, values, B);
    return ev;
  }

  /** The vectorised projection program for k directions, at a batch its intermediates allow; else the loop. */
  private async openProjection(k: number, values: Map<string, ValueInfo>, probedB: number): Promise<void> {
    const problem = this.problem;
    const n = this.subsetRows.length;
    const maxParam = Math.max(...this.params.map((p) => p.size));
    const perExample = projectionBytesPerExample(values, probedB, maxParam, k);
    const fit = Math.floor(Math.min(memoryBudgetBytes(), PROJ_BATCH_BYTES) / Math.max(1, perExample));
    const B = Math.max(1, Math.min(n, PROJ_MAX_BATCH, fit));
    const rows = this.subsetRows.subarray(0, Math.min(B, n));
    const pv = B === probedB && n >= B ? values : await probeValues(problem.graph, readRows(problem, rows, B).x);
    let program: ProjectionProgram;
    try {
      program = buildProjectionProgram(problem.graph, problem.head, pv, B, k);
    } catch (e) {
      if (e instanceof NeedsLoop) return this.openLoop(`no vectorised projection program: ${e.message}`);
      throw e;
    }
    const session = await createSession(program.bytes, { threads: this.threads, runtime: this.runtimeChoice }, problem.graph.file);
    this.proj = { program, session: session.session, chunks: makeChunks(problem, program.input, this.subsetRows, B), values: pv };
    const chunks = Math.ceil(n / B);
    this.projectionNote = `the vectorised projection program (${program.nodeCount} nodes, batch ${B}, ${chunks} run${chunks === 1 ? '' : 's'} per point; per layer: ${[...new Set(program.forms)].join('; ')})`;
  }

  private async openLoop(why: string): Promise<void> {
    const problem = this.problem;
    const one = readRows(problem, Int32Array.of(0), 1);
    const program = buildCurvatureProgram(problem.graph, problem.head, await probeValues(problem.graph, one.x), 1, false);
    const session = await createSession(program.bytes, { threads: this.threads, runtime: this.runtimeChoice }, problem.graph.file);
    this.loop = { program, session: session.session, chunks: makeChunks(problem, program.input, this.subsetRows, 1) };
    this.projectionNote = `the float32 gradient program at batch 1, once per example (${why})`;
  }

  /**
   * Builds the exact HVP program (forward over reverse, jvp/) on the gradient program's chunks. Returns
   * a note saying why not (an op without a tangent rule) instead of throwing; undefined when it is ready.
   */
  async openHvp(): Promise<string | undefined> {
    if (this.hvp) return undefined;
    let program: CurvatureProgram;
    try {
      program = buildHvpProgram(this.problem.graph, this.problem.head, this.probed, this.gradProgram.B);
    } catch (e) {
      if (e instanceof NoTangentRule) return e.message;
      throw e;
    }
    const session = await createSession(program.bytes, { threads: this.threads, runtime: this.runtimeChoice }, this.problem.graph.file);
    this.hvp = { program, session: session.session };
    return undefined;
  }

  /**
   * The projection program's forward-mode transform (exact per-example curvatures v_iᵀA_b t), on the
   * vectorised projection program's batch and chunks. Returns why not (no vectorised program: the
   * batch-1 loop runs; an op without a tangent rule) instead of throwing; undefined when ready.
   */
  async openProjectionTangents(k: number): Promise<string | undefined> {
    if (this.projTangent?.program.k === k) return undefined;
    if (!this.proj || this.proj.program.k !== k) return this.loop ? 'the per-example gradients come from the batch-1 loop' : 'no projection program for this k';
    let program: ProjectionProgram;
    try {
      program = buildProjectionTangentProgram(this.problem.graph, this.problem.head, this.proj.values, this.proj.program.B, k);
    } catch (e) {
      if (e instanceof NoTangentRule || e instanceof NeedsLoop) return e.message;
      throw e;
    }
    await this.projTangent?.session.release();
    const session = await createSession(program.bytes, { threads: this.threads, runtime: this.runtimeChoice }, this.problem.graph.file);
    this.projTangent = { program, session: session.session };
    return undefined;
  }

  /** v_iᵀ A_b t for every subset example and direction (n × k, row-major), exact, float32; penalties excluded. */
  async subsetCurvatureAlong(w: Float64Array, V: Float64Array[], t: Float64Array): Promise<Float64Array> {
    const { program, session } = this.projTangent!;
    const chunks = this.proj!.chunks;
    const Tensor = ort().Tensor;
    const k = V.length;
    const feed = this.weightFeed(w);
    this.problem.graph.params.forEach((p, i) => {
      const { offset, size } = this.params[i];
      const d = new Float32Array(k * size);
      V.forEach((v, j) => {
        for (let q = 0; q < size; q++) d[j * size + q] = v[offset + q];
      });
      feed[program.directions[i]] = new Tensor('float32', d, [k, ...p.tensor.dims]);
      feed[program.tangents![i]] = new Tensor('float32', Float32Array.from(t.subarray(offset, offset + size)), p.tensor.dims);
    });
    const out = new Float64Array(this.subsetRows.length * k);
    let at = 0;
    for (const c of chunks) {
      const res = await this.run(session, { ...c.feed, ...feed }, 'projection tangent');
      const d = res[program.output].data as Float32Array;
      for (let q = 0; q < c.count * k; q++) out[at * k + q] = d[q];
      at += c.count;
      this.projectionRuns++;
    }
    await new Promise((r) => setImmediate(r));
    return out;
  }

  /** Nodes of the projection tangent program (after openProjectionTangents). */
  get projectionTangentNodeCount(): number {
    return this.projTangent?.program.nodeCount ?? 0;
  }

  /** Nodes of the HVP program (after openHvp). */
  get hvpNodeCount(): number {
    return this.hvp?.program.nodeCount ?? 0;
  }

  /**
   * (1/N) Σ_b ∇²ℓ_b(w)·v over every example, penalties excluded: the HVP program (float32, its loss
   * head float64) per chunk, summed in float64 like meanDataGrad.
   */
  async meanDataHvp(w: Float64Array, v: Float64Array): Promise<Float64Array> {
    const { program, session } = this.hvp!;
    const t0 = process.cpuUsage();
    const Tensor = ort().Tensor;
    const feed = this.weightFeed(w);
    this.problem.graph.params.forEach((p, i) => {
      const { offset, size } = this.params[i];
      feed[program.tangents!.inputs[i]] = new Tensor('float32', Float32Array.from(v.subarray(offset, offset + size)), p.tensor.dims);
    });
    const out = new Float64Array(this.P);
    for (const c of this.all) {
      const res = await this.run(session, { ...c.feed, ...feed }, 'Hessian-vector product');
      program.tangents!.outputs.forEach((name, i) => {
        const d = res[name].data as Float32Array;
        const off = this.params[i].offset;
        for (let k = 0; k < d.length; k++) out[off + k] += d[k];
      });
    }
    const inv = 1 / this.problem.n;
    for (let i = 0; i < this.P; i++) out[i] *= inv;
    this.hvpRuns++;
    this.hvpSeconds += cpuSeconds(t0);
    await new Promise((r) => setImmediate(r));
    return out;
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
    const t0 = process.cpuUsage();
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
    this.gradientSeconds += cpuSeconds(t0);
    await new Promise((r) => setImmediate(r));
    return g;
  }

  /** V·g_b(w) for every subset example (n × k, row-major), penalties excluded. */
  async subsetGradProjections(w: Float64Array, V: Float64Array[]): Promise<Float64Array> {
    if (!this.loop && (!this.proj || this.proj.program.k !== V.length)) {
      const old = this.proj;
      this.proj = undefined;
      await this.openProjection(V.length, old?.values ?? (await probeValues(this.problem.graph, readRows(this.problem, this.subsetRows.subarray(0, 1), 1).x)), old?.program.B ?? 1);
      await old?.session.release();
    }
    return this.proj ? this.vectorisedProjections(w, V) : this.loopProjections(w, V);
  }

  /** The projection program over chunks of examples: ⟨g_b, v_i⟩ in float32, [B, k] per run. */
  private async vectorisedProjections(w: Float64Array, V: Float64Array[]): Promise<Float64Array> {
    const { program, session, chunks } = this.proj!;
    const Tensor = ort().Tensor;
    const k = V.length;
    const feed = this.weightFeed(w);
    this.problem.graph.params.forEach((p, i) => {
      const { offset, size } = this.params[i];
      const d = new Float32Array(k * size);
      V.forEach((v, j) => {
        for (let q = 0; q < size; q++) d[j * size + q] = v[offset + q];
      });
      feed[program.directions[i]] = new Tensor('float32', d, [k, ...p.tensor.dims]);
    });
    const out = new Float64Array(this.subsetRows.length * k);
    let at = 0;
    for (const c of chunks) {
      const res = await this.run(session, { ...c.feed, ...feed }, 'projection');
      const d = res[program.output].data as Float32Array;
      for (let q = 0; q < c.count * k; q++) out[at * k + q] = d[q];
      at += c.count;
      this.projectionRuns++;
    }
    this.exampleRuns += this.subsetRows.length;
    await new Promise((r) => setImmediate(r));
    return out;
  }

  /** The batch-1 program once per example, its float32 gradient projected in float64. */
  private async loopProjections(w: Float64Array, V: Float64Array[]): Promise<Float64Array> {
    const { program, session, chunks } = this.loop!;
    const wf = this.weightFeed(w);
    const k = V.length;
    const out = new Float64Array(chunks.length * k);
    for (let b = 0; b < chunks.length; b++) {
      const res = await this.run(session, { ...chunks[b].feed, ...wf }, 'per-example gradient');
      program.outputs.grads.forEach((name, p) => {
        const d = res[name].data as Float32Array;
        const off = this.params[p].offset;
        for (let i = 0; i < k; i++) {
          const v = V[i];
          let s = 0;
          for (let q = 0; q < d.length; q++) s += v[off + q] * d[q];
          out[b * k + i] += s;
        }
      });
      this.projectionRuns++;
      if (b % 256 === 255) await new Promise((r) => setImmediate(r));
    }
    this.exampleRuns += chunks.length;
    return out;
  }

  async release(): Promise<void> {
    await this.gradSession.release();
    await this.proj?.session.release();
    await this.loop?.session.release();
    await this.hvp?.session.release();
    await this.projTangent?.session.release();
  }
}
