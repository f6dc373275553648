/**
 * Plays the part of the VS Code executable that @vscode/test-electron launches: it reads the arguments
 * test-electron passes (`--extensionDevelopmentPath=…`, `--extensionTestsPath=…`, a folder to open),
 * starts code-server (the real VS Code server with a real Node extension host), opens the workbench in
 * headless Chromium with the development extension and the tests passed through the workbench URL's
 * `payload` parameter (code-server rejects them on its command line), and exits with the code the
 * extension-host test runner reports through `window.codeAutomationExit`.
 */
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { launchChromium } from '../support/browser';
import { makeProfile, startCodeServer } from '../support/codeServer';
import { ARTIFACTS } from '../support/paths';

function argValue(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  const hit = args.find((a) => a.startsWith(prefix));
  return hit?.slice(prefix.length);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const devPath = argValue(args, 'extensionDevelopmentPath');
  const testsPath = argValue(args, 'extensionTestsPath');
  const folder = args.find((a) => !a.startsWith('-')) ?? process.cwd();
  if (!devPath || !testsPath) {
    console.error('code-standin: --extensionDevelopmentPath and --extensionTestsPath are required');
    return 2;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = makeProfile();
  const server = await startCodeServer({ workspace: folder, profile, logFile: path.join(ARTIFACTS, 'host-code-server.log') });
  // Interrupted (Ctrl+C, test-electron or CI giving up): the detached server must not outlive us.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const remote = (p: string) => `vscode-remote://127.0.0.1:${server.port}${path.resolve(p)}`;
    const payload = [
      ['extensionDevelopmentPath', remote(devPath)],
      ['extensionTestsPath', remote(testsPath)],
    ];
    const exitCode = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(Number(code) || 0));
    });
    await page.exposeFunction('codeAutomationLog', (_type: string, logArgs: unknown[]) => {
      console.log(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
    });
    const url = `${server.url}/?folder=${encodeURIComponent(path.resolve(folder))}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url);
    const limitMs = Number(process.env.HEATCAP_E2E_HOST_TIMEOUT_MS ?? 300_000);
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(124), limitMs).unref());
    const code = await Promise.race([exitCode, timeout]);
    if (code !== 0) await page.screenshot({ path: path.join(ARTIFACTS, 'host-tests-failed.png') }).catch(() => undefined);
    if (code === 124) console.error(`code-standin: the in-host tests did not finish within ${limitMs / 1000} s`);
    return code;
  } finally {
    await browser?.close().catch(() => undefined);
    await server.stop();
    // The isolated home/user-data/extensions folders of this run (its workbench logs first, for CI).
    const logs = path.join(profile.userDataDir, 'logs');
    rmSync(path.join(ARTIFACTS, 'host-workbench-logs'), { recursive: true, force: true });
    if (existsSync(logs)) cpSync(logs, path.join(ARTIFACTS, 'host-workbench-logs'), { recursive: true });
    rmSync(path.dirname(profile.home), { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error('code-standin:', e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
