/**
 * A minimal protocol-buffers wire-format reader: just enough to walk `Event`, `Summary`, `TensorProto`
 * and the hparams plugin messages. Every read is bounds-checked against the message's end and every
 * step either advances or throws, so arbitrary bytes can neither crash the process nor loop forever.
 * Lengths claimed by the data are checked against the bytes present before anything is sliced; nothing
 * is ever allocated from a claimed length (sub-messages are views, not copies).
 */

/** Thrown on malformed wire data; callers turn it into a warning naming the file and record. */
export class ProtoError extends Error {
  override readonly name = 'ProtoError';
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const textDecoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Scratch space for reading little-endian floats without a DataView per message (measurably faster in
 * the per-record loop). Typed arrays use the platform's byte order, so big-endian hosts reverse bytes.
 */
const scratch = new Uint8Array(8);
const scratchF64 = new Float64Array(scratch.buffer);
const scratchF32 = new Float32Array(scratch.buffer, 0, 1);
const scratchU32 = new Uint32Array(scratch.buffer, 0, 1);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function load(buf: Uint8Array, pos: number, n: number): void {
  if (LITTLE_ENDIAN) for (let i = 0; i < n; i++) scratch[i] = buf[pos + i];
  else for (let i = 0; i < n; i++) scratch[n - 1 - i] = buf[pos + i];
}

/** Little-endian float32 at `buf[pos]`. */
export function readFloat32LE(buf: Uint8Array, pos: number): number {
  load(buf, pos, 4);
  return scratchF32[0];
}

/** Little-endian float64 at `buf[pos]`. */
export function readFloat64LE(buf: Uint8Array, pos: number): number {
  load(buf, pos, 8);
  return scratchF64[0];
}

/** Short strings (tags) are decoded once and then found again by their bytes. */
export class StringCache {
  private readonly byLength = new Map<number, { bytes: Uint8Array; text: string }[]>();
  private size = 0;

  constructor(private readonly limit = 4096) {}

  get(buf: Uint8Array, start: number, end: number): string {
    const n = end - start;
    if (n > 256) return textDecoder.decode(buf.subarray(start, end));
    let list = this.byLength.get(n);
    if (list) {
      outer: for (let k = 0; k < list.length; k++) {
        const b = list[k].bytes;
        for (let i = 0; i < n; i++) if (b[i] !== buf[start + i]) continue outer;
        return list[k].text;
      }
    }
    const text = textDecoder.decode(buf.subarray(start, end));
    if (this.size < this.limit) {
      if (!list) {
        list = [];
        this.byLength.set(n, list);
      }
      list.push({ bytes: buf.slice(start, end), text });
      this.size++;
    }
    return text;
  }
}

export class ProtoReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.reset(buf, start, end);
  }

  /** Points this reader at another message, so hot loops can reuse readers instead of allocating. */
  reset(buf: Uint8Array, start: number, end: number): this {
    if (start < 0 || end > buf.length || start > end) throw new ProtoError('message bounds outside the buffer');
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  /**
   * Reads a varint as a JS number. Values above 2^53 lose precision (steps and sizes never get there);
   * negative int64 values (10-byte two's complement) come back as large positives, which callers treat
   * as out of range. More than 10 bytes is malformed.
   */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let lo = 0;
    let shift = 0;
    // Low 28 bits in 32-bit arithmetic (fast path for tags and small values).
    for (; shift < 28; shift += 7) {
      if (pos >= end) throw new ProtoError('truncated varint');
      const b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return lo >>> 0;
      }
    }
    let value = lo >>> 0;
    let mul = 2 ** 28;
    for (let i = 4; i < 10; i++) {
      if (pos >= end) throw new ProtoError('truncated varint');
      const b = buf[pos++];
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return value;
      }
      mul *= 128;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  /** A varint read as a signed int64 (two's complement), e.g. `Event.step`; negative values are exact. */
  int64(): number {
    const start = this.pos;
    const v = this.varint();
    if (v < 2 ** 63) return v;
    // A 10-byte negative: beyond double precision as unsigned, so redo it in BigInt.
    let big = 0n;
    for (let i = this.pos - 1; i >= start; i--) big = (big << 7n) | BigInt(this.buf[i] & 0x7f);
    return Number(BigInt.asIntN(64, big));
  }

  /** Reads a field key `fieldNumber << 3 | wireType`; field number 0 is malformed. */
  tag(): number {
    const t = this.varint();
    if (t > 0xffffffff || t >>> 3 === 0) throw new ProtoError(`invalid field key ${t}`);
    return t;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new ProtoError(`field runs past the end of its message`);
  }

  double(): number {
    this.need(8);
    const v = readFloat64LE(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  float(): number {
    this.need(4);
    const v = readFloat32LE(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  fixed32(): number {
    this.need(4);
    load(this.buf, this.pos, 4);
    this.pos += 4;
    return scratchU32[0];
  }

  /** Skips a length-delimited field's payload and returns its start; its end is `pos` afterwards. */
  skipLen(): number {
    const n = this.varint();
    this.need(n);
    const s = this.pos;
    this.pos += n;
    return s;
  }

  /** Start and end offsets (into `buf`) of a length-delimited field's payload; advances past it. */
  lenRange(): [number, number] {
    const s = this.skipLen();
    return [s, this.pos];
  }

  /** A length-delimited field as a sub-reader over the same bytes (no copy). */
  message(): ProtoReader {
    const [s, e] = this.lenRange();
    return new ProtoReader(this.buf, s, e);
  }

  /** A length-delimited field as a view (no copy). */
  bytes(): Uint8Array {
    const [s, e] = this.lenRange();
    return this.buf.subarray(s, e);
  }

  string(cache?: StringCache): string {
    const s = this.skipLen();
    return cache ? cache.get(this.buf, s, this.pos) : textDecoder.decode(this.buf.subarray(s, this.pos));
  }

  /** Skips a field of the given wire type. Groups (wire types 3/4, long deprecated) are rejected. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.skipLen();
        return;
      case WIRE_FIXED32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw new ProtoError(`unsupported wire type ${wire}`);
    }
  }
}

/**
 * Calls `f` for each element of a repeated scalar field, packed (one LEN field) or not (one element per
 * key), so both encodings of e.g. `TensorProto.float_val` read the same.
 */
export function readRepeated(r: ProtoReader, wire: number, elemWire: number, read: (r: ProtoReader) => number, out: number[], limit: number): void {
  if (wire === WIRE_LEN) {
    const sub = r.message();
    while (sub.pos < sub.end && out.length < limit) out.push(read(sub));
  } else if (wire === elemWire) {
    const v = read(r);
    if (out.length < limit) out.push(v);
  } else {
    throw new ProtoError(`wire type ${wire} for a repeated field of wire type ${elemWire}`);
  }
}
