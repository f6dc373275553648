/**
 * A minimal LSP client for protocol tests: builds the server bundle (same esbuild settings as
 * esbuild.mjs, into .test-artifacts/ so a stale dist/ is never what is tested), spawns it with
 * `--stdio` or `--node-ipc`, and speaks LSP through vscode-languageserver-protocol.
 * Set HEATCAP_SERVER_JS to test a prebuilt bundle (e.g. dist/server.js) instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import {
  CodeLensRefreshRequest,
  CodeLensRequest,
  CodeLensResolveRequest,
  ConfigurationRequest,
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidChangeWatchedFilesNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  LogMessageNotification,
  RegistrationRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type CodeLens,
  type FileEvent,
  type Hover,
  type ProtocolConnection,
  type TextDocumentContentChangeEvent,
} from 'vscode-languageserver-protocol/node';

const REPO = path.resolve(__dirname, '../../..');
let built: Promise<string> | undefined;

/** The server bundle to spawn: built once per test process. */
export function serverBundle(): Promise<string> {
  const prebuilt = process.env.HEATCAP_SERVER_JS;
  if (prebuilt) return Promise.resolve(path.resolve(prebuilt));
  built ??= (async () => {
    const outfile = path.join(REPO, '.test-artifacts', 'lsp-server', 'server.js');
    await build({
      entryPoints: [path.join(REPO, 'src/server/main.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'warning',
      external: ['vscode'],
    });
    return outfile;
  })();
  return built;
}

export function fileUri(p: string): string {
  return pathToFileURL(p).href;
}

export interface StartOptions {
  transport?: 'stdio' | 'ipc';
  /** Workspace folder (absolute path). */
  folder?: string;
  /** What `workspace/configuration` answers for section `heatcap`; undefined: the client lacks the capability. */
  heatcapSection?: unknown;
  /** Advertise `workspace.codeLens.refreshSupport` and dynamic file-watcher registration. */
  refreshAndWatch?: boolean;
  initializationOptions?: unknown;
}

export class LspClient {
  readonly logs: string[] = [];
  lensRefreshes = 0;
  readonly registrations: string[] = [];
  heatcapSection: unknown;

  private constructor(
    readonly connection: ProtocolConnection,
    readonly child: ChildProcess,
  ) {}

  static async start(options: StartOptions = {}): Promise<LspClient> {
    const bundle = await serverBundle();
    const ipc = options.transport === 'ipc';
    const child = spawn(process.execPath, [bundle, ipc ? '--node-ipc' : '--stdio'], {
      stdio: ipc ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['pipe', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', () => undefined);
    const connection = ipc
      ? createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child))
      : createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const client = new LspClient(connection, child);
    client.heatcapSection = options.heatcapSection;
    connection.onNotification(LogMessageNotification.type, (p) => client.logs.push(p.message));
    connection.onRequest(ConfigurationRequest.type, (p) => p.items.map((i) => (i.section === 'heatcap' ? client.heatcapSection : null)));
    connection.onRequest(RegistrationRequest.type, (p) => {
      client.registrations.push(...p.registrations.map((r) => r.method));
    });
    connection.onRequest(CodeLensRefreshRequest.type, () => {
      client.lensRefreshes++;
    });
    connection.listen();

    const capabilities: ClientCapabilities = {
      workspace: {
        configuration: options.heatcapSection !== undefined,
        didChangeConfiguration: { dynamicRegistration: options.heatcapSection !== undefined },
        ...(options.refreshAndWatch
          ? { codeLens: { refreshSupport: true }, didChangeWatchedFiles: { dynamicRegistration: true } }
          : {}),
      },
      textDocument: { codeLens: { dynamicRegistration: false }, hover: { contentFormat: ['markdown'] } },
    };
    const folder = options.folder;
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: folder ? fileUri(folder) : null,
      workspaceFolders: folder ? [{ uri: fileUri(folder), name: path.basename(folder) }] : null,
      capabilities,
      initializationOptions: options.initializationOptions,
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  async open(uri: string, languageId: string, text: string, version = 1): Promise<void> {
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version, text } });
  }

  async change(uri: string, version: number, contentChanges: TextDocumentContentChangeEvent[]): Promise<void> {
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges });
  }

  async configurationChanged(): Promise<void> {
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  }

  async watchedFilesChanged(changes: FileEvent[]): Promise<void> {
    await this.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes });
  }

  /** `textDocument/codeLens`, then `codeLens/resolve` on each lens (what an editor does for visible lenses). */
  async codeLenses(uri: string): Promise<CodeLens[]> {
    const lenses = (await this.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } })) ?? [];
    return Promise.all(lenses.map((l) => this.connection.sendRequest(CodeLensResolveRequest.type, l)));
  }

  hover(uri: string, line: number, character: number): Promise<Hover | null> {
    return this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  /** Waits until `predicate` holds (polling every 20 ms) or fails after `ms`. */
  async until(predicate: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms; server log:\n${this.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.connection.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 2000))]);
      await this.connection.sendNotification(ExitNotification.type);
    } catch {
      // The server may already be gone; killing it below is enough.
    }
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      const timer = setTimeout(() => {
        this.child.kill();
        resolve();
      }, 2000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.connection.dispose();
  }

  get alive(): boolean {
    return this.child.exitCode === null;
  }
}
