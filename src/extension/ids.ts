/**
 * The ids package.json refers to, declared once: commands, the runs view, the panel's view type.
 * A unit test checks the manifest against them; commands/index.ts must handle every command (the type
 * checks it). No `vscode` import.
 */
import { AnalyzeWorkspaceCommand, OpenPanelAtCommand } from '../shared/lspProtocol';

export const RUNS_VIEW_ID = 'heatcap.runs';
export const PANEL_VIEW_TYPE = 'heatcap.analysis';

/** Every command the extension registers. */
export const COMMAND_IDS = [
  AnalyzeWorkspaceCommand,
  'heatcap.analyzeFolder',
  'heatcap.selectCheckpoint',
  'heatcap.computeGradNorms',
  'heatcap.openPanel',
  'heatcap.exportReport',
  'heatcap.runSweep',
  'heatcap.refreshRuns',
  'heatcap.includeRun',
  'heatcap.excludeRun',
  'heatcap.revealRunLog',
  'heatcap.setRunLr',
  OpenPanelAtCommand,
  'heatcap.showOutput',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];
