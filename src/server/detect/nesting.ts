/**
 * A cheap guard run before any parser: the parsers we use recurse on nesting (jsonc-parser,
 * yaml's composer, toml-eslint-parser, lezer's tree building), and a 200 kB file of `[[[[…` exhausts
 * the stack; worse, a stack overflow that happens to strike inside V8's regexp compiler kills the
 * process instead of throwing. No configuration or training script nests anywhere near this deep.
 *
 * The estimate is an upper bound counted over the raw text (brackets inside strings count too): bracket
 * depth, plus for YAML and Python the indentation levels (yaml overflows below 1,000 indented levels),
 * plus for YAML the compact block indicators that open a level each (`- - - x`, `? ? x`).
 */
import type { DetectLanguage } from './types';

export const MAX_NESTING = 200;

/** Why the text is refused, or undefined when its nesting is within MAX_NESTING. Linear, no allocation. */
export function tooDeeplyNested(text: string, language: DetectLanguage): string | undefined {
  let depth = 0;
  let max = 0;
  const yaml = language === 'yaml';
  const indented = yaml || language === 'python';
  // Indentation widths of the enclosing blocks, innermost last (as Python's tokenizer keeps them).
  const indents: number[] = [];
  let atLineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (indented && atLineStart) {
      atLineStart = false;
      let j = i;
      while (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9) j++;
      const first = text.charCodeAt(j);
      if (first !== 10 && first !== 13 && first !== 35 && !Number.isNaN(first)) {
        const width = j - i;
        while (indents.length > 0 && indents[indents.length - 1] >= width) indents.pop();
        indents.push(width);
      }
      let indicators = 0;
      // YAML: `- `, `? `, `: ` indicators in a row at the start of a line open a level each.
      while (yaml) {
        while (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9) j++;
        const k = text.charCodeAt(j);
        const next = text.charCodeAt(j + 1);
        if ((k === 45 || k === 63 || k === 58) && (next === 32 || next === 9 || next === 10 || Number.isNaN(next))) {
          indicators++;
          j++;
        } else break;
      }
      if (depth + indents.length + indicators > max) max = depth + indents.length + indicators;
    }
    if (c === 91 || c === 123 || c === 40) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 93 || c === 125 || c === 41) {
      if (depth > 0) depth--;
    } else if (c === 10) {
      atLineStart = true;
    }
    if (max > MAX_NESTING) return `nested more than ${MAX_NESTING} levels deep: not a configuration or training script`;
  }
  return undefined;
}
