/**
 * Watches the training logs (TensorBoard event files, metrics.csv, trainer_state.json, MLflow metric
 * files, *.jsonl) in the workspace folders and in folders analysed from outside the workspace. Changes
 * are collected per folder and acted on after a quiet second (at most every 10 s while a job keeps
 * writing): discovery re-runs, and a folder whose analysis is shown is re-analysed.
 *
 * The CLI child re-reads the logs on each refresh; incremental tail reading of growing event files is
 * core's business and happens inside that child.
 */
import * as vscode from 'vscode';
import type { AnalysisService } from '../compute/analysisService';
import type { Ctx } from '../ctx';
import { RefreshScheduler } from '../util/refreshScheduler';
import { isInside } from '../util/paths';
import { knownRunPaths, noChanges, refreshAction, type PendingChanges } from './changes';

export const LOG_FILE_GLOBS = ['**/events.out.tfevents.*', '**/metrics.csv', '**/trainer_state.json', '**/mlruns/**/metrics/*', '**/*.jsonl', '**/mlflow.db', '**/results.csv', '**/wandb/*/*.wandb'];

const QUIET_MS = 1000;
const MAX_WAIT_MS = 10_000;

export class LogWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Watchers for folders outside the workspace, by folder. */
  private readonly outside = new Map<string, vscode.Disposable[]>();
  private readonly pending = new Map<string, PendingChanges>();
  private readonly scheduler: RefreshScheduler;

  constructor(
    private readonly ctx: Ctx,
    private readonly jobs: AnalysisService,
  ) {
    this.scheduler = new RefreshScheduler(() => this.flush(), {
      quietMs: QUIET_MS,
      maxWaitMs: MAX_WAIT_MS,
      onError: (e) => ctx.log.error(`refresh after file changes failed: ${e instanceof Error ? e.message : String(e)}`),
    });
    for (const glob of LOG_FILE_GLOBS) this.disposables.push(...this.watch(glob));
    this.disposables.push(ctx.store.onDidChange((c) => c === 'roots' && this.syncOutsideWatchers()));
    this.syncOutsideWatchers();
  }

  private watch(pattern: vscode.GlobPattern): vscode.Disposable[] {
    const w = vscode.workspace.createFileSystemWatcher(pattern);
    return [w, w.onDidCreate((u) => this.note(u, 'created')), w.onDidChange((u) => this.note(u, 'changed')), w.onDidDelete((u) => this.note(u, 'deleted'))];
  }

  /** Folders analysed with "Analyze Folder…" outside the workspace get watchers of their own. */
  private syncOutsideWatchers(): void {
    const wanted = new Set(
      this.ctx.store
        .roots()
        .filter((e) => !e.isWorkspaceFolder)
        .map((e) => e.root),
    );
    for (const [root, ds] of this.outside) {
      if (wanted.has(root)) continue;
      ds.forEach((d) => d.dispose());
      this.outside.delete(root);
    }
    for (const root of wanted) {
      if (this.outside.has(root)) continue;
      const base = vscode.Uri.file(root);
      this.outside.set(
        root,
        LOG_FILE_GLOBS.flatMap((g) => this.watch(new vscode.RelativePattern(base, g))),
      );
    }
  }

  private note(uri: vscode.Uri, kind: keyof PendingChanges): void {
    if (uri.scheme !== 'file') return;
    const file = uri.fsPath;
    // The innermost analysed folder holding the file (a folder analysed inside a workspace folder).
    const root = this.ctx.store
      .roots()
      .map((e) => e.root)
      .filter((r) => isInside(file, r))
      .sort((a, b) => b.length - a.length)[0];
    if (!root) return;
    let p = this.pending.get(root);
    if (!p) this.pending.set(root, (p = noChanges()));
    p[kind].add(file);
    this.scheduler.trigger();
  }

  private async flush(): Promise<void> {
    // A heavy job the user started (an analysis with a checkpoint, the sweep lab) is not cancelled by
    // a log that grew: wait for it, then refresh.
    if (this.jobs.busy) {
      setTimeout(() => this.scheduler.trigger(), QUIET_MS);
      return;
    }
    const toAnalyze: string[] = [];
    const toDiscover: string[] = [];
    for (const [root, changes] of this.pending) {
      const entry = this.ctx.store.get(root);
      if (!entry) continue;
      const action = refreshAction(root, changes, entry.results !== null, knownRunPaths(root, entry.listing, entry.results));
      if (action === 'analyze') toAnalyze.push(root);
      else if (action === 'discover') toDiscover.push(root);
    }
    this.pending.clear();
    if (toAnalyze.length || toDiscover.length) this.ctx.log.debug(`log files changed: analysing ${toAnalyze.length}, re-listing ${toDiscover.length} folder(s)`);
    await Promise.all([toDiscover.length ? this.jobs.discover(toDiscover) : undefined, toAnalyze.length ? this.jobs.analyze(toAnalyze, { quiet: true }) : undefined]);
  }

  dispose(): void {
    this.scheduler.dispose();
    for (const ds of this.outside.values()) ds.forEach((d) => d.dispose());
    this.outside.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
