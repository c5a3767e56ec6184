// A person walks the bundled nitrokey-hsm-tuf runbook in Chromium by clicking and typing, against
// a real SoftHSM2 rehearsal token: roles, inputs, the serial check, PIN steps with tries left,
// stream mode, a reload mid-ceremony, an exception, export, END and the record export.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyRecord } from '../../electron/core/ceremony-record/record-verification.ts';
import { FACTORY_SO_PIN } from '../helpers/softhsm-token.ts';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';
import { probeLayout } from './layout-probe.ts';
import { answerInput, choose, confirmStep, nextStep, stepNumber } from './runbook-steps.ts';

const SO_PIN = '5a6b7c8d9e0f1a2b';
const USER_PIN = '428571';

describe('walking the nitrokey-hsm-tuf runbook in the browser', () => {
  const session = useBrowserSession('runbook-walk');

  it('starts a rehearsal with a person in each role', async () => {
    const { page } = session;
    await page.getByTestId('rehearsal-label').fill('walk');
    await page.getByTestId('create-rehearsal-token').click();
    await page.getByTestId('devices-panel').getByText('walk', { exact: true }).waitFor();
    await page.getByTestId('runbook-start').waitFor();
    await page.getByTestId('runbook-nitrokey-hsm-tuf').check();
    await page.getByTestId('participant-ceremony-lead').fill('Lea Lead');
    await page.getByTestId('participant-witness').fill('Wes Witness');
    await page.getByTestId('participant-keyholder').fill('Kai Keyholder');
    assert.equal(await page.getByTestId('start-rehearsal').isChecked(), true);
    await page.getByTestId('start-runbook').click();
    await page.getByTestId('runbook-step').waitFor();
    assert.equal(await stepNumber(page), 1);
    assert.match(await page.getByTestId('runbook-rehearsal').innerText(), /REHEARSAL/);
    assert.match(await page.getByTestId('runbook-role').innerText(), /ceremony lead confirms/);
    const must = page.getByTestId('runbook-step-text').getByTestId('rfc-word');
    assert.equal(await must.first().innerText(), 'MUST');
    assert.match((await must.first().getAttribute('class')) ?? '', /rfc-must/);
    assert.equal(
      await page.locator('[data-section="preparation"][data-status="current"]').count(),
      1,
    );
    assert.equal(
      await page.getByTestId('runbook-signing-key').getByTestId('fingerprint-words').count(),
      1,
    );
    // Where the ceremony is, said on the card, announced, and where the keyboard focus is.
    assert.match(
      await page.getByTestId('step-position').innerText(),
      /^Step 1 of about \d+–\d+ · Preparation$/,
    );
    assert.match(
      await page.getByTestId('step-announcer').innerText(),
      /^Step 1: The ceremony lead MUST read this runbook aloud/,
    );
    assert.equal(
      await page.evaluate('document.activeElement?.getAttribute("data-testid")'),
      'runbook-step-text',
    );
  });

  it('offers only the witness to confirm a witness step, and records an exception', async () => {
    const { page } = session;
    let n = await confirmStep(page);
    assert.equal(n, 2);
    const options = (
      await page
        .getByTestId('runbook-step')
        .getByTestId('confirmer')
        .locator('option')
        .allInnerTexts()
    ).map((o) => o.trim());
    assert.deepEqual(options, ['Wes Witness (witness)']);
    assert.equal(
      await page.evaluate('document.activeElement?.getAttribute("data-testid")'),
      'runbook-step-text',
      'focus moved to the new step',
    );
    // Esc closes the exception form without recording anything.
    await page.getByTestId('exception-open').click();
    await page.getByTestId('exception-expected').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('exception-form').waitFor({ state: 'detached' });
    await page.getByTestId('exception-open').click();
    await page.getByTestId('exception-expected').fill('Camera shows the whole table');
    await page.getByTestId('exception-happened').fill('The camera slipped for a minute');
    await page.getByTestId('exception-decision').fill('Re-aimed; continue');
    await page.getByTestId('exception-record').click();
    await page
      .getByTestId('runbook-exceptions')
      .getByText('The camera slipped for a minute')
      .waitFor();
    await confirmStep(page);
    // SHOULD reads as a word of its own, in the step and in the history.
    assert.equal(
      await page.getByTestId('runbook-step-text').getByTestId('rfc-word').innerText(),
      'SHOULD',
    );
    assert.match(await page.getByTestId('runbook-step-text').innerText(), /^The witness SHOULD /);
    n = await confirmStep(page);
    assert.equal(n, 4);
    assert.match(
      await page.getByTestId('runbook-history').innerText(),
      /The witness SHOULD photograph/,
    );
    await answerInput(page, 'RB-77');
    assert.equal(await page.getByTestId('runbook-step').getAttribute('data-kind'), 'collect');
    // "no" stops the ceremony: it is marked and set apart from the go-ahead "yes".
    assert.equal(await page.getByTestId('choice-yes').getAttribute('data-tone'), 'go');
    assert.equal(await page.getByTestId('choice-no').getAttribute('data-tone'), 'stop');
    assert.match(await page.getByTestId('choice-no').innerText(), /✕\s*no/);
    n = await choose(page, 'yes');
    assert.equal(n, 6);
  });

  it('selects the one token and refuses a serial that is not the device’s', async () => {
    const { page } = session;
    let n = await confirmStep(page);
    assert.equal(
      await page.getByTestId('runbook-action').getAttribute('data-action'),
      'pkcs11.selectToken',
    );
    await page.getByTestId('runbook-perform').click();
    n = await nextStep(page, n);
    const serial = await page.getByTestId('runbook-device-serial').innerText();
    await page.getByTestId('runbook-input').fill('NOT-THE-SERIAL');
    await page.getByTestId('runbook-submit-input').click();
    await page.getByTestId('action-error-code').getByText('input-mismatch').waitFor();
    assert.equal(await stepNumber(page), n, 'the step did not advance');
    await answerInput(page, serial);
    assert.equal(
      await page.getByTestId('runbook-action').getAttribute('data-action'),
      'pkcs11.initToken',
    );
  });

  it('takes PINs in stream mode with nothing of them on the page, and shows tries left first', async () => {
    const { page } = session;
    assert.match(await page.getByTestId('pin-hint-text').innerText(), /SO-PIN/);
    await page.getByTestId('cred-currentSoPin').fill(FACTORY_SO_PIN);
    await page.getByTestId('stream-toggle').click();
    await page.getByTestId('streaming-notice').waitFor();
    assert.equal(await page.locator('input[type="password"]').count(), 0);
    assert.match((await page.getByTestId('runbook').getAttribute('class')) ?? '', /is-streaming/);
    // Switching mode emptied the field: nothing typed before survives the camera being on.
    assert.equal(await page.getByTestId('cred-currentSoPin').getAttribute('data-state'), 'empty');

    // Typed while streaming: each field caught key by key, shown only as "entered".
    const type = async (id: string, value: string) => {
      await page.getByTestId(`cred-${id}`).click();
      await page.keyboard.type(value);
    };
    // The form reads the same whatever the PIN's length (markup, values, text, aria).
    const form = () =>
      page.getByTestId('runbook-action').evaluate((el) => {
        const aria = [...el.querySelectorAll('*')].flatMap((e) =>
          [...e.attributes].filter((a) => a.name.startsWith('aria-')).map((a) => a.value),
        );
        return [el.outerHTML, (el as unknown as { innerText: string }).innerText, ...aria].join(
          '\n',
        );
      });
    await type('newUserPin', USER_PIN);
    const withSix = await form();
    await page.keyboard.press('Backspace');
    await type('newUserPin', `${USER_PIN}${USER_PIN}`);
    assert.equal(await form(), withSix, 'a 12-character PIN reads like a 6-character one');
    await page.keyboard.press('Backspace');

    await type('currentSoPin', FACTORY_SO_PIN);
    await type('newSoPin', SO_PIN);
    await type('newSoPin-repeat', SO_PIN);
    await type('newUserPin', USER_PIN);
    await type('newUserPin-repeat', `${USER_PIN}0`);
    const values = await page
      .locator('input, select, textarea')
      .evaluateAll((els) => els.map((el) => (el as unknown as { value: string }).value).join('\n'));
    const shown = `${await page.content()}\n${values}\n${await page.locator('body').innerText()}`;
    for (const pin of [FACTORY_SO_PIN, SO_PIN, USER_PIN]) {
      assert.equal(shown.includes(pin), false, `the page shows ${pin}`);
      for (const mask of ['•', '●', '*'])
        assert.equal(shown.includes(mask.repeat(pin.length)), false, `${pin.length} × ${mask}`);
    }

    // Submitted while streaming: main compared what was typed and names only the typo.
    const n = await stepNumber(page);
    await page.getByTestId('runbook-perform').click();
    await page.getByTestId('action-error-code').getByText('pin-mismatch').waitFor();
    assert.equal(await stepNumber(page), n, 'the step stays');
    const message = await page.getByTestId('action-error-message').innerText();
    assert.match(message, /New user PIN, typed again, differs/);
    assert.doesNotMatch(message, /SO-PIN/);
    assert.equal(await page.getByTestId('cred-newSoPin').getAttribute('data-state'), 'entered');
    assert.equal(await page.getByTestId('cred-newUserPin').getAttribute('data-state'), 'empty');
    await page.getByTestId('stream-toggle').click();
    // Leaving stream mode empties every field too.
    assert.equal(await page.getByTestId('cred-currentSoPin').inputValue(), '');
    assert.equal(await page.getByTestId('cred-newSoPin').inputValue(), '');
  });

  it('re-initialises, survives a reload at the same step with its inputs, and generates keys', async () => {
    const { page } = session;
    let n = await stepNumber(page);
    await page.getByTestId('cred-currentSoPin').fill(FACTORY_SO_PIN);
    await page.getByTestId('cred-newSoPin').fill(SO_PIN);
    await page.getByTestId('cred-newSoPin-repeat').fill(SO_PIN);
    await page.getByTestId('cred-newUserPin').fill(USER_PIN);
    await page.getByTestId('cred-newUserPin-repeat').fill(USER_PIN);
    await page.getByTestId('runbook-perform').click();
    n = await nextStep(page, n);
    await page.reload();
    await page.getByTestId('app-ready').waitFor();
    await page.getByTestId('runbook-step').waitFor();
    assert.equal(await stepNumber(page), n);
    assert.equal(await page.locator('[data-input="bag-serial"]').innerText(), 'RB-77');
    n = await choose(page, 'P-384');
    for (const role of ['root', 'targets']) {
      assert.match(await page.getByTestId('pin-hint-text').innerText(), /user PIN/, role);
      await page.getByTestId('cred-userPin').fill(USER_PIN);
      await page.getByTestId('runbook-perform').click();
      n = await nextStep(page, n);
    }
  });

  it('exports to the chosen folder, reaches END and exports a record that verifies', async () => {
    const { page, core } = session;
    // The step that compares the fingerprints shows them before its confirm button.
    assert.match(await page.getByTestId('runbook-step-text').innerText(), /fingerprints aloud/);
    const isBefore = await page.getByTestId('runbook-step').evaluate((step) => {
      const card = step.querySelector('[data-testid="fingerprint-targets"]');
      const button = step.querySelector('[data-testid="runbook-confirm"]');
      return card && button ? card.compareDocumentPosition(button) : 0;
    });
    assert.equal(
      isBefore,
      4,
      'fingerprints come before the confirm button (DOCUMENT_POSITION_FOLLOWING)',
    );
    // At 1280×800 nothing is wider than the window; in stream mode the camera can read it all.
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.equal((await probeLayout(page)).overflowPx, 0, 'the page does not scroll sideways');
    await page.getByTestId('stream-toggle').click();
    await page.locator('[data-streaming="on"]').waitFor();
    const camera = await probeLayout(page);
    assert.equal(camera.overflowPx, 0);
    assert.deepEqual(camera.cutOff, []);
    assert.deepEqual(camera.unreadable, [], 'every text at least 22 px and 4.5:1');
    assert.ok((camera.hexPx ?? 0) >= 32, `fingerprint hex at ${camera.hexPx} px`);
    assert.ok((camera.wordsPx ?? 0) >= 26, `fingerprint words at ${camera.wordsPx} px`);
    assert.equal(await page.getByTestId('devices-panel').count(), 0, 'no side panel on camera');
    assert.equal(await page.getByTestId('journal-panel').count(), 0);
    await page.getByTestId('stream-toggle').click();
    await confirmStep(page);
    let n = await confirmStep(page);
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    await page.getByTestId('runbook-perform').click();
    n = await nextStep(page, n);
    await page.getByTestId('runbook-perform').click();
    await nextStep(page, n);
    n = await confirmStep(page);
    await page.getByTestId('runbook-input').fill('RB-78');
    await page.getByTestId('runbook-submit-input').click();
    await page.getByTestId('runbook-finished').waitFor();
    assert.ok(n > 0);
    // The final hash grouped in fours, like every fingerprint; the QR holds it ungrouped.
    const finalHash = await page.getByTestId('final-hash').innerText();
    assert.equal(finalHash.replace(/\s+/g, '').toLowerCase(), core.journal.head.hash);
    assert.equal(
      await page
        .getByTestId('runbook-finished')
        .getByTestId('fingerprint-qr')
        .first()
        .getAttribute('data-text'),
      core.journal.head.hash,
    );
    assert.equal(await page.locator('[data-section="token"][data-status="done"]').count(), 1);
    assert.equal(await page.locator('[data-section="stop"][data-status="skipped"]').count(), 1);
    await page.getByTestId('record-pick-folder').click();
    await page.locator('[data-testid^="export-record-folder:"]').first().click();
    const exported = await page.getByTestId('record-exported').innerText();
    const destination = /written to (\S+) and read back/.exec(exported)?.[1] ?? '';
    const report = verifyRecord(destination);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    const transcript = JSON.parse(readFileSync(join(destination, 'transcript.json'), 'utf8')) as {
      participants: { name: string }[];
      exceptions: { happened: string }[];
    };
    assert.deepEqual(
      transcript.participants.map((p) => p.name),
      ['Lea Lead', 'Wes Witness', 'Kai Keyholder'],
    );
    assert.equal(transcript.exceptions[0]?.happened, 'The camera slipped for a minute');
    const journal = readFileSync(join(session.dataDir, 'journal', 'journal.jsonl'), 'utf8');
    for (const pin of [SO_PIN, USER_PIN, FACTORY_SO_PIN])
      assert.equal(journal.includes(pin), false);
    await assertCleanPage(session);
  });
});
