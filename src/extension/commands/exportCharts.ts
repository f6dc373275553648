/**
 * Export Report… → Charts as PNG: one chart through a save dialog, or every chart into a folder. The
 * charts are drawn by the panel only, so it is shown and asked for their images (`requestChartPng`);
 * what it sends back is saved exactly like its own PNG buttons save.
 */
import * as vscode from 'vscode';
import type { AnalysisResult } from '../../core/result/schema';
import { CHART_NAMES, type ChartName } from '../../shared/webviewProtocol';
import { AnalysisPanel } from '../panel/analysisPanel';
import type { Services } from './services';

/** The chart titles the panel shows, for the pick list. */
const CHART_TITLES: Record<ChartName, string> = {
  sweep: 'Converged loss vs learning rate',
  curves: 'Loss curves',
  histogram: 'Per-example squared gradient norm ‖g_b‖²',
  weights: 'Contribution of each weight',
};

export async function exportChartPngs(s: Services, result: AnalysisResult): Promise<void> {
  const items: (vscode.QuickPickItem & { chart: ChartName | 'all' })[] = [
    { label: 'All charts', description: 'into a folder you choose', chart: 'all' },
    ...CHART_NAMES.map((chart) => ({ label: CHART_TITLES[chart], description: `${chart}.png`, chart })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Heat Capacity: export charts as PNG' });
  if (!picked) return;
  let folder: vscode.Uri | undefined;
  if (picked.chart === 'all') {
    const chosen = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      defaultUri: s.exporter.suggestedFolder(result),
      openLabel: 'Save Charts Here',
      title: 'Heat Capacity: folder for the chart PNGs',
    });
    folder = chosen?.[0];
    if (!folder) return;
  }
  const panel = AnalysisPanel.createOrShow(s.panel);
  const pngs = await panel.requestChartPngs(picked.chart);
  if (pngs.length === 0) {
    const what = picked.chart === 'all' ? 'No chart is' : `“${CHART_TITLES[picked.chart]}” is not`;
    void vscode.window.showWarningMessage(`Heat Capacity: ${what} drawn in the panel (shown as a table, or nothing to draw), so there is no image to save.`);
    return;
  }
  if (folder) await s.exporter.saveChartPngsToFolder(result, pngs, folder);
  else await s.exporter.saveChartPng(result, pngs[0].chart, pngs[0].png);
}
