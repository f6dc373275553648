/**
 * Keeps the store in step with the `.heatcap/analysis*.json` files on disk: a full (bounded) scan at
 * start and on every poll, re-reading only files whose size or mtime changed, plus immediate re-reads
 * of the files a client's watcher reports. Invalid files are logged once per change and skipped.
 */
import { promises as fs } from 'node:fs';
import { describeError } from '../../core/errors';
import { DEFAULT_SCAN_LIMITS, findResultFiles, isResultFileName, readResultFile, type ScanLimits } from './scan';
import type { ResultStore } from './store';

const FULL_SCAN_EVERY = 6;

interface Seen {
  size: number;
  mtimeMs: number;
}

export class ResultFiles {
  private readonly seen = new Map<string, Seen>();
  private running: Promise<boolean> | undefined;
  private rerun = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ResultStore,
    private readonly roots: () => string[],
    private readonly log: (message: string) => void,
    private readonly limits: ScanLimits = DEFAULT_SCAN_LIMITS,
  ) {}

  /** Rescans the workspace; resolves true when the store changed. Calls during a scan coalesce into one more. */
  refresh(): Promise<boolean> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = (async () => {
      let changed = false;
      try {
        do {
          this.rerun = false;
          changed = (await this.scanOnce()) || changed;
        } while (this.rerun);
      } finally {
        this.running = undefined;
      }
      return changed;
    })();
    return this.running;
  }

  /** Re-reads the given files (from `workspace/didChangeWatchedFiles`); resolves true when the store changed. */
  async reload(files: string[]): Promise<boolean> {
    let changed = false;
    for (const f of files.filter(isResultFileName)) changed = (await this.sync(f)) || changed;
    return changed;
  }

  /**
   * Polls every `ms` (unref'd: never keeps the process alive): each tick re-stats the known files, every
   * `FULL_SCAN_EVERY`-th tick also searches the workspace for new ones (a folder walk costs far more
   * than a few stats). `onChange` runs when the store changed.
   */
  startPolling(ms: number, onChange: () => void): void {
    this.stopPolling();
    if (!(ms > 0)) return;
    let tick = 0;
    this.timer = setInterval(() => {
      const work = tick++ % FULL_SCAN_EVERY === 0 ? this.refresh() : this.reload(this.store.fileNames());
      void work.then((changed) => changed && onChange());
    }, ms);
    this.timer.unref();
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async scanOnce(): Promise<boolean> {
    const files = await findResultFiles(this.roots(), this.limits);
    let changed = false;
    const present = new Set(files);
    for (const f of this.store.fileNames()) {
      if (!present.has(f)) changed = (await this.sync(f)) || changed;
    }
    for (const f of files) changed = (await this.sync(f)) || changed;
    return changed;
  }

  /** Brings one file's entry up to date; true when the store changed. */
  private async sync(file: string): Promise<boolean> {
    let stat: Seen;
    try {
      const s = await fs.stat(file);
      stat = { size: s.size, mtimeMs: s.mtimeMs };
    } catch {
      this.seen.delete(file);
      if (!this.store.hasFile(file)) return false;
      this.store.setFile(file, undefined);
      this.log(`results: ${file} removed`);
      return true;
    }
    const before = this.seen.get(file);
    if (before && before.size === stat.size && before.mtimeMs === stat.mtimeMs) return false;
    this.seen.set(file, stat);
    try {
      const results = await readResultFile(file);
      this.store.setFile(file, results);
      const versions = [...new Set(results.map((r) => r.schema_version))].join(', ');
      this.log(`results: read ${file} (${results.length} result${results.length === 1 ? '' : 's'}, schema ${versions})`);
      return true;
    } catch (e) {
      this.log(`results: ignored ${describeError(e)}`);
      const had = this.store.hasFile(file);
      this.store.setFile(file, undefined);
      return had;
    }
  }
}
