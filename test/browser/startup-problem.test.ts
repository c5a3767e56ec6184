// The window opening on a data folder Vigil cannot open (issue 18, finding 8), in Chromium through
// the test bridge with the app's real start-up: a damaged journal is explained (what, which line,
// where), moved aside after a confirmation and the app then starts on a fresh journal whose first
// entry names the moved file; a folder another Vigil holds names the holder and opens on "Try
// again" once it let go. At 1280×800, stream mode off and on: nothing wider than the window, text
// readable on camera, no serious axe-core finding, the strict CSP obeyed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DataFolderLock } from '../../electron/core/journal/data-folder-lock.ts';
import { Journal } from '../../electron/core/journal/journal.ts';
import { CoreStartup, journalPathIn } from '../../electron/core/startup/core-startup.ts';
import { startBridge, type Bridge } from '../helpers/test-bridge.ts';
import { seriousAxeFindings } from './axe-findings.ts';
import { probeLayout } from './layout-probe.ts';

const RECORD_CSP_VIOLATIONS = `(() => {
  globalThis.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    globalThis.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
  });
})();`;

interface StartupSession {
  startup: CoreStartup;
  bridge: Bridge;
  page: Page;
  pageErrors: string[];
}

function useStartupSession(dataDir: () => string): StartupSession {
  const session = { pageErrors: [] as string[] } as StartupSession;
  before(async () => {
    session.startup = CoreStartup.open({
      dataDir: dataDir(),
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      usePcsc: false,
      useUsbYubiHsm: false,
    });
    session.bridge = await startBridge({ core: session.startup });
    session.page = session.bridge.page;
    session.page.on('console', (m) => {
      if (m.type() === 'error') session.pageErrors.push(m.text());
    });
    session.page.on('pageerror', (e) => session.pageErrors.push(e.message));
    session.page.on('dialog', (d) => {
      session.pageErrors.push(`native dialog: ${d.message()}`);
      void d.dismiss();
    });
    await session.page.addInitScript({ content: RECORD_CSP_VIOLATIONS });
    await session.page.setViewportSize({ width: 1280, height: 800 });
    await session.page.reload();
  });
  after(async () => {
    await session.bridge?.close();
    session.startup?.close();
  });
  return session;
}

async function assertClean(session: StartupSession): Promise<void> {
  assert.deepEqual(await session.page.evaluate('globalThis.__cspViolations'), [], 'CSP');
  assert.equal(await session.page.locator('[style]').count(), 0, 'no style attributes');
  assert.deepEqual(session.pageErrors, [], 'console or page errors');
  assert.deepEqual(session.bridge.foreignRequests, []);
}

async function assertLooksRight(page: Page, label: string): Promise<void> {
  for (const isStreaming of [false, true]) {
    const toggle = page.getByTestId('stream-toggle');
    if ((await toggle.getAttribute('data-state')) !== (isStreaming ? 'on' : 'off')) {
      await toggle.click();
    }
    const layout = await probeLayout(page);
    const mode = `${label}, stream mode ${isStreaming ? 'on' : 'off'}`;
    assert.equal(layout.overflowPx, 0, `${mode}: wider than the window`);
    assert.deepEqual(layout.cutOff, [], `${mode}: cut off`);
    assert.deepEqual(layout.unreadable, [], `${mode}: unreadable on camera`);
    assert.deepEqual(await seriousAxeFindings(page), [], `${mode}: axe-core`);
  }
  await page.getByTestId('stream-toggle').click();
}

