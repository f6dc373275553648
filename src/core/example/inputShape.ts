/**
 * The input shape of a TensorFlow.js LayersModel, read from its model.json without building the model
 * (no TensorFlow.js needed): Keras/tfjs record it on the first layer of a Sequential model, or on the
 * InputLayer of a functional one, as `batch_input_shape` (`batchInputShape`; Keras 3: `batch_shape`).
 */
import { readModelJsonFile } from '../model/fs-io';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const SHAPE_KEYS = ['batch_input_shape', 'batchInputShape', 'batch_shape', 'batchShape'];

function declaredShape(layer: unknown): number[] | undefined {
  const config = isObj(layer) && isObj(layer.config) ? layer.config : undefined;
  if (!config) return undefined;
  for (const k of SHAPE_KEYS) {
    const s = config[k];
    // The first entry is the batch dimension (null); the rest must all be known.
    if (Array.isArray(s) && s.length >= 2 && s.slice(1).every((d) => Number.isSafeInteger(d) && (d as number) > 0)) return s.slice(1) as number[];
  }
  return undefined;
}

/** The shape of one example, from a model topology (`modelTopology` of model.json); undefined when unstated. */
export function inputShapeOfTopology(topology: unknown): number[] | undefined {
  // tfjs nests the Keras model under `model_config` in some exports.
  const top = isObj(topology) && isObj(topology.model_config) ? topology.model_config : topology;
  if (!isObj(top) || (!isObj(top.config) && !Array.isArray(top.config))) return undefined;
  const config = top.config;
  const layers = Array.isArray(config) ? config : isObj(config) && Array.isArray(config.layers) ? config.layers : [];
  const inputs = isObj(config) && Array.isArray(config.input_layers) ? config.input_layers : undefined;
  if (inputs) {
    // Functional: the one input layer it names (several inputs are not one example's shape).
    if (inputs.length !== 1 || !Array.isArray(inputs[0])) return undefined;
    const name = inputs[0][0];
    return declaredShape(layers.find((l) => isObj(l) && (l.name === name || (isObj(l.config) && l.config.name === name))));
  }
  return declaredShape(layers[0]);
}

/**
 * The input shape of one example of the model in `file` (errors name the file). model.json is read
 * without tfjs; an ONNX file by the ONNX front-end (its graph input's declared shape, batch axis
 * dropped; undefined when a dimension is free). Keras files: undefined (the row is drawn from its own shape).
 */
export function modelInputShape(file: string): number[] | undefined {
  if (/\.onnx$/i.test(file)) {
    const { loadOnnxGraph } = require('../model/onnx/load') as typeof import('../model/onnx/load');
    const dims = loadOnnxGraph(file).input.shape.slice(1);
    return dims.every((d) => d !== null && d > 0) ? (dims as number[]) : undefined;
  }
  if (/\.(keras|h5|hdf5)$/i.test(file)) return undefined;
  return inputShapeOfTopology(readModelJsonFile(file).modelTopology);
}
