import * as path from 'node:path';
import type { AnalysisResult } from '../../core/result/schema';

/** One analysis result the server knows, and where it came from. */
export interface StoredResult {
  result: AnalysisResult;
  /**
   * Folders whose documents this result applies to by proximity (absolute, normalised): its `root`,
   * plus the folder holding `.heatcap/` for a result file, or the pushed root.
   */
  scopes: string[];
  origin: { kind: 'pushed'; root: string } | { kind: 'file'; file: string };
}

/** Normalises a file-system path for prefix comparisons (case-insensitive file systems on Windows). */
export function normalizePath(p: string): string {
  const resolved = path.resolve(p);
  return process.platform === 'win32' ? resolved.toLowerCase() : resolved;
}

/** Results pushed by the extension (by root) and read from result files (by file), in one place. */
export class ResultStore {
  private readonly pushed = new Map<string, StoredResult[]>();
  private readonly files = new Map<string, StoredResult[]>();
  /** Incremented on every change, so cached lens titles know when to recompute. */
  generation = 0;

  setPushed(root: string, results: AnalysisResult[]): void {
    const key = normalizePath(root);
    if (results.length === 0) this.pushed.delete(key);
    else {
      this.pushed.set(
        key,
        results.map((result) => ({ result, scopes: uniq([normalizePath(result.root), key]), origin: { kind: 'pushed', root } })),
      );
    }
    this.generation++;
  }

  /** The results read from one file (`heatcap analyze --all` writes several); undefined forgets the file. */
  setFile(file: string, results: AnalysisResult[] | undefined): void {
    if (results === undefined) {
      if (!this.files.delete(file)) return;
    } else {
      // <dir>/.heatcap/analysis.json applies to documents under <dir>.
      const holder = normalizePath(path.dirname(path.dirname(file)));
      this.files.set(
        file,
        results.map((result) => ({ result, scopes: uniq([normalizePath(result.root), holder]), origin: { kind: 'file', file } })),
      );
    }
    this.generation++;
  }

  hasFile(file: string): boolean {
    return this.files.has(file);
  }

  fileNames(): string[] {
    return [...this.files.keys()];
  }

  all(): StoredResult[] {
    return [...[...this.pushed.values()].flat(), ...[...this.files.values()].flat()];
  }
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}