describe('the window on a damaged journal', () => {
  let dataDir = '';
  const session = useStartupSession(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-startup-browser-'));
    const journal = Journal.open(journalPathIn(dataDir));
    journal.append('test.first', {});
    journal.append('test.second', {});
    journal.close();
    // What finding 8 found: a `null` line, which the app's start used to die on without a window.
    writeFileSync(journalPathIn(dataDir), readFileSync(journalPathIn(dataDir), 'utf8') + 'null\n');
    return dataDir;
  });

  it('opens on the problem: what is wrong, which line, where the journal is', async () => {
    const { page } = session;
    const problem = page.getByTestId('startup-problem');
    await problem.waitFor();
    assert.equal(await problem.getAttribute('data-code'), 'journal-corrupt');
    assert.match(await page.locator('h2').first().innerText(), /journal is damaged/);
    assert.equal(
      await page.getByTestId('startup-journal-path').innerText(),
      journalPathIn(dataDir),
    );
    assert.equal(await page.getByTestId('startup-line').innerText(), '3');
    assert.match(await page.getByTestId('startup-message').innerText(), /journal line 3/);
    assert.equal(await page.getByTestId('view-runbook').count(), 0, 'no ceremony tabs');
    const focused = await page.evaluate('document.activeElement?.id');
    assert.equal(focused, 'startup-problem-title', 'focus on the heading');
    await assertLooksRight(page, 'damaged journal');
    await assertClean(session);
  });

  it('asks before moving the journal aside, and Cancel keeps everything', async () => {
    const { page } = session;
    await page.getByTestId('startup-move-aside').click();
    const dialog = page.getByTestId('startup-move-confirm');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /journal\.jsonl\.corrupt-<time>/);
    await page.getByTestId('startup-move-confirm-cancel').click();
    await dialog.waitFor({ state: 'detached' });
    assert.ok(readFileSync(journalPathIn(dataDir), 'utf8').endsWith('null\n'), 'untouched');
  });

  it('moves it aside, then the app starts on a fresh journal that names the moved file', async () => {
    const { page } = session;
    await page.getByTestId('startup-move-aside').click();
    await page.getByTestId('startup-move-confirm-confirm').click();
    await page.getByTestId('app-ready').waitFor();
    const movedTo = await page.getByTestId('startup-moved-to').innerText();
    assert.match(movedTo, /journal\.jsonl\.corrupt-\d{8}T\d{6}Z$/);
    assert.ok(
      readFileSync(movedTo, 'utf8').endsWith('null\n'),
      'the moved file is the damaged one',
    );
    assert.match(
      await page.getByTestId('startup-moved-sha256').innerText(),
      /^[0-9A-F]{4}( [0-9A-F]{4}){15}$/,
    );
    const first = JSON.parse(readFileSync(journalPathIn(dataDir), 'utf8').split('\n')[0] ?? '') as {
      kind: string;
      detail: { movedTo: string };
    };
    assert.equal(first.kind, 'journal.movedAside');
    assert.equal(first.detail.movedTo, movedTo);
    await page.getByTestId('view-runbook').waitFor();
    await assertLooksRight(page, 'after moving aside');
    await page.getByTestId('startup-moved-close').click();
    await page.getByTestId('startup-moved').waitFor({ state: 'detached' });
    await assertClean(session);
  });
});

describe('the window on a data folder another Vigil holds', () => {
  let holder: DataFolderLock | null = null;
  const session = useStartupSession(() => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-startup-held-'));
    holder = DataFolderLock.acquire(dataDir, {
      command: 'vigil run nitrokey-hsm-tuf.yaml --out /tmp/r',
    });
    return dataDir;
  });
  after(() => holder?.release());

  it('names the holder, offers no move aside, and opens on Try again once it let go', async () => {
    const { page } = session;
    await page.getByTestId('startup-problem').waitFor();
    assert.equal(
      await page.getByTestId('startup-problem').getAttribute('data-code'),
      'data-folder-in-use',
    );
    assert.match(
      await page.getByTestId('startup-holder').innerText(),
      new RegExp(`vigil run nitrokey-hsm-tuf\\.yaml --out /tmp/r — process ${process.pid} on `),
    );
    assert.equal(await page.getByTestId('startup-move-aside').count(), 0);
    await assertLooksRight(page, 'folder in use');
    await page.getByTestId('startup-retry').click();
    await page.getByTestId('startup-problem').waitFor();
    holder?.release();
    await page.getByTestId('startup-retry').click();
    await page.getByTestId('app-ready').waitFor();
    assert.ok(existsSync(join(session.startup.dataDir, 'vigil.lock')), 'the window holds it now');
    await assertClean(session);
  });
});
