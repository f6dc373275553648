import { HeatcapError } from '../errors';
import { initBackend } from '../tf/backend';
import { runOnnxGradNormJob, tfjsFallbackApplies } from '../engine/job-handler';
import type { JobContext, JobHandler } from '../worker/job-context';
import { resolveEngine, type GradNormJobResult, type GradNormRequest } from './job';
import type { JobResult } from '../worker/protocol';
import { computePartial } from './engine';
import { hessian, perExampleGradients } from './exact';
import { openGradProblem } from './problem';
import { modelFacts } from './summary';

/**
 * The `gradnorms` worker job: one range's partial statistics, streaming per-example norms back when
 * asked. The ONNX engine unless `naive` is asked for; for an `auto` request on a model.json the ONNX
 * engine cannot express, the TF.js per-example loop, with a note.
 */
export const runGradNormJob: JobHandler<'gradnorms'> = async (request, ctx) => {
  const { engine, note } = resolveEngine(request.engine);
  const req = { ...request, engine };
  const r = await runResolvedJob(req, ctx);
  if (note) r.notes.unshift(note);
  return r;
};

async function runResolvedJob(req: GradNormRequest, ctx: JobContext<'gradnorms'>): Promise<GradNormJobResult> {
  if (req.engine === 'naive') return runTfjsGradNormJob(req, ctx);
  try {
    return await runOnnxGradNormJob(req, ctx);
  } catch (e) {
    if (!tfjsFallbackApplies(req, e)) throw e;
    const r = await runTfjsGradNormJob(req, ctx);
    r.notes.unshift(`the ONNX engine could not run this model (${(e as Error).message}): used the TensorFlow.js per-example loop (exact, slower)`);
    return r;
  }
}

async function runTfjsGradNormJob(req: GradNormRequest, ctx: JobContext<'gradnorms'>): Promise<GradNormJobResult> {
  // TF.js reads a layer's `trainable: false` from the model file; it has no way to freeze by name.
  if (req.frozen?.length) throw new HeatcapError(req.model, `--freeze needs the ONNX engine; TensorFlow.js' per-example loop leaves out only the layers the model file marks trainable: false`);
  const backendInfo = await initBackend(req.backend);
  const t0 = performance.now();
  const problem = await openGradProblem({ model: req.model, data: req.data, loss: req.loss });
  try {
    const loadSeconds = (performance.now() - t0) / 1000;
    const partial = await computePartial(problem, {
      chunkSize: req.chunkSize,
      topK: req.topK,
      diagonal: req.diagonal,
      range: req.range,
      token: ctx.token,
      onProgress: ctx.progress,
      onNorms: req.streamNorms ? (start, sqNorms) => ctx.emit({ start, sqNorms }, [sqNorms.buffer as ArrayBuffer]) : undefined,
    });
    if (backendInfo.note) partial.notes.unshift(`backend: ${backendInfo.note}`);
    return { ...partial, backendInfo, loadSeconds, n: problem.n, modelFacts: modelFacts(problem.model) };
  } finally {
    problem.close();
    // The job loaded the model, so it frees it (matters when jobs run in this thread, `--workers 0`).
    problem.model.dispose();
  }
}

/**
 * The `exact` worker job: the Hessian and/or the per-example gradient matrix of a small model
 * (exact.ts), flattened row-major for transfer.
 */
export const runExactJob: JobHandler<'exact'> = async (req, ctx) => {
  const backendInfo = await initBackend(req.backend);
  const problem = await openGradProblem({ model: req.model, data: req.data, loss: req.loss });
  const t0 = performance.now();
  try {
    const opts = { includePenalty: req.includePenalty, maxParams: req.maxParams, token: ctx.token };
    const result: JobResult<'exact'> = { params: [], backendInfo, seconds: 0 };
    if (req.perExampleGradients) {
      const g = await perExampleGradients(problem, opts);
      result.params = g.params;
      const P = g.params.reduce((a, p) => a + p.size, 0);
      const flat = new Float64Array(g.rows.length * P);
      g.rows.forEach((r, i) => flat.set(r, i * P));
      result.perExampleGradients = flat;
    }
    if (req.hessian) {
      const h = await hessian(problem, opts);
      result.params = h.params;
      result.hessian = h.matrix;
    }
    result.seconds = (performance.now() - t0) / 1000;
    return result;
  } finally {
    problem.close();
    problem.model.dispose();
  }
};
