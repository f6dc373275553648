import { closeSync, fstatSync, readSync } from 'node:fs';
import { Inflate } from 'fflate';
import { HeatcapError } from '../errors';
import { decodeElements, isIntegerKind } from './decode';
import { parseNpyHeader, type NpyHeader } from './npy-header';
import { NpyFileSource } from './npy';
import { rowSizeOf, type ArraySource } from './source';
import { listZip, memberDataOffset, type ZipEntry } from './zip';
import { openForReading } from './open-fd';

/** An `.npy` stream already in memory (a deflated npz member), decoded row by row on demand. */
class BytesNpySource implements ArraySource {
  readonly n: number;
  readonly rowShape: number[];
  readonly rowSize: number;
  readonly integer: boolean;

  constructor(
    readonly file: string,
    private readonly bytes: Uint8Array,
    private readonly header: NpyHeader,
  ) {
    if (header.shape.length === 0) throw new HeatcapError(file, 'a 0-d (scalar) array has no rows');
    this.n = header.shape[0];
    this.rowShape = header.shape.slice(1);
    this.rowSize = rowSizeOf(this.rowShape);
    this.integer = isIntegerKind(header.kind);
  }

  readRows(start: number, count: number, out: Float32Array | Float64Array): void {
    const { itemSize, dataOffset, kind, littleEndian } = this.header;
    const from = dataOffset + start * this.rowSize * itemSize;
    decodeElements(this.bytes.subarray(from, from + count * this.rowSize * itemSize), kind, littleEndian, count * this.rowSize, out);
  }

  close(): void {}
}

const READ_CHUNK = 1 << 20;

/**
 * Inflates a deflated member, holding only what the stream really produces: the output may never exceed
 * the size the central directory claims, nor the size its own npy header implies.
 */
function inflateMember(fd: number, entry: ZipEntry, start: number, label: string): { bytes: Uint8Array; header: NpyHeader } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let limit = entry.uncompressedSize;
  let header: NpyHeader | undefined;
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    if (total > limit) throw new HeatcapError(label, `inflates to more than the ${limit} bytes it claims`);
    chunks.push(chunk);
    if (!header && total >= 12) {
      const head = concat(chunks, total);
      chunks.length = 0;
      chunks.push(head);
      try {
        header = parseNpyHeader(head, label);
      } catch (e) {
        // Not enough bytes yet for the whole header: try again with the next chunk.
        if (!(e instanceof HeatcapError) || !/truncated/.test(e.what)) throw e;
      }
      if (header) limit = Math.min(limit, header.dataOffset + header.count * header.itemSize);
    }
  });
  const buf = new Uint8Array(READ_CHUNK);
  try {
    for (let done = 0; done < entry.compressedSize; ) {
      const want = Math.min(READ_CHUNK, entry.compressedSize - done);
      const n = readSync(fd, buf, 0, want, start + done);
      if (n === 0) throw new HeatcapError(label, 'truncated compressed data');
      done += n;
      inflater.push(buf.slice(0, n), done === entry.compressedSize);
    }
  } catch (e) {
    if (e instanceof HeatcapError) throw e;
    throw new HeatcapError(label, `corrupt compressed data (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!header) throw new HeatcapError(label, 'not a .npy stream');
  const expected = header.dataOffset + header.count * header.itemSize;
  if (total < expected) throw new HeatcapError(label, `.npy data is truncated: shape (${header.shape.join(', ')}) needs ${expected} bytes, the member has ${total}`);
  return { bytes: concat(chunks, total), header };
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0].length === total) return chunks[0];
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/**
 * An `.npz` archive (NumPy's `savez` / `savez_compressed`). Members are opened as ArraySources:
 * stored ones are read from disk row by row (memory flat in N); deflated ones are inflated in memory.
 */
export class NpzArchive {
  private fd: number | undefined;
  private readonly entries: Map<string, ZipEntry>;
  private readonly size: number;

  private constructor(
    readonly file: string,
    fd: number,
  ) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
    this.entries = new Map();
    for (const e of listZip(fd, this.size, file)) {
      if (e.name.endsWith('.npy')) this.entries.set(e.name.slice(0, -4), e);
    }
  }

  static open(file: string): NpzArchive {
    const fd = openForReading(file);
    try {
      return new NpzArchive(file, fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Array names, in archive order. */
  get keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Opens one member; the source stays valid until `close()` of the archive. */
  array(key: string): ArraySource {
    const entry = this.entries.get(key);
    const label = `${this.file}#${key}`;
    if (!entry) throw new HeatcapError(this.file, `has no array '${key}' (it holds: ${this.keys.join(', ') || 'nothing'})`);
    if (this.fd === undefined) throw new Error(`${this.file}: read after close`);
    const start = memberDataOffset(this.fd, entry, this.size, this.file);
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.uncompressedSize) throw new HeatcapError(label, 'stored member with differing sizes');
      return NpyFileSource.at(label, this.fd, start, entry.compressedSize);
    }
    if (entry.method === 8) {
      const { bytes, header } = inflateMember(this.fd, entry, start, label);
      return new BytesNpySource(label, bytes, header);
    }
    throw new HeatcapError(label, `unsupported ZIP compression method ${entry.method} (NumPy writes stored or deflated members)`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
