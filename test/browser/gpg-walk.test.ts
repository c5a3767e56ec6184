// A keyholder walks the bundled gpg-offline-primary runbook in Chromium: passphrase typed twice
// (a mismatch and a short one refused), the primary fingerprint as QR and PGP words, the secret
// medium, a rehearsal YubiKey picked by serial and reset, tries left before every card PIN, a
// wrong admin PIN that fails the step without a retry, subkeys moved onto the card and shown with
// it, and public products that GnuPG accepts. No passphrase or PIN reaches the journal.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GnupgHome } from '../integration/openpgp/gnupg-home.ts';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';
import { chooseDestructive } from './runbook-choices.ts';
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
const PASSPHRASE = 'correct horse battery staple';
const USER_PIN = '246813';
const ADMIN_PIN = '97531864';
let serial = '';
let shownFingerprint = '';

describe('walking the gpg-offline-primary runbook in the browser', () => {
  const session = useBrowserSession('gpg-walk');

  it('creates the primary key after a mismatched and a short passphrase are refused', async () => {
    const { page } = session;
    await page.getByTestId('connect-rehearsal-yubikey').click();
    const card = page.locator('[data-device-id^="yubikey-piv-rehearsal:"]');
    await card.waitFor();
    serial = await card.getByTestId('device-serial').innerText();
    await startRunbook(page, 'gpg-offline-primary');
    await confirmStep(page);
    await confirmStep(page);
    await answerInput(page, 'Kai Keyholder <kai@example.org>');
    await choose(page, 'ed25519');
    await confirmStep(page);
    assert.equal(await action(page), 'openpgp.createPrimaryKey');
    // The backup is written in the same step: the secret medium is chosen first.
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    const fill = async (first: string, again: string) => {
      await page.getByTestId('cred-newPassphrase').fill(first);
      await page.getByTestId('cred-newPassphrase-repeat').fill(again);
    };
    await fill(PASSPHRASE, `${PASSPHRASE}!`);
    await refused(page, 'passphrase-mismatch');
    await fill('short', 'short');
    await refused(page, 'passphrase-too-short');
    await fill(PASSPHRASE, PASSPHRASE);
    await perform(page);
    const key = page.getByTestId('openpgp-keys').getByTestId('openpgp-key-primary');
    await key.waitFor();
    shownFingerprint = (await key.getByTestId('openpgp-fingerprint-hex').innerText())
      .replace(/\s+/g, '')
      .toLowerCase();
    assert.match(shownFingerprint, /^[0-9a-f]{40}$/);
    // The QR is the openpgp4fpr: URI OpenKeychain and Kleopatra scan, printed under it.
    const qr = await key.getByTestId('fingerprint-qr').first().getAttribute('data-text');
    assert.equal(qr, `openpgp4fpr:${shownFingerprint}`);
    assert.equal(await key.getByTestId('fingerprint-qr-text').innerText(), qr);
    assert.equal(await key.getByTestId('fingerprint-words').locator('li').count(), 20);
    assert.match(await key.getByTestId('openpgp-user-ids').innerText(), /\(REHEARSAL\)/);
    assert.equal(await key.locator('[data-testid^="openpgp-subkey-"]').count(), 3);
  });

  it('wrote the backup with the key, and writes a second copy once the passphrase is right', async () => {
    const { page } = session;
    const secretFolders = () =>
      readdirSync(session.exportDir).filter((n) => n.startsWith('openpgp-secret-'));
    const [first] = secretFolders();
    assert.ok(first);
    assert.ok(
      readdirSync(join(session.exportDir, first)).includes(
        `${shownFingerprint.toUpperCase()}.secret-backup.asc`,
      ),
    );
    await confirmStep(page);
    await perform(page);
    await confirmStep(page);
    await choose(page, 'yes');
    await confirmStep(page);
    assert.equal(await action(page), 'openpgp.exportSecrets');
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    await page.getByTestId('cred-passphrase').fill('not the passphrase');
    await refused(page, 'passphrase-incorrect');
    await page.getByTestId('cred-passphrase').fill(PASSPHRASE);
    await perform(page);
    await perform(page);
    assert.equal(secretFolders().length, 2);
  });

  it('picks the YubiKey by serial, resets it, and sets PINs with tries left shown', async () => {
    const { page } = session;
    await answerInput(page, serial);
    await confirmStep(page);
    assert.equal(await action(page), 'yubikeyOpenpgp.selectCard');
    await perform(page);
    await chooseDestructive(page, 'RESET');
    assert.equal(await action(page), 'yubikeyOpenpgp.reset');
    await perform(page);
    assert.equal(await action(page), 'yubikeyOpenpgp.replaceFactoryPins');
    assert.match(
      await page.getByTestId('pin-hint-text').innerText(),
      /user PIN has 3 tries left\. The admin PIN has 3 tries left\./,
    );
    const fill = async (user: string, admin: string) => {
      await page.getByTestId('cred-newUserPin').fill(user);
      await page.getByTestId('cred-newUserPin-repeat').fill(user);
      await page.getByTestId('cred-newAdminPin').fill(admin);
      await page.getByTestId('cred-newAdminPin-repeat').fill(admin);
    };
    await fill(USER_PIN, '12345678');
    await refused(page, 'default-pin-refused');
    await fill(USER_PIN, ADMIN_PIN);
    await perform(page);
  });

  it('fails a wrong admin PIN without retrying, then moves the subkeys onto the card', async () => {
    const { page } = session;
    assert.equal(await action(page), 'yubikeyOpenpgp.moveSubkeys');
    await page.getByTestId('cred-passphrase').fill(PASSPHRASE);
    await page.getByTestId('cred-adminPin').fill('13579135');
    await refused(page, 'pin-incorrect');
    assert.equal(await page.getByTestId('cred-adminPin').inputValue(), '');
    await page.getByTestId('pin-hint-text').getByText('The admin PIN has 2 tries left.').waitFor();
    await page.getByTestId('cred-passphrase').fill(PASSPHRASE);
    await page.getByTestId('cred-adminPin').fill(ADMIN_PIN);
    await perform(page);
    const key = page.getByTestId('openpgp-key-primary');
    for (const role of ['sign', 'encrypt', 'authenticate']) {
      assert.match(
        await key.getByTestId(`openpgp-subkey-${role}-valid`).innerText(),
        new RegExp(serial),
      );
    }
  });

  it('signs a test message and exports public products GnuPG accepts', async () => {
    const { page } = session;
    await choose(page, 'no');
    assert.equal(await action(page), 'openpgp.signTestMessage');
    await page.getByTestId('cred-passphrase').fill(PASSPHRASE);
    await perform(page);
    await confirmStep(page);
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    await perform(page);
    await page.getByTestId('runbook-perform').click();
    await page.getByTestId('runbook-finished').waitFor();
    const base = join(session.exportDir, 'ceremony-products');
    const folder = readdirSync(base).find((n) => n.startsWith('openpgp-'));
    assert.ok(folder);
    const products = join(base, folder);
    await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: products });
    const gpg = await GnupgHome.create();
    try {
      const upper = shownFingerprint.toUpperCase();
      await gpg.import(readFileSync(join(products, `${upper}.pub.asc`), 'utf8'));
      assert.equal((await gpg.listKeys())[0]?.fingerprint.toLowerCase(), shownFingerprint);
      const message = join(products, `test-message-${upper.slice(-16)}.txt.asc`);
      const { stdout } = await gpg.gpg(['--status-fd', '1', '--verify', message]);
      assert.match(stdout, /\[GNUPG:\] VALIDSIG /);
    } finally {
      await gpg.close();
    }
    const journal = readFileSync(join(session.dataDir, 'journal', 'journal.jsonl'), 'utf8');
    for (const secret of [PASSPHRASE, USER_PIN, ADMIN_PIN, '13579135', 'PRIVATE KEY']) {
      assert.equal(journal.includes(secret), false, secret);
    }
    await assertCleanPage(session);
  });
});
