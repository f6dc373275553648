/**
 * Keras front-end: a Keras 3 `.keras` archive or a legacy Keras `.h5` full model becomes a tfjs
 * LayersModel with the file's weights, plus the training loss it records (in the shape
 * src/core/gradnorm/loss.ts `resolveLoss` reads). The graph lowering then treats it like any tfjs
 * model (src/core/model/layers/).
 *
 * - `.keras` (Keras 3 `model.save('x.keras')`): a zip of `config.json` (Keras 3 serialisation),
 *   `model.weights.h5` and `metadata.json`.
 * - `.h5` (TF 2.x `model.save('x.h5')`, or Keras 3 with the legacy format): HDF5 with root attributes
 *   `model_config` / `training_config` (JSON) and weights under `model_weights/`.
 *
 * Everything wrong with the input becomes a HeatcapError naming the file (and the layer); sizes the
 * file claims are checked against its real length before anything is allocated.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { inflateSync } from 'fflate';
import { HeatcapError } from '../../errors';
import { listZip, memberDataOffset, type ZipEntry } from '../../data/zip';
import { checkTopologySizes, normaliseKerasRegularisers, type ModelJsonFile } from '../manifest';
import { isObject, parseJson, translateLoss, translateModel, type Json, type JsonObject } from './config';
import { openHdf5, type Hdf5Reader } from './hdf5';
import { assignWeights, keras3Locator, legacyLocator, totalStoredElements, type WeightLocator } from './weights';

export interface LoadedKerasModel {
  model: tf.LayersModel;
  /** Path of the .keras / .h5 file. */
  file: string;
  /** `{loss, optimizer_config?}` from Keras' compile config, when the model was saved compiled. */
  trainingConfig?: Record<string, unknown>;
  /** What was translated or ignored on the way (dtype policies, optimizer state, …), for the log. */
  notes: string[];
  format: 'keras' | 'h5';
  /** `keras_version` the file records. */
  kerasVersion?: string;
}

/** Files above this are not read (Node buffers and the wasm heap both stop near 2 GiB). */
const MAX_FILE_BYTES = 1.5 * 2 ** 30;
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04];

function readAt(fd: number, position: number, length: number, file: string): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new HeatcapError(file, 'was truncated while being read');
    got += n;
  }
  return buf;
}

let crcTable: Uint32Array | undefined;
function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One member of the archive, decompressed into a buffer of its checked size, CRC verified. */
function readMember(fd: number, size: number, entry: ZipEntry, crc: number | undefined, file: string, limit: number): Uint8Array {
  if (entry.uncompressedSize > limit) throw new HeatcapError(file, `archive member '${entry.name}' claims ${entry.uncompressedSize} bytes: too large`);
  const start = memberDataOffset(fd, entry, size, file);
  const raw = readAt(fd, start, entry.compressedSize, file);
  let data: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) throw new HeatcapError(file, `archive member '${entry.name}' is stored with inconsistent sizes`);
    data = raw;
  } else if (entry.method === 8) {
    // DEFLATE expands at most ~1032:1; a larger claim is a lie we do not allocate for.
    if (entry.uncompressedSize > entry.compressedSize * 1032 + 1024) throw new HeatcapError(file, `archive member '${entry.name}' claims an impossible compression ratio`);
    try {
      data = inflateSync(raw, { out: new Uint8Array(entry.uncompressedSize) });
    } catch (e) {
      throw new HeatcapError(file, `archive member '${entry.name}' does not decompress (${e instanceof Error ? e.message : String(e)})`);
    }
    if (data.length !== entry.uncompressedSize) throw new HeatcapError(file, `archive member '${entry.name}' decompresses to ${data.length} bytes, not the ${entry.uncompressedSize} it claims`);
  } else {
    throw new HeatcapError(file, `archive member '${entry.name}' uses ZIP compression method ${entry.method} (only stored and deflate are read)`);
  }
  if (crc !== undefined && crc32(data) !== crc) throw new HeatcapError(file, `archive member '${entry.name}' is corrupt (CRC mismatch)`);
  return data;
}

