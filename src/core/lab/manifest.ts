import { readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { HeatcapError } from '../errors';
import type { Sampling } from '../runs/model';
import type { LabSetup } from './config';

export const MANIFEST_FILE = 'sweep.json';

/** One run's entry: `path` (the event-file copy, which the sweep groups) and its CSV copy, with timing. */
export interface ManifestRun {
  path: string;
  lr: number;
  csv: string;
  steps_done?: number;
  seconds?: number;
  steps_per_second?: number;
  diverged?: boolean;
}

/**
 * `sweep.json` as the lab writes it. `name` and `runs` ({path, lr}) are what run discovery reads
 * (src/core/runs/sweeps.ts); the rest tells `heatcap analyze` which checkpoint, data and loss the runs
 * started from and how they were trained (src/core/analysis/manifest.ts), with paths relative to the
 * manifest's folder, in snake_case like the result schema.
 */
export interface LabManifest {
  name: string;
  tool_version: string;
  /** False while runs are still going (or were stopped): `heatcap sweep --resume <dir>` continues them. */
  complete: boolean;
  checkpoint: string;
  data: string;
  labels?: string;
  loss?: string;
  started_at_checkpoint: true;
  batch_size: number;
  sampling: Sampling;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weight_decay: number;
  seed: number;
  steps: number;
  burn_in: number;
  log_every: number;
  full_loss_every: number;
  dataset_size?: number;
  /** Full-training-set loss at the checkpoint (L* of the secant fit, THEORY.md §5), as the lab computed it. */
  checkpoint_loss?: number;
  engine?: string;
  engine_requested: string;
  backend: string;
  runs: ManifestRun[];
}

/** A path as written in the manifest: relative to its folder, with forward slashes. */
export function manifestPath(sweepDir: string, file: string): string {
  return relative(sweepDir, resolve(file)).split(sep).join('/');
}

export async function writeManifest(sweepDir: string, m: LabManifest): Promise<void> {
  const file = join(sweepDir, MANIFEST_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(m, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export function setupOfManifest(m: LabManifest): LabSetup {
  return {
    batchSize: m.batch_size,
    sampling: m.sampling,
    momentum: m.momentum,
    dampening: m.dampening,
    nesterov: m.nesterov,
    weightDecay: m.weight_decay,
    seed: m.seed,
    steps: m.steps,
    burnIn: m.burn_in,
    logEvery: m.log_every,
    fullLossEvery: m.full_loss_every,
  };
}

/** Reads a manifest the lab wrote (for `--resume`); anything else is an error naming the file. */
export async function readLabManifest(sweepDir: string): Promise<LabManifest | undefined> {
  const file = join(sweepDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let m: LabManifest;
  try {
    m = JSON.parse(text) as LabManifest;
  } catch (e) {
    throw new HeatcapError(file, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const nums = ['batch_size', 'momentum', 'dampening', 'weight_decay', 'seed', 'steps', 'burn_in', 'log_every', 'full_loss_every'] as const;
  const bad = nums.find((k) => typeof m[k] !== 'number');
  if (bad || typeof m.checkpoint !== 'string' || typeof m.data !== 'string' || !Array.isArray(m.runs) || m.runs.some((r) => typeof r.lr !== 'number' || typeof r.path !== 'string' || typeof r.csv !== 'string')) {
    throw new HeatcapError(file, `was not written by 'heatcap sweep' (${bad ? `"${bad}" missing` : 'checkpoint, data or runs missing'}); cannot resume it`);
  }
  return m;
}
