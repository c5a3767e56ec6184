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
    n = await confirmStep(page);
    assert.equal(n, 4);
    await answerInput(page, 'RB-77');
    assert.equal(await page.getByTestId('runbook-step').getAttribute('data-kind'), 'collect');
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

  it('hides the PIN fields in stream mode and shows tries left before the attempt', async () => {
    const { page } = session;
    assert.match(await page.getByTestId('pin-hint-text').innerText(), /SO-PIN/);
    await page.getByTestId('cred-currentSoPin').fill(FACTORY_SO_PIN);
    await page.getByTestId('stream-toggle').click();
    await page.getByTestId('streaming-notice').waitFor();
    assert.equal(await page.locator('input[type="password"]').count(), 0);
    assert.match((await page.getByTestId('runbook').getAttribute('class')) ?? '', /is-streaming/);
    const content = await page.content();
    assert.equal(content.includes(FACTORY_SO_PIN), false);
    await page.getByTestId('stream-toggle').click();
    // Stream mode emptied the field: nothing typed survives the camera being on.
    assert.equal(await page.getByTestId('cred-currentSoPin').inputValue(), '');
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
    assert.equal(await page.getByTestId('final-hash').innerText(), core.journal.head.hash);
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
