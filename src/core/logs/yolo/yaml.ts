import { parse } from 'yaml';

/**
 * YAML as plain data. Python's yaml.dump writes typed tags (`!!python/object:argparse.Namespace`,
 * `!!python/tuple`, `!!python/object/apply:pathlib.PosixPath`, `!!set`, `!!binary`, `!!timestamp`):
 * none is constructed here. Tags this parser does not know leave their node as the plain map, list or
 * string it is written as; the YAML 1.1 types it does know (`!!set`, `!!omap`, `!!binary`, `!!timestamp`)
 * stay plain too (a set is a map of keys to null, a binary its base64 text). Lightning's class names
 * (`!!python/name:torch.optim.sgd.SGD ''`) are kept as the dotted name.
 */
export function parseYamlPlain(text: string): unknown {
  return parse(text.replace(/!!python\/name:([\w.]+)\s*(''|"")?/g, '$1'), { logLevel: 'silent', uniqueKeys: false, resolveKnownTags: false, schema: 'core', maxAliasCount: 1000 });
}
