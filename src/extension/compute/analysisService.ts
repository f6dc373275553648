/**
 * Runs the CLI jobs the extension needs (discovery, analysis, gradient norms, the sweep lab) in child
 * processes under `window.withProgress`, with a Cancel that kills the child. One heavy job at a time:
 * starting another cancels the one running (the newer request reflects the newer state). Results go
 * into the store (which redraws the runs view, the panel and the status bar) and to the language server.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CancelSource, type CancelToken, type ProgressFn } from '../../core/cancel';
import { CancelledError } from '../../core/errors';
import type { Ctx } from '../ctx';
import type { HeatcapLanguageClient } from '../languageClient';
import { analyzeArgs, checkpointFromSettings, displayCommand, runsArgs } from './cliArgs';
import { parseAnalyzeOutput, parseRunsListing } from './cliOutput';
import { CliFailure, runCliJson } from './cliProcess';
import { ProgressTracker } from './progress';

export interface JobOptions {
  /**
   * A background refresh (file watcher, restored panel): progress in the status bar instead of a
   * notification, and errors go to the runs view, the panel and the log rather than a pop-up.
   */
  quiet: boolean;
}

type Report = (jobIndex: number, p: { fraction?: number; message?: string }) => void;

export class AnalysisService implements vscode.Disposable {
  private current: CancelSource | undefined;
  private readonly discovering = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: Ctx,
    private readonly client: HeatcapLanguageClient | undefined,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Cancels the heavy job that is running, if any (the panel's Cancel button). */
  cancel(): void {
    this.current?.cancel();
  }

  /** Discovery only (`heatcap runs --json`): fills the runs view with η, B and format. */
  discover(roots: readonly string[]): Promise<void> {
    return Promise.all(roots.map((root) => this.discoverOne(root))).then(() => undefined);
  }

  private discoverOne(root: string): Promise<void> {
    const running = this.discovering.get(root);
    if (running) return running;
    const job = Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Heat Capacity: finding runs' }, async (progress) => {
        try {
          // `runs --ipc` reports the run being read, shown in the status bar on a large workspace.
          const listing = await this.runJson(runsArgs(root, this.ctx.settingsFor(root)), root, undefined, (p) => progress.report({ message: p.message }), (v) => parseRunsListing(v, root));
          for (const w of listing.warnings) this.ctx.log.warn(`${root}: ${w}`);
          this.ctx.store.setListing(root, listing);
        } catch (e) {
          this.fail(root, 'discovery', e, true);
        }
      }),
    ).finally(() => this.discovering.delete(root));
    this.discovering.set(root, job);
    return job;
  }

  /**
   * Analyses every sweep and single run under each root (`heatcap analyze <root> --all --json`) with
   * the folder's settings and the user's run overrides. Resolves true when every root succeeded,
   * false when one failed (its error is shown; other roots' results are kept), undefined when the
   * job was cancelled (the previous results stay shown).
   */
  async analyze(roots: readonly string[], opts: JobOptions): Promise<boolean | undefined> {
    if (roots.length === 0) return true;
    const title = roots.length === 1 ? `Analyzing ${this.label(roots[0])}` : `Analyzing ${roots.length} folders`;
    const ok = await this.heavy(title, opts, roots.length, async (token, report) => {
      let allOk = true;
      for (const [i, root] of roots.entries()) {
        const settings = this.ctx.settingsFor(root);
        const folder = this.ctx.settingsFolderOf(root);
        const args = analyzeArgs({ root, all: true, checkpoint: checkpointFromSettings(settings, folder), overrides: this.ctx.overrides.for(root) }, settings);
        try {
          const results = await this.runJson(args, root, token, (p) => report(i, p), parseAnalyzeOutput);
          this.ctx.store.setResults(root, results);
          this.client?.pushResults(root, results);
          this.ctx.log.info(`analysed ${root}: ${results.length} result${results.length === 1 ? '' : 's'}`);
        } catch (e) {
          if (e instanceof CancelledError) throw e;
          allOk = false;
          this.fail(root, 'analysis', e, opts.quiet);
        }
      }
      return allOk;
    });
    return ok;
  }

  /**
   * Runs one other CLI job (gradient norms, the sweep lab) the same way. Resolves undefined when it
   * was cancelled; rejects with the CLI's error line otherwise.
   */
  async runJob<T>(title: string, args: string[], cwd: string, parse: (v: unknown) => T, opts: JobOptions): Promise<T | undefined> {
    return this.heavy(title, opts, 1, (token, report) => this.runJson(args, cwd, token, (p) => report(0, p), parse));
  }

  /**
   * A quick CLI job (one training example for the panel): no progress, and it neither cancels nor waits
   * for the heavy job running.
   */
  runQuick<T>(args: string[], cwd: string, parse: (v: unknown) => T): Promise<T> {
    return this.runJson(args, cwd, undefined, undefined, parse);
  }

  /** One heavy job under progress; cancels the previous one. Undefined when cancelled. */
  private async heavy<T>(title: string, opts: JobOptions, jobs: number, body: (token: CancelToken, report: Report) => Promise<T>): Promise<T | undefined> {
    this.current?.cancel();
    const source = new CancelSource();
    this.current = source;
    const store = this.ctx.store;
    const tracker = new ProgressTracker(jobs);
    store.setBusy({ message: title, fraction: null, cancellable: true });
    try {
      return await vscode.window.withProgress(
        { location: opts.quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification, title: `Heat Capacity: ${title}`, cancellable: !opts.quiet },
        async (progress, vsToken) => {
          const sub = vsToken.onCancellationRequested(() => source.cancel());
          let lastFraction = 0;
          const report: Report = (i, p) => {
            if (source.token.isCancellationRequested) return;
            if (p.fraction !== undefined) lastFraction = p.fraction;
            const overall = tracker.overall(i, lastFraction);
            progress.report({ increment: tracker.increment(overall), message: p.message });
            store.setBusy({ message: p.message ?? title, fraction: overall, cancellable: true });
          };
          try {
            return await body(source.token, report);
          } finally {
            sub.dispose();
          }
        },
      );
    } catch (e) {
      if (e instanceof CancelledError) {
        this.ctx.log.info(`${title}: cancelled`);
        return undefined;
      }
      throw e;
    } finally {
      if (this.current === source) {
        this.current = undefined;
        store.setBusy(null);
      }
    }
  }

  private async runJson<T>(args: string[], cwd: string, token: CancelToken | undefined, onProgress: ProgressFn | undefined, parse: (v: unknown) => T): Promise<T> {
    this.ctx.log.info(`running: ${displayCommand(args)}`);
    const started = Date.now();
    try {
      return await runCliJson(
        {
          cliPath: this.ctx.cliPath,
          args,
          cwd,
          token,
          onProgress,
          onWarning: (w) => this.ctx.log.warn(w.file ? `${w.file}: ${w.message}` : w.message),
          onLog: (line) => this.ctx.log.debug(`heatcap: ${line}`),
        },
        parse,
      );
    } finally {
      this.ctx.log.debug(`${args[0]} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }

  private fail(root: string, kind: 'discovery' | 'analysis', e: unknown, quiet: boolean): void {
    const message = e instanceof Error ? e.message : String(e);
    if (kind === 'analysis') this.ctx.store.setResults(root, { error: message });
    else this.ctx.store.setListing(root, { error: message });
    this.ctx.log.error(`${kind} of ${root} failed: ${message}`);
    if (e instanceof CliFailure && e.stderrTail.trim()) this.ctx.log.error(e.stderrTail.trim());
    if (!quiet) {
      void vscode.window.showErrorMessage(`Heat Capacity: ${message}`, 'Show Log').then((c) => {
        if (c) this.ctx.log.show();
      });
    }
  }

  private label(root: string): string {
    return this.ctx.store.get(root)?.label ?? path.basename(root);
  }

  dispose(): void {
    this.current?.cancel();
  }
}
