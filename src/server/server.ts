/**
 * The language server: wires the connection to the documents, the learning-rate detectors, the
 * analysis results (pushed by the extension or read from `.heatcap/analysis*.json`) and the lens and
 * hover text. It never executes workspace code: documents are only parsed.
 */
import {
  CodeLensRefreshRequest,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  MarkupKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CodeLens,
  type Connection,
  type InitializeResult,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describeError } from '../core/errors';
import type { AnalysisResult } from '../core/result/schema';
import {
  AnalysisResultsNotification,
  AnalyzeWorkspaceCommand,
  ConfigSection,
  OpenPanelAtCommand,
  ResultFileGlob,
  SettingsRequest,
  type HeatcapInitializationOptions,
  type HeatcapServerConfig,
  type LearningRateSettingInfo,
  type OpenPanelAtArgs,
} from '../shared/lspProtocol';
import { configFromSection, DEFAULT_CONFIG } from './config';
import type { DetectedSetting } from './detect';
import { SettingsCache } from './documentSettings';
import { heatCapacityAt } from './lens/heatCapacity';
import { hoverMarkdown } from './lens/hoverText';
import { analyzeLensTitle, lensTitle } from './lens/lensTitle';
import { matchResult } from './results/match';
import { ResultFiles } from './results/resultFiles';
import { ResultStore } from './results/store';
import { parseAnalysisResult } from './results/validate';
import { folderPaths, uriToPath } from './uris';

export const SERVER_NAME = 'heatcap-language-server';
const DEFAULT_POLL_MS = 5000;

