import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { HeatcapError } from '../errors';
import type { CancelToken } from '../cancel';
import { discoverRuns, statError } from './discover';
import type { Run } from './model';

/**
 * Reads the one run at `path` (a run folder or a single log file), whatever its format. A Keras run
 * folder with `train/` and `validation/` inside counts as one run, as does a TensorBoard folder with
 * PyTorch's hparams sub-folder. Throws a HeatcapError naming the path when it holds no run, or more
 * than one (then listing them).
 */
export async function readRun(path: string, opts: { token?: CancelToken } = {}): Promise<Run> {
  const abs = resolve(path);
  const st = await stat(abs).catch((e: NodeJS.ErrnoException) => statError(abs, e));
  const found = await discoverRuns(abs, { maxDepth: st.isFile() ? 0 : 2, token: opts.token });
  const own = found.runs.find((r) => r.path === '.');
  if (own) {
    own.warnings.push(...found.warnings);
    return own;
  }
  if (found.runs.length === 0) {
    const why = found.warnings.length ? `: ${found.warnings.map((w) => w.message).join('; ')}` : '';
    throw new HeatcapError(abs, `no training log found here${why}`);
  }
  const list = found.runs.slice(0, 8).map((r) => r.path);
  throw new HeatcapError(abs, `holds ${found.runs.length} runs, not one; point at one of: ${list.join(', ')}${found.runs.length > 8 ? ', …' : ''}`);
}
