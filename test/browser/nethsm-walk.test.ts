// A ceremony walks the bundled nethsm-signstar runbook in Chromium against a rehearsal NetHSM: the
// address typed from the devices panel, the TLS fingerprint as QR and words before anything is
// sent, pinning only after the witness says it matches, provisioning with passphrases typed twice
// (mismatch and short refused), a wrong Administrator passphrase that fails the step without a
// retry, keys with their fingerprints, the backup checked offline, products openssl accepts, and
// the NetHSM locked at END. No passphrase reaches the journal or the page.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';
import {
  action,
  answerInput,
  choose,
  confirmStep,
  perform,
  refused,
  startRunbook,
} from './runbook-steps.ts';

const run = promisify(execFile);
const UNLOCK = 'walk unlock passphrase';
const USERS = 'walk user passphrase';
const BACKUP = 'walk backup passphrase';

/** Fills the credentials the current step shows (a repeat field gets the same value). */
async function fill(page: Page, values: Record<string, string>): Promise<void> {
  for (const [id, value] of Object.entries(values)) {
    await page.getByTestId(`cred-${id}`).fill(value);
    const repeat = page.getByTestId(`cred-${id}-repeat`);
    if ((await repeat.count()) > 0) await repeat.fill(value);
  }
}

/** Performs a NetHSM step as the acting user, plus any new passphrase the step asks for. */
async function performAs(page: Page, extra: Record<string, string> = {}): Promise<void> {
  const asks = async (id: string) => (await page.getByTestId(`cred-${id}`).count()) > 0;
  const values: Record<string, string> = { ...extra };
  if ((await asks('passphrase')) && values.passphrase === undefined) values.passphrase = USERS;
  if ((await asks('newPassphrase')) && values.newPassphrase === undefined) {
    values.newPassphrase = USERS;
  }
  await fill(page, values);
  await perform(page);
}

