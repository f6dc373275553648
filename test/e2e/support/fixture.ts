/**
 * The workspace the real-host suites open, generated at run time from committed material (the bundled
 * digits example) so nothing large is committed twice:
 *
 *   <base>/workspace/                 the folder opened in the workbench
 *     softmax-iid/sweep.json          the i.i.d. sweep (TensorBoard runs only), checkpoint paths rewritten
 *     softmax-iid/tensorboard/lr_*    four runs, η = 0.0025 … 0.02
 *     softmax-iid/tensorboard/<img src=x onerror=alert(1)>   a copy of lr_0.01 under a hostile name
 *     checkpoints/softmax/, data/     the checkpoint at the optimum and its training data
 *     train.py (lr=0.01), config.yaml (optimizer.lr: 0.005)
 *   <base>/outside/                   not in the workspace: the slow reshuffle sweep the cancel test
 *     sweeps/softmax-reshuffle, checkpoints/softmax, data   analyses (its Hessian takes ~20 s), the
 *                                     example's own layout so its sweep.json paths hold unchanged
 *     live/lr_0.01/                   a CSV run "being written": the first 600 rows of the example's
 *                                     lr_0.01 metrics.csv and its hparams.yaml; the live test appends
 *     lab/previous/                   where Run η Sweep… writes (a sub-folder so the folder dialog lists something)
 *
 * The sweep sits one level below the workspace folder (not under `sweeps/` as in the example) so that
 * its event files match the extension's `workspaceContains:*\/*\/*\/events.out.tfevents.*` activation
 * event: opening the folder activates the extension, as it would for a user.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';

export const HOSTILE_RUN = '<img src=x onerror=alert(1)>';
export const TRAIN_PY_LR = 0.01;
export const CONFIG_YAML_LR = 0.005;

export interface Fixture {
  base: string;
  workspace: string;
  /** The i.i.d. sweep folder inside the workspace. */
  sweep: string;
  /** The reshuffle sweep outside the workspace (slow to analyse). */
  slowSweep: string;
  trainPy: string;
  configYaml: string;
  /** Outside the workspace: the folder holding the run being written, and its metrics.csv. */
  live: string;
  liveCsv: string;
  /** Outside the workspace: the folder Run η Sweep… writes into. */
  lab: string;
}

const DIGITS = path.join(REPO_ROOT, 'examples', 'digits');

function requireExample(rel: string): string {
  const p = path.join(DIGITS, rel);
  try {
    readdirSync(p);
  } catch {
    throw new Error(`the e2e fixture needs ${path.relative(REPO_ROOT, p)} (the bundled digits example), which is missing`);
  }
  return p;
}

/** Copies a sweep's sweep.json and its TensorBoard runs (the CSV copies of the same runs are left out). */
function copySweep(from: string, to: string, rewrite?: (sweepJson: Record<string, unknown>) => void): void {
  mkdirSync(to, { recursive: true });
  cpSync(path.join(from, 'tensorboard'), path.join(to, 'tensorboard'), { recursive: true });
  const json = JSON.parse(readFileSync(path.join(from, 'sweep.json'), 'utf8')) as Record<string, unknown>;
  rewrite?.(json);
  writeFileSync(path.join(to, 'sweep.json'), `${JSON.stringify(json, null, 2)}\n`);
}

function copyCheckpointAndData(to: string): void {
  cpSync(requireExample('checkpoints/softmax'), path.join(to, 'checkpoints', 'softmax'), { recursive: true });
  mkdirSync(path.join(to, 'data'), { recursive: true });
  for (const f of ['x.npy', 'y.npy']) cpSync(path.join(requireExample('data'), f), path.join(to, 'data', f));
}

export function makeFixture(base = mkdtempSync(path.join(os.tmpdir(), 'heatcap-e2e-ws-'))): Fixture {
  const workspace = path.join(base, 'workspace');
  const sweep = path.join(workspace, 'softmax-iid');
  copySweep(requireExample('sweeps/softmax-iid'), sweep, (json) => {
    // One level up instead of two (see the layout above): the paths stay relative and valid.
    json.checkpoint = '../checkpoints/softmax/model.json';
    json.data = '../data/x.npy';
    json.labels = '../data/y.npy';
  });
  cpSync(path.join(sweep, 'tensorboard', 'lr_0.01'), path.join(sweep, 'tensorboard', HOSTILE_RUN), { recursive: true });
  copyCheckpointAndData(workspace);

  const trainPy = path.join(workspace, 'train.py');
  writeFileSync(
    trainPy,
    [
      'import torch',
      '',
      '',
      'def make_optimizer(model):',
      `    return torch.optim.SGD(model.parameters(), lr=${TRAIN_PY_LR}, momentum=0.0)`,
      '',
    ].join('\n'),
  );
  const configYaml = path.join(workspace, 'config.yaml');
  writeFileSync(configYaml, ['optimizer:', '  name: sgd', `  lr: ${CONFIG_YAML_LR}`, 'data:', '  batch_size: 8', ''].join('\n'));

  const outside = path.join(base, 'outside');
  const slowSweep = path.join(outside, 'sweeps', 'softmax-reshuffle');
  copySweep(requireExample('sweeps/softmax-reshuffle'), slowSweep);
  copyCheckpointAndData(outside);

  const live = path.join(outside, 'live');
  const liveRun = path.join(live, 'lr_0.01');
  mkdirSync(liveRun, { recursive: true });
  const csvRun = requireExample('sweeps/softmax-iid/csv/lr_0.01');
  cpSync(path.join(csvRun, 'hparams.yaml'), path.join(liveRun, 'hparams.yaml'));
  const rows = readFileSync(path.join(csvRun, 'metrics.csv'), 'utf8').split('\n').filter((l) => l.length > 0);
  const liveCsv = path.join(liveRun, 'metrics.csv');
  writeFileSync(liveCsv, `${rows.slice(0, 601).join('\n')}\n`);
  const lab = path.join(outside, 'lab');
  mkdirSync(path.join(lab, 'previous'), { recursive: true });
  return { base, workspace, sweep, slowSweep, trainPy, configYaml, live, liveCsv, lab };
}

// `tsx test/e2e/support/fixture.ts [dir]` builds one by hand (to open it in an editor, or in runHost).
if (require.main === module) {
  const dir = process.argv[2];
  if (dir) mkdirSync(dir, { recursive: true });
  console.log(JSON.stringify(makeFixture(dir ? path.resolve(dir) : undefined), null, 2));
}
