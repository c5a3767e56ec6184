// The runbook preview on the start screen as a ceremony lead uses it before anyone starts: it opens
// from the chosen runbook with focus on its heading, shows every section, fits 1280×800, reads in
// stream mode, has no serious or critical axe-core finding, prints only the blank ceremony sheet
// (the app's header, side panel and buttons hidden), and Esc brings back the start screen with
// focus on the button that opened it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { loadRunbookFile } from '../../electron/core/runbook/runbook-library.ts';
import { runbookPreview } from '../../electron/core/runbook/runbook-preview.ts';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';
import { seriousAxeFindings } from './axe-findings.ts';
import { probeLayout } from './layout-probe.ts';

const RUNBOOK = 'yubihsm2-tuf';
const { runbook, summary } = loadRunbookFile(
  join(import.meta.dirname, '..', '..', 'resources', 'runbooks', `${RUNBOOK}.yaml`),
);
const expected = runbookPreview(runbook, summary);

const focusedTestId = (page: Page) =>
  page.evaluate<string | null>('document.activeElement?.getAttribute("data-testid") ?? null');

async function setStream(page: Page, on: boolean): Promise<void> {
  const toggle = page.getByTestId('stream-toggle');
  if (((await toggle.getAttribute('data-state')) === 'on') !== on) await toggle.click();
  await page.locator(`[data-streaming="${on ? 'on' : 'off'}"]`).waitFor();
}

describe('the runbook preview and the blank ceremony sheet', () => {
  const session = useBrowserSession('runbook-preview');

  it('opens from the chosen runbook with focus on its heading and every section shown', async () => {
    const { page } = session;
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByTestId(`runbook-${RUNBOOK}`).check();
    await page.getByTestId('runbook-preview-open').click();
    await page.getByTestId('runbook-preview-section').first().waitFor();
    assert.equal(await focusedTestId(page), 'runbook-preview-title');
    assert.equal(await page.getByTestId('runbook-preview-title').innerText(), runbook.title);
    assert.match(
      await page.getByTestId('runbook-preview-sha256').innerText(),
      new RegExp(`^${summary.sha256.slice(0, 4).toUpperCase()} `),
    );
    const titles = page.getByTestId('runbook-preview-section-title');
    assert.equal(await titles.count(), expected.sections.length);
    for (const [index, section] of expected.sections.entries()) {
      const title = titles.nth(index);
      await title.scrollIntoViewIfNeeded();
      assert.ok(await title.isVisible(), section.title);
      assert.match(await title.innerText(), new RegExp(`^${section.title}`));
    }
    const steps = expected.sections.flatMap((s) => s.steps);
    assert.equal(await page.getByTestId('runbook-preview-step').count(), steps.length);
    const first = page.getByTestId('runbook-preview-step').first();
    assert.match(await first.innerText(), /^Step 1\s/);
    // Words, never the runbook's identifiers: no action id, no raw condition.
    const text = await page.getByTestId('runbook-preview').innerText();
    assert.doesNotMatch(text, /yubihsm2\.\w+|bag-intact|reset-confirmed|equals/);
    assert.match(text, /If the answer to “Is the tamper-evident bag intact/);
    assert.match(text, /Step 7 or 11/);
  });

  it('fits 1280×800 and has no serious axe-core finding, stream mode off and on', async () => {
    const { page } = session;
    await page.evaluate('window.scrollTo(0, 0)');
    const off = await probeLayout(page);
    assert.ok(off.overflowPx <= 0, `page wider than the window by ${off.overflowPx} px`);
    assert.deepEqual(off.cutOff, []);
    assert.deepEqual(await seriousAxeFindings(page), []);
    await setStream(page, true);
    await page.getByTestId('runbook-preview-section').first().waitFor();
    const on = await probeLayout(page);
    assert.ok(on.overflowPx <= 0, `page wider than the window by ${on.overflowPx} px`);
    assert.deepEqual(on.cutOff, []);
    assert.deepEqual(on.unreadable, [], 'texts under 22 px or 4.5:1 in stream mode');
    assert.deepEqual(await seriousAxeFindings(page), []);
    await setStream(page, false);
  });

  it('prints the blank ceremony sheet alone, marked REHEARSAL', async () => {
    const { page } = session;
    const sheet = page.getByTestId('ceremony-sheet');
    assert.equal(await sheet.isVisible(), false, 'the sheet is not drawn on screen');
    // window.print opens the system dialog: counted instead (DevTools evaluation, not the page).
    await page.evaluate('window.__printed = 0; window.print = () => { window.__printed += 1; }');
    await page.getByTestId('runbook-preview-print').click();
    assert.equal(await page.evaluate('window.__printed'), 1);

    await page.emulateMedia({ media: 'print' });
    try {
      assert.ok(await sheet.isVisible());
      assert.equal(await page.getByTestId('ceremony-sheet-title').innerText(), runbook.title);
      assert.match(await page.getByTestId('ceremony-sheet-rehearsal').innerText(), /REHEARSAL/);
      assert.equal(
        (await page.getByTestId('ceremony-sheet-sha256').innerText()).replace(/\s+/g, ''),
        summary.sha256.toUpperCase(),
      );
      assert.equal(
        await page.getByTestId('ceremony-sheet-section').count(),
        expected.sections.length,
      );
      for (const hidden of [
        page.locator('.app-header'),
        page.locator('#side-panel'),
        page.getByTestId('runbook-preview-print'),
        page.getByTestId('runbook-preview-close'),
        page.getByTestId('runbook-preview-section').first(),
      ]) {
        assert.equal(await hidden.isVisible(), false);
      }
      assert.equal(
        await page.evaluate(
          `[...document.querySelectorAll('button')].filter((b) => b.getClientRects().length > 0).length`,
        ),
        0,
        'no button prints',
      );
      // Black on white, whatever the window's theme.
      assert.deepEqual(
        await page.evaluate(`(() => {
          const style = getComputedStyle(document.querySelector('[data-testid="ceremony-sheet"]'));
          return [style.color, style.backgroundColor];
        })()`),
        ['rgb(0, 0, 0)', 'rgb(255, 255, 255)'],
      );
      const ticks = await page.locator('.ceremony-sheet .sheet-tick').count();
      assert.ok(ticks > expected.stepCount, `${ticks} tick boxes`);
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
    assert.equal(await sheet.isVisible(), false);
  });

  it('closes with Esc, back on the start screen with focus on the button that opened it', async () => {
    const { page } = session;
    await page.getByTestId('runbook-preview-title').focus();
    await page.keyboard.press('Escape');
    await page.getByTestId('runbook-start').waitFor();
    assert.equal(await page.getByTestId('runbook-preview').count(), 0);
    assert.equal(await focusedTestId(page), 'runbook-preview-open');
    assert.equal(await page.getByTestId(`runbook-${RUNBOOK}`).isChecked(), true);
    // The close button does the same.
    await page.getByTestId('runbook-preview-open').click();
    await page.getByTestId('runbook-preview-close').click();
    await page.getByTestId('runbook-start').waitFor();
    assert.equal(await focusedTestId(page), 'runbook-preview-open');
    await assertCleanPage(session);
  });
});
