// The transcript in the window and the abandoned screen, in Chromium (issue 17). At END "Show the
// transcript" opens it in place of the view with focus on its heading — participants, steps with
// outcomes and times, inputs, signing key, final journal hash, REHEARSAL — readable in stream mode
// (22 px, 4.5:1), nothing wider than 1280×800, no serious or critical axe-core finding; "Print"
// calls window.print() and print media shows the transcript alone, black on white; Esc brings
// the END screen back. Abandoning, confirmed in the dialog, shows "Ceremony abandoned — record
// written" with the final hash, the transcript saying ABANDONED, and the record's export.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { verifyRecord } from '../../electron/core/ceremony-record/record-verification.ts';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';
import { seriousAxeFindings } from './axe-findings.ts';
import { probeLayout } from './layout-probe.ts';
import { answerInput } from './runbook-steps.ts';

const runbooksDir = join(import.meta.dirname, '..', 'vectors', 'runbooks', 'window');
const REASON = 'The witness had to leave; the bag stays sealed until Monday.';

/** Stream mode off and on at 1280×800: no overflow, nothing unreadable, no axe finding. */
async function judgeBothModes(page: Page, what: string): Promise<void> {
  for (const isStreaming of [false, true]) {
    const isOn = (await page.locator('[data-streaming="on"]').count()) > 0;
    if (isOn !== isStreaming) await page.getByTestId('stream-toggle').click();
    await page.locator(`[data-streaming="${isStreaming ? 'on' : 'off'}"]`).waitFor();
    const layout = await probeLayout(page);
    const mode = `${what}, stream ${isStreaming ? 'on' : 'off'}`;
    assert.equal(layout.overflowPx, 0, `${mode}: wider than the window`);
    assert.deepEqual(layout.cutOff, [], `${mode}: cut off`);
    assert.deepEqual(layout.unreadable, [], `${mode}: unreadable on camera`);
    assert.deepEqual(await seriousAxeFindings(page), [], `${mode}: axe-core`);
  }
  await page.getByTestId('stream-toggle').click();
  await page.locator('[data-streaming="off"]').waitFor();
}

// Plain JavaScript text: what print media draws, outside the transcript, and its colours.
const PRINTED = `(() => {
  const doc = document.querySelector('.transcript-document');
  const outside = [...document.querySelectorAll('body *')].filter(
    (el) => el.getClientRects().length > 0 && !doc.contains(el) && !el.contains(doc),
  );
  const inside = [...doc.querySelectorAll('*')].filter((el) => el.getClientRects().length > 0);
  const colours = new Set(inside.map((el) => getComputedStyle(el).color));
  return {
    outside: outside.map((el) => el.tagName + '.' + el.className).slice(0, 10),
    colours: [...colours],
    background: getComputedStyle(document.body).backgroundColor,
  };
})()`;

async function start(page: Page): Promise<void> {
  await page.getByTestId('runbook-short-collect').check();
  await page.getByTestId('participant-ceremony-lead').fill('Lea Lead');
  await page.getByTestId('participant-witness').fill('Wes Witness');
  await page.getByTestId('start-runbook').click();
  await page.getByTestId('runbook-step').waitFor();
}

const focusedTestId = (page: Page) =>
  page.evaluate<string | null>('document.activeElement?.getAttribute("data-testid") ?? null');

