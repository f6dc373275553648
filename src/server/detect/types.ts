import type { SettingKind } from '../../shared/lspProtocol';

/** Offsets are UTF-16 code-unit offsets into the document text, `end` exclusive (what LSP positions count). */
export interface Span {
  start: number;
  end: number;
}

/** A batch size or momentum stated near a learning-rate setting. */
export interface NearbyValue extends Span {
  value: number;
  key: string;
}

/** One learning-rate setting, as a detector reports it: plain data, offsets into the text it was given. */
export interface DetectedSetting extends Span {
  lr: number;
  /** The number literal as written. */
  text: string;
  /** The key path as written (`optimizer.lr`, `--learning-rate`, `LR`). */
  key: string;
  kind: SettingKind;
  optimizer?: string;
  batchSize?: NearbyValue;
  momentum?: NearbyValue;
  /** Remarks specific to how the value is written (e.g. YAML 1.1 reading `3e-4` as a string). */
  notes?: string[];
}

export type DetectLanguage = 'python' | 'yaml' | 'json' | 'toml' | 'shell';

export interface DetectResult {
  settings: DetectedSetting[];
  /** Set when the text could not be parsed well enough to trust any setting in it. */
  error?: string;
}

/** More than this many settings in one document are dropped: such files are logs or data, not configuration. */
export const MAX_SETTINGS_PER_DOCUMENT = 500;
