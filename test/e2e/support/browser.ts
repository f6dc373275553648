import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM } from './paths';

/**
 * Debian's Chromium, headless, with nothing that phones home (the network here is closed). Playwright gives
 * it a fresh temporary profile; XDG_CONFIG_HOME keeps its other state out of the real home. The folder is
 * removed once the browser is gone.
 */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'heatcap-chromium-'));
  process.env.XDG_CONFIG_HOME = path.join(profile, 'xdg');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  browser.once('disconnected', () => rmSync(profile, { recursive: true, force: true }));
  return browser;
}