describe('the transcript and the abandoned screen in the window', () => {
  const session = useBrowserSession('transcript', { runbooksDir });

  it('opens the END transcript with focus on its heading, and every part of it', async () => {
    const { page, core } = session;
    await page.setViewportSize({ width: 1280, height: 800 });
    await start(page);
    await answerInput(page, 'RB-10');
    await page.getByTestId('runbook-confirm').click();
    await page.getByTestId('runbook-finished').waitFor();
    await page.getByTestId('transcript-show').click();
    const doc = page.getByTestId('transcript-document');
    await doc.waitFor();
    assert.equal(
      await page.evaluate<string>('document.activeElement?.id ?? ""'),
      'transcript-title',
    );
    assert.equal(await doc.getAttribute('data-ending'), 'end');
    const text = await doc.innerText();
    for (const shown of [
      'REHEARSAL — not a production ceremony',
      'Transcript — Short ceremony (test)',
      'Lea Lead',
      'Wes Witness',
      'Steps (2)',
      'The witness compares the serial on screen with the bag.',
      'Serial on the tamper-evident bag',
      'RB-10',
      'Per-ceremony key (ed25519)',
      'Final journal hash',
    ]) {
      assert.ok(text.includes(shown), shown);
    }
    assert.deepEqual(
      await page
        .getByTestId('transcript-steps')
        .locator('li')
        .evaluateAll((items) => items.map((li) => li.getAttribute('data-outcome'))),
      ['confirmed', 'confirmed'],
    );
    assert.match(text, /by Wes Witness \(witness\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    const hash = await page.getByTestId('transcript-final-hash').innerText();
    assert.equal(hash.replace(/\s+/g, '').toLowerCase(), core.journal.head.hash);
  });

  it('reads at 1280×800 and on camera, with no serious axe-core finding', async () => {
    await judgeBothModes(session.page, 'END transcript');
  });

  it('prints the transcript alone, black on white, through window.print()', async () => {
    const { page } = session;
    await page.evaluate(
      'window.print = () => { globalThis.__printed = (globalThis.__printed ?? 0) + 1; }',
    );
    await page.getByTestId('transcript-print').click();
    assert.equal(await page.evaluate('globalThis.__printed'), 1);
    await page.emulateMedia({ media: 'print' });
    try {
      const printed = await page.evaluate<{
        outside: string[];
        colours: string[];
        background: string;
      }>(PRINTED);
      assert.deepEqual(printed.outside, [], 'only the transcript is drawn');
      assert.deepEqual(printed.colours, ['rgb(0, 0, 0)'], 'black text');
      assert.equal(printed.background, 'rgb(255, 255, 255)');
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
  });

  it('closes with Esc, back to END with focus on "Show the transcript"', async () => {
    const { page } = session;
    await page.keyboard.press('Escape');
    await page.getByTestId('runbook-finished').waitFor();
    assert.equal(await page.getByTestId('transcript-view').count(), 0);
    assert.equal(await focusedTestId(page), 'transcript-show');
  });

  it('abandons after the dialog, shows the abandoned screen, its transcript and the export', async () => {
    const { page, core, exportDir } = session;
    await page.getByTestId('runbook-start-another').click();
    await start(page);
    await answerInput(page, 'RB-11');
    await page.getByTestId('runbook-abandon').locator('summary').click();
    await page.getByTestId('abandon-reason').fill(REASON);
    await page.getByTestId('abandon-confirm').click();
    await page.getByTestId('abandon-dialog-confirm').click();
    const screen = page.getByTestId('runbook-abandoned');
    await screen.waitFor();
    assert.equal(await screen.getAttribute('data-record'), 'written');
    assert.match(
      await screen.locator('.step-title').innerText(),
      /Ceremony abandoned — record written/,
    );
    assert.equal(await page.evaluate('document.activeElement?.className'), 'step-title');
    assert.match(await page.getByTestId('abandoned-step').innerText(), /^Step 2: The witness/);
    assert.equal(await page.getByTestId('abandoned-by').innerText(), 'Lea Lead (ceremony lead)');
    assert.equal(await page.getByTestId('abandoned-reason').innerText(), `“${REASON}”`);
    const hash = await page.getByTestId('abandoned-final-hash').innerText();
    assert.equal(hash.replace(/\s+/g, '').toLowerCase(), core.journal.head.hash);
    await judgeBothModes(page, 'abandoned screen');

    await page.getByTestId('record-pick-folder').click();
    await page.locator('[data-testid^="export-record-folder"]').first().click();
    await page.getByTestId('record-exported').waitFor();
    const ceremonyId = (await core.runbooks.state()).abandoned?.ceremonyId ?? '';
    const exported = verifyRecord(join(exportDir, 'vigil-records', ceremonyId));
    assert.equal(exported.isOk, true, JSON.stringify(exported.checks));
    assert.equal(exported.ending, 'abandoned');

    await page.getByTestId('transcript-show').click();
    await page.getByTestId('transcript-ending').waitFor();
    const ending = await page.getByTestId('transcript-ending').innerText();
    assert.match(ending, /ABANDONED — this ceremony did not reach its END/);
    assert.ok(ending.includes(REASON));
    assert.equal(
      await page.getByTestId('transcript-document').getAttribute('data-ending'),
      'abandoned',
    );
    await judgeBothModes(page, 'abandoned transcript');
    await page.getByTestId('transcript-close').click();
    await screen.waitFor();
    assert.equal(await focusedTestId(page), 'transcript-show');
    assert.ok(await page.getByTestId('record-exported').isVisible(), 'the export result is kept');

    await page.getByTestId('runbook-start-another').click();
    await page.getByTestId('runbook-start').waitFor();
    await assertCleanPage(session);
  });
});
