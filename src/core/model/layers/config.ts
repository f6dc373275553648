/**
 * Readers for layer configs as tfjs (`getConfig()`, camelCase) or a Keras front-end (snake_case) spells
 * them: every reader looks a key up in both spellings.
 */

export type LayerConfig = Record<string, unknown>;

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The config value under `key` (camelCase) or its snake_case spelling; undefined when absent or null. */
export function get(cfg: LayerConfig, key: string): unknown {
  const v = cfg[key] ?? cfg[snake(key)];
  return v === null ? undefined : v;
}

export function num(cfg: LayerConfig, key: string, def: number): number {
  const v = get(cfg, key);
  if (v === undefined) return def;
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isFinite(n) ? n : def;
}

export function bool(cfg: LayerConfig, key: string, def: boolean): boolean {
  const v = get(cfg, key);
  return typeof v === 'boolean' ? v : def;
}

export function str(cfg: LayerConfig, key: string, def: string): string {
  const v = get(cfg, key);
  return typeof v === 'string' ? v : def;
}

/** An int or a tuple of `n` ints (kernel sizes, strides, dilation rates). */
export function tuple(cfg: LayerConfig, key: string, n: number, def: number[] | undefined): number[] | undefined {
  const v = get(cfg, key);
  if (v === undefined) return def;
  if (Array.isArray(v)) {
    const a = v.map(Number);
    return a.length === 1 && n > 1 ? Array.from({ length: n }, () => a[0]) : a;
  }
  return Array.from({ length: n }, () => Number(v));
}

/** Axis config (an int or a list of ints) as non-negative axes of a rank-`rank` tensor. */
export function axes(cfg: LayerConfig, key: string, rank: number, def: number[]): number[] {
  const v = get(cfg, key);
  const list = v === undefined ? def : Array.isArray(v) ? v.map(Number) : [Number(v)];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** true for channels_first / channelsFirst. */
export function channelsFirst(cfg: LayerConfig): boolean {
  const v = str(cfg, 'dataFormat', 'channelsLast').toLowerCase().replace(/_/g, '');
  return v === 'channelsfirst';
}

/** A serialized object ({className|class_name, config}) as [class name, config]. */
export function serialized(v: unknown): [string, LayerConfig] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v, {}];
  if (typeof v === 'object') {
    const o = v as LayerConfig;
    const cls = o.className ?? o.class_name;
    // Keras 3 serialises a plain function (an activation) as {class_name: 'function', config: 'relu'}.
    if (cls === 'function' && typeof o.config === 'string') return [o.config, {}];
    const inner = (o.config ?? {}) as LayerConfig;
    if (typeof cls === 'string') return [cls, inner];
  }
  return [String(v), {}];
}
