/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320; zlib's `crc32`), byte-table form. W&B's run log
 * borrows LevelDB's framing but not its checksum: both the Python writer (`zlib.crc32`) and the Go core
 * write this CRC, unmasked, over the type byte and the data (checked on every fixture from client 0.12.18
 * to 0.21.0, see test/fixtures/wandb/README.md). Records are short and the files small next to event
 * files, so the plain table loop is fast enough (no slicing-by-8 as in ../tfevents/crc32c.ts).
 */

const TABLE: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 of the byte `first` followed by `buf[start, end)`, as an unsigned 32-bit number. */
export function crc32WithPrefix(first: number, buf: Uint8Array, start: number, end: number): number {
  let c = ~0;
  c = TABLE[(c ^ first) & 0xff] ^ (c >>> 8);
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `buf[start, end)`. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = ~0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
