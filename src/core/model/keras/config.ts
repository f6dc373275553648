/**
 * Keras 3 → Keras 2 model configs, the dialect tfjs-layers deserialises (`modelFromJSON`). A Keras 2
 * config (legacy `.h5` from TF 2.x) passes through unchanged, so the same translation serves both.
 *
 * Keras 3 differences handled (keras/src/saving/serialization_lib.py, keras/src/models/functional.py):
 * - every serialised object carries `module` / `registered_name`: reduced to `{class_name, config}`;
 * - dtype policies (`{"class_name": "DTypePolicy", "config": {"name": "float32"}}`) → a dtype string;
 * - InputLayer `batch_shape` → `batch_input_shape`; LeakyReLU `negative_slope` → `alpha`;
 * - functional `inbound_nodes` `[{args: [<__keras_tensor__ {keras_history: [layer, node, tensor]}>…],
 *   kwargs}]` → Keras 2 `[[[layer, node, tensor, {}], …]]`; `input_layers: [name, 0, 0]` → nested;
 * - a Sequential without an InputLayer gets its input shape from `build_config`; input shapes on any
 *   other layer (ignored by Keras) are dropped;
 * - a loss serialised as a function (`{"class_name": "function", "config": "mse"}`) → its name.
 */
import { HeatcapError } from '../../errors';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);
export const isModelClass = (c: unknown): boolean => typeof c === 'string' && MODEL_CLASSES.has(c);

/** Keras' naming.to_snake_case: the key Keras 3 gives a layer in model.weights.h5. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** A dtype or dtype policy as tfjs understands it (it computes in float32 only). */
function dtypeOf(v: Json, notes: Set<string>, where: string): Json {
  let name: string | undefined;
  if (typeof v === 'string') name = v;
  else if (isObject(v) && isObject(v.config) && typeof v.config.name === 'string') name = v.config.name;
  else return v;
  if (name === 'float32' || name === 'int32' || name === 'bool') return name;
  if (/^(mixed_)?(b?float16|float64)$/.test(name)) {
    notes.add(`${where}: dtype '${name}' is computed in float32 here`);
    return 'float32';
  }
  return name;
}

/** Drops Keras 3's `module` / `registered_name` / `shared_object_id` from serialised objects, recursively. */
function plain(v: Json, notes: Set<string>, depth: number): Json {
  if (depth > 64) throw new Error('config is nested too deeply');
  if (Array.isArray(v)) return v.map((x) => plain(x, notes, depth + 1));
  if (!isObject(v)) return v;
  if (typeof v.class_name === 'string' && ('module' in v || 'registered_name' in v)) {
    if (/^(DTypePolicy|Policy|FloatDTypePolicy|QuantizedDTypePolicy)$/.test(v.class_name)) return dtypeOf(v, notes, 'layer');
    const out: JsonObject = { class_name: v.class_name, config: plain(v.config ?? {}, notes, depth + 1) };
    return out;
  }
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'shared_object_id') continue;
    out[k] = plain(x, notes, depth + 1);
  }
  return out;
}

/** The Keras tensors referenced in a Keras 3 node's args, in order (nested lists flattened). */
function kerasTensors(v: Json, out: [string, number, number][], depth: number): void {
  if (depth > 32) return;
  if (Array.isArray(v)) v.forEach((x) => kerasTensors(x, out, depth + 1));
  else if (isObject(v)) {
    if (v.class_name === '__keras_tensor__' && isObject(v.config) && Array.isArray(v.config.keras_history)) {
      const [l, n, t] = v.config.keras_history;
      if (typeof l === 'string' && typeof n === 'number' && typeof t === 'number') out.push([l, n, t]);
      else throw new Error(`bad keras_history ${JSON.stringify(v.config.keras_history)}`);
    } else Object.values(v).forEach((x) => kerasTensors(x, out, depth + 1));
  }
}

function translateNodes(nodes: Json, layer: string, notes: Set<string>): Json {
  if (!Array.isArray(nodes)) return [];
  return nodes.map((node) => {
    if (Array.isArray(node)) return node; // Keras 2 already
    if (!isObject(node)) throw new Error(`layer '${layer}': unreadable inbound node ${JSON.stringify(node)}`);
    const tensors: [string, number, number][] = [];
    kerasTensors(node.args ?? [], tensors, 0);
    if (tensors.length === 0) throw new Error(`layer '${layer}': an inbound node without input tensors`);
    if (isObject(node.kwargs)) {
      const extra = Object.entries(node.kwargs).filter(([k, x]) => x !== null && k !== 'training' && k !== 'mask');
      if (extra.length > 0) notes.add(`layer '${layer}': call arguments ${extra.map(([k]) => k).join(', ')} are not carried over`);
      const t: [string, number, number][] = [];
      kerasTensors(node.kwargs, t, 0);
      if (t.length > 0) throw new Error(`layer '${layer}': tensors passed as keyword arguments are not supported`);
    }
    return tensors.map(([l, n, t]) => [l, n, t, {}]);
  });
}

function endpoints(v: Json): Json {
  // Keras 3 writes a single input/output as ["name", 0, 0]; Keras 2 always nests.
  if (Array.isArray(v) && typeof v[0] === 'string') return [v];
  return v;
}

