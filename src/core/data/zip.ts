import { readSync } from 'node:fs';
import { HeatcapError } from '../errors';

/** One member of a ZIP archive, from its central directory entry. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** Bounds on what we read from an archive's own claims (central directory size, entry count). */
const MAX_CENTRAL_DIRECTORY_BYTES = 16 << 20;
const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

function read(fd: number, position: number, length: number, file: string): DataView {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new HeatcapError(file, 'truncated ZIP archive');
    got += n;
  }
  return new DataView(buf.buffer);
}

function u64(dv: DataView, at: number, file: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new HeatcapError(file, 'ZIP64 size out of range');
  return Number(v);
}

/**
 * Lists the members of a ZIP archive (PKWARE APPNOTE 6.3: end of central directory, ZIP64 locator and
 * extra field — NumPy's `savez` always writes ZIP64 local headers). Every offset and size the archive
 * claims is checked against the file size before it is used.
 */
export function listZip(fd: number, fileSize: number, file: string): ZipEntry[] {
  if (fileSize < 22) throw new HeatcapError(file, 'not a ZIP archive (too short)');
  const tailLen = Math.min(fileSize, 22 + 65535);
  const tail = read(fd, fileSize - tailLen, tailLen, file);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new HeatcapError(file, 'not a ZIP archive (no end-of-central-directory record)');
  let count = tail.getUint16(eocd + 10, true);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  const eocdPos = fileSize - tailLen + eocd;
  if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && eocdPos >= 20) {
    const loc = read(fd, eocdPos - 20, 20, file);
    if (loc.getUint32(0, true) === ZIP64_LOCATOR_SIGNATURE) {
      const z64Pos = u64(loc, 8, file);
      if (z64Pos + 56 > fileSize) throw new HeatcapError(file, 'ZIP64 end record outside the file');
      const z = read(fd, z64Pos, 56, file);
      if (z.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) throw new HeatcapError(file, 'bad ZIP64 end-of-central-directory record');
      count = u64(z, 32, file);
      cdSize = u64(z, 40, file);
      cdOffset = u64(z, 48, file);
    }
  }
  if (cdOffset + cdSize > fileSize) throw new HeatcapError(file, 'ZIP central directory lies outside the file');
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES) throw new HeatcapError(file, `ZIP central directory of ${cdSize} bytes is implausibly large`);
  // Each entry takes at least 46 bytes, which bounds the count by the bytes actually present.
  if (count * 46 > cdSize) throw new HeatcapError(file, `ZIP claims ${count} entries in a ${cdSize}-byte central directory`);
  const cd = read(fd, cdOffset, cdSize, file);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cdSize || cd.getUint32(p, true) !== CENTRAL_SIGNATURE) throw new HeatcapError(file, `ZIP central directory entry ${k} is corrupt`);
    const method = cd.getUint16(p + 10, true);
    let compressedSize = cd.getUint32(p + 20, true);
    let uncompressedSize = cd.getUint32(p + 24, true);
    const nameLen = cd.getUint16(p + 28, true);
    const extraLen = cd.getUint16(p + 30, true);
    const commentLen = cd.getUint16(p + 32, true);
    let localHeaderOffset = cd.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cdSize) throw new HeatcapError(file, `ZIP central directory entry ${k} is truncated`);
    const name = new TextDecoder().decode(new Uint8Array(cd.buffer, p + 46, nameLen));
    // ZIP64 extended information: the 64-bit values follow in this order, each present only when
    // the 32-bit field holds 0xFFFFFFFF.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = cd.getUint16(e, true);
      const len = cd.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const take = () => {
          if (q + 8 > e + 4 + len) throw new HeatcapError(file, `ZIP64 extra field of '${name}' is truncated`);
          const v = u64(cd, q, file);
          q += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      e += 4 + len;
    }
    if (localHeaderOffset + 30 + compressedSize > fileSize) throw new HeatcapError(file, `ZIP member '${name}' lies outside the file`);
    entries.push({ name, method, compressedSize, uncompressedSize, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Byte offset where a member's data begins (after its local header, whose own lengths we must use). */
export function memberDataOffset(fd: number, entry: ZipEntry, fileSize: number, file: string): number {
  const h = read(fd, entry.localHeaderOffset, 30, file);
  if (h.getUint32(0, true) !== LOCAL_SIGNATURE) throw new HeatcapError(file, `ZIP member '${entry.name}' has a corrupt local header`);
  const start = entry.localHeaderOffset + 30 + h.getUint16(26, true) + h.getUint16(28, true);
  if (start + entry.compressedSize > fileSize) throw new HeatcapError(file, `ZIP member '${entry.name}' is truncated`);
  return start;
}
