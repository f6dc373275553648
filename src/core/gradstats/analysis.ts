/**
 * gradstats.json in the analysis: finding one (beside a checkpoint the engine cannot read, in a sweep
 * folder, in a run folder) and checking that it belongs to the runs analysed (same N, same loss).
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { HeatcapError } from '../errors';
import type { Run } from '../runs/model';
import { GRADSTATS_FILE_NAME } from './read';

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() === true;
}

/** Checkpoint formats the in-process engine reads: a gradstats.json beside any other is used instead. */
export function engineReadsModel(model: string): boolean {
  return /\.(json|onnx|keras|h5|hdf5)$/i.test(model);
}

/**
 * A gradstats.json for an analysis unit when no checkpoint or file was named: beside the checkpoint
 * (when the engine cannot read it, e.g. a PyTorch .pt), else in the sweep folder, else in one of the
 * runs' folders (the first, in run order).
 */
export async function discoverGradStats(opts: { model?: string }, sweepDir: string | null, runs: Run[]): Promise<string | undefined> {
  if (opts.model) {
    const beside = join(dirname(opts.model), GRADSTATS_FILE_NAME);
    return !engineReadsModel(opts.model) && (await isFile(beside)) ? beside : undefined;
  }
  const dirs: string[] = [];
  if (sweepDir) dirs.push(sweepDir);
  for (const r of runs) {
    const st = await stat(r.absPath).catch(() => undefined);
    dirs.push(st?.isDirectory() ? r.absPath : dirname(r.absPath));
  }
  for (const d of dirs) {
    const f = join(d, GRADSTATS_FILE_NAME);
    if (await isFile(f)) return f;
  }
  return undefined;
}

/** Loss families: names that denote the same per-example loss value (logits or probabilities alike). */
function lossFamily(name: string): string {
  const k = name
    .trim()
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/(_?from_?logits|:logits)$/, '')
    .replace(/[^a-z]/g, '');
  if (/^(sparsecategoricalcrossentropy|categoricalcrossentropy|crossentropy|crossentropyloss|nll|nllloss|negativeloglikelihood)$/.test(k)) return 'cross-entropy';
  if (/^(binarycrossentropy|bce|bceloss|bcewithlogits|bcewithlogitsloss|binarycrossentropywithlogits)$/.test(k)) return 'binary cross-entropy';
  if (/^(mse|mseloss|meansquarederror)$/.test(k)) return 'mean squared error';
  return k;
}

/**
 * Throws a HeatcapError when the file's N differs from the dataset size the runs record, or its loss
 * from the loss the analysis uses (--loss, the sweep manifest, or the runs' hyperparameters).
 */
export function checkGradStatsAgainstUnit(origin: { file: string; n: number; lossName: string }, runs: Run[], analysisLoss: string | undefined): void {
  const sizes = new Map<number, string>();
  for (const r of runs) {
    const d = r.hparams.dataset_size;
    if (d && Number.isFinite(d.value)) sizes.set(d.value, d.source);
  }
  for (const [n, source] of sizes) {
    if (n !== origin.n) {
      throw new HeatcapError(origin.file, `computed on N = ${origin.n} examples, but the runs were trained on dataset_size = ${n} (${source}): the statistics must cover the whole training set the runs sampled from`);
    }
  }
  let loss = analysisLoss;
  let where = '--loss / sweep.json';
  if (loss === undefined) {
    const recorded = new Set(runs.map((r) => r.hparams.raw.loss?.value).filter((v): v is string => typeof v === 'string'));
    if (recorded.size === 1) {
      loss = [...recorded][0];
      where = `the runs' hyperparameters (${basename(runs[0].absPath)}: loss)`;
    }
  }
  if (loss !== undefined && lossFamily(loss) !== lossFamily(origin.lossName)) {
    throw new HeatcapError(origin.file, `loss '${origin.lossName}' (${lossFamily(origin.lossName)}) disagrees with the analysis's loss '${loss}' (${lossFamily(loss)}, from ${where}): recompute the statistics with the loss the runs trained with`);
  }
}