function inputShapeFromBuild(entry: JsonObject, modelCfg: JsonObject): Json | undefined {
  for (const c of [entry.build_config, modelCfg.build_config]) {
    if (isObject(c) && Array.isArray(c.input_shape)) return c.input_shape;
  }
  if (Array.isArray(modelCfg.build_input_shape)) return modelCfg.build_input_shape;
  return undefined;
}

function translateLayer(entry: Json, functional: boolean, notes: Set<string>): JsonObject {
  if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
    throw new Error(`a layer entry without class_name/config: ${JSON.stringify(entry).slice(0, 200)}`);
  }
  const cls = entry.class_name;
  const name = typeof entry.config.name === 'string' ? entry.config.name : typeof entry.name === 'string' ? entry.name : cls;
  let out: JsonObject;
  if (isModelClass(cls)) {
    out = translateModel(entry, notes);
  } else {
    const cfg = plain(entry.config, notes, 0) as JsonObject;
    if ('dtype' in cfg) cfg.dtype = dtypeOf(entry.config.dtype ?? null, notes, `layer '${name}'`);
    if (cls === 'InputLayer') {
      if ('batch_shape' in cfg && !('batch_input_shape' in cfg)) cfg.batch_input_shape = cfg.batch_shape;
      delete cfg.batch_shape;
      delete cfg.optional;
    }
    if (cls === 'LeakyReLU' && 'negative_slope' in cfg && !('alpha' in cfg)) {
      cfg.alpha = cfg.negative_slope;
      delete cfg.negative_slope;
    }
    if (typeof cfg.groups === 'number' && cfg.groups !== 1) throw new Error(`layer '${name}': grouped convolutions (groups=${cfg.groups}) are not supported`);
    if (cfg.keepdims === true) throw new Error(`layer '${name}': ${cls} with keepdims=true is not supported`);
    out = { class_name: cls, config: cfg };
  }
  if (functional) {
    out.name = name;
    out.inbound_nodes = translateNodes(entry.inbound_nodes ?? [], name, notes);
  }
  return out;
}

/** Translates a (Keras 2 or 3) model entry `{class_name, config}` into a Keras 2 one. */
export function translateModel(entry: JsonObject, notes: Set<string>): JsonObject {
  const cls = entry.class_name;
  const cfg = entry.config;
  if (!isModelClass(cls) || !isObject(cfg)) throw new Error(`the model is a '${String(cls)}', not a Sequential or functional Keras model`);
  if (!Array.isArray(cfg.layers)) throw new Error('the model config has no layer list');
  const functional = cls !== 'Sequential';
  const layers = cfg.layers.map((l) => translateLayer(l, functional, notes));
  // Keras ignores an input shape given to any layer but a Sequential's first (a common leftover of
  // `Dense(…, input_shape=…)` after a Flatten); tfjs would warn about it on every call.
  layers.forEach((l, i) => {
    if ((functional || i > 0) && l.class_name !== 'InputLayer' && isObject(l.config)) delete l.config.batch_input_shape;
  });
  const out: JsonObject = { name: typeof cfg.name === 'string' ? cfg.name : cls === 'Sequential' ? 'sequential' : 'model', layers };
  if (cfg.trainable === false) out.trainable = false;
  if (functional) {
    out.input_layers = endpoints(cfg.input_layers ?? null);
    out.output_layers = endpoints(cfg.output_layers ?? null);
  } else if (layers.length > 0 && layers[0].class_name !== 'InputLayer') {
    const first = layers[0].config as JsonObject;
    if (!('batch_input_shape' in first)) {
      const firstEntry = cfg.layers[0] as JsonObject;
      const shape = inputShapeFromBuild(firstEntry, entry);
      if (shape === undefined) throw new Error('the Sequential model records no input shape (no InputLayer and no build_config)');
      first.batch_input_shape = shape;
    }
  }
  return { class_name: cls === 'Model' ? 'Functional' : cls, config: out };
}

/**
 * The loss of a Keras compile/training config in the shape loss.ts `resolveLoss` reads: a name, or
 * `{class_name, config}`; dicts/lists (one loss per output) are passed on for it to refuse.
 */
export function translateLoss(loss: Json | undefined): Json | undefined {
  if (loss === undefined || loss === null) return undefined;
  if (isObject(loss) && loss.class_name === 'function' && typeof loss.config === 'string') return loss.config;
  if (isObject(loss) && typeof loss.class_name === 'string') {
    return { class_name: loss.class_name, config: isObject(loss.config) ? (plain(loss.config, new Set(), 0) as JsonObject) : {} };
  }
  if (Array.isArray(loss)) return loss.map((l) => translateLoss(l) ?? null);
  if (isObject(loss)) return Object.fromEntries(Object.entries(loss).map(([k, l]) => [k, translateLoss(l) ?? null]));
  return loss;
}

/** Parses JSON text from a Keras file, naming the file and the part on error. */
export function parseJson(text: string, file: string, what: string): Json {
  if (text.length > 64 << 20) throw new HeatcapError(file, `${what} is ${text.length} characters: too large for a model config`);
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new HeatcapError(file, `${what} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}
