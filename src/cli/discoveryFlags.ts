/**
 * The discovery flags `heatcap runs` and `heatcap analyze` share (the extension passes them from the
 * `heatcap.runs.*` and `heatcap.lrKeys` settings), declared once so both commands parse and document
 * them alike.
 */
import { HeatcapError } from '../core/errors';
import { numberFlag } from './args';

export const DISCOVERY_FLAGS = {
  'max-depth': { type: 'string' },
  'include-glob': { type: 'string', multiple: true },
  'exclude-glob': { type: 'string', multiple: true },
  'lr-key': { type: 'string', multiple: true },
} as const;

/** Help lines for those flags, aligned to `width` columns like the rest of a command's usage. */
export function discoveryHelp(width: number): string {
  const line = (flag: string, text: string) => `  ${flag.padEnd(width)} ${text}`;
  return [
    line('--max-depth N', 'folder levels to search below <path> (default 8)'),
    line('--include-glob <glob>', 'keep only runs whose folder (or a folder above it) matches, relative to'),
    line('', '<path>, e.g. "sweeps/**" (repeatable; default: every run)'),
    line('--exclude-glob <glob>', 'never search folders or files matching, e.g. "**/old/**" (repeatable;'),
    line('', 'hidden folders, node_modules, virtual environments and caches are skipped anyway)'),
    line('--lr-key <key>', 'hyperparameter key read as η before the built-in aliases (lr, learning_rate,'),
    line('', 'base_lr, …); repeatable, in order of preference; `my_lr` also matches `train.my_lr`'),
  ].join('\n');
}

export interface DiscoveryFlagValues {
  maxDepth?: number;
  include?: string[];
  exclude?: string[];
  lrKeys?: string[];
}

/** Reads the parsed flag values; an empty `--lr-key` is a usage error rather than a silent no-op. */
export function discoveryFromFlags(values: { 'max-depth'?: string; 'include-glob'?: string[]; 'exclude-glob'?: string[]; 'lr-key'?: string[] }): DiscoveryFlagValues {
  const lrKeys = values['lr-key']?.map((k) => k.trim());
  if (lrKeys?.some((k) => k === '')) throw new HeatcapError(undefined, '--lr-key expects a key name, got an empty one');
  return {
    maxDepth: numberFlag('max-depth', values['max-depth'], { min: 0, integer: true }),
    include: values['include-glob'],
    exclude: values['exclude-glob'],
    lrKeys,
  };
}
