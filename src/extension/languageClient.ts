/**
 * Starts the heat-capacity language server (dist/server.js, over IPC) and keeps it fed: after every
 * analysis the results are pushed with `heatcap/analysisResults`, and pushed again whenever the server
 * (re)starts, so CodeLenses always match what the panel shows. Every message, command and setting
 * name comes from src/shared/lspProtocol.ts.
 */
import * as vscode from 'vscode';
import { LanguageClient, State, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import type { AnalysisResult } from '../core/result/schema';
import { AnalysisResultsNotification, ConfigSection, HeatcapDocumentSelector, ResultFileGlob, type HeatcapInitializationOptions } from '../shared/lspProtocol';

export class HeatcapLanguageClient implements vscode.Disposable {
  private readonly client: LanguageClient;
  /** The latest results per analysed folder, replayed when the server (re)starts. */
  private readonly latest = new Map<string, AnalysisResult[]>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(serverModule: string, log: vscode.LogOutputChannel) {
    const serverOptions: ServerOptions = {
      run: { module: serverModule, transport: TransportKind.ipc },
      debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
    };
    // The server reads `.heatcap/analysis*.json` too; it learns of changes through our watcher, so it
    // need not poll.
    const resultFiles = vscode.workspace.createFileSystemWatcher(ResultFileGlob);
    this.disposables.push(resultFiles);
    const initializationOptions: HeatcapInitializationOptions = { resultPollMs: 0 };
    const clientOptions: LanguageClientOptions = {
      documentSelector: HeatcapDocumentSelector,
      synchronize: { configurationSection: ConfigSection, fileEvents: resultFiles },
      initializationOptions,
      outputChannel: log,
    };
    this.client = new LanguageClient('heatcap', 'Heat Capacity Language Server', serverOptions, clientOptions);
    this.disposables.push(
      this.client.onDidChangeState((e) => {
        if (e.newState === State.Running) this.replay();
      }),
    );
  }

  /** Starts the server; a failure is logged and shown once, and the rest of the extension keeps working. */
  async start(): Promise<void> {
    try {
      await this.client.start();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      void vscode.window.showWarningMessage(`Heat Capacity: the language server did not start (${msg}); CodeLenses are off.`);
    }
  }

  /** Replaces the results of one analysed folder on the server (an empty list forgets the folder). */
  pushResults(root: string, results: readonly AnalysisResult[]): void {
    this.latest.set(root, [...results]);
    if (this.client.state === State.Running) void this.send(root, [...results]);
  }

  private replay(): void {
    for (const [root, results] of this.latest) void this.send(root, results);
  }

  private async send(root: string, results: AnalysisResult[]): Promise<void> {
    try {
      await this.client.sendNotification(AnalysisResultsNotification, { root, results });
    } catch {
      // The server stopped between the state check and the send; `replay` sends again on restart.
    }
  }

  async dispose(): Promise<void> {
    for (const d of this.disposables) d.dispose();
    if (this.client.state !== State.Stopped) await this.client.stop().catch(() => undefined);
  }
}
