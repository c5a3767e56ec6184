// A person walks the bundled yubihsm2-tuf runbook in Chromium against a rehearsal YubiHSM 2
// plugged in from the devices panel: serial check, the DANGER confirmation, reset and wait,
// password typed twice (a mismatch refused before the device is touched), a wrong password that
// fails the step and is asked again, attested keys, PSF-named products and a record that verifies.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyRecord } from '../../electron/core/ceremony-record/record-verification.ts';
import { verifyProducts } from '../../electron/core/products/verify-products.ts';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';
import { chooseDestructive } from './runbook-choices.ts';
import {
  action,
  answerInput,
  choose,
  confirmStep,
  perform,
  startRunbook,
  stepNumber,
} from './runbook-steps.ts';

const PASSWORD = 'keyholder walk password';
/** Fingerprints shown on screen, compared with the exported manifest at the end. */
const shownFingerprints: Record<string, string> = {};

describe('walking the yubihsm2-tuf runbook in the browser', () => {
  const session = useBrowserSession('yubihsm-walk');

  it('plugs in a rehearsal YubiHSM 2 from the devices panel and starts the rehearsal', async () => {
    const { page } = session;
    await page.getByTestId('connect-rehearsal-yubihsm').click();
    const card = page.locator('[data-device-id^="yubihsm2-rehearsal:"]');
    await card.waitFor();
    assert.match(await card.getByTestId('device-rehearsal').innerText(), /REHEARSAL/);
    assert.match(await card.getByTestId('device-serial').innerText(), /^\d{10}$/);
    assert.match(await card.getByTestId('device-access').innerText(), /no retry counter/);
    await startRunbook(page, 'yubihsm2-tuf');
    assert.equal(await stepNumber(page), 1);
  });

  it('selects the device, checks the serial, and asks for RESET before erasing', async () => {
    const { page } = session;
    await confirmStep(page);
    await confirmStep(page);
    await confirmStep(page);
    await answerInput(page, 'RB-501');
    await choose(page, 'yes');
    await confirmStep(page);
    assert.equal(await action(page), 'yubihsm2.selectDevice');
    await perform(page);
    const serial = await page.getByTestId('runbook-device-serial').innerText();
    assert.match(serial, /^\d{10}$/);
    // Written down without the leading zeros, as the device's label prints it.
    await answerInput(page, String(Number(serial)));
    assert.match(await page.getByTestId('runbook-step-text').innerText(), /DANGER/);
    // "stop" stops: it looks like a stop, apart from the go-ahead.
    assert.equal(await page.getByTestId('choice-stop').getAttribute('data-tone'), 'stop');
    await chooseDestructive(page, 'RESET');
    assert.equal(await action(page), 'yubihsm2.factoryReset');
    await perform(page);
    assert.equal(await action(page), 'yubihsm2.replaceAuthKey');
  });

  it('refuses two different new passwords before touching the device, then takes the key', async () => {
    const { page } = session;
    assert.match(await page.getByTestId('pin-hint-text').innerText(), /no retry counter/);
    const n = await stepNumber(page);
    await page.getByTestId('cred-newAuthPassword').fill(PASSWORD);
    await page.getByTestId('cred-newAuthPassword-repeat').fill(`${PASSWORD}!`);
    await page.getByTestId('runbook-perform').click();
    await page.getByTestId('action-error-code').getByText('pin-mismatch').waitFor();
    assert.equal(await stepNumber(page), n);
    await page.getByTestId('cred-newAuthPassword').fill(PASSWORD);
    await page.getByTestId('cred-newAuthPassword-repeat').fill(PASSWORD);
    await perform(page);
    await choose(page, 'P-256');
  });

  it('fails a wrong password without retrying, then generates and attests both keys', async () => {
    const { page } = session;
    const n = await stepNumber(page);
    await page.getByTestId('cred-authPassword').fill('not the password');
    await page.getByTestId('runbook-perform').click();
    await page.getByTestId('action-error-code').getByText('pin-incorrect').waitFor();
    assert.equal(await stepNumber(page), n, 'the step stays for the password to be typed again');
    assert.equal(await page.getByTestId('cred-authPassword').inputValue(), '');
    for (const role of ['root', 'targets']) {
      assert.equal(await action(page), 'yubihsm2.generateKey', role);
      await page.getByTestId('cred-authPassword').fill(PASSWORD);
      await perform(page);
    }
    // Both fingerprints on screen, as QR and words, for the "read them aloud" step.
    const cards = page.getByTestId('runbook-fingerprints');
    for (const role of ['root', 'targets']) {
      const card = cards.getByTestId(`fingerprint-${role}`);
      await card.waitFor();
      shownFingerprints[role] = (await card.getByTestId('fingerprint-hex').innerText())
        .replace(/\s+/g, '')
        .toLowerCase();
      assert.equal((await card.locator('svg, canvas, img').count()) > 0, true, role);
    }
  });

  it('exports PSF-named products, shows the bag label, and ends with a record that verifies', async () => {
    const { page } = session;
    await confirmStep(page);
    await confirmStep(page);
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    await perform(page);
    await perform(page);
    assert.equal(await action(page), 'ceremony.bagLabel');
    await perform(page);
    assert.match(
      await page.getByTestId('runbook-history').innerText(),
      /label: YubiHSM 2 \(REHEARSAL\) serial \d{10} · keys: root P-256, targets P-256/,
    );
    await confirmStep(page);
    await page.getByTestId('runbook-input').fill('RB-502');
    await page.getByTestId('runbook-submit-input').click();
    await page.getByTestId('runbook-finished').waitFor();
    const products = join(session.exportDir, 'ceremony-products');
    const [serial] = readdirSync(products);
    assert.ok(serial);
    assert.deepEqual(readdirSync(join(products, serial)).sort(), [
      `${serial}_cert.der`,
      `${serial}_root_attestation.der`,
      `${serial}_root_pubkey.pem`,
      `${serial}_root_pubkey.pub`,
      `${serial}_targets_attestation.der`,
      `${serial}_targets_pubkey.pem`,
      `${serial}_targets_pubkey.pub`,
      'SHA256SUMS',
      'manifest.json',
    ]);
    const manifest = JSON.parse(readFileSync(join(products, serial, 'manifest.json'), 'utf8')) as {
      keys: { label: string; spkiSha256: string }[];
    };
    for (const key of manifest.keys) assert.equal(shownFingerprints[key.label], key.spkiSha256);
    const report = verifyProducts(session.exportDir);
    assert.equal(report.isOk, true, JSON.stringify(report.devices[0]?.checks));
    assert.equal(report.devices[0]?.isRehearsal, true);
    await page.getByTestId('record-pick-folder').click();
    await page.locator('[data-testid^="export-record-folder:"]').first().click();
    const exported = await page.getByTestId('record-exported').innerText();
    const destination = /written to (\S+) and read back/.exec(exported)?.[1] ?? '';
    assert.equal(verifyRecord(destination).isOk, true);
    const journal = readFileSync(join(session.dataDir, 'journal', 'journal.jsonl'), 'utf8');
    assert.equal(journal.includes(PASSWORD), false);
    assert.equal(journal.includes('not the password'), false);
    await assertCleanPage(session);
  });
});
