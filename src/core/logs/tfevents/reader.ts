import { ProtoError } from './protobuf';
import type { EventDecoder } from './event';
import { readFrames, type FrameReadOptions, type FrameReadResult } from './framing';

/**
 * Reads one event file into an `EventSink`. Malformed records (good CRC, bad protobuf: rare, e.g. a
 * foreign record type) are skipped and counted, like payload-CRC failures; they never stop the file.
 */
export interface EventFileResult extends FrameReadResult {
  /** Records whose bytes were intact but did not decode as an Event. */
  malformed: number;
  /** Human-readable problems with offsets (framing problems first). */
  problems: string[];
}

export async function readEventFile(file: string, decoder: EventDecoder, opts: FrameReadOptions = {}): Promise<EventFileResult> {
  let malformed = 0;
  const decodeProblems: string[] = [];
  const res = await readFrames(
    file,
    (buf, start, end, offset) => {
      try {
        decoder.decode(buf, start, end);
      } catch (e) {
        if (!(e instanceof ProtoError)) throw e;
        malformed++;
        if (malformed <= 5) decodeProblems.push(`offset ${offset}: record is not a valid Event (${e.message}); skipped`);
      }
    },
    opts,
  );
  if (malformed > 5) decodeProblems.push(`${malformed} records in all were not valid Events and were skipped`);
  return { ...res, malformed, problems: [...res.problems, ...decodeProblems] };
}

