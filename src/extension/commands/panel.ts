/** Open Analysis Panel (with a choice of sweep when there are several); Open Analysis Panel at η (CodeLens). */
import * as vscode from 'vscode';
import { formatNumber } from '../../core/report/format';
import { AnalysisPanel } from '../panel/analysisPanel';
import { resultKey, type SelectedResult } from '../state/analysisStore';
import { displayText, type TreeNodeVM } from '../runsView/viewModel';
import { parseOpenPanelAtArgs } from './commandArgs';
import { analyzeWorkspace } from './analyze';
import type { Services } from './services';

function isTreeNode(v: unknown): v is TreeNodeVM {
  return typeof v === 'object' && v !== null && typeof (v as TreeNodeVM).id === 'string' && typeof (v as TreeNodeVM).kind === 'string';
}

/** The sweep to show, when there are several: a quick pick with the one on show first. */
async function pickResult(s: Services): Promise<SelectedResult | undefined> {
  const all = s.ctx.store.allResults();
  const current = s.ctx.store.selected();
  if (all.length <= 1) return all[0];
  const items = all.map((c) => ({
    label: displayText(c.result.sweep?.name ?? c.result.runs[0]?.name ?? c.root),
    description: `${displayText(s.ctx.store.get(c.root)?.label ?? c.root, 40)} · ${c.result.runs.length} run${c.result.runs.length === 1 ? '' : 's'}${c.result === current?.result ? ' · on show' : ''}`,
    detail: displayText(c.result.verdict.message, 200),
    choice: c,
  }));
  items.sort((a, b) => Number(b.choice.result === current?.result) - Number(a.choice.result === current?.result));
  const picked = await vscode.window.showQuickPick(items, { title: 'Heat Capacity: which sweep?', matchOnDescription: true, matchOnDetail: true });
  return picked?.choice;
}

/**
 * `heatcap.openPanel`: from the palette (asks which sweep when there are several), from a runs-view
 * item (that item's sweep, focused on its η) or from the status bar (`{ pick: false }`: no question).
 */
export async function openPanel(s: Services, arg?: unknown): Promise<void> {
  const { store } = s.ctx;
  if (isTreeNode(arg)) {
    if (arg.result) store.select(arg.result.root, arg.result.key);
    if (arg.kind === 'run' && arg.run?.lr != null) store.setFocusLr(arg.run.lr);
    AnalysisPanel.createOrShow(s.panel, { preserveFocus: true });
    return;
  }
  const noQuestion = typeof arg === 'object' && arg !== null && (arg as { pick?: unknown }).pick === false;
  if (!noQuestion) {
    const chosen = await pickResult(s);
    if (store.allResults().length > 1 && !chosen) return;
    if (chosen) store.select(chosen.root, resultKey(chosen.result));
  }
  AnalysisPanel.createOrShow(s.panel);
  if (store.allResults().length === 0 && !s.jobs.busy) await analyzeWorkspace(s);
}

/** `heatcap.openPanelAt` ([OpenPanelAtArgs] from a CodeLens): the panel on the analysis covering η, η highlighted. */
export async function openPanelAt(s: Services, raw?: unknown): Promise<void> {
  const args = parseOpenPanelAtArgs(raw);
  if (!args) {
    s.ctx.log.warn(`openPanelAt: ignored malformed arguments ${JSON.stringify(raw)?.slice(0, 200)}`);
    return;
  }
  const { store } = s.ctx;
  let found = store.findForLr(args.lr, args.resultRoot);
  if (!found) {
    await analyzeWorkspace(s);
    found = store.findForLr(args.lr, args.resultRoot);
  }
  if (!found) {
    void vscode.window.showInformationMessage(`Heat Capacity: no analysis covers η = ${formatNumber(args.lr)} yet.`);
    return;
  }
  store.select(found.root, resultKey(found.result));
  store.setFocusLr(args.lr);
  // The editor keeps the focus: the user clicked a lens while reading code.
  AnalysisPanel.createOrShow(s.panel, { preserveFocus: true });
}