describe('walking the nethsm-signstar runbook in the browser', () => {
  const session = useBrowserSession('nethsm-walk');
  let address = '';

  it('shows the certificate fingerprint before anything is sent, and pins it once compared', async () => {
    const { page } = session;
    await page.getByTestId('connect-rehearsal-nethsm').click();
    const card = page.locator('[data-device-id^="nethsm-rehearsal:"]');
    await card.waitFor();
    address = await card.getByTestId('device-address').innerText();
    assert.match(address, /^127\.0\.0\.1:\d+$/);
    const [device] = session.core.rehearsalNetHsms.devices;
    assert.ok(device);
    let exchanges = 0;
    session.core.rehearsalNetHsms.onExchange = () => exchanges++;
    await startRunbook(page, 'nethsm-signstar');
    await confirmStep(page);
    await confirmStep(page);
    await answerInput(page, address);
    assert.equal(await action(page), 'nethsm.readCertificate');
    await perform(page);
    const certificate = page.getByTestId('nethsm-certificate');
    await certificate.waitFor();
    await certificate.getByTestId('nethsm-unpinned').waitFor();
    const shown = (await certificate.getByTestId('nethsm-tls-fingerprint').innerText())
      .replace(/\s+/g, '')
      .toLowerCase();
    assert.equal(shown, device.certificateFingerprint);
    const qr = await certificate.getByTestId('fingerprint-qr').first().getAttribute('data-text');
    assert.equal(qr, device.certificateFingerprint);
    assert.equal(await certificate.getByTestId('fingerprint-words').locator('li').count(), 32);
    assert.equal(exchanges, 0, 'reading the certificate sent no HTTP request');
    await choose(page, 'matches');
    assert.equal(await action(page), 'nethsm.pinCertificate');
    await perform(page);
    await certificate.getByTestId('nethsm-pinned').waitFor();
    assert.equal(await certificate.getByTestId('nethsm-state').innerText(), 'Unprovisioned');
  });

  it('provisions after a mismatched and a short passphrase are refused', async () => {
    const { page } = session;
    assert.equal(await action(page), 'nethsm.provision');
    await page.getByTestId('cred-newUnlockPassphrase').fill(UNLOCK);
    await page.getByTestId('cred-newUnlockPassphrase-repeat').fill(`${UNLOCK}!`);
    await fill(page, { newPassphrase: USERS });
    await refused(page, 'passphrase-mismatch');
    await fill(page, { newUnlockPassphrase: 'too short', newPassphrase: USERS });
    await refused(page, 'passphrase-too-short');
    await fill(page, { newUnlockPassphrase: UNLOCK, newPassphrase: USERS });
    await perform(page);
    assert.equal(
      await page.getByTestId('nethsm-certificate').getByTestId('nethsm-state').innerText(),
      'Operational',
    );
  });

  it('fails a wrong Administrator passphrase without retrying, then creates users and keys', async () => {
    const { page } = session;
    assert.equal(await action(page), 'nethsm.addUser');
    await page
      .getByTestId('pin-hint-text')
      .getByText(/never retries it/)
      .waitFor();
    await fill(page, { passphrase: 'not the admin passphrase', newPassphrase: USERS });
    await refused(page, 'passphrase-incorrect');
    assert.equal(await page.getByTestId('cred-passphrase').inputValue(), '');
    await performAs(page);
    for (let i = 0; i < 5; i++) await performAs(page); // backup1, metrics1, namespace, 2 ns users
    for (let i = 0; i < 6; i++) await performAs(page); // 3 keys, 2 tags, ns key … and its tag
    await performAs(page);
    const keys = page.locator('article[data-testid^="nethsm-key-"]');
    assert.equal(await keys.count(), 4);
    const key = page.getByTestId('nethsm-key-release-ed25519');
    const hex = (await key.getByTestId('nethsm-key-fingerprint').innerText()).replace(/\s+/g, '');
    assert.match(hex, /^[0-9A-F]{64}$/);
    assert.equal(
      await key.getByTestId('fingerprint-qr').first().getAttribute('data-text'),
      hex.toLowerCase(),
    );
    assert.match(
      await page.getByTestId('nethsm-user-operator1').innerText(),
      /Operator\s+release, legacy/,
    );
    await confirmStep(page);
  });

  it('makes the OpenPGP certificate, takes and checks the backup, exports products, locks', async () => {
    const { page } = session;
    await answerInput(page, 'Walk Release Key <walk@example.org>');
    assert.equal(await action(page), 'nethsm.createOpenPgpCertificate');
    await performAs(page);
    await page.getByTestId('nethsm-openpgp-fingerprint').waitFor();
    await performAs(page);
    assert.equal(await action(page), 'nethsm.setBackupPassphrase');
    await performAs(page, { newBackupPassphrase: BACKUP });
    await confirmStep(page);
    assert.equal(await action(page), 'nethsm.backup');
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    await performAs(page);
    assert.equal(await action(page), 'nethsm.validateBackup');
    await fill(page, { backupPassphrase: 'not the backup passphrase' });
    await refused(page, 'passphrase-incorrect');
    await fill(page, { backupPassphrase: BACKUP });
    await perform(page);
    await page
      .getByTestId('nethsm-backup')
      .getByText(/opened and checked offline/)
      .waitFor();
    await perform(page); // eject
    for (let i = 0; i < 5; i++) await performAs(page); // four test signatures, inventory
    await confirmStep(page);
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    await perform(page);
    await perform(page); // eject
    assert.equal(await action(page), 'nethsm.lock');
    await fill(page, { passphrase: USERS });
    await page.getByTestId('runbook-perform').click();
    await page.getByTestId('runbook-finished').waitFor();
    const base = join(session.exportDir, 'ceremony-products');
    const folder = readdirSync(base).find((n) => n.startsWith('nethsm-'));
    assert.ok(folder);
    const products = join(base, folder);
    await run('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: products });
    const { stdout } = await run('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      join(products, 'keys/release-p256.pem'),
      '-signature',
      join(products, 'test-signatures/release-p256.sig'),
      join(products, 'test-signatures/release-p256.txt'),
    ]);
    assert.match(stdout, /Verified OK/);
    const [device] = session.core.rehearsalNetHsms.devices;
    assert.ok(device);
    const journal = readFileSync(join(session.dataDir, 'journal', 'journal.jsonl'), 'utf8');
    for (const secret of [UNLOCK, USERS, BACKUP, 'not the admin passphrase']) {
      assert.equal(journal.includes(secret), false, secret);
    }
    assert.equal(await page.getByText(USERS).count(), 0);
    // The rehearsal NetHSM keeps salted hashes and the derived backup key, as the appliance does.
    const stateDir = join(session.dataDir, 'rehearsal-nethsm');
    for (const name of readdirSync(stateDir)) {
      const state = readFileSync(join(stateDir, name), 'utf8');
      for (const secret of [UNLOCK, USERS, BACKUP]) {
        assert.equal(state.includes(secret), false, `${name} holds a passphrase`);
      }
    }
    await assertCleanPage(session);
  });
});
