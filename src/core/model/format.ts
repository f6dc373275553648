/**
 * Which front-end reads a model file: by extension, with the first bytes deciding where the extension
 * is ambiguous or missing (HDF5 signature, zip archive, pickle, JSON, protobuf). PyTorch checkpoints
 * (.pt, .pth, .ckpt, .bin, .safetensors, or a torch zip/pickle under any name) hold weights without the
 * architecture, which is Python code we never execute: they get a one-line error with the export call
 * to run instead.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { HeatcapError } from '../errors';
import { TORCH_EXPORT_RECIPE } from './onnx/export-recipe';

export type ModelFormat = 'tfjs' | 'onnx' | 'keras' | 'h5';

/** Extensions (without the dot) a model file picker offers: model.json, ONNX, Keras v3 zip, Keras HDF5. */
export const MODEL_FILE_EXTENSIONS: readonly string[] = ['json', 'onnx', 'keras', 'h5', 'hdf5'];

const WEIGHTS_ONLY = new Set(['.pt', '.pth', '.ckpt', '.bin', '.safetensors']);

type Sniffed = 'torch' | 'zip' | 'hdf5' | 'json' | 'protobuf' | 'other';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** HDF5 allows a user block: the signature sits at byte 0, 512, 1024, 2048, … */
const HDF5_OFFSETS = [0, 512, 1024, 2048];
const HEAD_BYTES = 4096;

function head(file: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new HeatcapError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const buf = new Uint8Array(HEAD_BYTES);
    let got = 0;
    for (let n = -1; n !== 0 && got < HEAD_BYTES; got += n) n = readSync(fd, buf, got, HEAD_BYTES - got, got);
    return buf.subarray(0, got);
  } catch (e) {
    throw new HeatcapError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  } finally {
    closeSync(fd);
  }
}

function sniff(b: Uint8Array): Sniffed {
  if (HDF5_OFFSETS.some((at) => HDF5_SIGNATURE.every((x, i) => b[at + i] === x))) return 'hdf5';
  if (b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) {
    // torch.save writes a zip whose entries are `<name>/data.pkl`, `<name>/data/0`, …
    return Buffer.from(b).includes('data.pkl') ? 'torch' : 'zip';
  }
  // A pickle (torch's legacy format) starts with PROTO 2–5.
  if (b[0] === 0x80 && b[1] >= 2 && b[1] <= 5) return 'torch';
  const text = Buffer.from(b.subarray(0, 64)).toString('latin1').trimStart();
  if (text.startsWith('{')) return 'json';
  // ModelProto.ir_version is field 1, a varint: tag byte 0x08.
  if (b[0] === 0x08) return 'protobuf';
  return 'other';
}

function weightsOnly(file: string): HeatcapError {
  return new HeatcapError(
    file,
    'holds weights without the architecture (the architecture is the model\'s Python code, which is never executed); ' +
      `export the model to ONNX and open the .onnx file instead: ${TORCH_EXPORT_RECIPE}`,
  );
}

/** The front-end for a model file, or a HeatcapError saying what the file is and what to give instead. */
export function modelFormatOf(file: string): ModelFormat {
  const ext = extname(file).toLowerCase();
  if (WEIGHTS_ONLY.has(ext)) throw weightsOnly(file);
  const kind = sniff(head(file));
  if (kind === 'torch') throw weightsOnly(file);
  switch (ext) {
    case '.json':
      return 'tfjs';
    case '.onnx':
      return 'onnx';
    case '.keras':
    case '.h5':
    case '.hdf5':
      if (kind === 'hdf5') return 'h5';
      if (kind === 'zip') return 'keras';
      throw new HeatcapError(file, 'is neither a Keras archive (zip) nor an HDF5 file');
  }
  switch (kind) {
    case 'hdf5':
      return 'h5';
    case 'zip':
      return 'keras';
    case 'json':
      return 'tfjs';
    case 'protobuf':
      return 'onnx';
    default:
      throw new HeatcapError(file, `is not a model file this extension reads (${MODEL_FILE_EXTENSIONS.map((e) => `.${e}`).join(', ')})`);
  }
}
