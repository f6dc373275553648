/**
 * The analysis panel's host: one webview panel (created, revealed, or revived by the serializer after a
 * reload), its HTML with a strict CSP and a fresh crypto nonce (src/shared/webviewHtml.ts), and the
 * typed message exchange (src/shared/webviewProtocol.ts). The panel draws whatever the store selects;
 * a full snapshot goes out on `ready`, whenever the panel becomes visible again, and when the shown
 * analysis changes.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisResult } from '../../core/result/schema';
import { buildPanelHtml } from '../../shared/webviewHtml';
import { parsePanelState, type ChartName, type HostToPanel } from '../../shared/webviewProtocol';
import type { AnalysisService } from '../compute/analysisService';
import { checkpointFromSettings, exampleArgs } from '../compute/cliArgs';
import { parseExampleOutput } from '../compute/cliOutput';
import type { Ctx } from '../ctx';
import { PANEL_VIEW_TYPE } from '../ids';
import { resultKey, type StoreChange } from '../state/analysisStore';
import { ChartPngRequests, CHART_PNG_TIMEOUT_MS, type ChartPng } from './chartRequests';
import { exampleSource } from './exampleSource';
import type { Exporter } from './exporter';
import { handlePanelMessage, type PanelActions } from './messageHandler';
import { bannerError, fallbackHtml, panelTitle, snapshotMessage } from './snapshot';

/** What the panel asks of the rest of the extension (implemented in main.ts's wiring). */
export interface PanelDeps {
  ctx: Ctx;
  jobs: AnalysisService;
  exporter: Exporter;
  revealRun(root: string, runId: string): Promise<void>;
  revealLr(root: string, lr: number): Promise<void>;
  setRunIncluded(root: string, runId: string, included: boolean): Promise<void>;
  setRunLr(root: string, runId: string, lr: number): Promise<void>;
}

function webviewOptions(ctx: Ctx): vscode.WebviewOptions {
  // Scripts only from our own bundle; no command links; resources only from dist/ and media/.
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: [ctx.distUri, ctx.mediaUri] };
}

export class AnalysisPanel implements vscode.Disposable {
  private static current: AnalysisPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  /** A change arrived while the panel was hidden: send a snapshot when it shows again. */
  private stale = false;
  private lastResult: AnalysisResult | null = null;
  private lastBanner: string | null = null;
  private disposed = false;
  private readonly actions: PanelActions;
  private readonly chartPngs = new ChartPngRequests();
  /**
   * Resolved once the page has said `ready` and been sent its snapshot; renewed whenever the panel is
   * hidden, because VS Code discards a hidden webview's page and loads it afresh when shown again.
   */
  private live = deferred();

  static get currentPanel(): AnalysisPanel | undefined {
    return AnalysisPanel.current;
  }

