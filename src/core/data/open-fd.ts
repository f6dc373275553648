import { openSync } from 'node:fs';
import { HeatcapError } from '../errors';

/** Opens a data file for reading by descriptor; failure is a HeatcapError naming the file and the reason. */
export function openForReading(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (e) {
    throw new HeatcapError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}
