/**
 * A model file of any supported format, its loss and its training data, ready for the ONNX engine:
 * the engine graph, the head, the data shaped to the model's input, the targets, the penalties.
 */
import { HeatcapError } from '../errors';
import { openTrainingArrays, type DataFiles, type TrainingArrays } from '../data/open';
import type { ArraySource } from '../data/source';
import type { EngineGraph } from '../graph/types';
import { lossLabel, resolveLoss, type LossSpec } from '../gradnorm/loss';
import { shapeInputs } from '../gradnorm/shape-inputs';
import { targetReader, type TargetReader } from '../gradnorm/targets';
import { openEngineGraph } from '../model/open-graph';
import { planHead, type LossHead, type LossSemantics } from './loss-head';
import { freezeParams } from './freeze';
import { rewriteForGradients } from './rewrites';

export interface EngineProblem {
  graph: EngineGraph;
  loss: LossSpec;
  head: LossHead;
  inputs: ArraySource;
  targets: TargetReader;
  /** The head input's shape without the batch axis. */
  targetShape: number[];
  n: number;
  /** R(Φ) = Σ l1·|w| + l2·w² over penalised parameters (added to every ℓ_b). */
  penaltyValue: number;
  /** ∇R per parameter (float32, the parameter's own layout), undefined where there is no penalty. */
  penaltyGrads: (Float32Array | undefined)[];
  notes: string[];
  /**
   * For token-id inputs read by an embedding Gather: the table size V (ids must be in 0..V−1; ONNX's Gather
   * would take −1 as the last row, as nn.Embedding does not) and the Gather, for the error.
   */
  tokenIds?: { vocab: number; where: string };
  close(): void;
}

/** The smallest table an int input indexes directly (Gather on axis 0, possibly through a Cast). */
function tokenIdsOf(graph: EngineGraph): EngineProblem['tokenIds'] {
  if (graph.input.dtype !== 'int64' && graph.input.dtype !== 'int32') return undefined;
  const ids = new Set([graph.input.name]);
  for (const n of graph.nodes) if (n.op === 'Cast' && ids.has(n.inputs[0])) ids.add(n.outputs[0]);
  const tables = new Map<string, number[]>([...graph.params.map((p) => [p.name, p.tensor.dims] as const), ...graph.constants.map((c) => [c.name, c.tensor.dims] as const)]);
  let best: EngineProblem['tokenIds'];
  for (const n of graph.nodes) {
    if (n.op !== 'Gather' || !ids.has(n.inputs[1])) continue;
    const axis = n.attrs.axis && n.attrs.axis.type === 'int' ? n.attrs.axis.v : 0;
    const dims = tables.get(n.inputs[0]);
    if (axis !== 0 || !dims || dims.length === 0) continue;
    if (!best || dims[0] < best.vocab) best = { vocab: dims[0], where: `Gather '${n.name}' over '${n.inputs[0]}'` };
  }
  return best;
}

export interface EngineProblemSpec {
  model: string;
  /** Data file names, or arrays already opened (tests). */
  data: DataFiles | TrainingArrays;
  /** The loss by name (`--loss`); else the one the model file records. */
  loss?: string;
  labelSmoothing?: number;
  semantics?: LossSemantics;
  /** Parameters SGD did not train (names or module prefixes, `--freeze`): constants of the graph. */
  frozen?: readonly string[];
}

function penalties(graph: EngineGraph): { value: number; grads: (Float32Array | undefined)[] } {
  let value = 0;
  const grads = graph.params.map((p) => {
    if (!p.penalty || (p.penalty.l1 === 0 && p.penalty.l2 === 0)) return undefined;
    const { l1, l2 } = p.penalty;
    const w = p.tensor.data as Float32Array;
    const r = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      value += l1 * Math.abs(w[i]) + l2 * w[i] * w[i];
      r[i] = l1 * Math.sign(w[i]) + 2 * l2 * w[i];
    }
    return r;
  });
  return { value, grads };
}

export async function openEngineProblem(spec: EngineProblemSpec): Promise<EngineProblem> {
  const { graph, note: frozenNote } = freezeParams(rewriteForGradients(await openEngineGraph(spec.model)), spec.frozen);
  const base = resolveLoss(spec.loss, graph.trainingConfig, graph.file);
  const loss: LossSpec = spec.labelSmoothing ? { ...base, labelSmoothing: spec.labelSmoothing } : base;
  if (loss.labelSmoothing !== undefined && !(loss.labelSmoothing >= 0 && loss.labelSmoothing < 1)) {
    throw new HeatcapError(undefined, `--label-smoothing must be in [0, 1), got ${loss.labelSmoothing}`);
  }
  const head = planHead(graph, loss, spec.semantics ?? 'exact');
  const arrays: TrainingArrays = 'inputs' in spec.data ? spec.data : openTrainingArrays(spec.data);
  try {
    const inputs = shapeInputs(arrays.inputs, graph.input.shape, graph.file);
    const out = graph.output.shape.slice(1);
    if (out.some((d: number | null) => d === null)) throw new HeatcapError(graph.file, `the output shape (${graph.output.shape.map((d: number | null) => d ?? '?').join(', ')}) has free dimensions besides the batch; fixed shapes are needed`);
    const targetShape = out as number[];
    const targets = targetReader(arrays.labels, loss, targetShape);
    const pen = penalties(graph);
    const notes = [...graph.notes, `loss: ${lossLabel(loss)}${loss.labelSmoothing ? `, label smoothing ${loss.labelSmoothing}` : ''} (from ${loss.source}); ${head.describe}`, `labels: ${targets.interpretation}`];
    if (frozenNote) notes.push(frozenNote);
    if (pen.value > 0) notes.push(`weight penalties included in every ℓ_b (R(Φ) = ${pen.value.toPrecision(6)})`);
    if (inputs.rowShape.join() !== arrays.inputs.rowShape.join()) {
      notes.push(`inputs reshaped from (${arrays.inputs.rowShape.join(', ')}) to (${inputs.rowShape.join(', ')}) per example`);
    }
    return { graph, loss, head: { ...head, unitTargets: targets.fromIndices === true }, inputs, targets, targetShape, n: inputs.n, penaltyValue: pen.value, penaltyGrads: pen.grads, notes, tokenIds: tokenIdsOf(graph), close: () => arrays.close() };
  } catch (e) {
    arrays.close();
    throw e;
  }
}
