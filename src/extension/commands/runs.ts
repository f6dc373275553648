/**
 * The runs view's commands: refresh, include/exclude a run from the fit, set a run's η, open or reveal
 * its log file. Exclusions and η live in workspaceState (never in the workspace) and reach the CLI as
 * `--exclude-run` / `--set-lr`; an analysed folder is re-analysed right away.
 */
import * as vscode from 'vscode';
import { parseLearningRate } from '../state/runOverrides';
import { pickLogFile, type LogFileAction, type LogFileStat } from '../runsView/logFile';
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

/**
 * The log file to show: the first of the files discovery listed that still exists (opened when it is
 * text, revealed when it is an event file), else the run's folder searched for a log (a run known only
 * from a restored analysis has no listing).
 */
async function logFileOf(run: RunRef): Promise<LogFileAction | undefined> {
  const statOf = async (file: string): Promise<LogFileStat | undefined> =>
    vscode.workspace.fs.stat(vscode.Uri.file(file)).then(
      (st) => ({ isFile: (st.type & vscode.FileType.File) !== 0, size: st.size }),
      () => undefined,
    );
  const listed = await pickLogFile(run.files, statOf);
  if (listed) return listed;
  const base = vscode.Uri.file(run.absPath);
  const st = await statOf(run.absPath);
  if (!st) return undefined;
  if (st.isFile) return pickLogFile([run.absPath], statOf);
  const found = await vscode.workspace.findFiles(
    new vscode.RelativePattern(base, '{events.out.tfevents.*,metrics.csv,trainer_state.json,*.jsonl,metrics/*,*.csv}'),
    undefined,
    1,
  );
  return found[0] ? pickLogFile([found[0].fsPath], statOf) : { file: run.absPath, action: 'reveal' };
}

export async function revealRunLog(s: Services, arg: unknown): Promise<void> {
  const run = runOf(arg);
  if (!run) return;
  const target = await logFileOf(run);
  if (!target) {
    void vscode.window.showWarningMessage(`Heat Capacity: ${run.absPath} is gone.`);
    return;
  }
  const file = vscode.Uri.file(target.file);
  s.ctx.log.info(`${target.action === 'open' ? 'opening' : 'revealing'} ${file.fsPath}`);
  if (target.action === 'open') await vscode.commands.executeCommand('vscode.open', file, { preview: true });
  else if (vscode.workspace.getWorkspaceFolder(file)) await vscode.commands.executeCommand('revealInExplorer', file);
  else await vscode.commands.executeCommand('revealFileInOS', file);
}
