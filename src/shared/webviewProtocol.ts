/**
 * The one declaration of every message between the extension host and the analysis panel (webview),
 * and of the state the panel persists. Both sides import these types; neither posts an untyped object.
 *
 * Lifecycle (what the host must do):
 *  1. The panel loads, restores its `PanelState` (vscode.getState) and draws it at once, then posts
 *     `ready`.
 *  2. The host answers every `ready` with a full `snapshot` and sends a fresh `snapshot` whenever the
 *     panel becomes visible again (onDidChangeViewState) or the analysis changes. Smaller messages
 *     (`focusLr`, `busy`, `error`, `example`) only update part of the view.
 *  4. To export charts without the user clicking (the command palette's Export Report… → PNG), the host
 *     sends `requestChartPng` with a fresh `requestId`; the panel answers with one `exportChart` per chart
 *     it has drawn (carrying that `requestId`), then `chartPngDone` listing them. A chart shown as a
 *     table, or with nothing to draw, is left out of both.
 *  3. The serializer (registerWebviewPanelSerializer) receives the persisted `PanelState`; pass it
 *     through `parsePanelState` and re-open the analysis of `state.root` / `state.sweepId`.
 *
 * Neither side trusts the other: the host passes every incoming message through `parsePanelToHost`,
 * the panel through `parseHostToPanel`. Both return a typed message or a reason it was refused.
 *
 * Versioning: `PROTOCOL_VERSION` is sent in `ready` and `snapshot`. Bump it on any change that an older
 * peer would misread; a peer that sees another version shows "reload the window" instead of guessing.
 */
import type { AnalysisResult } from '../core/result/schema';
import { checkResultShape } from '../core/report/resultShape';

/** 2: `requestChartPng` (host → panel), `exportChart.requestId`, `chartPngDone` (panel → host). */
export const PROTOCOL_VERSION = 2;

/** Id of the inert JSON block holding the result in the self-contained HTML report. */
export const RESULT_ELEMENT_ID = 'heatcap-result';

/** Charts the panel draws; also the base name of exported PNG files. */
export const CHART_NAMES = ['sweep', 'histogram', 'weights', 'curves'] as const;
export type ChartName = (typeof CHART_NAMES)[number];

