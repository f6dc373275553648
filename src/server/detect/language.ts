import type { DetectLanguage } from './types';

const BY_LANGUAGE_ID: Record<string, DetectLanguage> = {
  python: 'python',
  yaml: 'yaml',
  json: 'json',
  jsonc: 'json',
  toml: 'toml',
  shellscript: 'shell',
  bash: 'shell',
  sh: 'shell',
  zsh: 'shell',
};

const BY_EXTENSION: Record<string, DetectLanguage> = {
  py: 'python',
  yaml: 'yaml',
  yml: 'yaml',
  json: 'json',
  jsonc: 'json',
  toml: 'toml',
  sh: 'shell',
  bash: 'shell',
  zsh: 'shell',
};

/**
 * Files that hold logged or computed values rather than settings: HF's trainer_state.json has a
 * `learning_rate` per logged step, and our own `.heatcap/*.json` results list every run's `lr`.
 */
const LOG_FILE_NAMES = new Set(['trainer_state.json', 'all_results.json', 'train_results.json', 'eval_results.json']);

/** The detector for a document: by its language id, else (plain text, unknown ids) by its file extension. */
export function languageFor(languageId: string, uri: string): DetectLanguage | undefined {
  const byId = BY_LANGUAGE_ID[languageId];
  if (byId) return byId;
  const name = fileName(uri);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? BY_EXTENSION[name.slice(dot + 1).toLowerCase()] : undefined;
}

/** Why a document is left alone although its language is supported, or undefined. */
export function excludedBecause(uri: string): string | undefined {
  const path = uriPath(uri);
  if (/(^|\/)\.heatcap\//.test(path)) return 'an analysis result file, not a configuration';
  if (LOG_FILE_NAMES.has(fileName(uri))) return 'a training log, not a configuration';
  return undefined;
}

function uriPath(uri: string): string {
  const noQuery = uri.replace(/[?#].*$/, '');
  try {
    return decodeURIComponent(noQuery);
  } catch {
    return noQuery;
  }
}

function fileName(uri: string): string {
  const path = uriPath(uri);
  return path.slice(path.lastIndexOf('/') + 1);
}
