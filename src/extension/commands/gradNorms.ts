/** Compute Per-Example Gradient Norms: `heatcap gradnorms` on the configured checkpoint, in a child process. */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { formatNumber } from '../../core/report/format';
import { checkpointFromSettings, gradNormsArgs } from '../compute/cliArgs';
import { parseGradNorms } from '../compute/cliOutput';
import { selectCheckpoint } from './checkpoint';
import { workspaceRoots, type Services } from './services';

export async function computeGradNorms(s: Services): Promise<void> {
  // The folder of the active editor when it is in the workspace, else the first folder.
  const active = vscode.window.activeTextEditor?.document.uri;
  const folder = (active && vscode.workspace.getWorkspaceFolder(active)?.uri.fsPath) ?? workspaceRoots(s)[0];
  let settings = s.ctx.settingsFor(folder);
  let checkpoint = checkpointFromSettings(settings, folder);
  if (!checkpoint) {
    const select = 'Select Checkpoint…';
    if ((await vscode.window.showInformationMessage('Heat Capacity: no checkpoint is set. Select the model at the optimum and its training data first.', select)) !== select) return;
    if (!(await selectCheckpoint(s))) return;
    settings = s.ctx.settingsFor(folder);
    checkpoint = checkpointFromSettings(settings, folder);
    if (!checkpoint) return;
  }
  let summary;
  try {
    summary = await s.jobs.runJob('Computing per-example gradient norms', gradNormsArgs(checkpoint, settings), folder ?? os.homedir(), parseGradNorms, { quiet: false });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    s.ctx.log.error(`gradient norms failed: ${msg}`);
    void vscode.window.showErrorMessage(`Heat Capacity: ${msg}`);
    return;
  }
  if (!summary) return;
  const f = (x: number | null) => (x === null ? '—' : formatNumber(x));
  const line =
    `${summary.n} examples: E‖g‖² = ${f(summary.mean_sq_norm)}, tr Σ = ${f(summary.trace_cov)}, ` +
    `‖ḡ‖² = ${f(summary.mean_grad_sq_norm)} (${summary.backend ?? '?'}, ${f(summary.seconds)} s)`;
  s.ctx.log.info(`gradient norms: ${line}`);
  const analyze = 'Analyze Runs with It';
  if ((await vscode.window.showInformationMessage(`Heat Capacity: ${line}`, analyze)) === analyze) {
    await vscode.commands.executeCommand('heatcap.analyzeWorkspace');
  }
}
