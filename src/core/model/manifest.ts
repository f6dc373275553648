import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HeatcapError } from '../errors';

/** One weight as `model.json`'s weightsManifest describes it (tfjs `WeightsManifestEntry`). */
export interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number };
}

export interface ManifestGroup {
  /** Shard files, resolved against model.json's folder, with their sizes on disk. */
  shards: { path: string; bytes: number }[];
  weights: ManifestWeight[];
  /** Σ bytes the weights need, which must equal Σ shard sizes. */
  bytes: number;
}

export interface ModelJsonFile {
  file: string;
  modelTopology: Record<string, unknown>;
  trainingConfig?: Record<string, unknown>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: Record<string, unknown>;
  groups: ManifestGroup[];
  /** Total number of stored weight elements (used to bound what the topology may ask tfjs to build). */
  totalElements: number;
}

/** model.json is metadata: anything bigger is not one (and we will not parse it). */
const MAX_MODEL_JSON_BYTES = 64 << 20;
const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks one manifest entry and returns its stored byte length. */
function checkWeight(w: unknown, where: string, file: string): { weight: ManifestWeight; bytes: number; elements: number } {
  if (!isObject(w) || typeof w.name !== 'string') throw new HeatcapError(file, `${where}: a weight entry without a name`);
  const name = w.name;
  if (!Array.isArray(w.shape) || w.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
    throw new HeatcapError(file, `weight '${name}': shape must be a list of non-negative integers`);
  }
  const shape = w.shape as number[];
  if (w.dtype !== 'float32' && w.dtype !== 'int32' && w.dtype !== 'bool') {
    throw new HeatcapError(file, `weight '${name}': dtype '${String(w.dtype)}' is not supported (float32, int32 or bool)`);
  }
  let stored: string = w.dtype;
  let quantization: ManifestWeight['quantization'];
  if (w.quantization !== undefined && w.quantization !== null) {
    const q = w.quantization;
    if (!isObject(q) || (q.dtype !== 'uint8' && q.dtype !== 'uint16' && q.dtype !== 'float16')) {
      throw new HeatcapError(file, `weight '${name}': unsupported quantization ${JSON.stringify(q)}`);
    }
    quantization = q as ManifestWeight['quantization'];
    stored = q.dtype as string;
  }
  let elements = 1;
  for (const d of shape) {
    elements *= d;
    if (!Number.isSafeInteger(elements)) throw new HeatcapError(file, `weight '${name}': shape [${shape}] is too large`);
  }
  // tfjs tests `'quantization' in spec`: the key must be absent, not undefined, for plain weights.
  const weight: ManifestWeight = quantization ? { name, shape, dtype: w.dtype, quantization } : { name, shape, dtype: w.dtype };
  return { weight, bytes: elements * BYTES[stored], elements };
}

/**
 * Parses and validates model.json against the files beside it: it must be a LayersModel, every shard
 * must exist, and each group's shards must hold exactly the bytes its weights need. Errors name the
 * file at fault (model.json itself, or the shard).
 */
