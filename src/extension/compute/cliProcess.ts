/**
 * Runs one `heatcap` CLI job in a child process and turns it into a promise: progress and warnings
 * arrive over IPC (src/shared/cliIpc.ts), the result is the JSON on stdout, an error is the one line
 * on stderr. Heavy work therefore never runs on the extension-host thread, and the extension uses the
 * very code path (and result schema) the CLI users get.
 *
 * No `vscode` import: tested in plain Node against a fake CLI script.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CancelledError } from '../../core/errors';
import type { CancelToken, ProgressFn } from '../../core/cancel';
import { IPC_FLAG, parseCliToHost } from '../../shared/cliIpc';

export interface CliJob {
  /** Absolute path of the CLI bundle (`<extension>/dist/cli.js`). */
  cliPath: string;
  /** Sub-command and its arguments, without `--ipc` (added here: every command accepts it). */
  args: string[];
  cwd?: string;
  token?: CancelToken;
  onProgress?: ProgressFn;
  onWarning?: (w: { message: string; file?: string }) => void;
  /** Every stderr line and every refused IPC message, for the output channel. */
  onLog?: (line: string) => void;
  /** After SIGTERM, how long the child gets before SIGKILL. */
  killGraceMs?: number;
}

/** The CLI ran but failed: `line` is what it printed on stderr (naming the file), cleaned up. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    /** The last lines of stderr, for the output channel. */
    readonly stderrTail: string,
  ) {
    super(message);
  }
}

/** Exit code the CLI uses for a cancelled job (128 + SIGINT, the shell convention). */
export const EXIT_CANCELLED = 130;
/** Exit code of an internal error (a bug, not bad input): BSD EX_SOFTWARE, as src/cli/main.ts uses. */
export const EXIT_INTERNAL = 70;
const DEFAULT_KILL_GRACE_MS = 2000;
const STDERR_TAIL_CHARS = 8192;

/**
 * The line of stderr that says what went wrong, without the `heatcap: error:` prefix the UI does not
 * need: the CLI's own error line when there is one (a stack trace or usage text may follow it), else
 * the message line of an uncaught Node error, else the last line that is not a warning or Node's
 * version footer.
 */
export function errorLine(stderr: string): string | null {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^heatcap: warning:/i.test(l) && !/^Node\.js v\d/.test(l));
  const line =
    lines.find((l) => /^heatcap: (internal )?error:/i.test(l)) ??
    lines.find((l) => /^heatcap: /i.test(l)) ??
    lines.find((l) => /^[A-Z]?[A-Za-z]*Error: /.test(l)) ??
    lines.at(-1);
  if (!line) return null;
  return line.replace(/^heatcap:\s*((internal )?error:\s*)?/i, '');
}

function failureMessage(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const line = errorLine(stderr);
  if (code === EXIT_INTERNAL) return `heatcap crashed: ${line ?? 'internal error'} (see the Heat Capacity output for details)`;
  if (signal) return `heatcap was stopped by ${signal}${line ? `: ${line}` : ''}`;
  if (line) return line;
  return `heatcap exited with code ${code} without saying why`;
}

/**
 * Runs the job and resolves with its stdout. Rejects with `CancelledError` when the token cancels it
 * (the child is sent SIGTERM, then SIGKILL after `killGraceMs`; the promise settles only once the
 * child is gone), and with `CliFailure` on a non-zero exit, a signal, or a failure to start.
 */
export function runCliJob(job: CliJob): Promise<string> {
  const { token } = job;
  if (token?.isCancellationRequested) return Promise.reject(new CancelledError());
  if (!existsSync(job.cliPath)) {
    return Promise.reject(new CliFailure(`the heatcap CLI is missing: ${job.cliPath} (a broken installation, or a build without \`node esbuild.mjs\`)`, null, null, ''));
  }
  if (job.cwd !== undefined && !existsSync(job.cwd)) return Promise.reject(new CliFailure(`${job.cwd}: no such folder`, null, null, ''));
  return new Promise<string>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = fork(job.cliPath, [...job.args, IPC_FLAG], {
        cwd: job.cwd,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // The extension host's own flags (inspector, loaders) must not leak into the job.
        execArgv: [],
        // In desktop VS Code process.execPath is Electron: this makes it behave as plain Node.
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        serialization: 'json',
      });
    } catch (e) {
      reject(new CliFailure(`could not start heatcap: ${e instanceof Error ? e.message : String(e)}`, null, null, ''));
      return;
    }

    const out: Buffer[] = [];
    let stderr = '';
    let stderrPartial = '';
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let startError: Error | undefined;

    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_TAIL_CHARS);
      const lines = (stderrPartial + s).split(/\r?\n/);
      stderrPartial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) job.onLog?.(l);
    });
    child.on('message', (raw) => {
      const msg = parseCliToHost(raw);
      if (!msg) {
        job.onLog?.(`ignored an unknown IPC message from heatcap: ${JSON.stringify(raw)?.slice(0, 200)}`);
        return;
      }
      if (msg.type === 'progress') job.onProgress?.({ fraction: msg.fraction, message: msg.message });
      else job.onWarning?.({ message: msg.message, file: msg.file });
    });
    child.on('error', (e) => {
      // Spawn failures arrive here (and 'close' may follow); kill failures too, which we can ignore.
      startError ??= e;
    });

    const subscription = token?.onCancellationRequested?.(() => {
      if (cancelled || child.exitCode !== null || child.signalCode !== null) return;
      cancelled = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), job.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    });

    child.on('close', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      subscription?.dispose();
      if (stderrPartial.trim()) job.onLog?.(stderrPartial);
      if (cancelled || token?.isCancellationRequested) {
        reject(new CancelledError());
      } else if (startError && code !== 0) {
        reject(new CliFailure(`could not start heatcap: ${startError.message}`, null, null, stderr));
      } else if (code === 0) {
        resolve(Buffer.concat(out).toString('utf8'));
      } else if (code === EXIT_CANCELLED) {
        // Cancelled from elsewhere (e.g. a terminal's Ctrl+C on the same process group).
        reject(new CancelledError());
      } else {
        reject(new CliFailure(failureMessage(code, signal, stderr), code, signal, stderr));
      }
    });
  });
}

/** Runs the job and parses its stdout as JSON, then checks it with `parse` (which throws on a bad shape). */
export async function runCliJson<T>(job: CliJob, parse: (value: unknown) => T): Promise<T> {
  const stdout = await runCliJob(job);
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    const head = stdout.trim().slice(0, 120);
    throw new CliFailure(`heatcap printed something that is not JSON${head ? `: ${head}` : ' (nothing)'}`, 0, null, '');
  }
  return parse(value);
}
