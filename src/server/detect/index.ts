/**
 * The one entry point for finding learning-rate settings in a text. Never throws: absurd nesting is
 * refused before parsing (nesting.ts), and any parser failure becomes `error` with no settings.
 */
import { detectJson } from './json';
import { tooDeeplyNested } from './nesting';
import { detectPython, type PythonParseState } from './python';
import { detectShell } from './shell';
import { detectToml } from './toml';
import { MAX_SETTINGS_PER_DOCUMENT, type DetectLanguage, type DetectResult } from './types';
import { detectYaml } from './yaml';

export { excludedBecause, languageFor } from './language';
export type { DetectedSetting, DetectLanguage, DetectResult, NearbyValue } from './types';

/** What a detector may keep from one parse of a document to speed up the next (Python: the lezer tree). */
export type ParseState = PythonParseState;

export interface DetectOptions {
  /** The state the previous parse of this document returned. */
  previous?: ParseState;
  /** The text is a notebook cell (IPython magics allowed). */
  notebookCell?: boolean;
}

const DETECTORS: Record<DetectLanguage, (text: string, options: DetectOptions) => DetectResult & { state?: ParseState }> = {
  python: (text, o) => detectPython(text, { previous: o.previous, cell: o.notebookCell }),
  yaml: detectYaml,
  json: detectJson,
  toml: detectToml,
  shell: detectShell,
};

/**
 * Every learning-rate key contains `lr` or `learning` (keys.ts); a positional learning rate needs an
 * optimizer call (`optim`, `optimizers`, `Optimizer`, `optax`). A text with none of these has no
 * setting, so most files (CI workflows, compose files, package.json) cost one native regex scan.
 */
const MAY_HOLD_SETTING: Record<DetectLanguage, RegExp> = {
  python: /lr|learning|optim|optax/i,
  yaml: /lr|learning/i,
  json: /lr|learning/i,
  toml: /lr|learning/i,
  shell: /lr|learning/i,
};

export function detectSettings(text: string, language: DetectLanguage, options: DetectOptions = {}): DetectResult & { state?: ParseState } {
  if (!MAY_HOLD_SETTING[language].test(text)) return { settings: [] };
  const deep = tooDeeplyNested(text, language);
  if (deep) return { settings: [], error: deep };
  let result: DetectResult & { state?: ParseState };
  try {
    result = DETECTORS[language](text, options);
  } catch (e) {
    return { settings: [], error: `could not parse as ${language}: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (result.settings.length > MAX_SETTINGS_PER_DOCUMENT) {
    return {
      settings: [],
      error: `${result.settings.length} learning-rate values: this looks like a log or data file, not a configuration`,
      state: result.state,
    };
  }
  return result;
}
