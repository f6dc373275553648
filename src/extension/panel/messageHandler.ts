/**
 * The host's side of the panel protocol (src/shared/webviewProtocol.ts): every message from the webview
 * is checked with `parsePanelToHost` and dispatched to one action. A refused message is logged and
 * otherwise ignored (the webview is not trusted); an action that fails shows its error in the panel's
 * banner, naming the file when there is one.
 *
 * No `vscode` import: the actions are an interface the panel host implements (unit-tested).
 */
import { describeError, isHeatcapError, CancelledError } from '../../core/errors';
import { PROTOCOL_VERSION, parsePanelToHost, type ChartName, type ExportFormat, type HostToPanel } from '../../shared/webviewProtocol';

export interface PanelActions {
  post(msg: HostToPanel): void;
  /** Posts a full snapshot of the current state (the answer to `ready`). */
  sendSnapshot(): void;
  saveChartPng(chart: ChartName, png: Uint8Array): Promise<void>;
  /** A chart image answering the host's `requestChartPng`; false when no such request is waiting. */
  chartPngAnswer(requestId: number, chart: ChartName, png: Uint8Array): boolean;
  /** The end of that answer; false when no such request is waiting. */
  chartPngDone(requestId: number, charts: ChartName[]): boolean;
  exportReport(format: ExportFormat): Promise<void>;
  revealRun(runId: string): Promise<void>;
  setRunIncluded(runId: string, included: boolean): Promise<void>;
  setRunLr(runId: string, lr: number): Promise<void>;
  openSettings(query: string): Promise<void>;
  selectLr(lr: number): void;
  requestExample(index: number): Promise<void>;
  cancel(): void;
  log(line: string): void;
}

/** Our settings' prefix: the panel may open the settings UI on these, nothing else. */
const SETTINGS_QUERY = /^heatcap(\.[A-Za-z][A-Za-z0-9]*)*$/;
export const DEFAULT_SETTINGS_QUERY = '@ext:sgd-heat-capacity.sgd-heat-capacity';

/** The settings search the panel asked for, limited to this extension's settings. */
export function settingsQuery(query: string | null): string {
  return query !== null && SETTINGS_QUERY.test(query) ? query : DEFAULT_SETTINGS_QUERY;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The bytes of a `data:image/png;base64,…` URL, or null when they are not a PNG. */
export function decodePngDataUrl(url: string): Uint8Array | null {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/]+={0,2})$/.exec(url);
  if (!m) return null;
  const bytes = Buffer.from(m[1], 'base64');
  if (bytes.length < PNG_SIGNATURE.length || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return null;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function errorMessage(e: unknown): { message: string; file: string | null } {
  if (isHeatcapError(e)) return { message: e.what, file: e.file ?? null };
  return { message: describeError(e), file: null };
}

export async function handlePanelMessage(raw: unknown, actions: PanelActions): Promise<void> {
  const parsed = parsePanelToHost(raw);
  if (!parsed.ok) {
    actions.log(`panel: refused a message: ${parsed.error}`);
    return;
  }
  const msg = parsed.value;
  try {
    switch (msg.type) {
      case 'ready':
        if (msg.protocol !== PROTOCOL_VERSION) {
          actions.log(`panel: protocol ${msg.protocol}, host speaks ${PROTOCOL_VERSION}`);
          actions.post({ type: 'error', error: { message: 'The analysis panel is from another version of the extension: run "Developer: Reload Window".', file: null } });
          return;
        }
        actions.sendSnapshot();
        return;
      case 'exportChart': {
        const png = decodePngDataUrl(msg.pngDataUrl);
        if (!png) {
          actions.log(`panel: exportChart(${msg.chart}) did not carry a PNG image`);
          return;
        }
        if (msg.requestId === undefined) await actions.saveChartPng(msg.chart, png);
        else if (!actions.chartPngAnswer(msg.requestId, msg.chart, png)) actions.log(`panel: ignored the ${msg.chart} image for request ${msg.requestId} (none is waiting)`);
        return;
      }
      case 'chartPngDone':
        if (!actions.chartPngDone(msg.requestId, msg.charts)) actions.log(`panel: ignored the end of chart request ${msg.requestId} (none is waiting)`);
        return;
      case 'exportReport':
        await actions.exportReport(msg.format);
        return;
      case 'revealRun':
        await actions.revealRun(msg.runId);
        return;
      case 'setRunIncluded':
        await actions.setRunIncluded(msg.runId, msg.included);
        return;
      case 'setRunLr':
        await actions.setRunLr(msg.runId, msg.lr);
        return;
      case 'openSettings':
        await actions.openSettings(settingsQuery(msg.query));
        return;
      case 'selectLr':
        actions.selectLr(msg.lr);
        return;
      case 'requestExample':
        await actions.requestExample(msg.index);
        return;
      case 'cancel':
        actions.cancel();
        return;
      case 'panelError':
        actions.log(`panel: ${msg.message}`);
        return;
    }
  } catch (e) {
    if (e instanceof CancelledError) return;
    const err = errorMessage(e);
    actions.log(`panel: ${msg.type} failed: ${err.file ? `${err.file}: ` : ''}${err.message}`);
    actions.post({ type: 'error', error: err });
  }
}
