/**
 * Learning-rate settings in YAML configs (Hydra, Lightning, HF, plain): a mapping key judged by
 * `keys.ts` (`lr`, `optimizer.lr`, `base_lr` …) whose value is a plain (unquoted) number scalar.
 * Parsed with `yaml` (YAML 1.2 core schema, source ranges on every node). A document with a parse
 * error gives no setting: YAML errors can shift the meaning of everything after them.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { isYaml11String } from './numbers';
import { configSettings, type KeyedNumber } from './nearby';
import { MAX_SETTINGS_PER_DOCUMENT, type DetectedSetting, type DetectResult } from './types';

export function detectYaml(src: string): DetectResult {
  const settings: DetectedSetting[] = [];
  const errors: string[] = [];
  const docs = parseAllDocuments(src, { prettyErrors: false, uniqueKeys: false });
  for (const doc of Array.isArray(docs) ? docs : []) {
    if (doc.errors.length > 0) {
      errors.push(doc.errors[0].message.split('\n')[0]);
      continue;
    }
    const found = configSettings(keyedNumbers(src, doc.contents), (s, n) => {
      if (isYaml11String(n.text)) {
        s.notes = [`PyYAML (YAML 1.1) reads \`${n.text}\` as a string; write it with a dot and a signed exponent (e.g. \`3.0e-4\`) if a plain yaml.safe_load reads this file.`];
      }
    });
    settings.push(...found.slice(0, Math.max(0, MAX_SETTINGS_PER_DOCUMENT + 1 - settings.length)));
    if (settings.length > MAX_SETTINGS_PER_DOCUMENT) break;
  }
  return errors.length > 0 ? { settings, error: errors[0] } : { settings };
}

/** Every `key: <plain number>` pair of one document, walked without recursion (depth is attacker-controlled). */
function keyedNumbers(src: string, root: YamlNode | null): KeyedNumber[] {
  const out: KeyedNumber[] = [];
  const stack: { node: unknown; path: string }[] = [{ node: root, path: '' }];
  let containerId = 0;
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (isMap(node)) {
      const container = containerId++;
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const name = String(pair.key.value);
        const key = path ? `${path}.${name}` : name;
        const v = pair.value;
        if (isScalar(v) && typeof v.value === 'number' && v.type === 'PLAIN' && v.range) {
          const [start, end] = v.range;
          out.push({ name, key, value: v.value, text: src.slice(start, end), start, end, container });
        } else if (!isAlias(v)) {
          stack.push({ node: v, path: key });
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => stack.push({ node: item, path: `${path}[${i}]` }));
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