export function readModelJson(file: string, text: string): ModelJsonFile {
  if (text.length > MAX_MODEL_JSON_BYTES) throw new HeatcapError(file, `is ${text.length} bytes: too large for a model.json`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new HeatcapError(file, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(json)) throw new HeatcapError(file, 'is not a TensorFlow.js model.json (expected an object)');
  if (json.format === 'graph-model' || (isObject(json.modelTopology) && 'node' in json.modelTopology)) {
    throw new HeatcapError(file, 'is a TensorFlow.js GraphModel (a converted SavedModel); export a LayersModel (tensorflowjs_converter --output_format tfjs_layers_model)');
  }
  if (!isObject(json.modelTopology)) throw new HeatcapError(file, "has no 'modelTopology' object: not a TensorFlow.js LayersModel");
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new HeatcapError(file, "has no 'weightsManifest' list");
  const dir = dirname(file);
  const groups: ManifestGroup[] = [];
  const names = new Set<string>();
  let totalElements = 0;
  manifest.forEach((g, gi) => {
    const where = `weightsManifest[${gi}]`;
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) throw new HeatcapError(file, `${where}: expected {paths: [...], weights: [...]}`);
    const weights: ManifestWeight[] = [];
    let bytes = 0;
    for (const w of g.weights) {
      const c = checkWeight(w, where, file);
      if (names.has(c.weight.name)) throw new HeatcapError(file, `weight '${c.weight.name}' is listed twice`);
      names.add(c.weight.name);
      weights.push(c.weight);
      bytes += c.bytes;
      totalElements += c.elements;
    }
    const shards = g.paths.map((p, pi) => {
      if (typeof p !== 'string' || p === '') throw new HeatcapError(file, `${where}.paths[${pi}] is not a file name`);
      const path = resolve(dir, p);
      let size: number;
      try {
        const st = statSync(path);
        if (!st.isFile()) throw new Error('not a file');
        size = st.size;
      } catch {
        throw new HeatcapError(path, `weight shard is missing (listed in ${file})`);
      }
      return { path, bytes: size };
    });
    const have = shards.reduce((a, s) => a + s.bytes, 0);
    if (have !== bytes) {
      const at = shards.length === 1 ? shards[0].path : `${shards.map((s) => s.path).join(' + ')}`;
      throw new HeatcapError(at, `holds ${have} bytes but ${file} lists weights (${weights.map((w) => w.name).join(', ')}) needing ${bytes} bytes`);
    }
    groups.push({ shards, weights, bytes });
  });
  return {
    file,
    modelTopology: json.modelTopology,
    trainingConfig: isObject(json.trainingConfig) ? json.trainingConfig : isObject(json.training_config) ? json.training_config : undefined,
    format: typeof json.format === 'string' ? json.format : undefined,
    generatedBy: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
    convertedBy: typeof json.convertedBy === 'string' ? json.convertedBy : null,
    userDefinedMetadata: isObject(json.userDefinedMetadata) ? json.userDefinedMetadata : undefined,
    groups,
    totalElements,
  };
}

/** Layer config fields that set a weight dimension; no single dimension can exceed the stored weights. */
const SIZE_FIELDS = ['units', 'filters', 'input_dim', 'output_dim', 'inputDim', 'outputDim'];

/**
 * Bounds what tfjs will allocate while building the topology (before it checks shapes against the
 * weights): a layer asking for a dimension larger than every stored weight put together cannot match
 * them, so we refuse it instead of letting tfjs initialise a huge tensor.
 */
export function checkTopologySizes(mj: ModelJsonFile): void {
  const limit = Math.max(mj.totalElements, 1);
  const visit = (v: unknown, depth: number): void => {
    if (depth > 64) throw new HeatcapError(mj.file, 'modelTopology is nested too deeply');
    if (Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (SIZE_FIELDS.includes(k) && typeof x === 'number' && (!Number.isSafeInteger(x) || x > limit || x < 0)) {
          throw new HeatcapError(mj.file, `layer setting ${k}=${x} cannot match the ${mj.totalElements} stored weight values`);
        }
        if ((k === 'batch_input_shape' || k === 'batchInputShape') && Array.isArray(x) && x.some((d) => typeof d === 'number' && (d > 2 ** 31 || d < 0))) {
          throw new HeatcapError(mj.file, `input shape [${x}] is out of range`);
        }
        visit(x, depth + 1);
      }
    }
  };
  visit(mj.modelTopology, 0);
}

/**
 * Keras 2 serialises `regularizers.L1(…)` / `L2(…)` under their own class names, which tfjs does not
 * register (it only knows `L1L2`): rewrite them so real Keras exports load. Keras' defaults: 0.01.
 */
export function normaliseKerasRegularisers(topology: unknown): void {
  const visit = (v: unknown, depth: number): void => {
    if (depth > 64 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      v.forEach((x) => visit(x, depth + 1));
      return;
    }
    const o = v as Record<string, unknown>;
    for (const [k, x] of Object.entries(o)) {
      if (/regularizer$/i.test(k) && isObject(x) && typeof x.class_name === 'string') {
        const cfg = isObject(x.config) ? x.config : {};
        const name = x.class_name.toLowerCase();
        if (name === 'l1' || name === 'l2') {
          const value = typeof cfg[name] === 'number' ? cfg[name] : 0.01;
          o[k] = { class_name: 'L1L2', config: { l1: name === 'l1' ? value : 0, l2: name === 'l2' ? value : 0 } };
        }
      } else visit(x, depth + 1);
    }
  };
  visit(topology, 0);
}