/** CRC-32 of each central-directory entry (listZip does not return it), in directory order. */
function centralCrcs(fd: number, size: number, file: string, entries: ZipEntry[]): Map<string, number> {
  // Re-read the directory region: each entry's CRC is at offset 16 of its 46-byte fixed part.
  const out = new Map<string, number>();
  const tailLen = Math.min(size, 22 + 65535);
  const tail = readAt(fd, size - tailLen, tailLen, file);
  const dv = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return out;
  const cdSize = dv.getUint32(eocd + 12, true);
  const cdOffset = dv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || cdOffset + cdSize > size) return out; // ZIP64: no CRC check
  const cd = new DataView(readAt(fd, cdOffset, cdSize, file).buffer);
  let p = 0;
  for (let k = 0; k < entries.length && p + 46 <= cdSize; k++) {
    if (cd.getUint32(p, true) !== 0x02014b50) break;
    out.set(entries[k].name, cd.getUint32(p + 16, true));
    p += 46 + cd.getUint16(p + 28, true) + cd.getUint16(p + 30, true) + cd.getUint16(p + 32, true);
  }
  return out;
}

function decodeUtf8(bytes: Uint8Array, file: string, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HeatcapError(file, `${what} is not UTF-8 text`);
  }
}

interface Parsed {
  /** The model's Keras config `{class_name, config, …}` as stored. */
  entry: JsonObject;
  loss?: Json;
  optimizer?: Json;
  kerasVersion?: string;
  backend?: string;
  h5: Hdf5Reader;
  weightsRoot: string;
  locate: WeightLocator;
  format: 'keras' | 'h5';
}

async function openKerasArchive(fd: number, size: number, file: string, notes: string[]): Promise<Parsed> {
  const entries = listZip(fd, size, file);
  const crcs = centralCrcs(fd, size, file, entries);
  const find = (name: string) => entries.find((e) => e.name === name);
  const cfgEntry = find('config.json');
  const weightsEntry = find('model.weights.h5');
  if (!cfgEntry) {
    throw new HeatcapError(file, `is a zip archive without config.json: not a Keras 3 .keras model (members: ${entries.slice(0, 8).map((e) => e.name).join(', ')})`);
  }
  const config = parseJson(decodeUtf8(readMember(fd, size, cfgEntry, crcs.get('config.json'), file, 64 << 20), file, 'config.json'), file, 'config.json');
  if (!isObject(config)) throw new HeatcapError(file, 'config.json is not a Keras model config (expected an object)');
  let kerasVersion: string | undefined;
  const metaEntry = find('metadata.json');
  if (metaEntry) {
    const meta = parseJson(decodeUtf8(readMember(fd, size, metaEntry, crcs.get('metadata.json'), file, 1 << 20), file, 'metadata.json'), file, 'metadata.json');
    if (isObject(meta) && typeof meta.keras_version === 'string') kerasVersion = meta.keras_version;
  }
  if (!weightsEntry) {
    const other = entries.find((e) => e.name.endsWith('.npz') || e.name.endsWith('.h5'));
    throw new HeatcapError(file, `has no model.weights.h5${other ? ` (it has '${other.name}', a weights format not read here)` : ''}: the archive holds no weights`);
  }
  const bytes = readMember(fd, size, weightsEntry, crcs.get('model.weights.h5'), file, MAX_FILE_BYTES);
  const h5 = await openHdf5(bytes, file, 'model.weights.h5');
  try {
    if (h5.kind('layers') !== 'group') throw new HeatcapError(file, "model.weights.h5 has no 'layers' group: not a Keras 3 weights file");
    if (h5.kind('optimizer') === 'group') notes.push('optimizer state in model.weights.h5 ignored');
  } catch (e) {
    h5.close();
    throw e;
  }
  const compile = isObject(config.compile_config) ? config.compile_config : undefined;
  return {
    entry: config,
    loss: compile?.loss,
    optimizer: compile?.optimizer,
    kerasVersion,
    h5,
    weightsRoot: 'layers',
    locate: keras3Locator(h5, config),
    format: 'keras',
  };
}

