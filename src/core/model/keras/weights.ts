/**
 * Where each layer's weights live in a Keras HDF5 file, and their assignment to a tfjs model.
 *
 * Keras 3 `model.weights.h5` (keras/src/saving/saving_lib.py): a model's layers are stored under
 * `layers/<key>/vars/<i>`, where `<key>` is NOT the layer name but its class name in snake case with a
 * per-class counter in `model.layers` order (`dense`, `dense_1`, …; Sequential skips its InputLayer);
 * nested models continue under `layers/<key>/layers/…`, sub-objects (an RNN's cell) under
 * `layers/<key>/<attr>/vars`. Keras 3.9+ also writes the layer name as the `name` attribute of `vars`.
 *
 * Legacy `.h5` (keras/src/legacy/saving/legacy_h5_format.py, TF 2.x): `model_weights/<layer>` has a
 * `weight_names` attribute (`dense/kernel:0`, …, or `sequential/dense/kernel` from Keras 3) and each
 * weight is the dataset `model_weights/<layer>/<weight name>`.
 */
import * as tf from '@tensorflow/tfjs';
import { HeatcapError } from '../../errors';
import { isModelClass, isObject, toSnakeCase, type JsonObject } from './config';
import type { Hdf5Reader } from './hdf5';

export interface StoredWeight {
  /** Dataset path in the HDF5 file. */
  path: string;
  /** Name for messages (`kernel:0`, `vars/0`). */
  label: string;
}

/** Finds the stored weights of a layer of the tfjs model, by its name; undefined when the file has none. */
export type WeightLocator = (layerName: string) => StoredWeight[] | undefined;

const MAX_NODES = 200_000;

/** Σ elements of every numeric dataset under `root` (shapes only; used to bound the config's sizes). */
export function totalStoredElements(h5: Hdf5Reader, root: string): number {
  let total = 0;
  let nodes = 0;
  const walk = (path: string, depth: number): void => {
    if (++nodes > MAX_NODES) throw new HeatcapError(undefined, `${h5.where}: more than ${MAX_NODES} HDF5 objects`);
    if (depth > 32) return;
    const kind = h5.kind(path);
    if (kind === 'dataset') {
      total += h5.shape(path).reduce((a, b) => a * b, 1);
    } else if (kind === 'group') {
      for (const k of h5.keys(path)) walk(`${path}/${k}`, depth + 1);
    }
  };
  if (h5.kind(root) === 'group') walk(root, 0);
  return total;
}

const numeric = (a: string, b: string) => {
  const x = Number(a);
  const y = Number(b);
  return Number.isInteger(x) && Number.isInteger(y) ? x - y : a < b ? -1 : a > b ? 1 : 0;
};

/** Keras 3: `vars/<i>` of a layer group in index order, then those of its sub-objects. */
function keras3Vars(h5: Hdf5Reader, path: string, entry: JsonObject | undefined, depth: number): StoredWeight[] {
  if (depth > 16 || h5.kind(path) !== 'group') return [];
  const out: StoredWeight[] = [];
  const cfg = entry && isObject(entry.config) ? entry.config : undefined;
  if (entry && isModelClass(entry.class_name) && cfg && Array.isArray(cfg.layers)) {
    for (const [, { key, entry: sub }] of keras3Keys(entry)) out.push(...keras3Vars(h5, `${path}/layers/${key}`, sub, depth + 1));
    return out;
  }
  const members = h5.keys(path);
  if (members.includes('vars') && h5.kind(`${path}/vars`) === 'group') {
    for (const i of h5.keys(`${path}/vars`).sort(numeric)) {
      if (h5.kind(`${path}/vars/${i}`) === 'dataset') out.push({ path: `${path}/vars/${i}`, label: `vars/${i}` });
    }
  }
  for (const m of members.filter((x) => x !== 'vars' && x !== 'seed_generator').sort(numeric)) {
    out.push(...keras3Vars(h5, `${path}/${m}`, undefined, depth + 1).map((w) => ({ ...w, label: `${m}/${w.label}` })));
  }
  return out;
}

