/**
 * Messages the `heatcap` CLI sends to the process that started it, over Node's IPC channel, when it is
 * run as `child_process.fork(dist/cli.js, [...args, '--ipc'])` (the extension host does this for every
 * heavy job, so the CLI, the panel and the language server share one code path and one result schema).
 *
 * The final result still goes to stdout as JSON and errors to stderr as one line; IPC carries only
 * what happens while the job runs. Cancellation is `child.kill('SIGTERM')`: the CLI stops promptly and
 * exits with code 130 (or by the signal), so there is no host → CLI message.
 *
 * Both sides import this module: the CLI builds messages with `ipcReporter`, the host checks each one
 * with `parseCliToHost` (a message from another process is never trusted blindly).
 */

/** The flag that asks the CLI to report progress over IPC; ignored when there is no IPC channel. */
export const IPC_FLAG = '--ipc';

export type CliToHost =
  /** `fraction` in [0, 1] when known; `message` says what is being done ("reading runs/lr_0.1"). */
  | { type: 'progress'; fraction?: number; message: string }
  /** A warning for the user (also printed on stderr without --ipc); `file` names the file it is about. */
  | { type: 'warning'; message: string; file?: string };

/** Longest message text kept; a runaway message is cut, not refused. */
const MAX_TEXT = 4096;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The host's check of one IPC message; null when it is not a message this protocol knows. */
export function parseCliToHost(raw: unknown): CliToHost | null {
  if (!isObj(raw) || typeof raw.message !== 'string') return null;
  const message = raw.message.slice(0, MAX_TEXT);
  switch (raw.type) {
    case 'progress': {
      const f = raw.fraction;
      if (f === undefined || f === null) return { type: 'progress', message };
      if (typeof f !== 'number' || !Number.isFinite(f)) return null;
      return { type: 'progress', fraction: Math.min(1, Math.max(0, f)), message };
    }
    case 'warning':
      return typeof raw.file === 'string'
        ? { type: 'warning', message, file: raw.file.slice(0, MAX_TEXT) }
        : { type: 'warning', message };
    default:
      return null;
  }
}

/** What the CLI uses to report: `send` is `process.send` (bound), absent when there is no channel. */
export interface IpcReporter {
  progress(p: { fraction?: number; message: string }): void;
  warning(message: string, file?: string): void;
}

/**
 * The CLI side: a reporter when `argv` holds `--ipc` and the process has an IPC channel, else null
 * (the CLI then prints warnings on stderr). Sending never throws: a host that went away must not
 * turn a finished analysis into a crash.
 */
export function ipcReporter(argv: readonly string[], proc: { send?: (msg: unknown, callback: (error: Error | null) => void) => boolean; connected?: boolean } = process): IpcReporter | null {
  if (!argv.includes(IPC_FLAG) || typeof proc.send !== 'function') return null;
  const send = (msg: CliToHost): void => {
    if (proc.connected === false) return;
    try {
      // With a callback, a write that fails later (EPIPE: the host died after `connected` was read) comes
      // back here instead of as an 'error' event on the process, which would crash the CLI.
      proc.send?.(msg, () => undefined);
    } catch {
      // The channel closed under us (host gone): nothing left to report to.
    }
  };
  return {
    progress: (p) => send(p.fraction === undefined ? { type: 'progress', message: p.message } : { type: 'progress', fraction: p.fraction, message: p.message }),
    warning: (message, file) => send(file === undefined ? { type: 'warning', message } : { type: 'warning', message, file }),
  };
}
