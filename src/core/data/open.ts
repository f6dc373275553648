import { HeatcapError } from '../errors';
import { readCsv } from './csv';
import { readJsonl } from './jsonl';
import { NpyFileSource } from './npy';
import { NpzArchive } from './npz';
import type { ArraySource } from './source';

export interface DataFiles {
  /** Inputs: `.npy`, `.npz` (optionally `file.npz#key`), `.csv[.gz]` or `.jsonl[.gz]`. */
  data: string;
  /** Labels: `.npy` or `.npz[#key]`. Not needed for csv/jsonl (labels inside) or an npz holding both. */
  labels?: string;
  /** CSV: the label column (name or index; default the last). */
  labelColumn?: string | number;
  /** JSONL: keys of inputs and labels (defaults: x/features/input/inputs and y/label/labels/target/targets). */
  inputKey?: string;
  labelKey?: string;
}

export interface TrainingArrays {
  inputs: ArraySource;
  labels: ArraySource;
  close(): void;
}

const NPZ_INPUT_KEYS = ['x', 'X', 'inputs', 'features', 'data', 'images', 'x_train'];
const NPZ_LABEL_KEYS = ['y', 'Y', 'labels', 'label', 'targets', 'target', 'y_train'];

function splitKey(path: string): { file: string; key?: string } {
  const m = /^(.*\.npz)#(.+)$/i.exec(path);
  return m ? { file: m[1], key: m[2] } : { file: path };
}

function pickKey(archive: NpzArchive, wanted: string | undefined, candidates: string[], what: string): string {
  if (wanted) return wanted;
  const k = candidates.find((c) => archive.keys.includes(c));
  if (!k) {
    throw new HeatcapError(archive.file, `no ${what} array found (looked for ${candidates.join(', ')}; it holds ${archive.keys.join(', ') || 'nothing'}); name one as '${archive.file}#key'`);
  }
  return k;
}

function kindOf(path: string): 'npy' | 'npz' | 'csv' | 'jsonl' | undefined {
  const p = path.toLowerCase().replace(/\.gz$/, '');
  if (/\.npz(#.*)?$/.test(path.toLowerCase())) return 'npz';
  if (p.endsWith('.npy')) return 'npy';
  if (p.endsWith('.csv')) return 'csv';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson')) return 'jsonl';
  return undefined;
}

/**
 * Opens training inputs and labels from the supported formats. Nothing is read beyond headers for
 * npy / stored npz members (rows are read later, in chunks); text formats are parsed here.
 */
export function openTrainingArrays(files: DataFiles): TrainingArrays {
  const toClose: { close(): void }[] = [];
  const closeAll = () => toClose.splice(0).forEach((c) => c.close());
  try {
    let inputs: ArraySource;
    let labels: ArraySource | undefined;
    const kind = kindOf(files.data);
    if (kind === 'csv' || kind === 'jsonl') {
      const t = kind === 'csv' ? readCsv(files.data, { labelColumn: files.labelColumn }) : readJsonl(files.data, files);
      inputs = t.inputs;
      labels = t.labels;
    } else if (kind === 'npy') {
      inputs = NpyFileSource.open(files.data);
      toClose.push(inputs);
    } else if (kind === 'npz') {
      const { file, key } = splitKey(files.data);
      const archive = NpzArchive.open(file);
      toClose.push(archive);
      inputs = archive.array(pickKey(archive, key, NPZ_INPUT_KEYS, 'input'));
      if (!files.labels) labels = archive.array(pickKey(archive, undefined, NPZ_LABEL_KEYS, 'label'));
    } else {
      throw new HeatcapError(files.data, 'unknown data format: use .npy, .npz, .csv[.gz] or .jsonl[.gz]');
    }
    if (files.labels) {
      const lk = kindOf(files.labels);
      if (lk === 'npy') {
        labels = NpyFileSource.open(files.labels);
        toClose.push(labels);
      } else if (lk === 'npz') {
        const { file, key } = splitKey(files.labels);
        const archive = NpzArchive.open(file);
        toClose.push(archive);
        labels = archive.array(pickKey(archive, key, NPZ_LABEL_KEYS, 'label'));
      } else {
        throw new HeatcapError(files.labels, 'labels must be .npy or .npz (CSV and JSONL files carry their labels inside)');
      }
    }
    if (!labels) throw new HeatcapError(files.data, 'no labels: pass --labels <y.npy> (an .npy holds only one array)');
    if (labels.n !== inputs.n) {
      throw new HeatcapError(labels.file, `has ${labels.n} labels but ${inputs.file} has ${inputs.n} examples`);
    }
    if (inputs.n === 0) throw new HeatcapError(inputs.file, 'has no examples');
    return { inputs, labels, close: closeAll };
  } catch (e) {
    closeAll();
    throw e;
  }
}
