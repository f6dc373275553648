/**
 * Learning-rate settings in TOML (`pyproject.toml` tool sections, trainer configs): a key judged by
 * `keys.ts`, under any table or dotted key (`[tool.train] lr = 3e-4`, `optimizer.lr = 0.1`,
 * `opt = { lr = 0.1 }`), whose value is an integer or float. Parsed with `toml-eslint-parser` (TOML
 * 1.0, ranges on every node); it throws on a syntax error, which gives no setting.
 */
import { parseTOML, type AST } from 'toml-eslint-parser';
import { configSettings, type KeyedNumber } from './nearby';
import type { DetectResult } from './types';

export function detectToml(src: string): DetectResult {
  let program: AST.TOMLProgram;
  try {
    program = parseTOML(src);
  } catch (e) {
    return { settings: [], error: e instanceof Error ? e.message : String(e) };
  }
  const numbers = keyedNumbers(src, program);
  return { settings: configSettings(numbers) };
}

function keyName(key: AST.TOMLKey): string[] {
  return key.keys.map((k) => (k.type === 'TOMLBare' ? k.name : k.value));
}

/** Every `key = <number>` pair, walked without recursion (inline tables and arrays nest arbitrarily). */
function keyedNumbers(src: string, program: AST.TOMLProgram): KeyedNumber[] {
  const out: KeyedNumber[] = [];
  type Item = { kv: AST.TOMLKeyValue; path: string; container: number } | { value: AST.TOMLContentNode; path: string };
  const stack: Item[] = [];
  let containerId = 0;
  const pushBody = (body: AST.TOMLKeyValue[], path: string): void => {
    const container = containerId++;
    for (let i = body.length - 1; i >= 0; i--) stack.push({ kv: body[i], path, container });
  };
  const top = program.body[0].body;
  for (const entry of top) if (entry.type === 'TOMLTable') pushBody(entry.body, keyName(entry.key).join('.'));
  pushBody(top.filter((e): e is AST.TOMLKeyValue => e.type === 'TOMLKeyValue'), '');
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('kv' in item) {
      const names = keyName(item.kv.key);
      const key = [item.path, ...names].filter((s) => s !== '').join('.');
      const v = item.kv.value;
      if (v.type === 'TOMLValue' && (v.kind === 'integer' || v.kind === 'float')) {
        const [start, end] = v.range;
        out.push({ name: names[names.length - 1], key, value: v.value, text: src.slice(start, end), start, end, container: item.container });
      } else {
        stack.push({ value: v, path: key });
      }
    } else if (item.value.type === 'TOMLInlineTable') {
      pushBody(item.value.body, item.path);
    } else if (item.value.type === 'TOMLArray') {
      item.value.elements.forEach((el, i) => stack.push({ value: el, path: `${item.path}[${i}]` }));
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
