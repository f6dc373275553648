/**
 * A stand-in for the `vscode` module, just large enough to run the extension's job service in plain
 * Node: `window.withProgress` records each progress UI and hands out a cancellation token the test can
 * fire (as the notification's Cancel button would). Installed before the module under test is loaded.
 * Real-host behaviour is covered by the e2e suite; this checks our own logic around the API.
 */
import Module from 'node:module';
import { CancelSource } from '../../../../src/core/cancel';

export interface ProgressRecord {
  options: { location: number; title?: string; cancellable?: boolean };
  reports: { increment?: number; message?: string }[];
  cancel(): void;
}

export const progressUis: ProgressRecord[] = [];
export const errorMessages: string[] = [];

export const vscodeStub = {
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  window: {
    withProgress<T>(options: ProgressRecord['options'], task: (p: { report(r: object): void }, token: unknown) => Promise<T>): Promise<T> {
      const source = new CancelSource();
      const record: ProgressRecord = { options, reports: [], cancel: () => source.cancel() };
      progressUis.push(record);
      return task({ report: (r) => record.reports.push(r) }, source.token);
    },
    showErrorMessage(message: string): Promise<undefined> {
      errorMessages.push(message);
      return Promise.resolve(undefined);
    },
  },
};

type Resolver = (request: string, ...rest: unknown[]) => string;
const M = Module as unknown as { _resolveFilename: Resolver; _cache: Record<string, unknown> };
const original = M._resolveFilename;
M._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
  return request === 'vscode' ? 'vscode' : original.call(this, request, ...rest);
};
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscodeStub } as unknown as NodeJS.Module;
