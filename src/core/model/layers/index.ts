/**
 * The TF.js / Keras-layers front-end: lowers a loaded tf.LayersModel (Sequential or functional, one
 * input, one output; nested models inlined, shared layers allowed) to the engine's framework-neutral
 * graph (src/core/graph/types.ts). Layout stays the model's own (NHWC for channels_last layers, with
 * Transposes around the ONNX ops that want NCHW). Parameters are model.trainableWeights in order, named
 * as src/core/model/params.ts names them; frozen weights and BatchNorm statistics become constants.
 */
import * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../../errors';
import type { EngineGraph } from '../../graph/types';
import { GraphBuilder } from './builder';
import { LayerCtx } from './context';
import { LOWERINGS, lowerLayer } from './lower';

export { SUPPORTED_ACTIVATIONS, activationName } from './activations';

/** The layer class names lowerLayersModel handles (besides InputLayer and nested models). */
export const SUPPORTED_LAYERS: readonly string[] = Object.keys(LOWERINGS);

type AnyLayer = tf.layers.Layer & { getClassName(): string };

/** A symbolic tensor with the bookkeeping tfjs adds when a layer is applied. */
type Sym = tf.SymbolicTensor & { nodeIndex?: number; tensorIndex?: number };

interface LayerNode {
  inputTensors: Sym[];
  outputTensors: Sym[];
}

/** Values already lowered in one model (or one application of a nested model): symbolic tensor id → value name. */
type Scope = Map<number, string>;

export interface LowerInfo {
  /** The model file, for error messages and graph.file. */
  file: string;
  /** The loss the file records (loadModel's trainingConfig). */
  trainingConfig?: Record<string, unknown>;
  /** Which front-end produced the model (a Keras file lowered through tfjs layers says 'keras'). */
  format?: EngineGraph['format'];
}

/**
 * Lowers a LayersModel to an EngineGraph. Throws a HeatcapError on `info.file` naming the layer for an
 * unsupported layer, activation, regulariser or topology.
 */
export function lowerLayersModel(model: tf.LayersModel, info: LowerInfo): EngineGraph {
  const { file } = info;
  if (model.inputs.length !== 1) throw new HeatcapError(file, `the model has ${model.inputs.length} inputs; the engine graph supports exactly one`);
  if (model.outputs.length !== 1) throw new HeatcapError(file, `the model has ${model.outputs.length} outputs; the engine graph supports exactly one`);
  const b = new GraphBuilder(file);
  const inputName = b.reserve('input');
  for (const v of model.trainableWeights) b.addParam(v);

  const lowerNode = (layer: AnyLayer, node: LayerNode, inputs: string[]): string[] => {
    if (layer instanceof tf.LayersModel) return inlineModel(layer, inputs);
    const ctx = new LayerCtx(
      b,
      layer,
      inputs,
      node.inputTensors.map((t) => t.shape),
      node.outputTensors.map((t) => t.shape),
    );
    const outs = lowerLayer(ctx);
    if (outs.length !== node.outputTensors.length) throw ctx.error(`produced ${outs.length} outputs where the layer has ${node.outputTensors.length}`);
    return outs;
  };

  const valueOf = (t: Sym, scope: Scope): string => {
    // An explicit stack instead of recursion: deep models (hundreds of layers) stay safe.
    const stack: Sym[] = [t];
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (scope.has(top.id)) {
        stack.pop();
        continue;
      }
      const layer = top.sourceLayer as AnyLayer;
      if (layer.getClassName() === 'InputLayer') {
        throw new HeatcapError(file, `input '${layer.name}' is not the model's input (models with several inputs are not supported)`);
      }
      const node = layer.inboundNodes[top.nodeIndex ?? 0] as unknown as LayerNode | undefined;
      if (!node) throw new HeatcapError(file, `layer '${layer.name}' (${layer.getClassName()}) is not connected to the model's input`);
      const missing = node.inputTensors.filter((x) => !scope.has(x.id));
      if (missing.length) {
        stack.push(...missing.reverse());
        continue;
      }
      stack.pop();
      const outs = lowerNode(layer, node, node.inputTensors.map((x) => scope.get(x.id)!));
      node.outputTensors.forEach((o, i) => scope.set(o.id, outs[i]));
    }
    return scope.get(t.id)!;
  };

  const inlineModel = (inner: tf.LayersModel, inputs: string[]): string[] => {
    if (inner.inputs.length !== inputs.length) throw new HeatcapError(file, `nested model '${inner.name}' takes ${inner.inputs.length} inputs, called with ${inputs.length}`);
    const scope: Scope = new Map(inner.inputs.map((t, i) => [t.id, inputs[i]]));
    return inner.outputs.map((o) => valueOf(o as Sym, scope));
  };

  const top: Scope = new Map([[model.inputs[0].id, inputName]]);
  let out = valueOf(model.outputs[0] as Sym, top);
  if (out === inputName || !b.nodes.some((n) => n.outputs.includes(out))) {
    // The output is the input itself or a weight (e.g. only Dropout layers): give it a node of its own.
    out = b.node('Identity', 'output', [out]);
  }

  const used = new Set(b.nodes.flatMap((n) => n.inputs));
  for (const p of b.params) {
    if (!used.has(p.name)) b.notes.push(`trainable weight '${p.name}' does not reach the output (its gradient is zero)`);
  }
  const layerClasses = new Set<string>();
  const collect = (m: tf.LayersModel) => {
    for (const l of m.layers as AnyLayer[]) {
      if (l instanceof tf.LayersModel) collect(l);
      else layerClasses.add(l.getClassName());
    }
  };
  collect(model);

  return {
    format: info.format ?? 'tfjs',
    file,
    opset: 17,
    input: { name: inputName, dtype: 'float32', shape: [...model.inputs[0].shape] },
    output: { name: out, dtype: 'float32', shape: [...model.outputs[0].shape] },
    nodes: b.nodes,
    params: b.params,
    constants: b.constants,
    facts: { hasBatchNorm: layerClasses.has('BatchNormalization'), hasRegularizers: b.params.some((p) => p.penalty !== undefined) },
    trainingConfig: info.trainingConfig,
    notes: b.notes,
  };
}
