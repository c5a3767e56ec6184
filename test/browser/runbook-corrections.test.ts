// The window's own paths through a ceremony, in Chromium: a mistyped input is corrected by going
// back (journalled with who and why), every ceremony ends on its END screen even after "Start
// another", and abandoning asks once more before it leaves (then shows the abandoned screen).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';
import { answerInput, stepNumber } from './runbook-steps.ts';

const runbooksDir = join(import.meta.dirname, '..', 'vectors', 'runbooks', 'window');

async function start(page: Page): Promise<void> {
  await page.getByTestId('runbook-short-collect').check();
  await page.getByTestId('participant-ceremony-lead').fill('Lea Lead');
  await page.getByTestId('participant-witness').fill('Wes Witness');
  await page.getByTestId('start-runbook').click();
  await page.getByTestId('runbook-step').waitFor();
}

async function walkToEnd(page: Page, serial: string): Promise<void> {
  await answerInput(page, serial);
  await page.getByTestId('runbook-confirm').click();
  await page.getByTestId('runbook-finished').waitFor();
}

describe('correcting, ending and abandoning in the window', () => {
  const session = useBrowserSession('corrections', { runbooksDir });

  it('goes back to a mistyped input, with the reason and the person in the journal', async () => {
    const { page, core } = session;
    await start(page);
    const n = await answerInput(page, 'RB-1O');
    await page.getByTestId('correct-bag-serial').click();
    await page.getByTestId('correct-reason').fill('the witness read O for 0');
    await page.getByTestId('correct-confirm').click();
    await page.locator(`[data-testid="runbook-step"][data-step-number="${n + 1}"]`).waitFor();
    assert.equal(await page.getByTestId('runbook-step').getAttribute('data-kind'), 'collect');
    assert.equal(await page.locator('[data-input="bag-serial"]').count(), 0);
    const wentBack = core.journal.entries().filter((e) => e.kind === 'runbook.wentBack');
    assert.deepEqual(
      wentBack.map((e) => {
        const d = e.detail as { inputId: string; was: string; person: string; reason: string };
        return [d.inputId, d.was, d.person, d.reason];
      }),
      [['bag-serial', 'RB-1O', 'Lea Lead', 'the witness read O for 0']],
    );
    await walkToEnd(page, 'RB-10');
    assert.equal(await page.locator('[data-input="bag-serial"]').innerText(), 'RB-10');
    assert.equal(
      await page.getByTestId('correct-bag-serial').count(),
      0,
      'nothing to correct at END',
    );
  });

  it('ends the next ceremony on its own END screen after "Start another"', async () => {
    const { page, core } = session;
    await page.getByTestId('runbook-start-another').click();
    await page.getByTestId('runbook-start').waitFor();
    await start(page);
    await walkToEnd(page, 'RB-11');
    const shown = await page.getByTestId('final-hash').innerText();
    assert.equal(shown.replace(/\s+/g, '').toLowerCase(), core.journal.head.hash);
  });

  it('asks once more before abandoning, and Cancel keeps the ceremony', async () => {
    const { page, core } = session;
    await page.getByTestId('runbook-start-another').click();
    await start(page);
    const n = await stepNumber(page);
    await page.getByTestId('runbook-abandon').locator('summary').click();
    await page.getByTestId('abandon-reason').fill('the witness had to leave');
    await page.getByTestId('abandon-confirm').click();
    await page.getByTestId('abandon-dialog').waitFor();
    await page.getByTestId('abandon-dialog-cancel').click();
    assert.equal(await page.getByTestId('abandon-dialog').count(), 0);
    assert.equal(await stepNumber(page), n, 'still at the same step');
    assert.equal(core.journal.entries().filter((e) => e.kind === 'runbook.abandoned').length, 0);
    await page.getByTestId('abandon-confirm').click();
    await page.getByTestId('abandon-dialog-confirm').click();
    await page.getByTestId('runbook-abandoned').waitFor();
    await page.getByTestId('runbook-start-another').click();
    await page.getByTestId('runbook-start').waitFor();
    const abandoned = core.journal.entries().filter((e) => e.kind === 'runbook.abandoned');
    assert.equal((abandoned[0]?.detail as { reason: string }).reason, 'the witness had to leave');
    await assertCleanPage(session);
  });
});
