/**
 * Saves what the user exports: the report as HTML (self-contained, the panel's own charts) or
 * Markdown (src/core/report/), the result as JSON, a chart as PNG (bytes the panel rendered). Always
 * through a save dialog (or, for all charts at once, a folder dialog); writing inside an untrusted
 * workspace is refused (trust.ts).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { renderHtmlReport } from '../../core/report/html';
import { renderMarkdownReport } from '../../core/report/markdown';
import type { AnalysisResult } from '../../core/result/schema';
import type { ChartName, ExportFormat } from '../../shared/webviewProtocol';
import type { Ctx } from '../ctx';
import { checkMayWrite } from '../trust';
import { exportFileName } from './exportNames';

const FILTERS: Record<ExportFormat | 'png', Record<string, string[]>> = {
  html: { 'HTML report': ['html'] },
  md: { 'Markdown report': ['md'] },
  json: { 'Analysis result (JSON)': ['json'] },
  png: { 'PNG image': ['png'] },
};

const WHAT: Record<ExportFormat | 'png', string> = { html: 'the HTML report', md: 'the Markdown report', json: 'the analysis result', png: 'the chart' };

export class Exporter {
  constructor(private readonly ctx: Ctx) {}

  /** Renders and saves a report; resolves false when the user cancelled or the write was refused. */
  async exportReport(result: AnalysisResult, format: ExportFormat): Promise<boolean> {
    const target = await this.pickTarget(result, format, exportFileName(result, format));
    if (!target) return false;
    const text = this.render(result, format);
    return this.write(target, new TextEncoder().encode(text), WHAT[format]);
  }

  async saveChartPng(result: AnalysisResult, chart: ChartName, png: Uint8Array): Promise<boolean> {
    const target = await this.pickTarget(result, 'png', exportFileName(result, 'png', chart));
    if (!target) return false;
    return this.write(target, png, WHAT.png);
  }

  /**
   * Saves chart images into one folder the user picks, named `heatcap-<sweep>-<chart>.png` like the
   * single-chart suggestions; asks once before replacing files. Resolves with the files written (none
   * when the user cancelled or the write was refused).
   */
  async saveChartPngsToFolder(result: AnalysisResult, pngs: readonly { chart: ChartName; png: Uint8Array }[], folder: vscode.Uri): Promise<vscode.Uri[]> {
    if (!(await checkMayWrite(folder, 'the charts'))) return [];
    const targets = pngs.map((p) => ({ ...p, target: vscode.Uri.joinPath(folder, exportFileName(result, 'png', p.chart)) }));
    const existing: vscode.Uri[] = [];
    for (const t of targets) {
      if (await vscode.workspace.fs.stat(t.target).then(() => true, () => false)) existing.push(t.target);
    }
    if (existing.length) {
      const replace = 'Replace';
      const names = existing.map((u) => path.basename(u.fsPath)).join(', ');
      if ((await vscode.window.showWarningMessage(`Heat Capacity: ${names} already ${existing.length === 1 ? 'exists' : 'exist'} in ${folder.fsPath}.`, { modal: true }, replace)) !== replace) return [];
    }
    for (const t of targets) {
      await vscode.workspace.fs.writeFile(t.target, t.png);
      this.ctx.log.info(`exported the ${t.chart} chart to ${t.target.fsPath}`);
    }
    const written = targets.map((t) => t.target);
    void vscode.window.showInformationMessage(`Heat Capacity: saved ${written.length} chart${written.length === 1 ? '' : 's'} in ${path.basename(folder.fsPath) || folder.fsPath}`, 'Reveal').then((choice) => {
      if (choice && written[0]) void vscode.commands.executeCommand('revealFileInOS', written[0]);
    });
    return written;
  }

  /** The folder suggested for saving: the analysed one in a trusted workspace, else the home folder. */
  suggestedFolder(result: AnalysisResult): vscode.Uri {
    return vscode.Uri.file(vscode.workspace.isTrusted ? result.root : os.homedir());
  }

  private render(result: AnalysisResult, format: ExportFormat): string {
    switch (format) {
      case 'html':
        return renderHtmlReport(result, { assetsDir: this.ctx.distUri.fsPath });
      case 'md':
        return renderMarkdownReport(result);
      case 'json':
        return `${JSON.stringify(result, null, 2)}\n`;
    }
  }

  /**
   * Suggests the analysed folder in a trusted workspace, the home folder otherwise (where saving
   * needs no trust), so the first suggestion is one that works.
   */
  private async pickTarget(result: AnalysisResult, kind: ExportFormat | 'png', name: string): Promise<vscode.Uri | undefined> {
    return vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(this.suggestedFolder(result), name),
      filters: FILTERS[kind],
      saveLabel: 'Export',
      title: `Export ${WHAT[kind]}`,
    });
  }

  private async write(target: vscode.Uri, bytes: Uint8Array, what: string): Promise<boolean> {
    if (!(await checkMayWrite(target, what))) return false;
    await vscode.workspace.fs.writeFile(target, bytes);
    this.ctx.log.info(`exported ${what} to ${target.fsPath}`);
    void vscode.window.showInformationMessage(`Heat Capacity: saved ${path.basename(target.fsPath)}`, 'Open').then((choice) => {
      if (choice) void vscode.commands.executeCommand('vscode.open', target);
    });
    return true;
  }
}
