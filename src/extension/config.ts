/**
 * The extension's settings (`contributes.configuration` in package.json), read into one typed object.
 * A value of the wrong type (hand-edited settings.json) falls back to the default and is reported as a
 * problem for the output channel, so a typo never reaches the CLI as a malformed flag.
 *
 * No `vscode` import: `readSettings` takes anything with a `get(key)`, such as
 * `vscode.workspace.getConfiguration('heatcap', folderUri)`.
 */
import * as path from 'node:path';
import type { Sampling } from '../core/runs/model';

export type Backend = 'auto' | 'wasm' | 'node' | 'cpu';
/** `vectorized` (the removed TF.js vectorised engine) stays valid so old settings keep working: the CLI runs `auto` for it, with a note. */
export type EngineSetting = 'auto' | 'onnx' | 'onnx-loop' | 'naive' | 'vectorized';
export type EngineRuntimeSetting = 'auto' | 'native' | 'wasm';
export type LossSemanticsSetting = 'exact' | 'clipped';
export type OptimizerSetting = 'auto' | 'sgd' | 'nesterov' | 'adam' | 'rmsprop';

export interface CheckpointSettings {
  /** As written in the settings (may be relative to the workspace folder, or use ${workspaceFolder}). */
  model: string | null;
  data: string | null;
  labels: string | null;
  loss: string | null;
  /** Parameters SGD did not train (names or module prefixes; `--freeze`). */
  frozen: string[];
}

export interface Settings {
  runs: { include: string[]; exclude: string[]; maxDepth: number };
  /** null: chosen automatically by the analysis. */
  lossTag: string | null;
  lrKeys: string[];
  backend: Backend;
  engine: EngineSetting;
  /** ONNX Runtime build for the ONNX engine (`--runtime`). */
  engineRuntime: EngineRuntimeSetting;
  lossSemantics: LossSemanticsSetting;
  sampling: Sampling | 'auto';
  batchSize: number | null;
  momentum: number | null;
  optimizer: OptimizerSetting;
  checkpoint: CheckpointSettings;
  /** The finite-η prediction (top Hessian eigenpairs, stability limits, L(η) curve) and its number of directions. */
  finiteEta: { enabled: boolean; directions: number; fullSolve: boolean };
  codeLensEnabled: boolean;
  serverMaxFileSize: number;
}

export const DEFAULT_SETTINGS: Settings = {
  // What the CLI does without --include-glob / --exclude-glob / --lr-key (package.json says the same).
  runs: { include: ['**'], exclude: [], maxDepth: 8 },
  lossTag: null,
  lrKeys: [],
  backend: 'auto',
  engine: 'auto',
  engineRuntime: 'auto',
  lossSemantics: 'exact',
  sampling: 'auto',
  batchSize: null,
  momentum: null,
  optimizer: 'auto',
  checkpoint: { model: null, data: null, labels: null, loss: null, frozen: [] },
  finiteEta: { enabled: true, directions: 10, fullSolve: false },
  codeLensEnabled: true,
  serverMaxFileSize: 1_000_000,
};

/** Keys under the `heatcap` section, as `getConfiguration('heatcap').get(key)` wants them. */
export const SettingKeys = {
  runsInclude: 'runs.include',
  runsExclude: 'runs.exclude',
  runsMaxDepth: 'runs.maxDepth',
  lossTag: 'lossTag',
  lrKeys: 'lrKeys',
  backend: 'backend',
  engine: 'engine',
  engineRuntime: 'engineRuntime',
  lossSemantics: 'lossSemantics',
  sampling: 'sampling',
  batchSize: 'batchSize',
  momentum: 'momentum',
  optimizer: 'optimizer',
  checkpointModel: 'checkpoint.model',
  checkpointData: 'checkpoint.data',
  checkpointLabels: 'checkpoint.labels',
  checkpointLoss: 'checkpoint.loss',
  checkpointFrozen: 'checkpoint.frozen',
  finiteEtaEnabled: 'finiteEta.enabled',
  finiteEtaDirections: 'finiteEta.directions',
  finiteEtaFullSolve: 'finiteEta.fullSolve',
  codeLensEnabled: 'codeLens.enabled',
  serverMaxFileSize: 'server.maxFileSize',
} as const;

export interface ConfigSource {
  get(key: string): unknown;
}

export interface ReadSettings {
  settings: Settings;
  /** One line per ignored value: "heatcap.momentum: expected a number in [0, 1), got "0.9"". */
  problems: string[];
}

const BACKENDS: readonly Backend[] = ['auto', 'wasm', 'node', 'cpu'];
const ENGINES: readonly EngineSetting[] = ['auto', 'onnx', 'onnx-loop', 'naive', 'vectorized'];
const ENGINE_RUNTIMES: readonly EngineRuntimeSetting[] = ['auto', 'native', 'wasm'];
const SEMANTICS: readonly LossSemanticsSetting[] = ['exact', 'clipped'];
const SAMPLINGS: readonly (Sampling | 'auto')[] = ['auto', 'with_replacement', 'without_replacement', 'reshuffle'];
const OPTIMIZERS: readonly OptimizerSetting[] = ['auto', 'sgd', 'nesterov', 'adam', 'rmsprop'];

