/** Export Report…: HTML, Markdown, JSON, or the charts as PNG (rendered by the panel). */
import * as vscode from 'vscode';
import type { ExportFormat } from '../../shared/webviewProtocol';
import { exportChartPngs } from './exportCharts';
import type { Services } from './services';

export async function exportReport(s: Services): Promise<void> {
  const shown = s.ctx.store.selected();
  if (!shown) {
    const analyze = 'Analyze Workspace Runs';
    if ((await vscode.window.showInformationMessage('Heat Capacity: nothing analysed yet.', analyze)) === analyze) await vscode.commands.executeCommand('heatcap.analyzeWorkspace');
    return;
  }
  const items: { label: string; description: string; format: ExportFormat | 'png' }[] = [
    { label: 'HTML report', description: 'self-contained page with the interactive charts', format: 'html' },
    { label: 'Markdown report', description: 'verdict and every chart as a table', format: 'md' },
    { label: 'Analysis result (JSON)', description: 'the full result, schema ' + shown.result.schema_version, format: 'json' },
    { label: 'Charts as PNG', description: 'one chart, or all of them into a folder', format: 'png' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Heat Capacity: export' });
  if (!picked) return;
  try {
    if (picked.format === 'png') await exportChartPngs(s, shown.result);
    else await s.exporter.exportReport(shown.result, picked.format);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    s.ctx.log.error(`export failed: ${msg}`);
    void vscode.window.showErrorMessage(`Heat Capacity: export failed: ${msg}`);
  }
}
