import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../errors';
import { fileLoader, fileSaver, readModelJsonFile } from './fs-io';
import type { ModelJsonFile } from './manifest';

/** A LayersModel loaded from disk, with what model.json said about it. */
export interface LoadedModel {
  model: tf.LayersModel;
  /** Path of model.json. */
  file: string;
  /**
   * tfjs / Keras `trainingConfig` (loss, optimizer) when the model was saved after compile(); else a
   * `{loss}` recorded by saveLayersModel in userDefinedMetadata.
   */
  trainingConfig?: Record<string, unknown>;
  /** model.json's content (absent for a Keras file). */
  manifest?: ModelJsonFile;
}

/**
 * Loads a TensorFlow.js LayersModel (Sequential or functional) from `model.json` + weight shards with
 * our own IO handler. Validation errors name the file; anything tfjs rejects while building the
 * topology becomes a HeatcapError on model.json.
 */
export async function loadModel(file: string): Promise<LoadedModel> {
  const manifest = readModelJsonFile(file);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileLoader(file, manifest));
  } catch (e) {
    if (e instanceof HeatcapError) throw e;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new HeatcapError(file, `is not a loadable TensorFlow.js LayersModel: ${msg}`, { cause: e });
  }
  const meta = manifest.userDefinedMetadata;
  const trainingConfig = manifest.trainingConfig ?? (meta && typeof meta.loss === 'string' ? { loss: meta.loss } : undefined);
  return { model, file, trainingConfig, manifest };
}

/**
 * A TensorFlow.js model.json or a Keras `.keras`/`.h5` file as a LayersModel (the TF.js engine and the
 * sweep lab train and differentiate these); an ONNX file is not a LayersModel: a clear error.
 */
export async function loadLayersModelAny(file: string): Promise<LoadedModel> {
  const { modelFormatOf } = require('./format') as typeof import('./format');
  const format = modelFormatOf(file);
  if (format === 'tfjs') return loadModel(file);
  if (format === 'onnx') {
    throw new HeatcapError(file, 'is an ONNX model: the ONNX engine computes its gradient statistics (heatcap gradnorms/analyze), but TensorFlow.js cannot run it; the sweep lab trains TensorFlow.js and Keras models only');
  }
  const { loadKerasModel } = require('./keras') as typeof import('./keras');
  const k = await loadKerasModel(file);
  return { model: k.model, file, trainingConfig: k.trainingConfig };
}

/**
 * Saves a LayersModel as `dir/model.json` + `dir/group1-shard1of1.bin` with our own IO handler (no
 * tfjs-node). `loss` goes to userDefinedMetadata (a trainingConfig without an optimizer would make
 * tfjs' own loader fail); loadModel reads it back as the training loss.
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string, opts: { loss?: string } = {}): Promise<string> {
  await model.save(fileSaver(dir, { userDefinedMetadata: opts.loss ? { loss: opts.loss } : undefined }));
  return join(dir, 'model.json');
}
