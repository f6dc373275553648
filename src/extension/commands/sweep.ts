/**
 * Run η Sweep…: the sweep lab trains from the selected checkpoint at several learning rates, in a
 * child process, writing ordinary logs into a folder of the user's choice; the folder is then analysed
 * like any other. Writing into the workspace needs trust.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkpointFromSettings, sweepArgs } from '../compute/cliArgs';
import { AnalysisPanel } from '../panel/analysisPanel';
import { resultKey } from '../state/analysisStore';
import { checkMayWrite } from '../trust';
import { parseLrList, parsePositiveInteger } from './commandArgs';
import { selectCheckpoint } from './checkpoint';
import { workspaceRoots, type Services } from './services';

async function askNumber(title: string, value: string, parse: (t: string) => { ok: true; value: number } | { ok: false; error: string }): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({ title, value, ignoreFocusOut: true, validateInput: (t) => {
    const r = parse(t);
    return r.ok ? null : r.error;
  } });
  if (text === undefined) return undefined;
  const r = parse(text);
  return r.ok ? r.value : undefined;
}

export async function runSweep(s: Services): Promise<void> {
  const folder = workspaceRoots(s)[0];
  let settings = s.ctx.settingsFor(folder);
  let checkpoint = checkpointFromSettings(settings, folder);
  if (!checkpoint) {
    if (!(await selectCheckpoint(s))) return;
    settings = s.ctx.settingsFor(folder);
    checkpoint = checkpointFromSettings(settings, folder);
    if (!checkpoint) return;
  }
  const lrText = await vscode.window.showInputBox({
    title: 'η sweep (1/4): learning rates',
    prompt: 'Small learning rates, where the loss is linear in η (separated by commas or spaces)',
    value: '0.005, 0.01, 0.02, 0.04',
    ignoreFocusOut: true,
    validateInput: (t) => {
      const r = parseLrList(t);
      return r.ok ? null : r.error;
    },
  });
  if (lrText === undefined) return;
  const lrs = parseLrList(lrText);
  if (!lrs.ok) return;
  const steps = await askNumber('η sweep (2/4): SGD steps per learning rate', '20000', (t) => parsePositiveInteger(t, 'number of steps'));
  if (steps === undefined) return;
  const batchSize = await askNumber('η sweep (3/4): batch size', String(settings.batchSize ?? 8), (t) => parsePositiveInteger(t, 'batch size'));
  if (batchSize === undefined) return;
  const picked = await vscode.window.showOpenDialog({
    title: 'η sweep (4/4): folder to write the runs into',
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Write Runs Here',
    defaultUri: folder ? vscode.Uri.file(folder) : undefined,
  });
  const outUri = picked?.[0];
  if (!outUri || !(await checkMayWrite(outUri, 'the sweep runs'))) return;

  const out = path.join(outUri.fsPath, `heatcap-sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const args = sweepArgs({ checkpoint, lrs: lrs.value, steps, batchSize, out }, settings);
  try {
    const done = await s.jobs.runJob(`Running the η sweep (${lrs.value.length} learning rates)`, args, folder ?? outUri.fsPath, () => true, { quiet: false });
    if (!done) return;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    s.ctx.log.error(`sweep failed: ${msg}`);
    void vscode.window.showErrorMessage(`Heat Capacity: ${msg}`);
    return;
  }
  const { store } = s.ctx;
  store.addRoot(out, path.basename(out));
  if (await s.jobs.analyze([out], { quiet: false })) {
    const first = store.get(out)?.results?.[0];
    if (first) store.select(out, resultKey(first));
    AnalysisPanel.createOrShow(s.panel, { preserveFocus: true });
  }
}
