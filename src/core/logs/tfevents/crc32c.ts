/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78) as used by TFRecord framing, computed with the
 * slicing-by-8 method: eight 256-entry tables let the inner loop consume 8 bytes per iteration, which
 * is what makes checking every record affordable in JS (PERFORMANCE-NOTES.md: ≈0.5 GB/s).
 */

const POLY = 0x82f63b78;

/** TABLES[k][b]: CRC of byte b followed by k zero bytes; TABLES[0] is the classic byte-wise table. */
const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  t.push(t0);
  for (let k = 1; k < 8; k++) {
    const prev = t[k - 1];
    const tk = new Uint32Array(256);
    for (let n = 0; n < 256; n++) tk[n] = ((prev[n] >>> 8) ^ t0[prev[n] & 0xff]) >>> 0;
    t.push(tk);
  }
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

/** CRC32C of `buf[start, end)`, continuing from `crc` (0 for a fresh checksum). Unsigned 32-bit result. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc >>> 0;
  let i = start;
  // Byte-wise until the remaining length is a multiple of 8.
  const head = start + ((end - start) & 7);
  for (; i < head; i++) c = T0[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  for (; i < end; i += 8) {
    const lo = c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    c =
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[buf[i + 4]] ^
      T2[buf[i + 5]] ^
      T1[buf[i + 6]] ^
      T0[buf[i + 7]];
  }
  return ~c >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 bits and add a constant (so CRCs of CRCs stay distinct). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export function maskedCrc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return maskCrc(crc32c(buf, start, end));
}
