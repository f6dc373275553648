import { Minimatch } from 'minimatch';
import { HeatcapError } from '../errors';

/**
 * Folder filters of a discovery: glob patterns relative to the discovery root (posix separators),
 * matched with minimatch. `**` also matches hidden names (`dot`), and a folder is tested both as
 * `a/b` and as `a/b/`, so `**\/cache/**` and `exp/**` match the folders `x/cache` and `exp` themselves,
 * not only what lies below them.
 */
export interface FolderGlobs {
  /** Folders whose runs are kept (a run is kept when its folder, or a folder above it, matches). */
  include: Minimatch[];
  /** Folders (and files) never searched: the walk does not enter them. */
  exclude: Minimatch[];
}

/** Longer patterns are refused rather than handed to the matcher (minimatch's own limit is 64 KiB). */
const MAX_PATTERN = 1024;

/**
 * Compiles the patterns a user gave, refusing ones that cannot mean a folder under the root: empty,
 * absolute (`/data/**`, `C:/runs`), or climbing out with `..`. `flag` names the option in the error.
 */
export function compileGlobs(patterns: readonly string[], flag: string): Minimatch[] {
  return patterns.map((raw) => {
    const p = raw.trim().replace(/\\/g, '/').replace(/^(\.\/)+/, '');
    const bad = (why: string) => new HeatcapError(undefined, `${flag} '${raw}': ${why}`);
    if (p === '') throw bad('an empty pattern');
    if (p.length > MAX_PATTERN) throw bad(`longer than ${MAX_PATTERN} characters`);
    if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw bad('patterns are relative to the folder searched');
    if (p.split('/').includes('..')) throw bad("'..' cannot match a folder below the one searched");
    return new Minimatch(p, { dot: true });
  });
}

/** True when `rel` (relative to the root, '' for the root itself) is matched by one of `globs`. */
export function matchesPath(rel: string, globs: readonly Minimatch[]): boolean {
  return globs.some((g) => g.match(rel) || g.match(`${rel}/`));
}

/** The folder of a run and every folder above it up to the root: `a/b/c` → `a/b/c`, `a/b`, `a`, ''. */
export function selfAndAncestors(rel: string): string[] {
  if (rel === '') return [''];
  const parts = rel.split('/');
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('/')).concat('');
}

/** Include filter: no patterns keep everything (the CLI's default, like the setting's `**`). */
export function isIncluded(rel: string, include: readonly Minimatch[]): boolean {
  return include.length === 0 || selfAndAncestors(rel).some((r) => matchesPath(r, include));
}
