/**
 * The three places the same bundle runs, behind one interface:
 *  - the VS Code panel (`acquireVsCodeApi` exists): messages to and from the extension, state kept
 *    with getState/setState;
 *  - the self-contained HTML report (the result is embedded in the page): no extension; chart PNGs
 *    and the JSON are offered as downloads;
 *  - the test harness, which is the VS Code host with a stand-in `acquireVsCodeApi`.
 */
import type { AnalysisResult } from '../src/core/result/schema';
import {
  type HostToPanel,
  NO_CAPABILITIES,
  type PanelState,
  type PanelToHost,
  parseHostToPanel,
  parsePanelState,
  parseResult,
  PROTOCOL_VERSION,
  RESULT_ELEMENT_ID,
} from '../src/shared/webviewProtocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  function acquireVsCodeApi(): VsCodeApi;
}

export interface PanelHost {
  kind: 'vscode' | 'report';
  send(msg: PanelToHost): void;
  loadState(): PanelState;
  saveState(state: PanelState): void;
  /** Starts delivering checked messages; invalid ones go to `onInvalid` with the reason. */
  listen(onMessage: (msg: HostToPanel) => void, onInvalid: (reason: string) => void): void;
}

function vscodeHost(api: VsCodeApi): PanelHost {
  return {
    kind: 'vscode',
    send: (msg) => api.postMessage(msg),
    loadState: () => parsePanelState(api.getState()),
    saveState: (state) => api.setState(state),
    listen(onMessage, onInvalid) {
      window.addEventListener('message', (ev: MessageEvent) => {
        const parsed = parseHostToPanel(ev.data);
        if (parsed.ok) onMessage(parsed.value);
        else onInvalid(parsed.error);
      });
      api.postMessage({ type: 'ready', protocol: PROTOCOL_VERSION } satisfies PanelToHost);
    },
  };
}

function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function dataUrlToBlob(dataUrl: string): Blob {
  const b64 = dataUrl.slice(dataUrl.indexOf(',') + 1);
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: 'image/png' });
}

function reportHost(embedded: string): PanelHost {
  let result: AnalysisResult | null = null;
  let initial: HostToPanel | null = null;
  let problem: string | null = null;
  try {
    const parsed = parseResult(JSON.parse(embedded));
    if (parsed.ok) result = parsed.value;
    else problem = parsed.error;
  } catch (e) {
    problem = `the embedded result is not valid JSON (${e instanceof Error ? e.message : String(e)})`;
  }
  if (result) {
    initial = {
      type: 'snapshot',
      protocol: PROTOCOL_VERSION,
      result,
      focusLr: null,
      busy: null,
      capabilities: { ...NO_CAPABILITIES, exportReport: ['json'], exportChart: true },
    };
  }
  let state: PanelState = parsePanelState(null);
  return {
    kind: 'report',
    send(msg) {
      if (msg.type === 'exportChart') download(`heatcap-${msg.chart}.png`, dataUrlToBlob(msg.pngDataUrl));
      else if (msg.type === 'exportReport' && msg.format === 'json' && result) {
        download('heatcap-result.json', new Blob([JSON.stringify(result, null, 2)], { type: 'application/json' }));
      }
    },
    loadState: () => state,
    saveState: (s) => {
      state = s;
    },
    listen(onMessage, onInvalid) {
      if (initial) onMessage(initial);
      else onInvalid(problem ?? 'no result embedded');
    },
  };
}

export function detectHost(): PanelHost {
  if (typeof acquireVsCodeApi === 'function') return vscodeHost(acquireVsCodeApi());
  const el = document.getElementById(RESULT_ELEMENT_ID);
  return reportHost(el?.textContent ?? '');
}
