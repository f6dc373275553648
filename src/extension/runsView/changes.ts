/**
 * Which file changes are worth re-running an analysis for: a changed file that belongs to a known run,
 * or a new log file (a new run). A growing `*.jsonl` that is nobody's training log is not. No `vscode`
 * import (unit-tested).
 */
import * as path from 'node:path';
import type { AnalysisResult } from '../../core/result/schema';
import type { RunsListing } from '../compute/cliOutput';
import { isInside } from '../util/paths';

/** The absolute paths of every run known in a folder, from discovery and from the latest analysis. */
export function knownRunPaths(root: string, listing: RunsListing | null, results: readonly AnalysisResult[] | null): string[] {
  const paths = new Set<string>();
  for (const r of listing?.runs ?? []) paths.add(r.absPath);
  for (const res of results ?? []) for (const r of res.runs) paths.add(path.resolve(root, r.path));
  return [...paths];
}

/** Does any changed file lie in (or is it) one of the runs? */
export function touchesRuns(changed: Iterable<string>, runPaths: readonly string[]): boolean {
  for (const file of changed) if (runPaths.some((p) => isInside(file, p))) return true;
  return false;
}

/** Log files created, changed or deleted in one folder since the last refresh (absolute paths). */
export interface PendingChanges {
  created: Set<string>;
  changed: Set<string>;
  deleted: Set<string>;
}

export function noChanges(): PendingChanges {
  return { created: new Set(), changed: new Set(), deleted: new Set() };
}

/**
 * What to do about a folder's changes. A folder whose analysis is shown is re-analysed (which also
 * re-discovers) when a log appeared or vanished or a run's log grew; otherwise only discovery re-runs,
 * which keeps the runs view current without computing anything heavy nobody asked for.
 */
export function refreshAction(root: string, changes: PendingChanges, analysed: boolean, runPaths: readonly string[]): 'analyze' | 'discover' | 'none' {
  const relevant = (p: string): boolean => !inSkippedFolder(root, p);
  const created = [...changes.created].filter(relevant);
  const deleted = [...changes.deleted].filter(relevant);
  const changed = [...changes.changed].filter(relevant);
  if (created.length + deleted.length + changed.length === 0) return 'none';
  if (!analysed) return 'discover';
  if (created.length || deleted.length) return 'analyze';
  return touchesRuns(changed, runPaths) ? 'analyze' : 'none';
}

/** Folders discovery never searches (src/core/runs/walk.ts): hidden ones, packages, caches. */
const SKIPPED = new Set(['node_modules', '__pycache__', 'site-packages', 'wandb-cache']);

export function inSkippedFolder(root: string, file: string): boolean {
  const dirs = path.relative(root, file).split(/[\\/]/).slice(0, -1);
  return dirs.some((d) => d.startsWith('.') || SKIPPED.has(d));
}
