/**
 * Learning-rate settings in JSON and JSONC (comments and trailing commas allowed, as in VS Code,
 * DeepSpeed and HF configs): an object property judged by `keys.ts` whose value is a number.
 * Parsed with `jsonc-parser` (offsets on every node). A file with a syntax error gives no setting.
 */
// The ESM build: the package's default UMD build loads its parts with a dynamic require() that
// esbuild cannot follow, so a bundle importing 'jsonc-parser' fails at start ("Cannot find module './impl/format'").
import { parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import { configSettings, type KeyedNumber } from './nearby';
import type { DetectResult } from './types';

export function detectJson(src: string): DetectResult {
  const errors: ParseError[] = [];
  const root = parseTree(src, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const e = errors[0];
    return { settings: [], error: `${printParseErrorCode(e.error)} at offset ${e.offset}` };
  }
  const numbers = keyedNumbers(src, root);
  return { settings: configSettings(numbers) };
}

/** Every `"key": <number>` property, walked without recursion (nesting depth is input-controlled). */
function keyedNumbers(src: string, root: JsonNode | undefined): KeyedNumber[] {
  const out: KeyedNumber[] = [];
  const stack: { node: JsonNode | undefined; path: string }[] = [{ node: root, path: '' }];
  let containerId = 0;
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (!node) continue;
    if (node.type === 'object') {
      const container = containerId++;
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (!k || !v || typeof k.value !== 'string') continue;
        const name = k.value;
        const key = path ? `${path}.${name}` : name;
        if (v.type === 'number' && typeof v.value === 'number') {
          const start = v.offset;
          const end = v.offset + v.length;
          out.push({ name, key, value: v.value, text: src.slice(start, end), start, end, container });
        } else {
          stack.push({ node: v, path: key });
        }
      }
    } else if (node.type === 'array') {
      (node.children ?? []).forEach((item, i) => stack.push({ node: item, path: `${path}[${i}]` }));
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
