/**
 * JSON as Python's `json.dumps` writes it: standard JSON plus the bare tokens `NaN`, `Infinity` and
 * `-Infinity` (HuggingFace `trainer_state.json`, JSONL metric logs). Standard `JSON.parse` is tried
 * first; only text it rejects is rewritten, outside string literals, to carry those tokens through.
 */

const NAN = '\u0000NaN';
const POS_INF = '\u0000Infinity';
const NEG_INF = '\u0000-Infinity';

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.charCodeAt(0) === 0) {
    if (value === NAN) return NaN;
    if (value === POS_INF) return Infinity;
    if (value === NEG_INF) return -Infinity;
  }
  return value;
}

/** Parses JSON that may contain NaN/Infinity tokens. Throws SyntaxError like `JSON.parse`. */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e;
  }
  return JSON.parse(rewriteTokens(text), reviver);
}

/** Replaces NaN / Infinity / -Infinity outside strings by marker strings the reviver turns back. */
function rewriteTokens(text: string): string {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Skip a string literal, honouring escapes.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    let token: string | undefined;
    let len = 0;
    if (c === 78 && text.startsWith('NaN', i)) [token, len] = [NAN, 3];
    else if (c === 73 && text.startsWith('Infinity', i)) [token, len] = [POS_INF, 8];
    else if (c === 45 && text.startsWith('-Infinity', i)) [token, len] = [NEG_INF, 9];
    if (token) {
      out += text.slice(last, i) + JSON.stringify(token);
      i += len;
      last = i;
    } else i++;
  }
  return out + text.slice(last);
}

/** parseJsonLenient, or undefined where the text is not JSON (a damaged or half-written line). */
export function tryParseJsonLenient(text: string): unknown {
  try {
    return parseJsonLenient(text);
  } catch {
    return undefined;
  }
}
