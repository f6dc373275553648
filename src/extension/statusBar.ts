/**
 * The status bar item: the heat capacity of the analysis on show (statusBarView.ts says what it reads),
 * a spinner while a job runs; a click opens the panel.
 */
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { statusBarView } from './statusBarView';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly ctx: Ctx) {
    this.item = vscode.window.createStatusBarItem('heatcap.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Heat Capacity';
    // No "which sweep?" question from the status bar: it shows the one on show.
    this.item.command = { command: 'heatcap.openPanel', title: 'Open Analysis Panel', arguments: [{ pick: false }] };
    this.subscription = ctx.store.onDidChange(() => this.update());
    this.update();
  }

  private update(): void {
    const { store } = this.ctx;
    const view = statusBarView(store.selected()?.result ?? null, store.busy);
    if (view.text === null) {
      this.item.hide();
      return;
    }
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