/** Keras 3 keys of a model's layers: layer name → {key under `layers/`, its config entry}. */
export function keras3Keys(model: JsonObject): Map<string, { key: string; entry: JsonObject }> {
  const cfg = model.config;
  const keys = new Map<string, { key: string; entry: JsonObject }>();
  if (!isObject(cfg) || !Array.isArray(cfg.layers)) return keys;
  const used = new Map<string, number>();
  cfg.layers.forEach((l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string') return;
    if (model.class_name === 'Sequential' && i === 0 && l.class_name === 'InputLayer') return;
    const base = toSnakeCase(l.class_name);
    const n = used.get(base);
    const key = n === undefined ? base : `${base}_${n + 1}`;
    used.set(base, n === undefined ? 0 : n + 1);
    const name = isObject(l.config) && typeof l.config.name === 'string' ? l.config.name : typeof l.name === 'string' ? l.name : key;
    keys.set(name, { key, entry: l });
  });
  return keys;
}

export function keras3Locator(h5: Hdf5Reader, model: JsonObject): WeightLocator {
  const keys = keras3Keys(model);
  return (layerName) => {
    const k = keys.get(layerName);
    if (!k) return undefined;
    const path = `layers/${k.key}`;
    if (h5.kind(path) !== 'group') return undefined;
    return keras3Vars(h5, path, k.entry, 0);
  };
}

export function legacyLocator(h5: Hdf5Reader): WeightLocator {
  return (layerName) => {
    const group = `model_weights/${layerName}`;
    if (layerName.includes('/') || h5.kind(group) !== 'group') return undefined;
    const names = h5.attrStrings(group, 'weight_names');
    if (names === undefined) return undefined;
    return names.map((n) => ({ path: `${group}/${n}`, label: n }));
  };
}

const sameShape = (a: readonly number[], b: readonly (number | null)[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Checks every weighted layer of `model` against the file (presence, count, shapes), then reads and
 * assigns the weights. Errors name the file and the layer.
 */
export function assignWeights(model: tf.LayersModel, h5: Hdf5Reader, locate: WeightLocator, file: string, notes: string[]): void {
  const plan: { layer: tf.layers.Layer; stored: StoredWeight[] }[] = [];
  for (const layer of model.layers) {
    const vars = layer.weights;
    const stored = locate(layer.name);
    if (vars.length === 0) {
      if (stored && stored.length > 0) notes.push(`layer '${layer.name}': ${stored.length} stored value(s) ignored (the ${layer.getClassName()} layer here has no weights)`);
      continue;
    }
    if (!stored || stored.length === 0) {
      throw new HeatcapError(file, `${h5.where === file ? '' : `${h5.where}: `}no weights stored for layer '${layer.name}' (${layer.getClassName()}, needs ${vars.length})`);
    }
    if (stored.length !== vars.length) {
      throw new HeatcapError(
        file,
        `layer '${layer.name}' (${layer.getClassName()}): the file stores ${stored.length} weights (${stored.map((s) => s.label).join(', ')}) but the layer has ${vars.length} (${vars.map((v) => v.originalName ?? v.name).join(', ')})`,
      );
    }
    stored.forEach((s, i) => {
      if (h5.kind(s.path) !== 'dataset') throw new HeatcapError(file, `layer '${layer.name}': weight '${s.label}' is missing from the file`);
      const shape = h5.shape(s.path);
      if (!sameShape(shape, vars[i].shape)) {
        throw new HeatcapError(file, `layer '${layer.name}': weight '${s.label}' has shape [${shape}] in the file but the layer needs [${vars[i].shape}] for '${vars[i].originalName ?? vars[i].name}'`);
      }
    });
    plan.push({ layer, stored });
  }
  for (const { layer, stored } of plan) {
    const tensors = stored.map((s) => {
      const { shape, data } = h5.read(s.path);
      return tf.tensor(data, shape, 'float32');
    });
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
}
