/** What commands work with; built once in main.ts. */
import type { AnalysisService } from '../compute/analysisService';
import type { Ctx } from '../ctx';
import type { Exporter } from '../panel/exporter';
import type { PanelDeps } from '../panel/analysisPanel';
import type { RunsView } from '../runsView/runsView';

export interface Services {
  ctx: Ctx;
  jobs: AnalysisService;
  runsView: RunsView;
  exporter: Exporter;
  panel: PanelDeps;
}

/** The workspace folders on disk, the roots "Analyze Workspace Runs" covers. */
export function workspaceRoots(s: Services): string[] {
  return s.ctx.store
    .roots()
    .filter((e) => e.isWorkspaceFolder)
    .map((e) => e.root);
}
