import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { crc32c, crc32cView, maskCrc, maskedCrc32c, maskedCrc32cOfWords } from '../../../src/core/logs/tfevents/crc32c';

/** Oracle: the bit-at-a-time definition of CRC32C (reflected polynomial 0x82F63B78). */
function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('CRC32C (slicing-by-8)', () => {
  it('matches the published check value and the RFC 3720 (iSCSI) test vectors exactly', () => {
    assert.equal(crc32c(ascii('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });

  it('equals the bitwise oracle on random buffers and sub-ranges (exact)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const s = bytes.length ? a % bytes.length : 0;
        const e = s + (bytes.length - s ? b % (bytes.length - s + 1) : 0);
        return crc32c(bytes, s, e) === crc32cBitwise(bytes.subarray(s, e));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('continues a checksum across pieces (crc of a‖b from crc of a)', () => {
    const all = ascii('The quick brown fox jumps over the lazy dog');
    assert.equal(crc32c(all, 10, all.length, crc32c(all, 0, 10)), crc32c(all));
  });

  it("masks as TFRecord does: ((crc >>> 15) | (crc << 17)) + 0xa282ead8 mod 2^32", () => {
    // Hand-computed: crc 0 → 0xa282ead8; crc 0x8000 → rotr15 gives 1 → 0xa282ead9.
    assert.equal(maskCrc(0), 0xa282ead8);
    assert.equal(maskCrc(0x8000), 0xa282ead9);
    // A length field from a TensorFlow-written file (62 = 0x3e) and its stored masked CRC.
    assert.equal(maskedCrc32c(Uint8Array.from([0x3e, 0, 0, 0, 0, 0, 0, 0])), 0xe740d2d9);
  });

  it('the reader\'s entry point (a DataView over the buffer) equals the oracle on every short range of an offset view (exact)', () => {
    // Short lengths (0–40) at every alignment, inside a view that does not start at its buffer's start.
    const backing = Uint8Array.from({ length: 128 }, (_, i) => (i * 167 + 13) & 0xff);
    const buf = backing.subarray(5, 101);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let s = 0; s < 48; s++) for (let n = 0; n <= 40; n++) assert.equal(crc32cView(buf, view, s, s + n), crc32cBitwise(buf.subarray(s, s + n)), `start ${s}, length ${n}`);
  });

  it('the unrolled length-field CRC equals the masked oracle on any 8 bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (bytes) => {
        const dv = new DataView(bytes.buffer);
        // Both signed and unsigned word reads, as callers may use either.
        const want = maskCrc(crc32cBitwise(bytes));
        return maskedCrc32cOfWords(dv.getUint32(0, true), dv.getUint32(4, true)) === want && maskedCrc32cOfWords(dv.getInt32(0, true), dv.getInt32(4, true)) === want;
      }),
      { seed: 5, numRuns: 2000 },
    );
    assert.equal(maskedCrc32cOfWords(0x3e, 0), 0xe740d2d9);
  });

  it('equals the oracle on a 64 KiB buffer, then on short ranges of it, then on it again', () => {
    // The call order that tripped V8 (crc32c.ts, `update`); this checks values only, bench/logs.ts the speed.
    const long = Uint8Array.from({ length: 1 << 16 }, (_, i) => (i * 31 + 7) & 0xff);
    const want = crc32cBitwise(long);
    assert.equal(crc32c(long), want);
    for (let n = 0; n < 20; n++) assert.equal(crc32c(long, 3, 3 + n), crc32cBitwise(long.subarray(3, 3 + n)));
    assert.equal(crc32c(long), want);
  });
});
