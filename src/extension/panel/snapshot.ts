/**
 * What the host sends the panel, built from the store's state. No `vscode` import (unit-tested).
 */
import type { AnalysisResult } from '../../core/result/schema';
import { escapeHtml } from '../../shared/webviewHtml';
import { PROTOCOL_VERSION, type BusyState, type HostToPanel, type PanelCapabilities } from '../../shared/webviewProtocol';
import type { RootEntry } from '../state/analysisStore';
import { displayText } from '../runsView/viewModel';

/** What this host can do for the panel. */
export const HOST_CAPABILITIES: PanelCapabilities = {
  exportReport: ['html', 'md', 'json'],
  exportChart: true,
  // Answered by `heatcap example` on the checkpoint's training data (exampleSource.ts); a result without
  // gradient norms has no examples to show.
  examples: true,
  editRuns: true,
  revealRun: true,
  openSettings: true,
};

export function snapshotMessage(result: AnalysisResult | null, focusLr: number | null, busy: BusyState | null): HostToPanel {
  const capabilities = result?.gradnorms ? HOST_CAPABILITIES : { ...HOST_CAPABILITIES, examples: false };
  return { type: 'snapshot', protocol: PROTOCOL_VERSION, result, focusLr, busy, capabilities };
}

/**
 * The banner the panel shows for the folder of its result: the last analysis or discovery error
 * (the previous result stays drawn under it), or null to clear it.
 */
export function bannerError(entry: RootEntry | undefined): { message: string; file: string | null } | null {
  const message = entry?.analysisError ?? entry?.listingError ?? null;
  return message === null ? null : { message, file: null };
}

/** The panel's tab title: plain text, but a folder name can still hold control characters. */
export function panelTitle(result: AnalysisResult | null): string {
  const name = result?.sweep?.name ?? result?.runs[0]?.name;
  return name ? `Heat Capacity: ${displayText(name, 40)}` : 'Heat Capacity';
}

/**
 * The page shown when the panel's own page cannot be built (a broken installation): static text
 * under a CSP that allows nothing at all, so the tab says what is wrong instead of staying blank.
 */
export function fallbackHtml(message: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'"><title>Heat Capacity</title></head>
<body><p>The analysis panel could not be shown: ${escapeHtml(message)}</p><p>See the Heat Capacity output for details.</p></body>
</html>
`;
}
