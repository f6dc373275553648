import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, createWriteStream, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CODE_SERVER_BIN } from './paths';

export interface CodeServer {
  url: string;
  port: number;
  pid: number;
  /** Isolated folders of this instance. */
  userDataDir: string;
  extensionsDir: string;
  /** Stops the server and everything it started (its process group), by PID. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Isolated home, user-data and extensions folders, with settings that silence welcome pages and telemetry. */
export function makeProfile(
  base = mkdtempSync(path.join(os.tmpdir(), 'heatcap-cs-')),
  /** User settings added to (or replacing) the defaults below. */
  extraSettings: Record<string, unknown> = {},
): { home: string; userDataDir: string; extensionsDir: string; config: string } {
  const home = path.join(base, 'home');
  const userDataDir = path.join(base, 'user-data');
  const extensionsDir = path.join(base, 'extensions');
  for (const d of [home, path.join(userDataDir, 'User'), extensionsDir]) mkdirSync(d, { recursive: true });
  const config = path.join(base, 'config.yaml');
  writeFileSync(config, 'auth: none\ncert: false\n');
  writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'security.workspace.trust.enabled': false,
        'editor.codeLens': true,
        'window.restoreWindows': 'none',
        'chat.commandCenter.enabled': false,
        ...extraSettings,
      },
      null,
      2,
    ),
  );
  return { home, userDataDir, extensionsDir, config };
}

/** Installs a .vsix into an isolated extensions folder with code-server's own CLI. */
export function installExtension(vsix: string, profile: { home: string; userDataDir: string; extensionsDir: string; config: string }): void {
  const r = spawnSync(
    CODE_SERVER_BIN,
    ['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir, '--config', profile.config, '--install-extension', vsix],
    { env: { ...process.env, HOME: profile.home }, encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`code-server --install-extension failed (${r.status}): ${r.stderr || r.stdout}`);
}

export interface StartOptions {
  workspace: string;
  profile?: ReturnType<typeof makeProfile>;
  logFile?: string;
  env?: Record<string, string>;
  extraArgs?: string[];
}

/** Starts code-server bound to 127.0.0.1 on a free port and waits for /healthz. */
export async function startCodeServer(opts: StartOptions): Promise<CodeServer> {
  if (!existsSync(CODE_SERVER_BIN)) throw new Error(`code-server is not installed at ${CODE_SERVER_BIN}: run test/e2e/setup.sh`);
  const profile = opts.profile ?? makeProfile();
  const port = await freePort();
  const args = [
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', profile.userDataDir,
    '--extensions-dir', profile.extensionsDir,
    '--config', profile.config,
    ...(opts.extraArgs ?? []),
    opts.workspace,
  ];
  const child: ChildProcess = spawn(CODE_SERVER_BIN, args, {
    env: { ...process.env, HOME: profile.home, ...opts.env },
    detached: true, // its own process group, so stop() ends the whole tree by PID
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (opts.logFile) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    const log = createWriteStream(opts.logFile);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  const pid = child.pid;
  if (!pid) throw new Error('code-server did not start');
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`code-server exited during start-up (see ${opts.logFile ?? 'its output'})`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup(pid);
      throw new Error('code-server did not answer /healthz within 60 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    pid,
    userDataDir: profile.userDataDir,
    extensionsDir: profile.extensionsDir,
    stop: async () => {
      if (exited) return;
      killGroup(pid);
      const until = Date.now() + 10_000;
      while (!exited && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (!exited) killGroup(pid, 'SIGKILL');
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
