import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * Files the tests read from outside the repository, and the one way a test skips when they are absent.
 *
 * `../shared/data` (beside the repository) is the project's shared data folder; CI has it, a bare clone
 * does not. Its real logs are not ours to redistribute (../shared/data/real-logs/README.md), so they are
 * read in place and never committed: test/fixtures/real-logs/README.md lists each file, the tool that
 * wrote it, its upstream source and the tests that need it. The UCI digits are committed
 * (examples/digits/data, the same bytes as ../shared/data/digits/digits.csv.gz).
 */

const REPO = resolve(__dirname, '../..');

/** The shared data folder beside the repository (absent on a bare clone). */
export const SHARED_DATA = resolve(REPO, '../shared/data');

/** Real training logs written by other tools (Keras/TensorBoard, HuggingFace Trainer), read in place. */
export const REAL_LOGS = join(SHARED_DATA, 'real-logs');

/** The UCI digits CSV (1797 × 65), committed with the example: examples/digits/data/README.md. */
export const DIGITS_CSV = join(REPO, 'examples/digits/data/digits.csv.gz');

/**
 * Skips the current test (or, from a `before` hook, the whole suite) when `path` is missing, printing one
 * line with the reason; mocha then counts the tests as skipped ("pending"), and the tally line says so.
 * Call it with a `function () {…}` test's or hook's `this`.
 */
export function requireFileOrSkip(ctx: Mocha.Context, path: string, reason: string): void {
  if (existsSync(path)) return;
  const shown = relative(REPO, path) || path;
  console.log(`      skipped: ${reason} (${shown} not found)`);
  ctx.skip();
}

/** `requireFileOrSkip` for the real logs under ../shared/data/real-logs (`rel` relative to that folder). */
export function requireRealLogOrSkip(ctx: Mocha.Context, rel = ''): string {
  const path = join(REAL_LOGS, rel);
  requireFileOrSkip(ctx, path, 'needs the real logs in ../shared/data/real-logs, which are not redistributable (test/fixtures/real-logs/README.md)');
  return path;
}