/** What an unresolved lens carries to `codeLens/resolve`. */
interface LensData {
  uri: string;
  lr: number;
}

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const store = new ResultStore();
  let config: HeatcapServerConfig = DEFAULT_CONFIG;
  let folders: string[] = [];
  const log = (message: string): void => connection.console.log(message);
  const cache = new SettingsCache(
    () => config.maxFileSize,
    (uri, s) => {
      if (s.problem) log(`${uri} v${s.version}: ${s.problem}`);
    },
  );
  const resultFiles = new ResultFiles(store, () => folders, log);
  const client = { configuration: false, watchedFiles: false, lensRefresh: false, workspaceFolders: false };
  let pollMs = DEFAULT_POLL_MS;
  // Lens requests wait for the first read of the settings, so a disabled lens never flashes up.
  let configReady!: () => void;
  const configLoaded = new Promise<void>((resolve) => (configReady = resolve));

  const refreshLenses = (): void => {
    if (client.lensRefresh) void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
  };
  const reloadConfig = async (): Promise<void> => {
    if (!client.configuration) return;
    try {
      const [section] = await connection.workspace.getConfiguration([{ section: ConfigSection }]);
      config = configFromSection(section);
    } catch (e) {
      log(`settings: could not read the ${ConfigSection} section (${describeError(e)}); using defaults`);
    }
  };

  connection.onInitialize((params): InitializeResult => {
    const ws = params.capabilities.workspace;
    client.configuration = ws?.configuration === true;
    client.watchedFiles = ws?.didChangeWatchedFiles?.dynamicRegistration === true;
    client.lensRefresh = ws?.codeLens?.refreshSupport === true;
    client.workspaceFolders = ws?.workspaceFolders === true;
    const options = (params.initializationOptions ?? {}) as HeatcapInitializationOptions;
    if (typeof options.resultPollMs === 'number' && options.resultPollMs >= 0) pollMs = options.resultPollMs;
    const uris = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    folders = folderPaths(uris);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        codeLensProvider: { resolveProvider: true },
        hoverProvider: true,
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: SERVER_NAME },
    };
  });

  connection.onInitialized(async () => {
    const failed = (what: string) => (e: unknown) => log(`${what}: ${describeError(e)}`);
    if (client.configuration) {
      connection.client.register(DidChangeConfigurationNotification.type, { section: ConfigSection }).catch(failed('settings watch'));
    }
    if (client.watchedFiles) {
      connection.client
        .register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: ResultFileGlob }] })
        .catch(failed('result file watch'));
    } else {
      resultFiles.startPolling(pollMs, refreshLenses);
    }
    if (client.workspaceFolders) {
      connection.workspace.onDidChangeWorkspaceFolders(async (e) => {
        const removed = new Set(folderPaths(e.removed.map((f) => f.uri)));
        folders = [...folders.filter((f) => !removed.has(f)), ...folderPaths(e.added.map((f) => f.uri))];
        if (await resultFiles.refresh()) refreshLenses();
      });
    }
    await reloadConfig();
    configReady();
    if (await resultFiles.refresh()) refreshLenses();
  });

  connection.onDidChangeConfiguration(async (params) => {
    // Clients without `workspace/configuration` push the settings in the notification instead.
    const pushed = (params?.settings as Record<string, unknown> | null | undefined)?.[ConfigSection];
    if (!client.configuration && pushed !== undefined) config = configFromSection(pushed);
    await reloadConfig();
    refreshLenses();
  });

  connection.onDidChangeWatchedFiles(async (params) => {
    const files = params.changes.map((c) => uriToPath(c.uri)).filter((p): p is string => p !== undefined);
    if (await resultFiles.reload(files)) refreshLenses();
  });

  connection.onNotification(AnalysisResultsNotification, (params) => {
    // Checked like a file: the client is trusted to send the right shape, not assumed to.
    if (typeof params?.root !== 'string' || !Array.isArray(params.results)) {
      log('results: ignored a push without a root or a results array');
      return;
    }
    const valid: AnalysisResult[] = [];
    for (const [i, r] of params.results.entries()) {
      try {
        valid.push(parseAnalysisResult(r, `results[${i}] pushed for ${params.root}`));
      } catch (e) {
        log(`results: ignored ${describeError(e)}`);
      }
    }
    store.setPushed(params.root, valid);
    log(`results: ${valid.length} pushed for ${params.root}`);
    refreshLenses();
  });

  // Debounce edits, not opening: a just-opened document gets its lenses at once.
  const openedAt = new Map<string, number>();
  documents.onDidOpen((e) => openedAt.set(e.document.uri, e.document.version));
  documents.onDidChangeContent((e) => {
    if (openedAt.get(e.document.uri) !== e.document.version) cache.changed(e.document.uri);
  });
  documents.onDidClose((e) => {
    openedAt.delete(e.document.uri);
    cache.forget(e.document.uri);
  });

  const settingsOf = (uri: string) => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    return { doc, settings: cache.get(doc) };
  };

  connection.onRequest(SettingsRequest, (params) => {
    const found = settingsOf(params.textDocument.uri);
    if (!found) return { settings: [], problem: 'document is not open' };
    const { doc, settings } = found;
    return { settings: settings.settings.map((s) => settingInfo(doc, s)), problem: settings.problem };
  });

  connection.onCodeLens(async (params, token) => {
    await configLoaded;
    if (!config.codeLensEnabled) return [];
    if (!(await cache.settled(params.textDocument.uri, token))) return null;
    const found = settingsOf(params.textDocument.uri);
    if (!found) return [];
    const { doc, settings } = found;
    return settings.settings.map(
      (s): CodeLens => ({
        range: { start: doc.positionAt(s.start), end: doc.positionAt(s.end) },
        data: { uri: doc.uri, lr: s.lr } satisfies LensData,
      }),
    );
  });

  connection.onCodeLensResolve((lens) => {
    const data = lens.data as LensData | undefined;
    if (!data || typeof data.lr !== 'number' || typeof data.uri !== 'string') return lens;
    const match = matchResult(uriToPath(data.uri), data.lr, store.all());
    if (!match) {
      lens.command = { title: analyzeLensTitle(data.lr), command: AnalyzeWorkspaceCommand };
    } else {
      const args: OpenPanelAtArgs = { lr: data.lr, resultRoot: match.result.root, uri: data.uri };
      lens.command = { title: lensTitle(heatCapacityAt(match.result, data.lr)), command: OpenPanelAtCommand, arguments: [args] };
    }
    return lens;
  });

  connection.onHover((params) => {
    const found = settingsOf(params.textDocument.uri);
    if (!found) return null;
    const { doc, settings } = found;
    const offset = doc.offsetAt(params.position);
    const s = settings.settings.find((x) => x.start <= offset && offset <= x.end);
    if (!s) return null;
    const match = matchResult(uriToPath(doc.uri), s.lr, store.all());
    return {
      contents: { kind: MarkupKind.Markdown, value: hoverMarkdown(s, match) },
      range: { start: doc.positionAt(s.start), end: doc.positionAt(s.end) },
    };
  });

  connection.onShutdown(() => resultFiles.stopPolling());

  documents.listen(connection);
  connection.listen();
}

function settingInfo(doc: TextDocument, s: DetectedSetting): LearningRateSettingInfo {
  const range = (x: { start: number; end: number }) => ({ start: doc.positionAt(x.start), end: doc.positionAt(x.end) });
  const info: LearningRateSettingInfo = { lr: s.lr, range: range(s), text: s.text, key: s.key, kind: s.kind };
  if (s.optimizer) info.optimizer = s.optimizer;
  if (s.batchSize) info.batchSize = { value: s.batchSize.value, key: s.batchSize.key, range: range(s.batchSize) };
  if (s.momentum) info.momentum = { value: s.momentum.value, key: s.momentum.key, range: range(s.momentum) };
  return info;
}
