import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf';

/**
 * A small protocol-buffers encoder for the messages our writer emits (Event, Summary, TensorProto,
 * hparams plugin data). Messages are built inside-out: encode the child, then embed its bytes.
 */
export class ProtoWriter {
  private buf = new Uint8Array(64);
  private len = 0;
  private readonly dv4 = new DataView(new ArrayBuffer(8));

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned varint; negative numbers are written as 10-byte two's complement (int64 semantics). */
  varint(v: number): this {
    this.ensure(10);
    if (v < 0) {
      let big = BigInt.asUintN(64, BigInt(Math.trunc(v)));
      while (big >= 0x80n) {
        this.buf[this.len++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.buf[this.len++] = Number(big);
      return this;
    }
    let x = Math.trunc(v);
    while (x >= 0x80) {
      this.buf[this.len++] = (x % 128) | 0x80;
      x = Math.floor(x / 128);
    }
    this.buf[this.len++] = x;
    return this;
  }

  key(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  uint(field: number, v: number): this {
    return this.key(field, WIRE_VARINT).varint(v);
  }

  double(field: number, v: number): this {
    this.key(field, WIRE_FIXED64);
    this.ensure(8);
    this.dv4.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.buf[this.len++] = this.dv4.getUint8(i);
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, WIRE_FIXED32);
    this.ensure(4);
    this.dv4.setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.buf[this.len++] = this.dv4.getUint8(i);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, WIRE_LEN).varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
