/**
 * Runs the in-host suite (test/e2e/host/suite/*.host.test.ts) inside a real VS Code extension host through
 * @vscode/test-electron. On this kind of machine VS Code cannot be downloaded, so `vscodeExecutablePath`
 * points at our stand-in that serves the workbench with code-server; where VS Code can be downloaded,
 * HEATCAP_E2E_DESKTOP=1 runs the same suite on desktop VS Code instead.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { makeFixture } from './support/fixture';
import { REPO_ROOT } from './support/paths';

async function main(): Promise<void> {
  const desktop = process.env.HEATCAP_E2E_DESKTOP === '1';
  // The fixture workspace (support/fixture.ts) is generated for the run and removed after it.
  const fixture = process.env.HEATCAP_E2E_WORKSPACE ? undefined : makeFixture();
  const workspace = process.env.HEATCAP_E2E_WORKSPACE ?? (fixture as { workspace: string }).workspace;
  try {
    await runTests({
      vscodeExecutablePath: desktop ? undefined : path.join(__dirname, 'host', 'code-standin'),
      version: desktop ? '1.100.3' : undefined,
      extensionDevelopmentPath: process.env.HEATCAP_E2E_EXTENSION ?? REPO_ROOT,
      extensionTestsPath: path.join(__dirname, 'host', 'suite', 'index.js'),
      launchArgs: [workspace],
      extensionTestsEnv: { HEATCAP_E2E: '1' },
    });
  } finally {
    if (fixture) rmSync(fixture.base, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
