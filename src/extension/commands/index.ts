/**
 * Every command of the extension, by id (the ids of package.json `contributes.commands`). Each handler
 * is wrapped so that a failure is logged and shown, never thrown into VS Code.
 */
import * as vscode from 'vscode';
import { CancelledError } from '../../core/errors';
import { analyzeFolder, analyzeWorkspace } from './analyze';
import { selectCheckpoint } from './checkpoint';
import { exportReport } from './export';
import type { CommandId } from '../ids';
import { computeGradNorms } from './gradNorms';
import { openPanel, openPanelAt } from './panel';
import { excludeRun, includeRun, promptRunLr, refreshRuns, revealRunLog } from './runs';
import type { Services } from './services';
import { runSweep } from './sweep';

type Handler = (s: Services, ...args: unknown[]) => Promise<unknown> | void;

const COMMANDS: Record<CommandId, Handler> = {
  'heatcap.analyzeWorkspace': (s) => analyzeWorkspace(s),
  'heatcap.analyzeFolder': (s, uri) => analyzeFolder(s, uri),
  'heatcap.selectCheckpoint': (s) => selectCheckpoint(s),
  'heatcap.computeGradNorms': (s) => computeGradNorms(s),
  'heatcap.openPanel': (s, arg) => openPanel(s, arg),
  'heatcap.openPanelAt': (s, arg) => openPanelAt(s, arg),
  'heatcap.exportReport': (s) => exportReport(s),
  'heatcap.runSweep': (s) => runSweep(s),
  'heatcap.refreshRuns': (s) => refreshRuns(s),
  'heatcap.includeRun': (s, node) => includeRun(s, node),
  'heatcap.excludeRun': (s, node) => excludeRun(s, node),
  'heatcap.revealRunLog': (s, node) => revealRunLog(s, node),
  'heatcap.setRunLr': (s, node) => promptRunLr(s, node),
  'heatcap.showOutput': (s) => s.ctx.log.show(),
};

export function registerCommands(s: Services): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await handler(s, ...args);
      } catch (e) {
        if (e instanceof CancelledError) return;
        const msg = e instanceof Error ? e.message : String(e);
        s.ctx.log.error(`${id} failed: ${msg}`);
        void vscode.window.showErrorMessage(`Heat Capacity: ${msg}`);
      }
    }),
  );
}
