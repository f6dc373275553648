/**
 * Tensor bytes stored outside the .onnx file (TensorProto.data_location = EXTERNAL), as torch.onnx.export
 * writes them for models over 2 GB and onnx.save_model(..., save_as_external_data=True) writes them on
 * request. `location` is a path relative to the model file's folder; a location that leaves that folder
 * (absolute, `..`, or a symbolic link pointing out) is refused, so a model cannot make us read any file.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { HeatcapError } from '../../errors';
import type { OnnxTensor } from '../../onnx/proto';

export interface ExternalRef {
  /** The resolved path of the external file. */
  path: string;
  offset: number;
  /** Bytes to read; undefined: to the end of the file. */
  length: number | undefined;
}

function nonNegativeInt(model: string, tensor: string, key: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new HeatcapError(model, `tensor '${tensor}': external data ${key} '${text}' is not a non-negative integer`);
  return Number(text);
}

/** Reads the external_data entries of a tensor and resolves `location` inside the model's folder. */
export function externalRef(model: string, t: OnnxTensor): ExternalRef {
  const name = t.name ?? '';
  const entries = new Map((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) throw new HeatcapError(model, `tensor '${name}': external data without a location`);
  const parts = location.split(/[\\/]/);
  if (isAbsolute(location) || /^[A-Za-z]:/.test(location) || location.startsWith('\\') || parts.includes('..')) {
    throw new HeatcapError(model, `tensor '${name}': external data location '${location}' leaves the model's folder (it must be a path relative to it, without '..')`);
  }
  const folder = dirname(model);
  const path = join(folder, location);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (e) {
    throw new HeatcapError(path, `external data file of tensor '${name}' cannot be opened (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const within = relative(realpathSync(folder), real);
  if (within === '' || within.startsWith('..' + sep) || within === '..' || isAbsolute(within)) {
    throw new HeatcapError(path, `external data file of tensor '${name}' resolves outside the model's folder`);
  }
  const offset = entries.has('offset') ? nonNegativeInt(model, name, 'offset', entries.get('offset') ?? '') : 0;
  const length = entries.has('length') ? nonNegativeInt(model, name, 'length', entries.get('length') ?? '') : undefined;
  return { path, offset, length };
}

/**
 * Reads `expected` bytes of an external tensor. The file's real size is checked against offset + length
 * before anything is allocated; a short file is an error naming the external file.
 */
export function readExternal(ref: ExternalRef, tensor: string, expected: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(ref.path, 'r');
  } catch (e) {
    throw new HeatcapError(ref.path, `external data file of tensor '${tensor}' cannot be opened (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const size = fstatSync(fd).size;
    const length = ref.length ?? size - ref.offset;
    if (ref.offset + Math.max(length, 0) > size || length < 0) {
      const need = ref.offset + (ref.length ?? expected);
      throw new HeatcapError(ref.path, `is ${size} bytes, shorter than the ${need} (offset ${ref.offset} + length ${ref.length ?? expected}) tensor '${tensor}' needs`);
    }
    if (length !== expected) {
      throw new HeatcapError(ref.path, `tensor '${tensor}' claims ${length} bytes of external data, its shape and type need ${expected}`);
    }
    const out = new Uint8Array(expected);
    let got = 0;
    while (got < expected) {
      const n = readSync(fd, out, got, expected - got, ref.offset + got);
      if (n === 0) throw new HeatcapError(ref.path, `shrank while tensor '${tensor}' was being read`);
      got += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
