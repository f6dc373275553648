/** Analyze Workspace Runs; Analyze Folder… */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AnalysisPanel } from '../panel/analysisPanel';
import { resultKey } from '../state/analysisStore';
import { workspaceRoots, type Services } from './services';

export async function analyzeWorkspace(s: Services): Promise<void> {
  const roots = workspaceRoots(s);
  if (roots.length === 0) {
    const pick = 'Analyze Folder…';
    if ((await vscode.window.showInformationMessage('Heat Capacity: open a folder with training logs, or pick one to analyse.', pick)) === pick) {
      await analyzeFolder(s);
    }
    return;
  }
  const outcome = await s.jobs.analyze(roots, { quiet: false });
  if (outcome === undefined) return;
  if (s.ctx.store.allResults().length === 0) {
    // A failure was already shown; "nothing found" only when nothing failed.
    if (!outcome) return;
    void vscode.window.showInformationMessage(
      'Heat Capacity: no training runs found in this workspace (TensorBoard event files, metrics.csv, trainer_state.json, MLflow, JSONL). Use "Analyze Folder…" for logs elsewhere.',
    );
    return;
  }
  AnalysisPanel.createOrShow(s.panel, { preserveFocus: true });
}

/** From the command palette (a folder picker) or the explorer's context menu (the folder clicked). */
export async function analyzeFolder(s: Services, target?: unknown): Promise<void> {
  let uri = target instanceof vscode.Uri ? target : undefined;
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Analyze',
      title: 'Folder with training runs (a sweep, one run, or a tree of them)',
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    uri = picked?.[0];
  }
  if (!uri) return;
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage('Heat Capacity reads logs from the file system; this folder is not on it.');
    return;
  }
  const root = uri.fsPath;
  const { store } = s.ctx;
  store.addRoot(root, path.basename(root) || root);
  const ok = await s.jobs.analyze([root], { quiet: false });
  if (!ok) return;
  const first = store.get(root)?.results?.[0];
  if (!first) {
    void vscode.window.showInformationMessage(`Heat Capacity: no training runs found under ${root}.`);
    return;
  }
  store.select(root, resultKey(first));
  AnalysisPanel.createOrShow(s.panel, { preserveFocus: true });
}
