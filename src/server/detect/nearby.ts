import { isBatchSizeKey, isLrKey, isMomentumKey, isPlausibleLr } from './keys';
import { MAX_SETTINGS_PER_DOCUMENT, type DetectedSetting, type NearbyValue } from './types';

/** A `key: number` pair found in a file, with the mapping/call/command it belongs to. */
export interface KeyedNumber {
  /** The last key segment (`lr`). */
  name: string;
  /** The full path as written (`optimizer.lr`, `param_groups[0].lr`). */
  key: string;
  value: number;
  text: string;
  start: number;
  end: number;
  /** Identifies the mapping / call / command the pair is in. */
  container: number;
  /** Identifies the wider scope searched when the container has none (a Python function; 0 = the file). */
  scope?: number;
}

/**
 * Finds the batch size / momentum that goes with a learning rate: one in the same container first,
 * else the nearest one in the same scope by position (configs often keep `data.batch_size` apart from
 * `optimizer.lr`). Indexed once, so each lookup is a binary search: files with many values stay linear.
 */
export class NearbyIndex {
  private readonly byContainer = new Map<number, KeyedNumber[]>();
  private readonly byScope = new Map<number, KeyedNumber[]>();

  constructor(all: KeyedNumber[], accepts: (name: string) => boolean) {
    const sorted = all.filter((n) => accepts(n.name)).sort((a, b) => a.start - b.start);
    for (const n of sorted) {
      push(this.byContainer, n.container, n);
      push(this.byScope, n.scope ?? 0, n);
    }
  }

  nearest(to: { start: number; container: number; scope?: number }): NearbyValue | undefined {
    const n = closest(this.byContainer.get(to.container), to.start) ?? closest(this.byScope.get(to.scope ?? 0), to.start);
    return n && { value: n.value, key: n.key, start: n.start, end: n.end };
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The item of `sorted` (by start) nearest to `pos`; the earlier one on a tie. */
function closest(sorted: KeyedNumber[] | undefined, pos: number): KeyedNumber | undefined {
  if (!sorted || sorted.length === 0) return undefined;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].start < pos) lo = mid + 1;
    else hi = mid;
  }
  const after = sorted[lo];
  const before = sorted[lo - 1];
  if (!before) return after;
  if (!after) return before;
  return pos - before.start <= after.start - pos ? before : after;
}

/** Batch size and momentum for each learning-rate entry of `all`, from one index per kind. */
export function withNearby<T extends { batchSize?: NearbyValue; momentum?: NearbyValue }>(
  all: KeyedNumber[],
  isBatchSize: (name: string) => boolean,
  isMomentum: (name: string) => boolean,
): (setting: T, at: { start: number; container: number; scope?: number }) => T {
  const batch = new NearbyIndex(all, isBatchSize);
  const momentum = new NearbyIndex(all, isMomentum);
  return (setting, at) => {
    const b = batch.nearest(at);
    const m = momentum.nearest(at);
    if (b) setting.batchSize = b;
    if (m) setting.momentum = m;
    return setting;
  };
}

/**
 * The learning-rate settings among a config file's `key: number` pairs (YAML, JSON, TOML), each with
 * the batch size and momentum found near it; `annotate` may add notes to a setting (YAML 1.1 quirks).
 */
export function configSettings(numbers: KeyedNumber[], annotate?: (s: DetectedSetting, n: KeyedNumber) => void): DetectedSetting[] {
  const attach = withNearby<DetectedSetting>(numbers, isBatchSizeKey, isMomentumKey);
  const settings: DetectedSetting[] = [];
  for (const n of numbers) {
    if (!isLrKey(n.name) || !isPlausibleLr(n.value)) continue;
    const s = attach({ lr: n.value, start: n.start, end: n.end, text: n.text, key: n.key, kind: 'config_key' }, n);
    annotate?.(s, n);
    settings.push(s);
    if (settings.length > MAX_SETTINGS_PER_DOCUMENT) break;
  }
  return settings;
}
