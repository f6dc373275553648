/**
 * Driving the VS Code workbench served by code-server, with the selectors that hold on 1.100
 * (../shared/vscode-host.md). Every wait is bounded; the only retries are where the workbench is racy
 * (a key pressed while focus sits in a webview or before the keybinding service is up is lost).
 */
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { ARTIFACTS } from './paths';

export const WORKBENCH_LOAD_MS = 120_000;

/** Opens the workbench on `folder` and waits until its explorer lists the folder's files. */
export async function openWorkbench(page: Page, serverUrl: string, folder: string): Promise<void> {
  await page.goto(`${serverUrl}/?folder=${encodeURIComponent(folder)}`, { timeout: WORKBENCH_LOAD_MS });
  await page.locator('.monaco-workbench').waitFor({ timeout: WORKBENCH_LOAD_MS });
  // The explorer's rows appear once the workbench has restored its parts and read the folder.
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: WORKBENCH_LOAD_MS });
}

const quickInput = (page: Page): Locator => page.locator('.quick-input-widget input.input');

/** Opens the command palette (F1); retried because a key pressed while a webview has focus can be lost. */
async function openPalette(page: Page): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await quickInput(page).waitFor({ state: 'visible', timeout: 5_000 });
      return;
    } catch (e) {
      if (attempt >= 4) throw e;
      // Give the focus back to the workbench (the status bar is inert to a click) and try again.
      await page.keyboard.press('Escape');
      await page.locator('.part.statusbar').click({ position: { x: 5, y: 5 } }).catch(() => undefined);
    }
  }
}

/** Runs a command from the palette by its full title (`Category: Title`), as a user would. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await openPalette(page);
  await quickInput(page).fill(`>${title}`);
  // Wait for the row so that Enter picks this command, not whatever was highlighted a moment ago.
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** Opens a workspace file by name through Quick Open and waits for its text in the editor. */
export async function openFile(page: Page, name: string, expectText: string): Promise<void> {
  await openPalette(page);
  await quickInput(page).fill(name);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.locator('.editor-instance .view-lines', { hasText: expectText }).first().waitFor({ timeout: 30_000 });
}

/** The analysis panel's document: the webview's outer iframe, then its `#active-frame`. */
export function panelFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

export function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('.notification-toast', { hasText: text });
}

/** Shows the Runs view (the activity bar's Heat Capacity item) and returns its tree rows. */
export async function showRunsView(page: Page): Promise<Locator> {
  const title = page.locator('.part.sidebar .composite.title .title-label');
  if (!/Heat Capacity/i.test((await title.textContent().catch(() => '')) ?? '')) {
    await page.locator('.activitybar .action-item a[aria-label^="Heat Capacity"]').click();
  }
  const rows = page.locator('.part.sidebar .monaco-list-row');
  await rows.first().waitFor({ timeout: 30_000 });
  return rows;
}

/** What a failed test leaves for CI: a screenshot and the workbench's logs (the extension's output channel among them). */
export async function captureFailure(page: Page | undefined, name: string, userDataDir?: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const safe = name.replace(/[^\w.-]+/g, '_').slice(0, 80);
  if (page) await page.screenshot({ path: path.join(ARTIFACTS, `failed-${safe}.png`) }).catch(() => undefined);
  const logs = userDataDir && path.join(userDataDir, 'logs');
  if (logs && existsSync(logs)) cpSync(logs, path.join(ARTIFACTS, 'ui-workbench-logs'), { recursive: true });
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Answers VS Code's simple file dialog (code-server's open/save dialog: a quick input holding a path)
 * as a user would: waits for the dialog titled `title`, types the folder so that it lists it (waiting
 * for the row `listed`, a name in that folder), then the full path when a file is wanted, and presses
 * the dialog's own button (`button`, the openLabel/saveLabel). Enter right after typing can be taken
 * before the dialog has caught up, so the listing is awaited and the button clicked instead.
 */
export async function answerFileDialog(page: Page, opts: { title: string; path: string; listed: string; button: string }): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const titled = widget.locator('.quick-input-title', { hasText: opts.title });
  await titled.waitFor({ timeout: 30_000 });
  const input = quickInput(page);
  await until('the dialog to show a path', async () => ((await input.inputValue()).startsWith('/') ? true : undefined), 15_000);
  // Its first listing (the default folder): until then the dialog may still rewrite its own value.
  await widget.locator('.monaco-list-row').first().waitFor({ timeout: 15_000 });
  const isFolder = opts.path.endsWith('/');
  const folder = isFolder ? opts.path : `${path.dirname(opts.path)}/`;
  // Typed again when the dialog, still loading, merged what was typed with its own value.
  const type = async (value: string, row: string | null): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      await input.fill(value);
      try {
        await until(`the dialog to hold ${value}`, async () => ((await input.inputValue()) === value ? true : undefined), 3_000);
        if (row) await widget.locator('.monaco-list-row', { hasText: row }).first().waitFor({ timeout: 8_000 });
        if ((await input.inputValue()) === value) return;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
      if (attempt >= 3) throw new Error(`the file dialog does not keep ${value} (it holds ${await input.inputValue()})`);
      await page.waitForTimeout(500);
    }
  };
  await type(folder, opts.listed);
  if (!isFolder) await type(opts.path, null);
  // The dialog's own button, by its whole label ("Select" must not pick another button containing it).
  const label = new RegExp(`^\\s*${opts.button.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  await widget.locator('.monaco-button').filter({ hasText: label }).first().click();
  await titled.waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Picks the row `label` of an open quick pick titled `title` (clicking a row accepts a single pick). */
export async function pickQuickItem(page: Page, title: string, label: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ timeout: 15_000 });
  await widget.locator('.monaco-list-row', { hasText: label }).first().click();
}

/** Answers an input box titled `title` with `value` (replacing its suggestion) and Enter. */
export async function answerInputBox(page: Page, title: string, value: string | null): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const titled = widget.locator('.quick-input-title', { hasText: title });
  await titled.waitFor({ timeout: 15_000 });
  if (value !== null) {
    await quickInput(page).fill(value);
    await until(`the box to hold ${value}`, async () => ((await quickInput(page).inputValue()) === value ? true : undefined), 5_000);
  }
  await page.keyboard.press('Enter');
  await titled.waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Right-clicks `row` and picks `item` from its context menu (the workbench draws the menu in a shadow root, which Playwright's CSS pierces). */
export async function contextMenu(page: Page, row: Locator, item: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await row.click({ button: 'right' });
    const entry = page.locator('.monaco-menu .action-item', { hasText: item }).first();
    try {
      await entry.waitFor({ timeout: 5_000 });
      // A click right after the menu opens can be ignored (the menu discards the mouse-up that may
      // belong to the right-click): point at the entry, let it settle, click, and check the menu went.
      await entry.hover();
      await page.waitForTimeout(300);
      await entry.click();
      const closed = await entry.waitFor({ state: 'hidden', timeout: 3_000 }).then(
        () => true,
        () => false,
      );
      if (!closed) {
        await page.keyboard.press('Enter'); // the hovered entry is the active one
        await entry.waitFor({ state: 'hidden', timeout: 3_000 });
      }
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

/** Dismisses every notification (so the next toast looked for is a new one). */
export async function clearNotifications(page: Page): Promise<void> {
  // A quick input left open (a test that failed half-way) would take the next keystrokes.
  if (await page.locator('.quick-input-widget').isVisible()) await page.keyboard.press('Escape');
  await runCommand(page, 'Notifications: Clear All Notifications');
  await until('the notifications to close', async () => ((await page.locator('.notification-toast').count()) === 0 ? true : undefined), 10_000);
}
