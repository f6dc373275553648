import * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../errors';
import { openTrainingArrays, type DataFiles, type TrainingArrays } from '../data/open';
import type { ArraySource } from '../data/source';
import { shapeInputs } from './shape-inputs';
import { loadLayersModelAny, type LoadedModel } from '../model/load';
import { trainableParams, type ParamInfo } from '../model/params';
import { lossLabel, resolveLoss, type LossSpec } from './loss';
import { targetReader, type TargetReader } from './targets';

/**
 * Everything the gradient engines need: a single-input, single-output model at its loaded weights,
 * the per-example loss, and the training set as row sources shaped to the model's input.
 */
export interface GradProblem {
  model: tf.LayersModel;
  modelFile: string;
  loss: LossSpec;
  /** Rows shaped as one model input (batch axis excluded). */
  inputs: ArraySource;
  /** One model output's shape (batch axis excluded). */
  outputShape: number[];
  targets: TargetReader;
  n: number;
  /** Trainable weights in the model's flattened parameter order. */
  params: ParamInfo[];
  /** What was inferred (loss source, label interpretation, reshaping) — shown with the result. */
  notes: string[];
  close(): void;
}

export interface ProblemSpec {
  /** model.json or Keras file path, or a model already loaded. */
  model: string | LoadedModel;
  /** Data file names, or arrays already opened. */
  data: DataFiles | TrainingArrays;
  /** Overrides the loss recorded in model.json (Keras/tfjs name; see loss.ts). */
  loss?: string;
}

/** Opens model, loss and data, and checks they fit together. Throws HeatcapError naming the file. */
export async function openGradProblem(spec: ProblemSpec): Promise<GradProblem> {
  const loaded = typeof spec.model === 'string' ? await loadLayersModelAny(spec.model) : spec.model;
  const arrays = 'inputs' in spec.data ? spec.data : openTrainingArrays(spec.data);
  try {
    return buildProblem(loaded, arrays, spec.loss);
  } catch (e) {
    arrays.close();
    throw e;
  }
}

function buildProblem(loaded: LoadedModel, arrays: TrainingArrays, lossFlag: string | undefined): GradProblem {
  const { model, file } = loaded;
  if (model.inputs.length !== 1) throw new HeatcapError(file, `has ${model.inputs.length} inputs; only single-input models are supported`);
  if (model.outputs.length !== 1) throw new HeatcapError(file, `has ${model.outputs.length} outputs; only single-output models are supported`);
  const loss = resolveLoss(lossFlag, loaded.trainingConfig, file);
  const inputs = shapeInputs(arrays.inputs, model.inputs[0].shape, file);
  // The output shape may have unknown (sequence) dims: one example through the model settles them.
  const probe = new Float32Array(inputs.rowSize);
  inputs.readRows(0, 1, probe);
  const outputShape = tf.tidy(() => (model.predict(tf.tensor(probe, [1, ...inputs.rowShape])) as tf.Tensor).shape.slice(1));
  const targets = targetReader(arrays.labels, loss, outputShape);
  const params = trainableParams(model);
  if (params.length === 0) throw new HeatcapError(file, 'has no trainable weights');
  const notes = [`loss: ${lossLabel(loss)} (from ${loss.source})`, `labels: ${targets.interpretation}`];
  if (inputs.rowShape.join() !== arrays.inputs.rowShape.join()) {
    notes.push(`inputs reshaped from (${arrays.inputs.rowShape.join(', ')}) to (${inputs.rowShape.join(', ')}) per example`);
  }
  return {
    model,
    modelFile: file,
    loss,
    inputs,
    outputShape,
    targets,
    n: inputs.n,
    params,
    notes,
    close: () => arrays.close(),
  };
}

export { shapeInputs };
