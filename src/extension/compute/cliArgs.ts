/**
 * Builds the `heatcap` command lines the extension runs, from the settings and the user's run
 * overrides. The CLI is the one place options are interpreted; this module only spells them.
 *
 * Settings at their defaults are left out, so a default configuration produces the shortest command
 * (the one a user would type) and the CLI's own defaults apply.
 */
import { DEFAULT_SETTINGS, resolveSettingPath, type Settings } from '../config';
import type { RootOverrides } from '../state/runOverrides';

/** Shortest text that reads back as the same double (what JSON and the CLI's Number() expect). */
function numberArg(x: number): string {
  return String(x);
}

/**
 * `--name=value` in one argument: a value that starts with `-` (a run folder called `--all`) must not
 * be read as a flag, and node's parseArgs refuses `--name -value` as ambiguous.
 */
function opt(name: string, value: string): string {
  return `--${name}=${value}`;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Discovery flags shared by `runs` and `analyze`. The depth is always given (the setting is the user's
 * answer even when it equals the CLI's default); the lists only when they differ from the defaults.
 */
function discoveryFlags(s: Settings): string[] {
  const args: string[] = [opt('max-depth', String(s.runs.maxDepth))];
  const d = DEFAULT_SETTINGS;
  if (!sameList(s.runs.include, d.runs.include)) for (const g of s.runs.include) args.push(opt('include-glob', g));
  if (!sameList(s.runs.exclude, d.runs.exclude)) for (const g of s.runs.exclude) args.push(opt('exclude-glob', g));
  if (!sameList(s.lrKeys, d.lrKeys)) for (const k of s.lrKeys) args.push(opt('lr-key', k));
  return args;
}

/** `heatcap runs <root> --json`. */
export function runsArgs(root: string, settings: Settings): string[] {
  return ['runs', root, ...discoveryFlags(settings), '--json'];
}

export interface CheckpointPaths {
  model: string;
  data: string;
  labels: string | null;
  loss: string | null;
}

/**
 * The checkpoint the settings name, with paths resolved against the workspace folder; null when no
 * model is set (the analysis then has observations only). A model without data is passed as it is:
 * the CLI says what is missing.
 */
export function checkpointFromSettings(settings: Settings, folder: string | undefined): CheckpointPaths | null {
  const c = settings.checkpoint;
  const model = resolveSettingPath(c.model, folder);
  if (model === null) return null;
  return {
    model,
    data: resolveSettingPath(c.data, folder) ?? '',
    labels: resolveSettingPath(c.labels, folder),
    loss: c.loss,
  };
}

function checkpointFlags(c: CheckpointPaths | null): string[] {
  if (!c) return [];
  const args = [opt('model', c.model)];
  if (c.data) args.push(opt('data', c.data));
  if (c.labels) args.push(opt('labels', c.labels));
  if (c.loss) args.push(opt('loss', c.loss));
  return args;
}

function backendFlags(s: Settings): string[] {
  return s.backend === 'auto' ? [] : [opt('backend', s.backend)];
}

/** The gradient engine, its ONNX Runtime build, the cross-entropy semantics and the frozen parameters (analyze and gradnorms; the lab trains with TF.js). */
function engineFlags(s: Settings): string[] {
  return [
    ...(s.engine === 'auto' ? [] : [opt('engine', s.engine)]),
    ...(s.engineRuntime === 'auto' ? [] : [opt('runtime', s.engineRuntime)]),
    ...(s.lossSemantics === 'exact' ? [] : [opt('loss-semantics', s.lossSemantics)]),
    ...(s.checkpoint.frozen.length ? [opt('freeze', s.checkpoint.frozen.join(','))] : []),
  ];
}

export interface AnalyzeRequest {
  root: string;
  /** Analyse every sweep and single run under `root` (the runs view and the panel want all of them). */
  all: boolean;
  sweepId?: string;
  checkpoint: CheckpointPaths | null;
  overrides: RootOverrides;
}

/** `heatcap analyze <root> … --json`, in the order of the CLI contract. */
export function analyzeArgs(req: AnalyzeRequest, s: Settings): string[] {
  const args = ['analyze', req.root];
  if (req.all) args.push('--all');
  if (req.sweepId !== undefined) args.push(opt('sweep', req.sweepId));
  args.push(...discoveryFlags(s));
  if (s.lossTag !== null) args.push(opt('tag', s.lossTag));
  args.push(...checkpointFlags(req.checkpoint));
  args.push(...backendFlags(s));
  args.push(...engineFlags(s));
  if (s.batchSize !== null) args.push(opt('batch-size', numberArg(s.batchSize)));
  if (s.momentum !== null) args.push(opt('momentum', numberArg(s.momentum)));
  if (s.sampling !== 'auto') args.push(opt('sampling', s.sampling));
  if (s.optimizer !== 'auto') args.push(opt('optimizer', s.optimizer));
  if (!s.finiteEta.enabled) args.push('--no-finite-eta');
  else {
    if (s.finiteEta.directions !== DEFAULT_SETTINGS.finiteEta.directions) args.push(opt('eigenpairs', String(s.finiteEta.directions)));
    if (s.finiteEta.fullSolve) args.push('--finite-eta-full');
  }
  // Sorted so the same state always gives the same command line (easy to compare in the log).
  for (const id of [...req.overrides.excluded].sort()) args.push(opt('exclude-run', id));
  for (const [id, lr] of [...req.overrides.lr].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) args.push(opt('set-lr', `${id}=${numberArg(lr)}`));
  args.push('--json');
  return args;
}

/** `heatcap gradnorms --model … --data … --json`. */
export function gradNormsArgs(checkpoint: CheckpointPaths, s: Settings): string[] {
  return ['gradnorms', ...checkpointFlags(checkpoint), ...backendFlags(s), ...engineFlags(s), '--json'];
}

/**
 * `heatcap example --data … --index i --json`: one training example for the panel. The model is passed
 * for its input shape (how to draw the row), the labels when the data file does not hold them.
 */
export function exampleArgs(source: { data: string; labels: string | null; model: string | null }, index: number): string[] {
  const args = ['example', opt('data', source.data)];
  if (source.labels) args.push(opt('labels', source.labels));
  if (source.model) args.push(opt('model', source.model));
  args.push(opt('index', String(index)), '--json');
  return args;
}

/**
 * A command line as a user would paste it into a POSIX shell, for the output channel ("the extension
 * ran this; run it yourself to reproduce"). Quoting is for reading, not for executing.
 */
export function displayCommand(args: readonly string[]): string {
  const quote = (a: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['heatcap', ...args].map(quote).join(' ');
}

export interface SweepRequest {
  checkpoint: CheckpointPaths;
  lrs: number[];
  steps: number;
  batchSize: number;
  /** Folder the lab writes its runs into (one sub-folder per η, ordinary logs). */
  out: string;
}

/** `heatcap sweep …`: the sweep lab (SGD from the checkpoint at several η, written as ordinary logs). */
export function sweepArgs(req: SweepRequest, s: Settings): string[] {
  return [
    'sweep',
    ...checkpointFlags(req.checkpoint),
    opt('lrs', req.lrs.map(numberArg).join(',')),
    opt('steps', String(req.steps)),
    opt('batch-size', String(req.batchSize)),
    ...(s.momentum !== null ? [opt('momentum', numberArg(s.momentum))] : []),
    ...(s.sampling !== 'auto' ? [opt('sampling', s.sampling)] : []),
    ...backendFlags(s),
    opt('out', req.out),
    '--json',
  ];
}
