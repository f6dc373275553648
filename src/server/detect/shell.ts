/**
 * Learning-rate settings in shell scripts (and notebook `!` lines): `--lr 0.1`, `--learning_rate=3e-4`,
 * `-lr 0.1`, Hydra-style `optimizer.lr=0.1` arguments, and variables `LR=0.1` / `export LR=0.1`.
 * Values must be plain decimal literals after quote removal (`--lr "0.1"` is the number 0.1 to the
 * program; `--lr $LR` is not a literal). Batch size and momentum come from the same command first,
 * else from the nearest variable or option elsewhere in the script.
 */
import { isBatchSizeKey, isLrKey, isMomentumKey, isPlausibleLr } from './keys';
import { parseDecimal } from './numbers';
import { withNearby, type KeyedNumber } from './nearby';
import { shellCommands, type ShellWord } from './shellWords';
import { MAX_SETTINGS_PER_DOCUMENT, type DetectedSetting, type DetectResult } from './types';

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const OPTION = /^(--?[A-Za-z][\w.-]*)(?:=(.*))?$/s;
const OVERRIDE = /^([+~]{0,2}[A-Za-z_][\w.-]*)=(.*)$/s;
const DECLARATION_BUILTINS = new Set(['export', 'local', 'declare', 'readonly', 'typeset']);

interface Found extends KeyedNumber {
  kind: DetectedSetting['kind'];
}

export function detectShell(src: string): DetectResult {
  const found: Found[] = [];
  shellCommands(src).forEach((words, command) => {
    let k = 0;
    // Leading `NAME=value` words (and after export/local/…) are variable assignments, not arguments.
    if (k < words.length && DECLARATION_BUILTINS.has(words[k].value)) k++;
    for (; k < words.length; k++) {
      const m = ASSIGNMENT.exec(words[k].value);
      if (!m) break;
      push(found, command, m[1], 'shell_variable', words[k], m[1].length + 1);
    }
    for (; k < words.length; k++) {
      const word = words[k];
      const opt = OPTION.exec(word.value);
      if (opt) {
        if (opt[2] !== undefined) push(found, command, opt[1], 'cli_option', word, opt[1].length + 1);
        else if (k + 1 < words.length && parseDecimal(words[k + 1].value) !== undefined) {
          push(found, command, opt[1], 'cli_option', words[k + 1], 0);
          k++;
        }
        continue;
      }
      const ov = OVERRIDE.exec(word.value);
      if (ov) push(found, command, ov[1], 'cli_override', word, ov[1].length + 1);
    }
  });

  const settings: DetectedSetting[] = [];
  const attach = withNearby<DetectedSetting>(found, isBatchSizeKey, isMomentumKey);
  for (const f of found) {
    if (!isLrKey(f.key) || !isPlausibleLr(f.value)) continue;
    settings.push(attach({ lr: f.value, text: f.text, key: f.key, kind: f.kind, start: f.start, end: f.end }, f));
    if (settings.length > MAX_SETTINGS_PER_DOCUMENT) break;
  }
  return { settings };
}

/** Records `key` whose value is `word.value` from index `valueFrom` on, when that value is a decimal literal. */
function push(found: Found[], command: number, key: string, kind: Found['kind'], word: ShellWord, valueFrom: number): void {
  const text = word.value.slice(valueFrom);
  const value = parseDecimal(text);
  if (value === undefined || text.length === 0) return;
  const first = word.offsets[valueFrom];
  const last = word.offsets[word.value.length - 1];
  found.push({ name: key, key, kind, value, text, start: first, end: last + 1, container: command });
}
