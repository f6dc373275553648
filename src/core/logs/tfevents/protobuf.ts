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

export class ProtoReader {
  pos: number;
  readonly end: number;
  private view: DataView | undefined;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new ProtoError('message bounds outside the buffer');
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
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

  private dv(): DataView {
    if (!this.view) this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.view;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new ProtoError(`field runs past the end of its message`);
  }

  double(): number {
    this.need(8);
    const v = this.dv().getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  float(): number {
    this.need(4);
    const v = this.dv().getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  fixed32(): number {
    this.need(4);
    const v = this.dv().getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Start and end offsets (into `buf`) of a length-delimited field's payload; advances past it. */
  lenRange(): [number, number] {
    const n = this.varint();
    this.need(n);
    const s = this.pos;
    this.pos += n;
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

  string(): string {
    const [s, e] = this.lenRange();
    return textDecoder.decode(this.buf.subarray(s, e));
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
        this.lenRange();
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
    while (!sub.done && out.length < limit) out.push(read(sub));
  } else if (wire === elemWire) {
    const v = read(r);
    if (out.length < limit) out.push(v);
  } else {
    throw new ProtoError(`wire type ${wire} for a repeated field of wire type ${elemWire}`);
  }
}
