/**
 * The panel's state and how each message from the host changes it: a pure reducer, so the message
 * handling is tested without a browser. The DOM layer re-renders the parts `changedParts` names.
 */
import type { AnalysisResult } from '../../src/core/result/schema';
import {
  type BusyState,
  type ChartName,
  type ExamplePayload,
  type HostToPanel,
  NO_CAPABILITIES,
  type PanelCapabilities,
  type PanelState,
  type PanelUiState,
  PROTOCOL_VERSION,
} from '../../src/shared/webviewProtocol';

export interface ViewState {
  result: AnalysisResult | null;
  focusLr: number | null;
  busy: BusyState | null;
  error: { message: string; file: string | null } | null;
  capabilities: PanelCapabilities;
  ui: PanelUiState;
  example: { index: number; label: string | number | null; example: ExamplePayload } | null;
  /** Set when the host's messages could not be read (e.g. the extension was updated): ask for a reload. */
  protocolError: string | null;
}

export type Part = 'all' | 'sweep' | 'curves' | 'gradnorms' | 'focus' | 'busy' | 'error' | 'example';

export function initialState(saved: PanelState): ViewState {
  return {
    result: saved.result,
    focusLr: saved.focusLr,
    busy: null,
    error: null,
    capabilities: NO_CAPABILITIES,
    ui: saved.ui,
    example: null,
    protocolError: null,
  };
}

export function applyMessage(s: ViewState, m: HostToPanel): ViewState {
  switch (m.type) {
    case 'snapshot': {
      // A new result invalidates an example shown for the old one; the UI choices stay.
      const sameResult = s.result !== null && m.result !== null && s.result.generated_at === m.result.generated_at;
      return {
        ...s,
        result: m.result,
        focusLr: m.focusLr,
        busy: m.busy,
        capabilities: m.capabilities,
        example: sameResult ? s.example : null,
        ui: sameResult ? s.ui : { ...s.ui, selectedExample: null },
        protocolError: null,
      };
    }
    case 'focusLr':
      return { ...s, focusLr: m.lr };
    case 'busy':
      return { ...s, busy: m.busy };
    case 'error':
      return { ...s, error: m.error };
    case 'example':
      // Answers to an older request (the user clicked on) are dropped.
      if (s.ui.selectedExample !== m.index) return s;
      return { ...s, example: { index: m.index, label: m.label, example: m.example } };
    case 'requestChartPng':
      // An effect (app.ts answers it from the charts on screen), not a change of state.
      return s;
  }
}

/** Which parts of the view a state change touches ('all' rebuilds everything). */
export function changedParts(prev: ViewState, next: ViewState): Set<Part> {
  const parts = new Set<Part>();
  if (prev.result !== next.result || prev.capabilities !== next.capabilities || prev.protocolError !== next.protocolError) {
    parts.add('all');
    return parts;
  }
  const a = prev.ui;
  const b = next.ui;
  const tableToggled = (name: ChartName): boolean => a.tables.includes(name) !== b.tables.includes(name);
  if (a.logLr !== b.logLr || a.etaToLimits !== b.etaToLimits || tableToggled('sweep')) parts.add('sweep');
  if (a.logLoss !== b.logLoss || a.zoomTail !== b.zoomTail || a.hiddenRuns !== b.hiddenRuns || tableToggled('curves')) parts.add('curves');
  if (tableToggled('histogram') || tableToggled('weights')) parts.add('gradnorms');
  if (a.selectedExample !== b.selectedExample) parts.add('example');
  if (prev.focusLr !== next.focusLr) {
    parts.add('focus');
    parts.add('sweep');
  }
  if (prev.busy !== next.busy) parts.add('busy');
  if (prev.error !== next.error) parts.add('error');
  if (prev.example !== next.example) parts.add('example');
  return parts;
}

/** What survives a reload (vscode.setState) and what the serializer receives. */
export function persistedState(s: ViewState): PanelState {
  return {
    protocol: PROTOCOL_VERSION,
    root: s.result?.root ?? null,
    sweepId: s.result?.sweep?.id ?? null,
    result: s.result,
    focusLr: s.focusLr,
    ui: s.ui,
  };
}

export function updateUi(s: ViewState, patch: Partial<PanelUiState>): ViewState {
  return { ...s, ui: { ...s.ui, ...patch } };
}
