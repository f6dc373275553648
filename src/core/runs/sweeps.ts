import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseJsonLenient } from '../logs/json-lenient';
import type { Run, RunHparams, RunWarning, Sweep } from './model';
import type { SweepManifestRef } from './plan';

/**
 * Groups runs into loss-vs-η sweeps.
 *  - Explicit: a `sweep.json` manifest (written by the sweep lab) `{"name", "runs": [{"path", "lr"}]}`,
 *    paths relative to the manifest's folder, defines one sweep. A listed run that states no η takes the
 *    manifest's (source `sweep.json`); a run whose η differs keeps its own, with a warning. An entry's
 *    `csv` names a second copy of the same run in another format (the lab writes both): that copy is a
 *    mirror, returned in `mirrors` so discovery can drop it instead of reporting the run twice.
 *  - Implicit: runs with a learning rate, under the same folder, of the same format, whose other
 *    hyperparameters (B, momentum, dampening, Nesterov, optimizer, weight decay, sampling, N) are all
 *    equal (absent counts as a value), form a sweep when they cover at least two distinct η. The folder
 *    is the run's parent, or its grandparent (at most two levels up) when the parent's runs all share
 *    one η: Lightning lays a sweep out as `sweep/lr_0.1/version_0/`, `sweep/lr_0.01/version_0/`, ….
 */

interface Manifest {
  name?: unknown;
  runs?: unknown;
}

function parentPath(path: string): string | undefined {
  if (path === '.') return undefined;
  const i = path.lastIndexOf('/');
  return i < 0 ? '.' : path.slice(0, i);
}

const OTHER_FIELDS: (keyof RunHparams)[] = ['batch_size', 'momentum', 'dampening', 'nesterov', 'optimizer', 'weight_decay', 'sampling', 'dataset_size'];

/** Everything but η that decides the prediction, as a comparable key. */
export function sweepSignature(run: Run): string {
  const h = run.hparams as unknown as Record<string, { value: unknown } | undefined>;
  return JSON.stringify([run.format, ...OTHER_FIELDS.map((f) => h[f]?.value ?? null)]);
}

function baseName(path: string, rootName: string): string {
  return path === '.' ? rootName : path.slice(path.lastIndexOf('/') + 1);
}

export async function groupSweeps(runs: Run[], manifests: SweepManifestRef[], rootName: string): Promise<{ sweeps: Sweep[]; warnings: RunWarning[]; mirrors: Set<string> }> {
  const sweeps: Sweep[] = [];
  const warnings: RunWarning[] = [];
  const mirrors = new Set<string>();
  const inManifest = new Set<string>();
  const byAbs = new Map(runs.map((r) => [resolve(r.absPath), r]));

  for (const m of manifests) {
    let doc: Manifest;
    try {
      doc = parseJsonLenient(await readFile(m.file, 'utf8')) as Manifest;
    } catch (e) {
      warnings.push({ file: m.file, message: `not valid JSON (${e instanceof Error ? e.message : String(e)}); ignored` });
      continue;
    }
    if (!doc || typeof doc !== 'object' || !Array.isArray(doc.runs)) {
      warnings.push({ file: m.file, message: 'no "runs" array; ignored' });
      continue;
    }
    const ids: string[] = [];
    for (const entry of doc.runs as unknown[]) {
      const e = (entry && typeof entry === 'object' ? entry : {}) as { path?: unknown; lr?: unknown; csv?: unknown };
      if (typeof e.path !== 'string') {
        warnings.push({ file: m.file, message: 'a run entry has no "path"; skipped' });
        continue;
      }
      const run = byAbs.get(resolve(dirname(m.file), e.path));
      if (!run) {
        warnings.push({ file: m.file, message: `run '${e.path}' was not found (or holds no logs)` });
        continue;
      }
      if (typeof e.lr === 'number' && Number.isFinite(e.lr) && e.lr > 0) {
        if (!run.hparams.lr) run.hparams.lr = { value: e.lr, source: `sweep.json (${m.rel || '.'}): lr` };
        else if (run.hparams.lr.value !== e.lr)
          run.warnings.push({ file: m.file, message: `sweep.json says lr = ${e.lr}, but ${run.hparams.lr.source} says ${run.hparams.lr.value}; using the latter` });
      }
      ids.push(run.id);
      inManifest.add(run.id);
      const mirror = typeof e.csv === 'string' ? byAbs.get(resolve(dirname(m.file), e.csv)) : undefined;
      if (mirror && mirror !== run) mirrors.add(mirror.id);
    }
    const path = m.rel === '' ? '.' : m.rel;
    sweeps.push({ id: `${path}#sweep.json`, path, name: typeof doc.name === 'string' && doc.name ? doc.name : baseName(path, rootName), runIds: ids });
  }

  const candidates = runs.filter((r) => !inManifest.has(r.id) && !mirrors.has(r.id) && r.hparams.lr);
  /** Distinct η among the candidate runs below `folder`. */
  const distinctLrUnder = (folder: string): number =>
    new Set(candidates.filter((r) => folder === '.' || r.path.startsWith(`${folder}/`)).map((r) => r.hparams.lr?.value)).size;
  const groupFolder = (run: Run): string | undefined => {
    let folder = parentPath(run.path);
    for (let up = 0; up < 2 && folder !== undefined && folder !== '.' && distinctLrUnder(folder) < 2; up++) folder = parentPath(folder);
    return folder;
  };
  const groups = new Map<string, { parent: string; runs: Run[] }>();
  for (const run of candidates) {
    const parent = groupFolder(run);
    if (parent === undefined) continue;
    const key = JSON.stringify([parent, sweepSignature(run)]);
    const g = groups.get(key) ?? { parent, runs: [] };
    g.runs.push(run);
    groups.set(key, g);
  }
  const perParent = new Map<string, number>();
  const implicit = [...groups.values()].filter((g) => new Set(g.runs.map((r) => r.hparams.lr?.value)).size >= 2);
  for (const g of implicit) perParent.set(g.parent, (perParent.get(g.parent) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const g of implicit) {
    const k = (seen.get(g.parent) ?? 0) + 1;
    seen.set(g.parent, k);
    const many = (perParent.get(g.parent) ?? 0) > 1;
    const name = baseName(g.parent, rootName);
    const sorted = [...g.runs].sort((a, b) => (a.hparams.lr?.value ?? 0) - (b.hparams.lr?.value ?? 0));
    sweeps.push({ id: many ? `${g.parent}#${k}` : g.parent, path: g.parent, name: many ? `${name} (${k})` : name, runIds: sorted.map((r) => r.id) });
  }
  return { sweeps, warnings, mirrors };
}
