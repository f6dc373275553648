import type { NearbyValue } from './types';

/** A `key: number` pair found in a configuration file, with the mapping it belongs to. */
export interface KeyedNumber {
  /** The last key segment (`lr`). */
  name: string;
  /** The full path as written (`optimizer.lr`, `param_groups[0].lr`). */
  key: string;
  value: number;
  text: string;
  start: number;
  end: number;
  /** Identifies the mapping/table the pair is in. */
  container: number;
}

/**
 * The batch size / momentum that goes with a learning rate: one in the same mapping first, else the
 * nearest one in the file by position (configs often keep `data.batch_size` apart from `optimizer.lr`).
 */
export function pickNearby(all: KeyedNumber[], to: KeyedNumber, accepts: (key: string) => boolean): NearbyValue | undefined {
  let best: KeyedNumber | undefined;
  let bestScore = Infinity;
  for (const n of all) {
    if (!accepts(n.name)) continue;
    const score = (n.container === to.container ? 0 : 1e12) + Math.abs(n.start - to.start);
    if (score < bestScore) {
      best = n;
      bestScore = score;
    }
  }
  return best && { value: best.value, key: best.key, start: best.start, end: best.end };
}
