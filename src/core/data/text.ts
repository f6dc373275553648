import { readFileSync, statSync } from 'node:fs';
import { Gunzip } from 'fflate';
import { HeatcapError } from '../errors';

/** Text training data is parsed in memory; beyond this, use .npy (read row by row from disk). */
export const MAX_TEXT_BYTES = 1 << 30;

/**
 * Reads a text file, transparently gunzipping `.gz`. The output is collected from what the stream
 * really inflates to (never preallocated from the gzip trailer's claimed size) and capped.
 */
export function readTextFile(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new HeatcapError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (size > MAX_TEXT_BYTES) throw new HeatcapError(file, `is ${size} bytes; text data over ${MAX_TEXT_BYTES} bytes is not supported (convert it to .npy)`);
  const raw = readFileSync(file);
  if (!file.endsWith('.gz')) return raw.toString('utf8');
  const chunks: Uint8Array[] = [];
  let total = 0;
  const gz = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > MAX_TEXT_BYTES) throw new HeatcapError(file, `inflates to more than ${MAX_TEXT_BYTES} bytes`);
    chunks.push(chunk);
  });
  try {
    gz.push(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), true);
  } catch (e) {
    if (e instanceof HeatcapError) throw e;
    throw new HeatcapError(file, `is not valid gzip (${e instanceof Error ? e.message : String(e)})`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