export const EXPORT_FORMATS = ['html', 'md', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What the host can do for the panel; buttons for anything else are hidden. */
export interface PanelCapabilities {
  /** Report formats the host can save (Export Report menu). */
  exportReport: ExportFormat[];
  /** The host can save a chart's PNG (`exportChart`). */
  exportChart: boolean;
  /** The host can answer `requestExample` (a checkpoint's training data is available). */
  examples: boolean;
  /** The host accepts `setRunIncluded` / `setRunLr` and re-analyses. */
  editRuns: boolean;
  /** The host can reveal a run in the runs view / explorer. */
  revealRun: boolean;
  /** The host can open the extension's settings. */
  openSettings: boolean;
}

export const NO_CAPABILITIES: PanelCapabilities = {
  exportReport: [],
  exportChart: false,
  examples: false,
  editRuns: false,
  revealRun: false,
  openSettings: false,
};

export interface BusyState {
  message: string;
  /** Fraction done in [0, 1], null when unknown. */
  fraction: number | null;
  cancellable: boolean;
}

/** One training example, sent in answer to `requestExample`. */
export type ExamplePayload =
  | {
      kind: 'image';
      width: number;
      height: number;
      channels: 1 | 3 | 4;
      /** Row-major, channels interleaved (HWC). */
      pixels: number[];
      /** The pixel value drawn black (first) and white (second), e.g. [0, 16] for UCI digits. */
      range: [number, number];
    }
  | { kind: 'row'; columns: string[]; values: (string | number | null)[] }
  | { kind: 'text'; text: string }
  | { kind: 'unavailable'; reason: string };

export type HostToPanel =
  /** Everything the panel shows; replaces the previous state except the panel's own UI choices. */
  | {
      type: 'snapshot';
      protocol: number;
      /** null while nothing has been analysed yet (the panel shows `busy` or an empty state). */
      result: AnalysisResult | null;
      /** The η to highlight (e.g. the learning rate under the editor's cursor), null for none. */
      focusLr: number | null;
      busy: BusyState | null;
      capabilities: PanelCapabilities;
    }
  | { type: 'focusLr'; lr: number | null }
  | { type: 'busy'; busy: BusyState | null }
  /** An error to show in a banner; `file` names the offending file when there is one. null clears it. */
  | { type: 'error'; error: { message: string; file: string | null } | null }
  | { type: 'example'; index: number; label: string | number | null; example: ExamplePayload }
  /** Asks for the PNG of one chart, or of every chart drawn; answered by `exportChart`s and `chartPngDone`. */
  | { type: 'requestChartPng'; requestId: number; chart: ChartName | 'all' };

export type PanelToHost =
  | { type: 'ready'; protocol: number }
  | { type: 'requestExample'; index: number }
  /**
   * A chart rendered as PNG, for the host to save (`data:image/png;base64,…`): the user clicked its PNG
   * button, or (with `requestId`) the host asked for it with `requestChartPng`.
   */
  | { type: 'exportChart'; chart: ChartName; pngDataUrl: string; requestId?: number }
  /** The end of the answer to `requestChartPng`: the charts sent, in order (empty: none is drawn). */
  | { type: 'chartPngDone'; requestId: number; charts: ChartName[] }
  | { type: 'exportReport'; format: ExportFormat }
  | { type: 'revealRun'; runId: string }
  | { type: 'setRunIncluded'; runId: string; included: boolean }
  | { type: 'setRunLr'; runId: string; lr: number }
  | { type: 'openSettings'; query: string | null }
  /** The user picked an η in the panel (clicked a point); the host may reveal the matching run. */
  | { type: 'selectLr'; lr: number }
  | { type: 'cancel' }
  /** An unexpected error inside the panel, for the host's log. */
  | { type: 'panelError'; message: string };

/** What the panel keeps across reloads (vscode.setState) and what the serializer receives. */
export interface PanelState {
  protocol: number;
  /** The analysed folder, so the serializer can re-open the analysis. */
  root: string | null;
  sweepId: string | null;
  result: AnalysisResult | null;
  focusLr: number | null;
  ui: PanelUiState;
}

export interface PanelUiState {
  logLr: boolean;
  logLoss: boolean;
  /** Loss axis zoomed to the tail of the runs (the start of training dwarfs the differences). */
  zoomTail: boolean;
  /** Charts currently shown as tables. */
  tables: ChartName[];
  /** Runs hidden in the loss-curve chart. */
  hiddenRuns: string[];
  selectedExample: number | null;
  /**
   * The η axis of the sweep chart extends to the finite-η stability limits (mean-square and 2/λ_max), so
   * the predicted curve is seen up to where SGD stops settling. Absent in states saved before it: false.
   */
  etaToLimits: boolean;
}

export const DEFAULT_UI: PanelUiState = { logLr: false, logLoss: false, zoomTail: true, tables: [], hiddenRuns: [], selectedExample: null, etaToLimits: false };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

// Limits that stop a confused or hostile peer from making the other side allocate without bound.
const MAX_ID = 4096;
const MAX_TEXT = 64 * 1024;
/** A PNG of a chart at 4× device pixels is well under this. */
export const MAX_PNG_DATA_URL = 32 * 1024 * 1024;
const MAX_PIXELS = 4096 * 4096 * 4;
const MAX_ROW = 100_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isChartName = (v: unknown): v is ChartName => (CHART_NAMES as readonly unknown[]).includes(v);
const isIndex = (v: unknown): v is number => isNum(v) && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

function parseCapabilities(v: unknown): PanelCapabilities | null {
  if (!isObj(v)) return null;
  const fmts = v.exportReport;
  if (!Array.isArray(fmts) || !fmts.every((f) => (EXPORT_FORMATS as readonly unknown[]).includes(f))) return null;
  const flags = ['exportChart', 'examples', 'editRuns', 'revealRun', 'openSettings'] as const;
  if (!flags.every((k) => typeof v[k] === 'boolean')) return null;
  return {
    exportReport: fmts as ExportFormat[],
    exportChart: v.exportChart as boolean,
    examples: v.examples as boolean,
    editRuns: v.editRuns as boolean,
    revealRun: v.revealRun as boolean,
    openSettings: v.openSettings as boolean,
  };
}

function parseBusy(v: unknown): BusyState | null | undefined {
  if (v === null) return null;
  if (!isObj(v) || !isStr(v.message, MAX_TEXT) || typeof v.cancellable !== 'boolean') return undefined;
  if (v.fraction !== null && !(isNum(v.fraction) && v.fraction >= 0 && v.fraction <= 1)) return undefined;
  return { message: v.message, fraction: v.fraction as number | null, cancellable: v.cancellable };
}

/** Checks an AnalysisResult crossing the boundary; the error names the first problems by path. */
export function parseResult(v: unknown): Parsed<AnalysisResult> {
  const errs = checkResultShape(v);
  return errs.length ? fail(`invalid analysis result: ${errs.slice(0, 3).join('; ')}`) : ok(v as AnalysisResult);
}

function parseExample(v: unknown): ExamplePayload | null {
  if (!isObj(v)) return null;
  switch (v.kind) {
    case 'image': {
      const { width, height, channels, pixels, range } = v;
      if (!isIndex(width) || !isIndex(height) || width === 0 || height === 0) return null;
      if (channels !== 1 && channels !== 3 && channels !== 4) return null;
      if (!Array.isArray(pixels) || pixels.length > MAX_PIXELS || pixels.length !== width * height * channels) return null;
      if (!pixels.every(isNum)) return null;
      if (!Array.isArray(range) || range.length !== 2 || !isNum(range[0]) || !isNum(range[1]) || range[0] === range[1]) return null;
      return { kind: 'image', width, height, channels, pixels, range: [range[0], range[1]] };
    }
    case 'row': {
      const { columns, values } = v;
      if (!Array.isArray(columns) || !Array.isArray(values) || columns.length !== values.length || columns.length > MAX_ROW) return null;
      if (!columns.every((c) => isStr(c, MAX_TEXT))) return null;
      if (!values.every((x) => x === null || isNum(x) || isStr(x, MAX_TEXT))) return null;
      return { kind: 'row', columns, values };
    }
    case 'text':
      return isStr(v.text, MAX_TEXT) ? { kind: 'text', text: v.text } : null;
    case 'unavailable':
      return isStr(v.reason, MAX_TEXT) ? { kind: 'unavailable', reason: v.reason } : null;
    default:
      return null;
  }
}

/** The panel's check of a message from the host. */
export function parseHostToPanel(raw: unknown): Parsed<HostToPanel> {
  if (!isObj(raw) || typeof raw.type !== 'string') return fail('not a message object');
  switch (raw.type) {
    case 'snapshot': {
      if (raw.protocol !== PROTOCOL_VERSION) return fail(`protocol version ${String(raw.protocol)}, expected ${PROTOCOL_VERSION}`);
      let result: AnalysisResult | null = null;
      if (raw.result !== null) {
        const r = parseResult(raw.result);
        if (!r.ok) return r;
        result = r.value;
      }
      if (raw.focusLr !== null && !isNum(raw.focusLr)) return fail('snapshot.focusLr: expected a number or null');
      const busy = parseBusy(raw.busy);
      if (busy === undefined) return fail('snapshot.busy: malformed');
      const capabilities = parseCapabilities(raw.capabilities);
      if (!capabilities) return fail('snapshot.capabilities: malformed');
      return ok({ type: 'snapshot', protocol: PROTOCOL_VERSION, result, focusLr: raw.focusLr as number | null, busy, capabilities });
    }
    case 'focusLr':
      return raw.lr === null || isNum(raw.lr) ? ok({ type: 'focusLr', lr: raw.lr as number | null }) : fail('focusLr.lr: expected a number or null');
    case 'busy': {
      const busy = parseBusy(raw.busy);
      return busy === undefined ? fail('busy: malformed') : ok({ type: 'busy', busy });
    }
    case 'error': {
      const e = raw.error;
      if (e === null) return ok({ type: 'error', error: null });
      if (!isObj(e) || !isStr(e.message, MAX_TEXT) || !(e.file === null || isStr(e.file, MAX_TEXT))) return fail('error: malformed');
      return ok({ type: 'error', error: { message: e.message, file: e.file as string | null } });
    }
    case 'example': {
      if (!isIndex(raw.index)) return fail('example.index: expected a non-negative integer');
      const label = raw.label;
      if (!(label === null || isNum(label) || isStr(label, MAX_TEXT))) return fail('example.label: expected a string, number or null');
      const example = parseExample(raw.example);
      if (!example) return fail('example.example: malformed payload');
      return ok({ type: 'example', index: raw.index, label: label as string | number | null, example });
    }
    case 'requestChartPng': {
      if (!isIndex(raw.requestId)) return fail('requestChartPng.requestId: expected a non-negative integer');
      if (raw.chart !== 'all' && !isChartName(raw.chart)) return fail('requestChartPng.chart: expected a chart name or "all"');
      return ok({ type: 'requestChartPng', requestId: raw.requestId, chart: raw.chart as ChartName | 'all' });
    }
    default:
      return fail(`unknown message type ${JSON.stringify(raw.type.slice(0, 40))}`);
  }
}

/** The host's check of a message from the panel. */
export function parsePanelToHost(raw: unknown): Parsed<PanelToHost> {
  if (!isObj(raw) || typeof raw.type !== 'string') return fail('not a message object');
  switch (raw.type) {
    case 'ready':
      return isNum(raw.protocol) ? ok({ type: 'ready', protocol: raw.protocol }) : fail('ready.protocol: expected a number');
    case 'requestExample':
      return isIndex(raw.index) ? ok({ type: 'requestExample', index: raw.index }) : fail('requestExample.index: expected a non-negative integer');
    case 'exportChart': {
      if (!isChartName(raw.chart)) return fail('exportChart.chart: unknown chart');
      const url = raw.pngDataUrl;
      if (!isStr(url, MAX_PNG_DATA_URL) || !/^data:image\/png;base64,[A-Za-z0-9+/]+={0,2}$/.test(url)) {
        return fail('exportChart.pngDataUrl: expected a base64 PNG data URL');
      }
      if (raw.requestId === undefined) return ok({ type: 'exportChart', chart: raw.chart, pngDataUrl: url });
      if (!isIndex(raw.requestId)) return fail('exportChart.requestId: expected a non-negative integer');
      return ok({ type: 'exportChart', chart: raw.chart, pngDataUrl: url, requestId: raw.requestId });
    }
    case 'chartPngDone': {
      if (!isIndex(raw.requestId)) return fail('chartPngDone.requestId: expected a non-negative integer');
      const charts = raw.charts;
      if (!Array.isArray(charts) || !charts.every(isChartName) || new Set(charts).size !== charts.length) {
        return fail('chartPngDone.charts: expected distinct chart names');
      }
      return ok({ type: 'chartPngDone', requestId: raw.requestId, charts: [...charts] });
    }
    case 'exportReport':
      return (EXPORT_FORMATS as readonly unknown[]).includes(raw.format)
        ? ok({ type: 'exportReport', format: raw.format as ExportFormat })
        : fail('exportReport.format: expected html, md or json');
    case 'revealRun':
      return isStr(raw.runId, MAX_ID) ? ok({ type: 'revealRun', runId: raw.runId }) : fail('revealRun.runId: expected a string');
    case 'setRunIncluded':
      return isStr(raw.runId, MAX_ID) && typeof raw.included === 'boolean'
        ? ok({ type: 'setRunIncluded', runId: raw.runId, included: raw.included })
        : fail('setRunIncluded: expected runId and included');
    case 'setRunLr':
      return isStr(raw.runId, MAX_ID) && isNum(raw.lr) && raw.lr > 0
        ? ok({ type: 'setRunLr', runId: raw.runId, lr: raw.lr })
        : fail('setRunLr: expected runId and a positive η');
    case 'openSettings':
      return raw.query === null || isStr(raw.query, MAX_ID) ? ok({ type: 'openSettings', query: raw.query as string | null }) : fail('openSettings.query: malformed');
    case 'selectLr':
      return isNum(raw.lr) && raw.lr > 0 ? ok({ type: 'selectLr', lr: raw.lr }) : fail('selectLr.lr: expected a positive number');
    case 'cancel':
      return ok({ type: 'cancel' });
    case 'panelError':
      return typeof raw.message === 'string' ? ok({ type: 'panelError', message: raw.message.slice(0, MAX_TEXT) }) : fail('panelError.message: expected a string');
    default:
      return fail(`unknown message type ${JSON.stringify(raw.type.slice(0, 40))}`);
  }
}

function parseUi(v: unknown): PanelUiState {
  if (!isObj(v)) return { ...DEFAULT_UI };
  const names = CHART_NAMES as readonly unknown[];
  return {
    logLr: v.logLr === true,
    logLoss: v.logLoss === true,
    zoomTail: v.zoomTail !== false,
    tables: Array.isArray(v.tables) ? (v.tables.filter((t) => names.includes(t)) as ChartName[]) : [],
    hiddenRuns: Array.isArray(v.hiddenRuns) ? v.hiddenRuns.filter((r): r is string => isStr(r, MAX_ID)).slice(0, 10_000) : [],
    selectedExample: isIndex(v.selectedExample) ? v.selectedExample : null,
    etaToLimits: v.etaToLimits === true,
  };
}

/**
 * Reads a persisted panel state (from getState, or the serializer's `state` argument). Anything
 * unreadable falls back to defaults; a stale or invalid result is dropped, never rendered.
 */
export function parsePanelState(raw: unknown): PanelState {
  const empty: PanelState = { protocol: PROTOCOL_VERSION, root: null, sweepId: null, result: null, focusLr: null, ui: { ...DEFAULT_UI } };
  if (!isObj(raw)) return empty;
  const sameProtocol = raw.protocol === PROTOCOL_VERSION;
  const result = sameProtocol && raw.result !== null && raw.result !== undefined ? parseResult(raw.result) : null;
  return {
    protocol: PROTOCOL_VERSION,
    root: isStr(raw.root, MAX_TEXT) ? raw.root : null,
    sweepId: isStr(raw.sweepId, MAX_ID) ? raw.sweepId : null,
    result: result?.ok ? result.value : null,
    focusLr: isNum(raw.focusLr) ? raw.focusLr : null,
    ui: sameProtocol ? parseUi(raw.ui) : { ...DEFAULT_UI },
  };
}
