/**
 * The one entry point for finding learning-rate settings in a text. Never throws: a parser failure
 * (including a stack overflow on absurd nesting) becomes `error` with no settings.
 */
import { detectJson } from './json';
import { detectPython } from './python';
import { detectShell } from './shell';
import { detectToml } from './toml';
import { MAX_SETTINGS_PER_DOCUMENT, type DetectLanguage, type DetectResult } from './types';
import { detectYaml } from './yaml';

export { excludedBecause, languageFor } from './language';
export type { DetectedSetting, DetectLanguage, DetectResult, NearbyValue } from './types';

const DETECTORS: Record<DetectLanguage, (text: string) => DetectResult> = {
  python: detectPython,
  yaml: detectYaml,
  json: detectJson,
  toml: detectToml,
  shell: detectShell,
};

export function detectSettings(text: string, language: DetectLanguage): DetectResult {
  let result: DetectResult;
  try {
    result = DETECTORS[language](text);
  } catch (e) {
    return { settings: [], error: `could not parse as ${language}: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (result.settings.length > MAX_SETTINGS_PER_DOCUMENT) {
    return {
      settings: [],
      error: `${result.settings.length} learning-rate values: this looks like a log or data file, not a configuration`,
    };
  }
  return result;
}
