/**
 * The extension's one source of truth: for each analysed folder (the workspace folders, plus folders
 * picked with "Analyze Folder…"), the latest discovery listing and the latest analysis results; which
 * result the panel and the status bar show; the η in focus; and whether a job is running. The runs
 * view, the panel, the status bar and the language client all redraw from here on `onDidChange`.
 *
 * No `vscode` import (unit-tested).
 */
import type { AnalysisResult } from '../../core/result/schema';
import type { BusyState } from '../../shared/webviewProtocol';
import type { RunsListing } from '../compute/cliOutput';
import { Emitter } from '../util/emitter';

export interface RootEntry {
  /** Absolute path of the folder given to the CLI. */
  readonly root: string;
  /** The workspace folder's name, or the folder's base name. Untrusted text. */
  readonly label: string;
  readonly isWorkspaceFolder: boolean;
  readonly listing: RunsListing | null;
  readonly listingError: string | null;
  /** null: never analysed in this session. */
  readonly results: readonly AnalysisResult[] | null;
  readonly analysisError: string | null;
  /** The results were restored from a panel's saved state, not computed in this session. */
  readonly restored: boolean;
}

export type StoreChange = 'roots' | 'listing' | 'results' | 'selection' | 'focus' | 'busy';

export interface SelectedResult {
  root: string;
  result: AnalysisResult;
}

/**
 * Identifies a result within its folder: the sweep id, or for a single run (no sweep) the run id.
 * Stable across re-analyses, so the panel keeps showing "the same" sweep after a refresh.
 */
export function resultKey(r: AnalysisResult): string {
  return r.sweep ? `sweep:${r.sweep.id}` : `run:${r.runs[0]?.id ?? '.'}`;
}

/** Relative tolerance for "the same learning rate" (a lens's 0.1 vs a run's 0.1 read from float32 logs). */
const LR_RTOL = 1e-6;
export const sameLr = (a: number, b: number): boolean => Math.abs(a - b) <= LR_RTOL * Math.max(Math.abs(a), Math.abs(b));

function lrsOf(r: AnalysisResult): number[] {
  return r.observed.points.map((p) => p.lr).filter((x): x is number => x !== null);
}

export class AnalysisStore {
  private readonly entries = new Map<string, RootEntry>();
  private selection: { root: string; key: string } | null = null;
  private focus: number | null = null;
  private busyState: BusyState | null = null;
  private readonly changed = new Emitter<StoreChange>();
  readonly onDidChange = this.changed.event;

  /** Workspace folders first (in the workspace's order), then folders analysed from outside it. */
  roots(): RootEntry[] {
    const all = [...this.entries.values()];
    return [...all.filter((e) => e.isWorkspaceFolder), ...all.filter((e) => !e.isWorkspaceFolder)];
  }

  get(root: string): RootEntry | undefined {
    return this.entries.get(root);
  }

  /** Makes the workspace folders the workspace roots; folders added with `addRoot` stay. */
  setWorkspaceFolders(folders: readonly { path: string; name: string }[]): void {
    const wanted = new Map(folders.map((f) => [f.path, f.name]));
    const previous = new Map(this.entries);
    this.entries.clear();
    // Rebuilt in the workspace's folder order; what was known about a folder is kept.
    for (const [root, name] of wanted) {
      const e = previous.get(root);
      this.entries.set(root, e ? { ...e, label: name, isWorkspaceFolder: true } : blank(root, name, true));
    }
    for (const [root, e] of previous) if (!e.isWorkspaceFolder && !wanted.has(root)) this.entries.set(root, e);
    if (this.selection && !this.entries.has(this.selection.root)) this.selection = null;
    this.changed.fire('roots');
  }

  /** A folder outside the workspace folders (Analyze Folder…). */
  addRoot(root: string, label: string): void {
    if (this.entries.has(root)) return;
    this.entries.set(root, blank(root, label, false));
    this.changed.fire('roots');
  }

  setListing(root: string, listing: RunsListing | { error: string }): void {
    const e = this.entries.get(root);
    if (!e) return;
    this.entries.set(root, 'error' in listing ? { ...e, listingError: listing.error } : { ...e, listing, listingError: null });
    this.changed.fire('listing');
  }

  setResults(root: string, results: readonly AnalysisResult[] | { error: string }, opts: { restored?: boolean } = {}): void {
    const e = this.entries.get(root);
    if (!e) return;
    // An error keeps the previous results readable: a half-written log must not blank the panel.
    this.entries.set(root, 'error' in results ? { ...e, analysisError: results.error } : { ...e, results, analysisError: null, restored: opts.restored === true });
    this.changed.fire('results');
  }

  /** Every result with its folder, workspace folders first, in the CLI's order. */
  allResults(): SelectedResult[] {
    return this.roots().flatMap((e) => (e.results ?? []).map((result) => ({ root: e.root, result })));
  }

  select(root: string, key: string): void {
    this.selection = { root, key };
    this.changed.fire('selection');
  }

  /** The result the panel and the status bar show: the selected one, else the first there is. */
  selected(): SelectedResult | null {
    if (this.selection) {
      const { root, key } = this.selection;
      const result = this.entries.get(root)?.results?.find((r) => resultKey(r) === key);
      if (result) return { root, result };
    }
    return this.allResults()[0] ?? null;
  }

  /**
   * The result that best explains a learning rate seen in the editor: among the results of
   * `resultRoot` (the lens's) when there are any, else all; first one with a run at exactly that η,
   * then one whose η range contains it; the selected result wins a tie.
   */
  findForLr(lr: number, resultRoot?: string): SelectedResult | null {
    const all = this.allResults();
    const scoped = resultRoot === undefined ? all : all.filter((c) => c.result.root === resultRoot || c.root === resultRoot);
    const candidates = scoped.length ? scoped : all;
    const sel = this.selected();
    const ordered = sel ? [...candidates.filter((c) => c.result === sel.result), ...candidates.filter((c) => c.result !== sel.result)] : candidates;
    const exact = ordered.find((c) => lrsOf(c.result).some((x) => sameLr(x, lr)));
    if (exact) return exact;
    const inRange = ordered.find((c) => {
      const xs = lrsOf(c.result);
      return xs.length > 0 && lr >= Math.min(...xs) && lr <= Math.max(...xs);
    });
    if (inRange) return inRange;
    return scoped.length ? ordered[0] : null;
  }

  get focusLr(): number | null {
    return this.focus;
  }

  setFocusLr(lr: number | null): void {
    this.focus = lr;
    this.changed.fire('focus');
  }

  get busy(): BusyState | null {
    return this.busyState;
  }

  setBusy(busy: BusyState | null): void {
    this.busyState = busy;
    this.changed.fire('busy');
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function blank(root: string, label: string, isWorkspaceFolder: boolean): RootEntry {
  return { root, label, isWorkspaceFolder, listing: null, listingError: null, results: null, analysisError: null, restored: false };
}
