import { relative, resolve } from 'node:path';
import type { CliCommand, CliIo } from '../command';
import { parseCommandArgs, toJson } from '../args';
import { DISCOVERY_FLAGS, discoveryFromFlags, discoveryHelp } from '../discoveryFlags';
import { discoverRuns } from '../../core/runs/discover';
import type { Run, RunHparams, RunWarning } from '../../core/runs/model';
import { summarizeTags } from '../../core/runs/tags';

const usage = `usage: heatcap runs <path> [--json] [--max-depth N] [--include-glob G]… [--exclude-glob G]… [--lr-key K]…

Finds every training run under <path> (TensorBoard event files, Lightning/Keras/generic CSV, JSONL,
HuggingFace trainer_state.json, MLflow file store), with its learning rate, batch size and momentum and
where each was found, its scalar tags, and the sweeps the runs form.

  --json                print {"runs":[{"id","path","format","files","hparams":{…},"hparam_sources":{…},"tags":{…},"warnings":[…]}],"sweeps":[…],"warnings":[…]}
                        ("files": absolute paths of the run's log files)
${discoveryHelp(21)}
`;

const HPARAM_KEYS: (keyof Omit<RunHparams, 'raw'>)[] = ['lr', 'batch_size', 'momentum', 'dampening', 'nesterov', 'optimizer', 'weight_decay', 'sampling', 'dataset_size'];

/** Control characters in untrusted names would garble a terminal: show them as \\xNN in the table. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function relFile(root: string, file: string | undefined): string | undefined {
  if (!file) return undefined;
  const r = relative(root, file).split(/[\\/]/).join('/');
  return r === '' ? '.' : r;
}

export function warningText(root: string, w: RunWarning): string {
  const f = relFile(root, w.file);
  return f ? `${f}: ${w.message}` : w.message;
}

export function runJson(root: string, run: Run) {
  const h = run.hparams as unknown as Record<string, { value: unknown; source: string } | undefined>;
  return {
    id: run.id,
    path: run.path,
    name: run.name,
    format: run.format,
    files: run.files,
    hparams: Object.fromEntries(HPARAM_KEYS.map((k) => [k, h[k]?.value ?? null])),
    hparam_sources: Object.fromEntries(HPARAM_KEYS.map((k) => [k, h[k]?.source ?? null])),
    lr_tag: run.lrTag ?? null,
    step_unit: run.stepUnit ?? null,
    tags: summarizeTags(run),
    warnings: run.warnings.map((w) => warningText(root, w)),
  };
}

function fmt(x: unknown): string {
  if (x === undefined || x === null) return '-';
  if (typeof x === 'number') return Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+(e|$)/, '$1');
  return String(x);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
}

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'list the training runs under a folder, with η, B, momentum (and their sources) and tags',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, ...DISCOVERY_FLAGS }, usage);
    if (positionals.length !== 1) {
      io.err(`heatcap: expected one <path>, got ${positionals.length} (see 'heatcap runs --help')\n`);
      return 2;
    }
    const discovery = discoveryFromFlags(values);
    const root = resolve(io.cwd, positionals[0]);
    const ipc = io.ipc ?? null;
    const found = await discoverRuns(root, { ...discovery, onProgress: ipc ? (p) => ipc.progress({ fraction: p.fraction, message: p.message ?? '' }) : undefined });
    const base = root;
    const allWarnings = [...found.warnings.map((w) => warningText(base, w)), ...found.runs.flatMap((r) => r.warnings.map((w) => `${r.path}: ${warningText(base, w)}`))];
    for (const w of allWarnings) io.err(`heatcap: warning: ${w}\n`);
    if (values.json) {
      io.out(
        toJson({
          runs: found.runs.map((r) => runJson(base, r)),
          sweeps: found.sweeps.map((s) => ({ id: s.id, path: s.path, name: s.name, runs: s.runIds })),
          warnings: found.warnings.map((w) => warningText(base, w)),
        }),
      );
      return 0;
    }
    if (found.runs.length === 0) {
      io.out(`no runs found under ${printable(root)}\n`);
      return 0;
    }
    const rows = [['PATH', 'FORMAT', 'LR', 'B', 'MOMENTUM', 'TAGS', 'LR SOURCE']];
    for (const r of found.runs) {
      const h = r.hparams;
      rows.push([printable(r.path), r.format, fmt(h.lr?.value), fmt(h.batch_size?.value), fmt(h.momentum?.value), String(Object.keys(r.scalars).length), printable(h.lr?.source ?? '-')]);
    }
    let text = table(rows);
    if (found.sweeps.length) {
      text += '\nsweeps:\n';
      for (const s of found.sweeps) text += `  ${printable(s.name)} (${printable(s.path)}): ${s.runIds.length} runs\n`;
    }
    io.out(text);
    return 0;
  },
};
