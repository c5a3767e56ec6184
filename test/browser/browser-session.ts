// One real core (SoftHSM2 through pkcs11js) and one Chromium page per browser test file, plus the
// checks every file wants: no CSP violation, no page error, no inline style, no native dialog.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import { VigilCore, type CoreOptions } from '../../electron/core/vigil-core.ts';
import { startBridge, type Bridge } from '../helpers/test-bridge.ts';

export interface BrowserSession {
  core: VigilCore;
  bridge: Bridge;
  page: Page;
  dataDir: string;
  exportDir: string;
  /** Console errors and uncaught page errors since the page loaded. */
  pageErrors: string[];
}

// Plain JavaScript text: tsx would add helpers to a TS function that the page does not have.
const RECORD_CSP_VIOLATIONS = `(() => {
  globalThis.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    globalThis.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
  });
})();`;

export function useBrowserSession(
  name: string,
  // Anything else the core takes (a runbooks folder, a slow verifier, a picker of its own).
  options: Partial<Omit<CoreOptions, 'dataDir'>> = {},
): BrowserSession {
  const session = { pageErrors: [] as string[] } as BrowserSession;
  before(async () => {
    session.dataDir = mkdtempSync(join(tmpdir(), `vigil-${name}-data-`));
    session.exportDir = mkdtempSync(join(tmpdir(), `vigil-${name}-export-`));
    session.core = new VigilCore({
      dataDir: session.dataDir,
      pickFolder: () => Promise.resolve(session.exportDir),
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      ...options,
    });
    session.bridge = await startBridge({ core: session.core });
    session.page = session.bridge.page;
    session.page.on('console', (message) => {
      if (message.type() === 'error') session.pageErrors.push(message.text());
    });
    session.page.on('pageerror', (error) => session.pageErrors.push(error.message));
    // The app has no native dialog; one appearing is a failure, not something to click away.
    session.page.on('dialog', (dialog) => {
      session.pageErrors.push(`native dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await session.page.addInitScript({ content: RECORD_CSP_VIOLATIONS });
    await session.page.reload();
    await session.page.getByTestId('app-ready').waitFor();
  });
  after(async () => {
    await session.bridge?.close();
    session.core?.close();
  });
  return session;
}

/** The page obeyed the strict CSP: nothing was refused, no inline style exists, nothing failed. */
export async function assertCleanPage(session: BrowserSession): Promise<void> {
  const violations = await session.page.evaluate('globalThis.__cspViolations');
  assert.deepEqual(violations, [], 'CSP violations');
  assert.equal(await session.page.locator('[style]').count(), 0, 'elements with style=""');
  assert.equal(await session.page.locator('style').count(), 0, 'inline <style> elements');
  assert.deepEqual(session.pageErrors, [], 'console errors or page errors');
  assert.deepEqual(session.bridge.foreignRequests, [], 'requests outside the app');
}

/** Makes a SoftHSM2 rehearsal token from the devices panel and waits until it is listed. */
export async function createRehearsalTokenInUi(page: Page, label: string): Promise<void> {
  await page.getByTestId('rehearsal-label').fill(label);
  await page.getByTestId('create-rehearsal-token').click();
  await page
    .getByTestId('devices-panel')
    .getByTestId('device-label')
    .getByText(label, { exact: true })
    .waitFor();
}