export function readSettings(source: ConfigSource): ReadSettings {
  const problems: string[] = [];
  const d = DEFAULT_SETTINGS;

  function take<T>(key: string, fallback: T, check: (v: unknown) => v is T, expected: string): T {
    const v = source.get(key);
    if (v === undefined) return fallback;
    if (check(v)) return v;
    problems.push(`heatcap.${key}: expected ${expected}, got ${JSON.stringify(v)?.slice(0, 80)}; using the default`);
    return fallback;
  }
  const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const isString = (v: unknown): v is string => typeof v === 'string';
  const oneOf =
    <T extends string>(values: readonly T[]) =>
    (v: unknown): v is T =>
      typeof v === 'string' && (values as readonly string[]).includes(v);
  const intIn =
    (lo: number, hi: number) =>
    (v: unknown): v is number =>
      typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  const orNull =
    <T>(check: (v: unknown) => v is T) =>
    (v: unknown): v is T | null =>
      v === null || check(v);
  const momentumValue = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1;
  /** Empty or blank text means "not set". */
  const text = (key: string): string | null => {
    const v = take<string>(key, '', isString, 'a string').trim();
    return v === '' ? null : v;
  };

  const settings: Settings = {
    runs: {
      include: take(SettingKeys.runsInclude, d.runs.include, isStrings, 'a list of glob patterns'),
      exclude: take(SettingKeys.runsExclude, d.runs.exclude, isStrings, 'a list of glob patterns'),
      maxDepth: take(SettingKeys.runsMaxDepth, d.runs.maxDepth, intIn(1, 20), 'an integer from 1 to 20'),
    },
    lossTag: text(SettingKeys.lossTag),
    lrKeys: take(SettingKeys.lrKeys, d.lrKeys, isStrings, 'a list of keys').filter((k) => k.trim() !== ''),
    backend: take(SettingKeys.backend, d.backend, oneOf(BACKENDS), BACKENDS.join(', ')),
    engine: take(SettingKeys.engine, d.engine, oneOf(ENGINES), ENGINES.join(', ')),
    engineRuntime: take(SettingKeys.engineRuntime, d.engineRuntime, oneOf(ENGINE_RUNTIMES), ENGINE_RUNTIMES.join(', ')),
    lossSemantics: take(SettingKeys.lossSemantics, d.lossSemantics, oneOf(SEMANTICS), SEMANTICS.join(', ')),
    sampling: take(SettingKeys.sampling, d.sampling, oneOf(SAMPLINGS), SAMPLINGS.join(', ')),
    batchSize: take(SettingKeys.batchSize, d.batchSize, orNull(intIn(1, Number.MAX_SAFE_INTEGER)), 'a positive integer or null'),
    momentum: take(SettingKeys.momentum, d.momentum, orNull(momentumValue), 'a number in [0, 1) or null'),
    optimizer: take(SettingKeys.optimizer, d.optimizer, oneOf(OPTIMIZERS), OPTIMIZERS.join(', ')),
    checkpoint: {
      model: text(SettingKeys.checkpointModel),
      data: text(SettingKeys.checkpointData),
      labels: text(SettingKeys.checkpointLabels),
      loss: text(SettingKeys.checkpointLoss),
      frozen: take(SettingKeys.checkpointFrozen, d.checkpoint.frozen, isStrings, 'a list of parameter names or module prefixes')
        .map((k) => k.trim())
        .filter((k) => k !== ''),
    },
    finiteEta: {
      enabled: take(SettingKeys.finiteEtaEnabled, d.finiteEta.enabled, (v): v is boolean => typeof v === 'boolean', 'true or false'),
      directions: take(SettingKeys.finiteEtaDirections, d.finiteEta.directions, intIn(1, 200), 'an integer from 1 to 200'),
      fullSolve: take(SettingKeys.finiteEtaFullSolve, d.finiteEta.fullSolve, (v): v is boolean => typeof v === 'boolean', 'true or false'),
    },
    codeLensEnabled: take(SettingKeys.codeLensEnabled, d.codeLensEnabled, (v): v is boolean => typeof v === 'boolean', 'true or false'),
    serverMaxFileSize: take(SettingKeys.serverMaxFileSize, d.serverMaxFileSize, intIn(1000, Number.MAX_SAFE_INTEGER), 'an integer ≥ 1000'),
  };
  return { settings, problems };
}

/**
 * Resolves a path setting against the workspace folder it belongs to: `${workspaceFolder}` is
 * substituted, a relative path is taken relative to the folder. Without a folder a relative path is
 * returned unchanged (the CLI then reports it, naming the file).
 */
export function resolveSettingPath(value: string | null, folder: string | undefined): string | null {
  if (value === null) return null;
  if (folder === undefined) return value;
  const p = value.replace(/\$\{workspaceFolder\}/g, folder);
  return path.isAbsolute(p) ? path.normalize(p) : path.join(folder, p);
}