  /** Shows the panel (creating it if needed) beside the editor. */
  static createOrShow(deps: PanelDeps, opts: { preserveFocus?: boolean } = {}): AnalysisPanel {
    const existing = AnalysisPanel.current;
    if (existing) {
      existing.panel.reveal(undefined, opts.preserveFocus);
      existing.sendSnapshot();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      panelTitle(deps.ctx.store.selected()?.result ?? null),
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: opts.preserveFocus },
      { ...webviewOptions(deps.ctx), enableFindWidget: true },
    );
    AnalysisPanel.current = new AnalysisPanel(panel, deps);
    return AnalysisPanel.current;
  }

  /**
   * Re-attaches a panel VS Code restored after a reload. Its saved state still holds the result it
   * showed: that is drawn at once (marked restored), and the folder is re-analysed in the background
   * when it still exists, so the panel comes back current.
   */
  static async revive(panel: vscode.WebviewPanel, rawState: unknown, deps: PanelDeps): Promise<void> {
    const state = parsePanelState(rawState);
    const { store } = deps.ctx;
    const result = state.result;
    const root = state.root ?? result?.root ?? null;
    if (result && root) {
      if (!store.get(root)) store.addRoot(root, path.basename(root) || root);
      if (!store.get(root)?.results) store.setResults(root, [result], { restored: true });
      store.select(root, resultKey(result));
    }
    if (state.focusLr !== null) store.setFocusLr(state.focusLr);
    AnalysisPanel.current?.dispose();
    AnalysisPanel.current = new AnalysisPanel(panel, deps);
    if (root && store.get(root)?.restored) {
      const exists = await vscode.workspace.fs.stat(vscode.Uri.file(root)).then(
        () => true,
        () => false,
      );
      if (exists) void deps.jobs.analyze([root], { quiet: true });
    }
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly deps: PanelDeps,
  ) {
    const { ctx } = deps;
    panel.webview.options = webviewOptions(ctx);
    panel.iconPath = vscode.Uri.joinPath(ctx.mediaUri, 'heatcap.svg');
    panel.webview.html = this.html();
    this.actions = this.makeActions();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        if (!this.panel.visible) this.pageGone('the analysis panel was hidden before it sent the chart images');
        else if (this.stale) this.sendSnapshot();
      }),
      panel.webview.onDidReceiveMessage((raw: unknown) => void handlePanelMessage(raw, this.actions)),
      ctx.store.onDidChange((change) => this.onStoreChange(change)),
    );
  }

  private html(): string {
    const webview = this.panel.webview;
    const dist = this.deps.ctx.distUri;
    try {
      return this.panelHtml(webview, dist);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.deps.ctx.log.error(`panel: ${msg}`);
      return fallbackHtml(msg);
    }
  }

  private panelHtml(webview: vscode.Webview, dist: vscode.Uri): string {
    return buildPanelHtml({
      // 128 bits from the CSPRNG, new for every render (CSP nonces must not be guessable).
      nonce: randomBytes(16).toString('base64'),
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
    });
  }

  /** The page went away: requests waiting on it fail, and the next one waits for a fresh `ready`. */
  private pageGone(reason: string): void {
    this.chartPngs.failAll(reason);
    if (this.live.settled) this.live = deferred();
  }

  /**
   * The PNG of one chart, or of every chart drawn, rendered by the panel's page (once it is loaded and
   * showing the current analysis). Charts shown as tables, or with nothing to draw, are not returned.
   */
  async requestChartPngs(chart: ChartName | 'all'): Promise<ChartPng[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const notReady = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the analysis panel did not load')), CHART_PNG_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.live.promise, notReady]);
    } finally {
      clearTimeout(timer);
    }
    return this.chartPngs.request(chart, (msg) => this.post(msg));
  }

  /**
   * Answers `requestExample` with one row read by `heatcap example` (a quick child process: it does not
   * disturb an analysis that is running). A failure is shown in place of the example, naming the file.
   */
  private async answerExample(index: number): Promise<void> {
    const { ctx, jobs } = this.deps;
    const selected = ctx.store.selected();
    if (!selected) return;
    const folder = ctx.settingsFolderOf(selected.root);
    const source = exampleSource(selected.result, checkpointFromSettings(ctx.settingsFor(selected.root), folder));
    // The label the analysis listed, for when the data file alone does not say it.
    const listed = selected.result.gradnorms?.top.find((t) => t.index === index)?.label ?? null;
    if (!source.ok) {
      this.post({ type: 'example', index, label: listed, example: { kind: 'unavailable', reason: source.reason } });
      return;
    }
    try {
      const answer = await jobs.runQuick(exampleArgs(source, index), folder ?? path.dirname(source.data), parseExampleOutput);
      this.post({ ...answer, label: answer.label ?? listed });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      ctx.log.warn(`example ${index}: ${reason}`);
      this.post({ type: 'example', index, label: listed, example: { kind: 'unavailable', reason } });
    }
  }

  /** The folder of the result on show (the panel's run ids belong to it). */
  private root(): string | undefined {
    return this.deps.ctx.store.selected()?.root;
  }

  private post(msg: HostToPanel): void {
    if (this.disposed) return;
    this.panel.webview.postMessage(msg).then(undefined, (e: unknown) => this.deps.ctx.log.debug(`panel: message not delivered (${String(e)})`));
  }

  /** Everything the panel shows, then the banner for its folder. */
  sendSnapshot(): void {
    const { store } = this.deps.ctx;
    const selected = store.selected();
    const result = selected?.result ?? null;
    this.stale = false;
    this.lastResult = result;
    this.panel.title = panelTitle(result);
    this.post(snapshotMessage(result, store.focusLr, store.busy));
    const banner = bannerError(selected ? store.get(selected.root) : undefined);
    this.lastBanner = banner?.message ?? null;
    this.post({ type: 'error', error: banner });
  }

  private onStoreChange(change: StoreChange): void {
    const { store } = this.deps.ctx;
    if (!this.panel.visible) {
      this.stale = true;
      return;
    }
    switch (change) {
      case 'busy':
        this.post({ type: 'busy', busy: store.busy });
        return;
      case 'focus':
        this.post({ type: 'focusLr', lr: store.focusLr });
        return;
      default: {
        const selected = store.selected();
        const banner = bannerError(selected ? store.get(selected.root) : undefined);
        // A new snapshot only when the result on show changed; a banner change alone is cheaper.
        if ((selected?.result ?? null) !== this.lastResult) this.sendSnapshot();
        else if ((banner?.message ?? null) !== this.lastBanner) {
          this.lastBanner = banner?.message ?? null;
          this.post({ type: 'error', error: banner });
        }
      }
    }
  }

  private makeActions(): PanelActions {
    const deps = this.deps;
    const { ctx } = deps;
    const requireRoot = (): string => {
      const root = this.root();
      if (!root) throw new Error('there is no analysis on show');
      return root;
    };
    const shown = (): AnalysisResult => {
      const r = ctx.store.selected()?.result;
      if (!r) throw new Error('there is no analysis to export yet');
      return r;
    };
    return {
      post: (msg) => this.post(msg),
      // Called for the page's `ready`: a (re)loaded page now shows the current analysis.
      sendSnapshot: () => {
        if (this.live.settled) this.pageGone('the analysis panel reloaded before it sent the chart images');
        this.sendSnapshot();
        this.live.resolve();
      },
      saveChartPng: async (chart, png) => void (await deps.exporter.saveChartPng(shown(), chart, png)),
      chartPngAnswer: (requestId, chart, png) => this.chartPngs.onPng(requestId, chart, png),
      chartPngDone: (requestId, charts) => this.chartPngs.onDone(requestId, charts),
      exportReport: async (format) => void (await deps.exporter.exportReport(shown(), format)),
      revealRun: (runId) => deps.revealRun(requireRoot(), runId),
      setRunIncluded: (runId, included) => deps.setRunIncluded(requireRoot(), runId, included),
      setRunLr: (runId, lr) => deps.setRunLr(requireRoot(), runId, lr),
      openSettings: async (query) => void (await vscode.commands.executeCommand('workbench.action.openSettings', query)),
      selectLr: (lr) => {
        const root = this.root();
        if (root) void deps.revealLr(root, lr);
      },
      requestExample: (index) => this.answerExample(index),
      cancel: () => deps.jobs.cancel(),
      log: (line) => ctx.log.info(line),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.chartPngs.failAll('the analysis panel was closed before it sent the chart images');
    if (AnalysisPanel.current === this) AnalysisPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

/** A promise with its resolve, and whether it has been resolved. */
function deferred(): { promise: Promise<void>; resolve(): void; settled: boolean } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const d = {
    promise,
    settled: false,
    resolve: () => {
      d.settled = true;
      resolve();
    },
  };
  return d;
}
