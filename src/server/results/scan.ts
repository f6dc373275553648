/**
 * Finding and reading the result files the CLI writes (`heatcap analyze <dir> --json >
 * <dir>/.heatcap/analysis.json`): any `.heatcap/analysis*.json` under the workspace folders, searched
 * breadth-first to a bounded depth and a bounded number of folders, so a huge workspace costs a
 * bounded amount of `readdir`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { HeatcapError } from '../../core/errors';
import type { AnalysisResult } from '../../core/result/schema';
import { parseAnalysisResult } from './validate';

export interface ScanLimits {
  /** Folder levels below a workspace folder searched for `.heatcap/` (the folder itself is depth 0). */
  maxDepth: number;
  /** Folders read per scan, over all workspace folders. */
  maxFolders: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxDepth: 6, maxFolders: 20_000 };

/** A result file larger than this is refused unread (a 100-run sweep with 2,000-point curves is ~10 MB). */
export const MAX_RESULT_FILE_BYTES = 64 * 1024 * 1024;

/** Folders never searched: dependencies, VCS data, caches and bulky tool output. */
const SKIP = new Set(['node_modules', '.git', '.hg', '.svn', '__pycache__', '.venv', 'venv', '.tox', '.mypy_cache', 'site-packages', 'wandb']);

const RESULT_FILE = /^analysis.*\.json$/;

export async function findResultFiles(roots: string[], limits: ScanLimits = DEFAULT_SCAN_LIMITS): Promise<string[]> {
  const found: string[] = [];
  let queue = roots.map((dir) => ({ dir, depth: 0 }));
  let read = 0;
  while (queue.length > 0 && read < limits.maxFolders) {
    const next: typeof queue = [];
    for (const { dir, depth } of queue) {
      if (read++ >= limits.maxFolders) break;
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name === '.heatcap') found.push(...(await resultFilesIn(path.join(dir, e.name))));
        else if (depth < limits.maxDepth && !SKIP.has(e.name) && !e.name.startsWith('.')) {
          next.push({ dir: path.join(dir, e.name), depth: depth + 1 });
        }
      }
    }
    queue = next;
  }
  return found.sort();
}

async function resultFilesIn(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isFile() && RESULT_FILE.test(e.name)).map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

export function isResultFileName(file: string): boolean {
  return path.basename(path.dirname(file)) === '.heatcap' && RESULT_FILE.test(path.basename(file));
}

/**
 * Reads and validates one result file: one `AnalysisResult`, or an array of them (what
 * `heatcap analyze --all --json` prints). Throws `HeatcapError` naming the file on any problem.
 */
export async function readResultFile(file: string): Promise<AnalysisResult[]> {
  const stat = await fs.stat(file);
  if (stat.size > MAX_RESULT_FILE_BYTES) {
    throw new HeatcapError(file, `${stat.size} bytes: larger than the ${MAX_RESULT_FILE_BYTES}-byte limit for result files`);
  }
  const text = await fs.readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new HeatcapError(file, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(json)) return [parseAnalysisResult(json, file)];
  return json.map((r, i) => parseAnalysisResult(r, `${file} [${i}]`));
}
