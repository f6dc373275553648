/**
 * Select Checkpoint and Training Data…: file pickers for the model at the optimum, its training data
 * and labels, and the per-example loss; stored as workspace settings (`heatcap.checkpoint.*`), relative
 * to the workspace folder when inside it so the settings travel with the project.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SettingKeys } from '../config';
import { checkMayWriteWorkspaceSettings } from '../trust';
import { isInside } from '../util/paths';
import type { Services } from './services';

/** Loss names the engine understands when the model does not record its loss (ONNX files never do). */
const LOSSES: { name: string; description: string }[] = [
  { name: 'cross_entropy', description: 'PyTorch: logits and class indices (nn.CrossEntropyLoss)' },
  { name: 'nll', description: 'PyTorch: log-probabilities (nn.NLLLoss)' },
  { name: 'bce_with_logits', description: 'PyTorch: nn.BCEWithLogitsLoss' },
  { name: 'bce', description: 'PyTorch: nn.BCELoss on probabilities' },
  { name: 'mse', description: 'mean squared error' },
  { name: 'sparse_categorical_crossentropy', description: 'Keras: probabilities and class indices' },
  { name: 'categorical_crossentropy', description: 'Keras: probabilities and one-hot labels' },
  { name: 'binary_crossentropy', description: 'Keras' },
];

async function pickFile(title: string, filters: Record<string, string[]>, defaultUri?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ title, filters, canSelectFiles: true, canSelectFolders: false, canSelectMany: false, defaultUri, openLabel: 'Select' });
  return picked?.[0];
}

/** What goes into the setting: relative to the folder when inside it, with `/` so it reads the same on every OS. */
function settingPath(file: vscode.Uri, folder: vscode.WorkspaceFolder | undefined): string {
  if (folder && isInside(file.fsPath, folder.uri.fsPath)) return path.relative(folder.uri.fsPath, file.fsPath).split(path.sep).join('/');
  return file.fsPath;
}

export async function selectCheckpoint(s: Services): Promise<boolean> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length > 0 && !(await checkMayWriteWorkspaceSettings('the checkpoint and training data'))) return false;

  const model = await pickFile(
    '1/4 Checkpoint at the optimum: ONNX (PyTorch/JAX export), Keras or TensorFlow.js model',
    { 'Models (ONNX, Keras, TensorFlow.js)': ['onnx', 'keras', 'h5', 'json'], ONNX: ['onnx'], Keras: ['keras', 'h5'], 'TensorFlow.js model.json': ['json'] },
    folders[0]?.uri,
  );
  if (!model) return false;
  const folder = vscode.workspace.getWorkspaceFolder(model) ?? folders[0];
  const data = await pickFile('2/4 Training inputs', { 'Training data': ['npy', 'npz', 'csv', 'jsonl'] }, vscode.Uri.joinPath(model, '..'));
  if (!data) return false;

  const inData = { label: 'Labels are in the data file', description: '.npz with x/y, or a label column', value: 'none' as const };
  const fromFile = { label: 'Select a labels file (.npy)…', value: 'file' as const };
  const labelChoice = await vscode.window.showQuickPick([inData, fromFile], { title: '3/4 Training labels', ignoreFocusOut: true });
  if (!labelChoice) return false;
  let labels: vscode.Uri | undefined;
  if (labelChoice.value === 'file') {
    labels = await pickFile('3/4 Training labels', { Labels: ['npy'] }, vscode.Uri.joinPath(data, '..'));
    if (!labels) return false;
  }

  const fromModel = { label: 'The loss recorded in the model', description: 'model.json / Keras compile config (ONNX files record none)', value: '' };
  const lossChoice = await vscode.window.showQuickPick([fromModel, ...LOSSES.map((l) => ({ label: l.name, description: l.description, value: l.name }))], {
    title: '4/4 Per-example loss',
    ignoreFocusOut: true,
  });
  if (!lossChoice) return false;

  // Multi-root workspaces keep the checkpoint per folder; a single folder or no folder per workspace/user.
  const target = folders.length > 1 ? vscode.ConfigurationTarget.WorkspaceFolder : folders.length === 1 ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  const config = vscode.workspace.getConfiguration('heatcap', folder?.uri);
  await config.update(SettingKeys.checkpointModel, settingPath(model, folder), target);
  await config.update(SettingKeys.checkpointData, settingPath(data, folder), target);
  await config.update(SettingKeys.checkpointLabels, labels ? settingPath(labels, folder) : '', target);
  await config.update(SettingKeys.checkpointLoss, lossChoice.value, target);
  s.ctx.log.info(`checkpoint set: ${model.fsPath} with ${data.fsPath}${labels ? ` and ${labels.fsPath}` : ''}`);

  const analyze = 'Analyze Runs';
  const norms = 'Compute Gradient Norms';
  const next = await vscode.window.showInformationMessage('Heat Capacity: checkpoint and training data saved in the settings.', analyze, norms);
  if (next === analyze) await vscode.commands.executeCommand('heatcap.analyzeWorkspace');
  else if (next === norms) await vscode.commands.executeCommand('heatcap.computeGradNorms');
  return true;
}
