/**
 * The extension's entry point. activate() wires the parts together and reads like their list; every
 * disposable goes into context.subscriptions. Heavy work never runs here: it runs in `heatcap` CLI
 * child processes (compute/), and the language server runs in its own process.
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands/index';
import { setRunIncluded, setRunLr } from './commands/runs';
import type { Services } from './commands/services';
import { AnalysisService } from './compute/analysisService';
import { Ctx } from './ctx';
import { HeatcapLanguageClient } from './languageClient';
import { createLog } from './outputChannel';
import { PANEL_VIEW_TYPE } from './ids';
import { AnalysisPanel, type PanelDeps } from './panel/analysisPanel';
import { Exporter } from './panel/exporter';
import { LogWatcher } from './runsView/logWatcher';
import { RunsView } from './runsView/runsView';
import { StatusBar } from './statusBar';

let client: HeatcapLanguageClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = createLog();
  const ctx = new Ctx(context, log);
  const folders = trackWorkspaceFolders(ctx);
  client = new HeatcapLanguageClient(ctx.serverPath, log);
  const jobs = new AnalysisService(ctx, client);
  const runsView = new RunsView(ctx, jobs);
  const exporter = new Exporter(ctx);
  const panel: PanelDeps = {
    ctx,
    jobs,
    exporter,
    revealRun: (root, runId) => runsView.revealRun(root, runId),
    revealLr: (root, lr) => runsView.revealLr(root, lr),
    setRunIncluded: (root, runId, included) => setRunIncluded(services, root, runId, included),
    setRunLr: (root, runId, lr) => setRunLr(services, root, runId, lr),
  };
  const services: Services = { ctx, jobs, runsView, exporter, panel };

  context.subscriptions.push(
    log,
    ctx,
    jobs,
    runsView,
    new StatusBar(ctx),
    new LogWatcher(ctx, jobs),
    ...registerCommands(services),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: (webviewPanel, state: unknown) => AnalysisPanel.revive(webviewPanel, state, panel),
    }),
    { dispose: () => AnalysisPanel.currentPanel?.dispose() },
    folders,
  );
  void client.start();
  log.info(`activated (${vscode.workspace.isTrusted ? 'trusted' : 'untrusted: no writes into the workspace'} workspace)`);
}

/** Keeps the store's roots equal to the workspace folders on disk. */
function trackWorkspaceFolders(ctx: Ctx): vscode.Disposable {
  const sync = (): void =>
    ctx.store.setWorkspaceFolders((vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => ({ path: f.uri.fsPath, name: f.name })));
  sync();
  return vscode.workspace.onDidChangeWorkspaceFolders(sync);
}

/** Stops the language server; VS Code waits for the returned promise. */
export function deactivate(): Promise<void> | undefined {
  const c = client;
  client = undefined;
  return c?.dispose();
}
