import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Minimatch } from 'minimatch';
import { throwIfCancelled, type CancelToken } from '../cancel';
import { matchesPath } from './globs';

/**
 * A depth-limited walk of a workspace folder that lists what each folder holds. It skips hidden
 * folders, `node_modules`, virtual environments and caches, does not follow symbolic links (no cycles),
 * and does not descend into an MLflow run's own `metrics/`, `params/`, `tags/`, `artifacts/` folders.
 * Folders and files matching the user's exclude patterns are left out as if absent (the root itself,
 * named explicitly, is always listed).
 */
export interface DirListing {
  abs: string;
  /** Relative to the walk root with '/' separators; '' for the root. */
  rel: string;
  depth: number;
  files: string[];
  dirs: string[];
}

const SKIP_DIRS = new Set(['node_modules', '__pycache__', 'site-packages', '.git', 'wandb-cache']);
const MLFLOW_RUN_PARTS = new Set(['metrics', 'params', 'tags', 'artifacts']);
export const DEFAULT_MAX_DEPTH = 8;
/** Folders listed at most, so a walk started at `/` by mistake ends with a warning instead of never. */
export const MAX_DIRS = 200_000;

export interface WalkResult {
  dirs: DirListing[];
  truncated: boolean;
  unreadable: { abs: string; message: string }[];
}

export async function walk(root: string, maxDepth: number, token?: CancelToken, exclude: readonly Minimatch[] = []): Promise<WalkResult> {
  const out: DirListing[] = [];
  const unreadable: { abs: string; message: string }[] = [];
  let queue: { abs: string; rel: string; depth: number }[] = [{ abs: root, rel: '', depth: 0 }];
  let truncated = false;
  // Breadth-first, a level at a time, with the folders of one level listed concurrently.
  while (queue.length > 0) {
    throwIfCancelled(token);
    const next: typeof queue = [];
    const CONCURRENCY = 32;
    for (let i = 0; i < queue.length; i += CONCURRENCY) {
      const batch = queue.slice(i, i + CONCURRENCY);
      const listed = await Promise.all(
        batch.map(async (d) => {
          try {
            return { d, entries: await readdir(d.abs, { withFileTypes: true }) };
          } catch (e) {
            unreadable.push({ abs: d.abs, message: e instanceof Error ? e.message : String(e) });
            return undefined;
          }
        }),
      );
      for (const l of listed) {
        if (!l) continue;
        const files: string[] = [];
        const dirs: string[] = [];
        const rel = (name: string): string => (l.d.rel ? `${l.d.rel}/${name}` : name);
        for (const e of l.entries) {
          if (exclude.length > 0 && (e.isFile() || e.isDirectory()) && matchesPath(rel(e.name), exclude)) continue;
          if (e.isFile()) files.push(e.name);
          else if (e.isDirectory()) dirs.push(e.name);
        }
        files.sort();
        dirs.sort();
        out.push({ abs: l.d.abs, rel: l.d.rel, depth: l.d.depth, files, dirs });
        const isMlflowRun = files.includes('meta.yaml') && dirs.includes('metrics');
        const isVenv = files.includes('pyvenv.cfg');
        if (l.d.depth >= maxDepth || isVenv) continue;
        for (const name of dirs) {
          if (name.startsWith('.') || SKIP_DIRS.has(name)) continue;
          if (isMlflowRun && MLFLOW_RUN_PARTS.has(name)) continue;
          if (out.length + next.length >= MAX_DIRS) {
            truncated = true;
            break;
          }
          next.push({ abs: join(l.d.abs, name), rel: rel(name), depth: l.d.depth + 1 });
        }
      }
    }
    queue = next;
  }
  return { dirs: out, truncated, unreadable };
}
