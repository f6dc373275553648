/**
 * Any supported model file → the engine graph: the one place that picks a front-end by format.
 * TF.js model.json and Keras files become tfjs LayersModels first (their layer configs are the same
 * Keras configs) and are lowered by the layers front-end; ONNX files are read by the ONNX front-end.
 */
import type { EngineGraph } from '../graph/types';
import { modelFormatOf } from './format';

/** Loading a LayersModel needs some tfjs backend; the pure-JS one suffices (no kernels run). */
async function ensureTfBackend(): Promise<void> {
  const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
  // No "you are running in Node.js" banner on the CLI's stderr (as initBackend does).
  tf.env().set('PROD', true);
  // getBackend() names the backend in use without initialising one (tf.backend() would start wasm).
  if (!tf.getBackend()) await tf.setBackend('cpu');
}

export async function openEngineGraph(file: string): Promise<EngineGraph> {
  const format = modelFormatOf(file);
  if (format === 'onnx') {
    const { loadOnnxGraph } = require('./onnx/load') as typeof import('./onnx/load');
    return loadOnnxGraph(file);
  }
  // tfjs is loaded only for the formats that need it (the ONNX path never does).
  const { lowerLayersModel } = require('./layers') as typeof import('./layers');
  await ensureTfBackend();
  if (format === 'tfjs') {
    const { loadModel } = require('./load') as typeof import('./load');
    const loaded = await loadModel(file);
    try {
      return lowerLayersModel(loaded.model, { file, trainingConfig: loaded.trainingConfig, format: 'tfjs' });
    } finally {
      loaded.model.dispose();
    }
  }
  const { loadKerasModel } = require('./keras') as typeof import('./keras');
  const loaded = await loadKerasModel(file);
  try {
    const graph = lowerLayersModel(loaded.model, { file, trainingConfig: loaded.trainingConfig, format: 'keras' });
    graph.notes.unshift(...loaded.notes);
    return graph;
  } finally {
    loaded.model.dispose();
  }
}
