/**
 * The host's side of `requestChartPng` (src/shared/webviewProtocol.ts): each request gets a fresh id, and
 * the panel's `exportChart` messages carrying that id are collected until its `chartPngDone`. A panel
 * that never answers (closed, reloaded, or from another version) fails the request after a timeout
 * instead of leaving the command waiting. No `vscode` import (unit-tested).
 */
import type { ChartName, HostToPanel } from '../../shared/webviewProtocol';

export interface ChartPng {
  chart: ChartName;
  png: Uint8Array;
}

interface Pending {
  pngs: ChartPng[];
  resolve(pngs: ChartPng[]): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export const CHART_PNG_TIMEOUT_MS = 20_000;

export class ChartPngRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /**
   * Posts a request and resolves with the charts the panel drew, in its order (none when the chart is
   * shown as a table or has nothing to draw).
   */
  request(chart: ChartName | 'all', post: (msg: HostToPanel) => void, timeoutMs = CHART_PNG_TIMEOUT_MS): Promise<ChartPng[]> {
    const requestId = this.nextId++;
    return new Promise<ChartPng[]>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(requestId, new Error('the analysis panel did not send the chart images (is it still open?)')), timeoutMs);
      this.pending.set(requestId, { pngs: [], resolve, reject, timer });
      post({ type: 'requestChartPng', requestId, chart });
    });
  }

  /** An `exportChart` with a `requestId`; false when no request of that id is waiting (late or forged). */
  onPng(requestId: number, chart: ChartName, png: Uint8Array): boolean {
    const p = this.pending.get(requestId);
    if (!p) return false;
    p.pngs.push({ chart, png });
    return true;
  }

  /** `chartPngDone`: settles the request with the images that match the charts the panel listed. */
  onDone(requestId: number, charts: readonly ChartName[]): boolean {
    const p = this.pending.get(requestId);
    if (!p) return false;
    this.pending.delete(requestId);
    clearTimeout(p.timer);
    const got = new Map(p.pngs.map((x) => [x.chart, x]));
    const missing = charts.filter((c) => !got.has(c));
    if (missing.length) p.reject(new Error(`the analysis panel listed ${missing.join(', ')} but sent no image of ${missing.length === 1 ? 'it' : 'them'}`));
    else p.resolve(charts.map((c) => got.get(c) as ChartPng));
    return true;
  }

  /** Fails every waiting request (the panel was closed or its page reloaded). */
  failAll(reason: string): void {
    for (const id of [...this.pending.keys()]) this.fail(id, new Error(reason));
  }

  private fail(requestId: number, e: Error): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    this.pending.delete(requestId);
    clearTimeout(p.timer);
    p.reject(e);
  }
}
