import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseJsonLenient } from '../logs/json-lenient';
import { flattenParams, type ParamSource } from '../logs/types';
import { parseYamlPlain } from '../logs/yolo/yaml';
import type { RunWarning } from './model';

/**
 * Configuration files written beside the logs by common tools: Lightning's `hparams.yaml`, Hydra-style
 * `config.yaml`, argparse dumps (`args.json`), `config.json`. Nested keys are flattened to `a.b`.
 * Checked in this order; a file that does not parse is a warning, not an error.
 */
export const SIDE_FILES = ['hparams.yaml', 'hparams.yml', 'hparams.json', 'config.yaml', 'config.yml', 'config.json', 'args.json', 'args.yaml', 'args.yml'];
const MAX_SIDE_FILE_BYTES = 4 * 1024 * 1024;

export async function readSideFiles(dir: string, present: (name: string) => boolean): Promise<{ sources: ParamSource[]; warnings: RunWarning[] }> {
  const sources: ParamSource[] = [];
  const warnings: RunWarning[] = [];
  for (const name of SIDE_FILES) {
    if (!present(name)) continue;
    const file = join(dir, name);
    try {
      if ((await stat(file)).size > MAX_SIDE_FILE_BYTES) {
        warnings.push({ file, message: `larger than ${MAX_SIDE_FILE_BYTES} bytes; not read for hyperparameters` });
        continue;
      }
      const text = await readFile(file, 'utf8');
      // Typed tags (`!!python/object…`, `!!set`, `!!binary`) are read as the plain data they are written as.
      const doc = name.endsWith('.json') ? parseJsonLenient(text) : parseYamlPlain(text);
      sources.push({ label: name, file, values: flattenParams(doc) });
    } catch (e) {
      warnings.push({ file, message: `could not be parsed for hyperparameters (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` });
    }
  }
  return { sources, warnings };
}
