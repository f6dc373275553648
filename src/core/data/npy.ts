import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { HeatcapError } from '../errors';
import { decodeElements, isIntegerKind } from './decode';
import { formatNpyHeader, MAX_NPY_HEADER_BYTES, NPY_PREAMBLE_BYTES, npyHeaderSize, parseNpyHeader, type NpyHeader } from './npy-header';
import { rowSizeOf, type ArraySource } from './source';
import { openForReading } from './open-fd';

/** Rows are read through one reusable buffer (fresh-memory first touch is slow here, PERFORMANCE-NOTES.md). */
const READ_BUFFER_BYTES = 1 << 22;

function readExactly(fd: number, length: number, position: number, file: string, what: string): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new HeatcapError(file, `truncated ${what}`);
    got += n;
  }
  return buf;
}

/** Reads and checks the header of an npy stream that starts at `base` and spans `length` bytes. */
export function readNpyHeaderAt(fd: number, base: number, length: number, file: string): NpyHeader {
  if (length < NPY_PREAMBLE_BYTES - 2) throw new HeatcapError(file, 'not a .npy file (too short)');
  const pre = readExactly(fd, Math.min(NPY_PREAMBLE_BYTES, length), base, file, '.npy header');
  const size = npyHeaderSize(pre, file);
  if (size > length || size > MAX_NPY_HEADER_BYTES + 12) throw new HeatcapError(file, 'truncated .npy header');
  const header = parseNpyHeader(readExactly(fd, size, base, file, '.npy header'), file);
  const need = header.count * header.itemSize;
  const have = length - header.dataOffset;
  if (have < need) {
    throw new HeatcapError(file, `.npy data is truncated: shape (${header.shape.join(', ')}) needs ${need} bytes, the file has ${have}`);
  }
  return header;
}

/**
 * An `.npy` array (or an uncompressed npz member) read row by row straight from disk: nothing is
 * allocated from the shape the header claims until it has been checked against the file's size.
 */
export class NpyFileSource implements ArraySource {
  readonly n: number;
  readonly rowShape: number[];
  readonly rowSize: number;
  readonly integer: boolean;
  private fd: number | undefined;
  private buffer = new Uint8Array(0);

  private constructor(
    readonly file: string,
    fd: number,
    private readonly header: NpyHeader,
    private readonly base: number,
    private readonly ownsFd: boolean,
  ) {
    this.fd = fd;
    if (header.shape.length === 0) throw new HeatcapError(file, 'a 0-d (scalar) array has no rows');
    this.n = header.shape[0];
    this.rowShape = header.shape.slice(1);
    this.rowSize = rowSizeOf(this.rowShape);
    this.integer = isIntegerKind(header.kind);
  }

  static open(file: string): NpyFileSource {
    const fd = openForReading(file);
    try {
      const header = readNpyHeaderAt(fd, 0, fstatSync(fd).size, file);
      return new NpyFileSource(file, fd, header, 0, true);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** An npy stream stored uncompressed inside another file (an npz member); the fd stays the caller's. */
  static at(file: string, fd: number, base: number, length: number): NpyFileSource {
    return new NpyFileSource(file, fd, readNpyHeaderAt(fd, base, length, file), base, false);
  }

  get shape(): number[] {
    return this.header.shape;
  }

  readRows(start: number, count: number, out: Float32Array | Float64Array): void {
    if (this.fd === undefined) throw new Error(`${this.file}: read after close`);
    if (start < 0 || start + count > this.n) throw new RangeError(`rows ${start}..${start + count} outside 0..${this.n}`);
    const { itemSize, kind, littleEndian, dataOffset } = this.header;
    const rowBytes = this.rowSize * itemSize;
    const rowsPerRead = Math.max(1, Math.floor(READ_BUFFER_BYTES / Math.max(1, rowBytes)));
    for (let r = 0; r < count; r += rowsPerRead) {
      const rows = Math.min(rowsPerRead, count - r);
      const bytes = rows * rowBytes;
      if (this.buffer.length < bytes) this.buffer = new Uint8Array(Math.max(bytes, Math.min(READ_BUFFER_BYTES, rowBytes * count)));
      const view = this.buffer.subarray(0, bytes);
      let got = 0;
      const pos = this.base + dataOffset + (start + r) * rowBytes;
      while (got < bytes) {
        const k = readSync(this.fd, view, got, bytes - got, pos + got);
        if (k === 0) throw new HeatcapError(this.file, 'file shrank while being read');
        got += k;
      }
      decodeElements(view, kind, littleEndian, rows * this.rowSize, out, r * this.rowSize);
    }
  }

  close(): void {
    if (this.fd !== undefined && this.ownsFd) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads a whole `.npy` file into memory as float64 (for small arrays: labels, tests). */
export function readNpy(file: string): { shape: number[]; data: Float64Array; integer: boolean } {
  const src = NpyFileSource.open(file);
  try {
    const data = new Float64Array(src.n * src.rowSize);
    src.readRows(0, src.n, data);
    return { shape: src.shape, data, integer: src.integer };
  } finally {
    src.close();
  }
}

/**
 * Writes a float64 `.npy` of N values whose chunks may arrive out of order (one per worker): each chunk
 * goes to its own position, so nothing proportional to N is held in memory.
 */
export class NpyWriter {
  private fd: number | undefined;
  private readonly dataOffset: number;

  constructor(
    readonly file: string,
    readonly n: number,
  ) {
    try {
      this.fd = openSync(file, 'w');
    } catch (e) {
      throw new HeatcapError(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const header = formatNpyHeader('<f8', [n]);
    writeSync(this.fd, header, 0, header.length, 0);
    this.dataOffset = header.length;
  }

  write(start: number, values: Float64Array): void {
    if (this.fd === undefined) throw new Error(`${this.file}: write after close`);
    if (start < 0 || start + values.length > this.n) throw new RangeError(`values ${start}..${start + values.length} outside 0..${this.n}`);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    // .npy is little-endian as declared ('<f8'); every platform Node runs on here is little-endian.
    writeSync(this.fd, bytes, 0, bytes.length, this.dataOffset + start * 8);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Writes a whole float64 array as `.npy` (convenience for small outputs and tests). */
export function writeNpyFloat64(file: string, values: Float64Array): void {
  const w = new NpyWriter(file, values.length);
  try {
    w.write(0, values);
  } finally {
    w.close();
  }
}

/** Writes a small N-d array as `.npy` (C order), with the dtype of the typed array (test fixtures, exports). */
export function writeNpy(file: string, values: Float32Array | Float64Array | Int32Array | Uint8Array, shape: number[]): void {
  if (rowSizeOf(shape) !== values.length) throw new Error(`writeNpy: ${values.length} values for shape (${shape.join(', ')})`);
  const descr = values instanceof Float32Array ? '<f4' : values instanceof Float64Array ? '<f8' : values instanceof Int32Array ? '<i4' : '|u1';
  const header = formatNpyHeader(descr, shape);
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (e) {
    throw new HeatcapError(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    writeSync(fd, header, 0, header.length, 0);
    writeSync(fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 0, values.byteLength, header.length);
  } finally {
    closeSync(fd);
  }
}