async function openLegacyH5(fd: number, size: number, file: string, notes: string[]): Promise<Parsed> {
  const bytes = readAt(fd, 0, size, file);
  const h5 = await openHdf5(bytes, file);
  try {
    const modelConfig = h5.attrString('/', 'model_config');
    if (modelConfig === undefined) {
      const keras3 = h5.kind('layers') === 'group' && h5.kind('vars') === 'group';
      throw new HeatcapError(
        file,
        keras3
          ? 'is a Keras 3 weights file (model.save_weights / .weights.h5) without the model config; load the .keras file instead'
          : h5.kind('model_weights') === 'group' || h5.attrStrings('/', 'layer_names')
            ? 'holds weights only (save_weights), no model_config attribute: save the full model (model.save)'
            : 'is an HDF5 file but not a Keras model (no model_config attribute)',
      );
    }
    const entry = parseJson(modelConfig, file, 'model_config');
    if (!isObject(entry)) throw new HeatcapError(file, 'model_config is not a Keras model config (expected an object)');
    const tcText = h5.attrString('/', 'training_config');
    const tc = tcText === undefined ? undefined : parseJson(tcText, file, 'training_config');
    if (h5.kind('optimizer_weights') === 'group') notes.push('optimizer state (optimizer_weights) ignored');
    if (h5.kind('model_weights') !== 'group') throw new HeatcapError(file, 'has no model_weights group: the model was saved without weights');
    return {
      entry,
      loss: isObject(tc) ? tc.loss : undefined,
      optimizer: isObject(tc) ? tc.optimizer_config : undefined,
      kerasVersion: h5.attrString('/', 'keras_version'),
      backend: h5.attrString('/', 'backend'),
      h5,
      weightsRoot: 'model_weights',
      locate: legacyLocator(h5),
      format: 'h5',
    };
  } catch (e) {
    h5.close();
    throw e;
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/**
 * Loads a Keras model file (`.keras` or legacy `.h5`) as a tfjs LayersModel with its weights. The
 * format is recognised from the file's first bytes, not its name.
 */
export async function loadKerasModel(file: string): Promise<LoadedKerasModel> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new HeatcapError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const notes: string[] = [];
  let parsed: Parsed;
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_FILE_BYTES) throw new HeatcapError(file, `is ${size} bytes: too large to load`);
    const head = size >= 8 ? readAt(fd, 0, 8, file) : new Uint8Array(0);
    if (ZIP_SIGNATURE.every((b, i) => head[i] === b)) parsed = await openKerasArchive(fd, size, file, notes);
    else if (HDF5_SIGNATURE.every((b, i) => head[i] === b)) parsed = await openLegacyH5(fd, size, file, notes);
    else throw new HeatcapError(file, 'is neither a Keras 3 .keras archive (zip) nor a Keras .h5 model (HDF5)');
  } finally {
    closeSync(fd);
  }
  const { h5 } = parsed;
  let model: tf.LayersModel | undefined;
  try {
    const noteSet = new Set<string>();
    let translated: JsonObject;
    try {
      translated = translateModel(parsed.entry, noteSet);
    } catch (e) {
      throw new HeatcapError(file, `model config cannot be translated: ${describe(e)}`, { cause: e });
    }
    const topology: JsonObject = { ...translated, keras_version: parsed.kerasVersion ?? 'unknown', backend: parsed.backend ?? 'tensorflow' };
    normaliseKerasRegularisers(topology);
    // Bound what tfjs allocates while building (it initialises every weight before we overwrite it).
    const totalElements = totalStoredElements(h5, parsed.weightsRoot);
    const bound: ModelJsonFile = { file, modelTopology: topology, groups: [], totalElements };
    checkTopologySizes(bound);
    try {
      model = await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelArtifacts['modelTopology'] } as tf.io.ModelArtifacts as never);
    } catch (e) {
      throw new HeatcapError(file, `model config cannot be built by TensorFlow.js: ${describe(e)}`, { cause: e });
    }
    assignWeights(model, h5, parsed.locate, file, notes);
    notes.unshift(...noteSet);
    if (parsed.kerasVersion) notes.unshift(`Keras ${parsed.kerasVersion} ${parsed.format === 'keras' ? '.keras archive' : 'HDF5 model'}`);
    const loss = translateLoss(parsed.loss);
    let trainingConfig: Record<string, unknown> | undefined;
    if (loss !== undefined) {
      trainingConfig = { loss };
      if (isObject(parsed.optimizer) && typeof parsed.optimizer.class_name === 'string') {
        trainingConfig.optimizer_config = { class_name: parsed.optimizer.class_name, config: isObject(parsed.optimizer.config) ? parsed.optimizer.config : {} };
      }
    }
    return { model, file, trainingConfig, notes, format: parsed.format, kerasVersion: parsed.kerasVersion };
  } catch (e) {
    model?.dispose();
    if (e instanceof HeatcapError) {
      // Errors from the HDF5 layer name the file already; others are bugs in our reading of it.
      throw e.file === undefined ? new HeatcapError(file, e.what, { cause: e }) : e;
    }
    throw new HeatcapError(file, `cannot be loaded as a Keras model: ${describe(e)}`, { cause: e });
  } finally {
    h5.close();
  }
}
