import type { DataFiles } from '../data/open';
import { HeatcapError } from '../errors';
import { openGradProblem } from '../gradnorm/problem';
import { flatParams } from '../model/params';
import { initBackend, type BackendPref } from '../tf/backend';
import { DenseF64Model } from './dense-f64';
import { denseNetSpec } from './dense-spec';
import type { LabModel } from './model';
import { TfjsLabModel } from './tfjs-model';

/** Which engine trains: the float64 fast path when the model allows it (`auto`), or one forced. */
export type LabEngine = 'auto' | 'dense-f64' | 'tfjs';
export const LAB_ENGINES: readonly LabEngine[] = ['auto', 'dense-f64', 'tfjs'];

export interface OpenLabOptions {
  model: string;
  data: DataFiles;
  loss?: string;
  engine: LabEngine;
  backend: BackendPref;
  batchSize: number;
}

export interface OpenedLab {
  model: LabModel;
  /** The checkpoint's parameters, float32 values held exactly in float64. */
  initial: Float64Array;
  /** The loss as named in sweep.json / hparams (Keras name, `_from_logits` when logits). */
  lossName: string;
  /** What was inferred or decided (loss source, labels, engine and why), for the user. */
  notes: string[];
}

/**
 * Loads the checkpoint, its loss and its training set (through the gradient engine's problem loader,
 * so the lab and the prediction read model, labels and loss identically), holds the whole training set
 * in memory, and picks the engine.
 */
export async function openLab(o: OpenLabOptions): Promise<OpenedLab> {
  // The requested backend is set before tfjs first runs (it prints nothing then), whichever engine
  // trains: switching backends between models of one process would move their tensors behind their back.
  const backend = await initBackend(o.backend);
  const problem = await openGradProblem({ model: o.model, data: o.data, loss: o.loss });
  try {
    const { n, params, loss, model } = problem;
    const rowSize = problem.inputs.rowSize;
    const x = new Float32Array(n * rowSize);
    problem.inputs.readRows(0, n, x);
    const y = problem.targets.read(0, n);
    if (o.batchSize > n) throw new HeatcapError(o.data.data, `has ${n} examples, fewer than the batch size ${o.batchSize}`);
    const notes = [...problem.notes];
    const lossName = loss.fromLogits ? `${loss.kind}_from_logits` : loss.kind;
    const spec = o.engine === 'tfjs' ? { reason: 'requested' } : denseNetSpec(model, params, loss);
    const initial = flatParams(params);
    let lab: LabModel;
    if ('layers' in spec) {
      lab = new DenseF64Model(spec, { n, x: Float64Array.from(x), y });
      model.dispose();
      notes.push('engine: dense-f64 (pure-JS float64 fast path for Dense-only models)');
    } else {
      if (o.engine === 'dense-f64') throw new HeatcapError(o.model, `the dense-f64 engine cannot train this model: ${spec.reason}`);
      lab = new TfjsLabModel(model, params, loss, problem.inputs.rowShape, problem.outputShape, x, y, n, o.batchSize);
      const ran = await probeBackend(lab, initial, o.batchSize, backend.name, o.model);
      notes.push(o.engine === 'tfjs' ? `engine: tfjs on ${ran.name} (requested)` : `engine: tfjs on ${ran.name} (not eligible for the float64 fast path: ${spec.reason})`);
      if (backend.note) notes.push(`backend: ${backend.note}`);
      if (ran.note) notes.push(`backend: ${ran.note}`);
    }
    return { model: lab, initial, lossName, notes };
  } finally {
    problem.close();
  }
}

/**
 * One training step at the checkpoint, before the run starts. The wasm backend lacks some gradient
 * kernels (Conv2DBackpropFilter, UnsortedSegmentSum: PERFORMANCE-NOTES.md pitfall 3); such a model
 * trains on the pure-JS cpu backend instead, and says so. Any other failure names the model file.
 */
async function probeBackend(lab: LabModel, w: Float64Array, batchSize: number, backend: string, file: string): Promise<{ name: string; note?: string }> {
  const idx = Int32Array.from({ length: batchSize }, (_, i) => i);
  const grad = new Float64Array(w.length);
  const attempt = (): string | undefined => {
    try {
      lab.batchLossGrad(w, idx, grad);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message.split('\n')[0] : String(e);
    }
  };
  const first = attempt();
  if (first === undefined) return { name: backend };
  const missing = /Kernel '([^']+)' not registered for backend/.exec(first);
  if (missing && backend !== 'cpu') {
    await initBackend('cpu');
    const second = attempt();
    if (second === undefined) return { name: 'cpu', note: `${backend} has no '${missing[1]}' kernel; training on the pure-JS cpu backend (slower)` };
    throw new HeatcapError(file, `cannot be trained by TensorFlow.js: ${second}`);
  }
  throw new HeatcapError(file, `cannot be trained by TensorFlow.js on ${backend}: ${first}`);
}
