/**
 * The runs view's commands: refresh, include/exclude a run from the fit, set a run's η, reveal its log
 * file. Exclusions and η live in workspaceState (never in the workspace) and reach the CLI as
 * `--exclude-run` / `--set-lr`; an analysed folder is re-analysed right away.
 */
import * as vscode from 'vscode';
import { parseLearningRate } from '../state/runOverrides';
import { displayText, type RunRef, type TreeNodeVM } from '../runsView/viewModel';
import type { Services } from './services';

function runOf(arg: unknown): RunRef | undefined {
  const run = (arg as TreeNodeVM | undefined)?.run;
  return run && typeof run.root === 'string' && typeof run.runId === 'string' ? run : undefined;
}

async function reanalyseIfShown(s: Services, root: string): Promise<void> {
  if (s.ctx.store.get(root)?.results) await s.jobs.analyze([root], { quiet: true });
}

export async function refreshRuns(s: Services): Promise<void> {
  const entries = s.ctx.store.roots();
  const analysed = entries.filter((e) => e.results !== null).map((e) => e.root);
  const listed = entries.filter((e) => e.results === null).map((e) => e.root);
  await Promise.all([s.jobs.discover(listed), analysed.length ? s.jobs.analyze(analysed, { quiet: true }) : undefined]);
}

export async function setRunIncluded(s: Services, root: string, runId: string, included: boolean): Promise<void> {
  await s.ctx.setOverrides(s.ctx.overrides.withExcluded(root, runId, !included));
  s.ctx.log.info(`${included ? 'included' : 'excluded'} run ${runId} of ${root} ${included ? 'in' : 'from'} the fit`);
  await reanalyseIfShown(s, root);
}

export async function setRunLr(s: Services, root: string, runId: string, lr: number | null): Promise<void> {
  await s.ctx.setOverrides(s.ctx.overrides.withLr(root, runId, lr));
  s.ctx.log.info(lr === null ? `forgot the η set for run ${runId} of ${root}` : `set η = ${lr} for run ${runId} of ${root}`);
  await reanalyseIfShown(s, root);
}

export async function includeRun(s: Services, arg: unknown): Promise<void> {
  const run = runOf(arg);
  if (run) await setRunIncluded(s, run.root, run.runId, true);
}

export async function excludeRun(s: Services, arg: unknown): Promise<void> {
  const run = runOf(arg);
  if (run) await setRunIncluded(s, run.root, run.runId, false);
}

/** Asks for η (validated > 0); an empty answer forgets an η set earlier. */
export async function promptRunLr(s: Services, arg: unknown): Promise<void> {
  const run = runOf(arg);
  if (!run) return;
  const wasSet = s.ctx.overrides.lrOf(run.root, run.runId) !== undefined;
  const text = await vscode.window.showInputBox({
    title: `Learning rate of ${displayText(run.name, 60)}`,
    prompt: wasSet
      ? 'η used for this run in the fit (leave empty to forget the value you set)'
      : run.lr === null
        ? 'η used for this run in the fit (its logs do not say)'
        : 'η used for this run in the fit (replaces what its logs say)',
    value: run.lr === null ? '' : String(run.lr),
    placeHolder: 'e.g. 0.01 or 1e-3',
    ignoreFocusOut: true,
    validateInput: (t) => {
      if (wasSet && t.trim() === '') return null;
      const r = parseLearningRate(t);
      return r.ok ? null : r.error;
    },
  });
  if (text === undefined) return;
  if (text.trim() === '') {
    if (wasSet) await setRunLr(s, run.root, run.runId, null);
    return;
  }
  const parsed = parseLearningRate(text);
  if (parsed.ok) await setRunLr(s, run.root, run.runId, parsed.value);
}

/** The first log file of a run: the ones discovery listed, else a search of the run's folder. */
async function logFileOf(run: RunRef): Promise<vscode.Uri | undefined> {
  if (run.files.length) return vscode.Uri.file(run.files[0]);
  const base = vscode.Uri.file(run.absPath);
  const stat = await vscode.workspace.fs.stat(base).then(
    (st) => st,
    () => undefined,
  );
  if (!stat) return undefined;
  if (stat.type & vscode.FileType.File) return base;
  const found = await vscode.workspace.findFiles(
    new vscode.RelativePattern(base, '{events.out.tfevents.*,metrics.csv,trainer_state.json,*.jsonl,metrics/*,*.csv}'),
    undefined,
    1,
  );
  return found[0] ?? base;
}

export async function revealRunLog(s: Services, arg: unknown): Promise<void> {
  const run = runOf(arg);
  if (!run) return;
  const file = await logFileOf(run);
  if (!file) {
    void vscode.window.showWarningMessage(`Heat Capacity: ${run.absPath} is gone.`);
    return;
  }
  s.ctx.log.info(`revealing ${file.fsPath}`);
  if (vscode.workspace.getWorkspaceFolder(file)) await vscode.commands.executeCommand('revealInExplorer', file);
  else await vscode.commands.executeCommand('revealFileInOS', file);
}
