/**
 * The language server's extensions to LSP: every custom notification, request, command, setting and
 * initialization option that the extension (client, `src/extension/`) and the server (`src/server/`)
 * exchange, declared once with its parameter types. Both sides import this module; neither spells a
 * method name or a command id as a string literal of its own.
 */
import { NotificationType, RequestType, type DocumentFilter, type Range } from 'vscode-languageserver-protocol';
import type { AnalysisResult } from '../core/result/schema';

// ---------------------------------------------------------------------------------------------------
// Client → server

/**
 * `heatcap/analysisResults` (client → server): the results of one analysed folder. They replace the
 * results pushed earlier for the same `root`; an empty `results` array forgets that root. Pushed
 * results are matched to documents exactly like results read from `.heatcap/analysis*.json` files
 * (see `README.md, "CodeLens and hover on learning-rate settings"`, "Which analysis a setting uses").
 */
export interface AnalysisResultsParams {
  /** The analysed folder, absolute file-system path (the same value as `AnalysisResult.root`). */
  root: string;
  results: AnalysisResult[];
}
export const AnalysisResultsNotification = new NotificationType<AnalysisResultsParams>('heatcap/analysisResults');

/** The kinds of place a learning rate is set in; shown in hovers and returned by `heatcap/settings`. */
export type SettingKind =
  /** `torch.optim.SGD(params, lr=0.1)`, `TrainingArguments(learning_rate=5e-5)` */
  | 'keyword_argument'
  /** `optax.sgd(0.1)`, `torch.optim.SGD(params, 0.1)`: the learning-rate position of a known optimizer */
  | 'positional_argument'
  /** `lr = 0.1`, `self.lr: float = 0.1`, `cfg["lr"] = 0.1` */
  | 'assignment'
  /** `def train(lr=0.1)` */
  | 'parameter_default'
  /** `{"lr": 0.1}` in Python */
  | 'dict_entry'
  /** `parser.add_argument("--lr", default=0.1)`, `click.option("--lr", default=0.1)` */
  | 'cli_default'
  /** a key in a YAML / JSON / TOML configuration file */
  | 'config_key'
  /** `--lr 0.1`, `--learning_rate=3e-4` on a command line */
  | 'cli_option'
  /** `optimizer.lr=0.1` on a command line (Hydra-style override) */
  | 'cli_override'
  /** `LR=0.1`, `export LEARNING_RATE=3e-4` in a shell script */
  | 'shell_variable';

/** A value found near a learning-rate setting (same call, mapping, command or scope). */
export interface NearbyValueInfo {
  value: number;
  /** The key as written, e.g. `batch_size`, `--batch-size`, `per_device_train_batch_size`. */
  key: string;
  range: Range;
}

/** One learning-rate setting found in a document. */
export interface LearningRateSettingInfo {
  lr: number;
  /** The number literal, exactly (e.g. the `0.1` of `lr=0.1`). */
  range: Range;
  /** The literal as written (`3e-4`). */
  text: string;
  /** The key path as written: `lr`, `optimizer.lr`, `--learning-rate`, `LEARNING_RATE`. */
  key: string;
  kind: SettingKind;
  /** Lower-case optimizer family when the setting is an argument of a known optimizer constructor. */
  optimizer?: string;
  batchSize?: NearbyValueInfo;
  momentum?: NearbyValueInfo;
}

export interface SettingsParams {
  textDocument: { uri: string };
}
export interface SettingsResult {
  settings: LearningRateSettingInfo[];
  /** Why the document was not searched, or not fully (too large, unsupported language, a parse error). */
  problem?: string;
}
/** `heatcap/settings` (client → server): the learning-rate settings of an open document. */
export const SettingsRequest = new RequestType<SettingsParams, SettingsResult, void>('heatcap/settings');

// ---------------------------------------------------------------------------------------------------
// Commands carried by CodeLenses (implemented by the client; the server never executes them)

/** Opens the analysis panel focused on one learning rate. Arguments: `[OpenPanelAtArgs]`. */
export const OpenPanelAtCommand = 'heatcap.openPanelAt';
export interface OpenPanelAtArgs {
  lr: number;
  /** `AnalysisResult.root` of the result the lens showed; absent when the lens had none. */
  resultRoot?: string;
  /** The document the lens is in. */
  uri: string;
}

/** Analyses the workspace (used by lenses that have no matching analysis yet). No arguments. */
export const AnalyzeWorkspaceCommand = 'heatcap.analyzeWorkspace';

// ---------------------------------------------------------------------------------------------------
// Settings (read with `workspace/configuration`, section `heatcap`)

export const ConfigSection = 'heatcap';

/**
 * The server's settings, for the extension's `contributes.configuration` to match exactly.
 * The server reads them as `{ codeLens: { enabled }, server: { maxFileSize } }` under `heatcap`.
 */
export const ServerSettings = {
  codeLensEnabled: {
    key: 'heatcap.codeLens.enabled',
    type: 'boolean',
    default: true,
    description: 'Show the heat-capacity CodeLens above learning-rate settings in code and config files.',
  },
  maxFileSize: {
    key: 'heatcap.server.maxFileSize',
    type: 'number',
    default: 1_000_000,
    description: 'Files larger than this many bytes are not searched for learning-rate settings.',
  },
} as const;

export interface HeatcapServerConfig {
  codeLensEnabled: boolean;
  maxFileSize: number;
}

// ---------------------------------------------------------------------------------------------------
// Start-up

/** `initializationOptions` the client may pass; every field is optional. */
export interface HeatcapInitializationOptions {
  /**
   * How often (ms) to look for new or changed `.heatcap/analysis*.json` files when the client cannot
   * watch files for the server. Default 5000; 0 turns polling off.
   */
  resultPollMs?: number;
}

/** Results files the server reads (glob, relative to a workspace folder), for the client's file watcher. */
export const ResultFileGlob = '**/.heatcap/analysis*.json';

/**
 * The documents the server understands. Notebook cells arrive as ordinary text documents with
 * `vscode-notebook-cell:` URIs and language `python`.
 */
export const HeatcapDocumentSelector: DocumentFilter[] = [
  { scheme: 'file', language: 'python' },
  { scheme: 'untitled', language: 'python' },
  { scheme: 'vscode-notebook-cell', language: 'python' },
  { scheme: 'file', language: 'yaml' },
  { scheme: 'file', language: 'json' },
  { scheme: 'file', language: 'jsonc' },
  { scheme: 'file', language: 'toml' },
  { scheme: 'file', pattern: '**/*.toml' },
  { scheme: 'file', language: 'shellscript' },
];
