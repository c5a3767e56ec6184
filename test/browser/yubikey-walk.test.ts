// A keyholder walks the bundled yubikey-keyholder-tuf runbook in Chromium on a rehearsal YubiKey
// plugged in from the devices panel: the serial typed from its back picks the card, the DANGER
// reset, new PIN and PUK (factory values refused), tries left shown before every PIN, a wrong
// PIN that fails the step without a retry, the attested 9c key's fingerprint, Docker-named
// products, and the "Verify a ceremony folder" view saying what `vigil verify` says.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { verifyProducts } from '../../electron/core/products/verify-products.ts';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';
import { chooseDestructive, dismissDestructive } from './runbook-choices.ts';
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
const PIN = '246813';
const PUK = '97531864';
let serial = '';
let shownFingerprint = '';

describe('walking the yubikey-keyholder-tuf runbook in the browser', () => {
  const session = useBrowserSession('yubikey-walk');

  it('plugs in a rehearsal YubiKey whose card shows its factory credentials', async () => {
    const { page } = session;
    await page.getByTestId('connect-rehearsal-yubikey').click();
    const card = page.locator('[data-device-id^="yubikey-piv-rehearsal:"]');
    await card.waitFor();
    assert.match(await card.getByTestId('device-rehearsal').innerText(), /REHEARSAL/);
    serial = await card.getByTestId('device-serial').innerText();
    assert.match(serial, /^\d{8}$/);
    assert.match(
      await card.getByTestId('device-flags').innerText(),
      /default PIN[\s\S]*default PUK[\s\S]*default management key/,
    );
    await startRunbook(page, 'yubikey-keyholder-tuf');
  });

  it('picks the YubiKey by the serial on its back, then resets it after RESET is typed', async () => {
    const { page } = session;
    await confirmStep(page);
    await confirmStep(page);
    await answerInput(page, '@kai');
    await answerInput(page, serial);
    await confirmStep(page);
    assert.equal(await action(page), 'yubikeyPiv.selectDevice');
    await perform(page);
    assert.equal(await page.getByTestId('runbook-device-serial').innerText(), serial);
    assert.match(await page.getByTestId('runbook-step-text').innerText(), /DANGER/);
    // RESET looks destructive, says what it erases, and takes a second, deliberate act.
    assert.match(
      await page.getByTestId('choice-RESET').innerText(),
      /RESET[\s\S]*erases every PIV key and certificate on this YubiKey/,
    );
    assert.equal(await page.getByTestId('choice-keep').getAttribute('data-tone'), 'neutral');
    await dismissDestructive(page, 'RESET');
    await chooseDestructive(page, 'RESET');
    // The branch it opened is said in words, not as the runbook's condition.
    assert.equal(
      await page.getByTestId('runbook-branch').innerText(),
      'Because Lea Lead, the ceremony lead, chose RESET:',
    );
    assert.equal(await action(page), 'yubikeyPiv.reset');
    await perform(page);
    assert.equal(await action(page), 'yubikeyPiv.replaceFactoryPinAndPuk');
  });

  it('shows tries left, refuses the factory PIN and a mismatch, then sets PIN and PUK', async () => {
    const { page } = session;
    assert.match(
      await page.getByTestId('pin-hint-text').innerText(),
      /PIN has 3 tries left\. The PUK has 3 tries left\./,
    );
    const fill = async (pin: string, pinAgain: string, puk: string) => {
      await page.getByTestId('cred-newUserPin').fill(pin);
      await page.getByTestId('cred-newUserPin-repeat').fill(pinAgain);
      await page.getByTestId('cred-newPuk').fill(puk);
      await page.getByTestId('cred-newPuk-repeat').fill(puk);
    };
    await fill('123456', '123456', PUK);
    await refused(page, 'default-pin-refused');
    await fill(PIN, `${PIN}0`, PUK);
    await refused(page, 'pin-mismatch');
    await fill(PIN, PIN, PUK);
    await perform(page);
    assert.equal(await action(page), 'yubikeyPiv.installManagementKey');
  });

  it('fails a wrong PIN without retrying, shows one try fewer, then installs the management key', async () => {
    const { page } = session;
    await page.getByTestId('cred-userPin').fill('135790');
    await refused(page, 'pin-incorrect');
    assert.equal(await page.getByTestId('cred-userPin').inputValue(), '');
    await page.getByTestId('pin-hint-text').getByText('The PIN has 2 tries left.').waitFor();
    await page.getByTestId('cred-userPin').fill(PIN);
    await perform(page);
    await choose(page, 'root');
    await choose(page, 'P-384');
    assert.equal(await action(page), 'yubikeyPiv.generateKey');
    assert.match(await page.getByTestId('pin-hint-text').innerText(), /3 tries left/);
    await page.getByTestId('cred-userPin').fill(PIN);
    await perform(page);
    const card = page.getByTestId('runbook-fingerprints').getByTestId('fingerprint-root');
    await card.waitFor();
    shownFingerprint = (await card.getByTestId('fingerprint-hex').innerText())
      .replace(/\s+/g, '')
      .toLowerCase();
    assert.equal((await card.locator('svg, canvas, img').count()) > 0, true);
    // What the YubiKey attested, in words and as a second QR for the camera: ASCII only, so a
    // scanner reads exactly the text printed beside it.
    const summary = `YubiKey ${serial}, firmware 5.4.3, slot 9C, P-384, PIN always, touch never`;
    const shown = await card.getByTestId('fingerprint-attestation').innerText();
    assert.ok(shown.startsWith(summary), shown);
    const qr = card.getByTestId('fingerprint-qr').nth(1);
    assert.equal(await qr.getAttribute('data-text'), shown);
    const shot = join(session.dataDir, 'attestation-qr.png');
    // caret 'initial': hiding the caret would leave style="" on every field.
    await qr.screenshot({ path: shot, caret: 'initial' });
    const { stdout } = await run('zbarimg', ['--raw', '-q', shot]);
    assert.equal(stdout.trim(), shown, 'zbarimg reads the text shown beside the code');
  });

  it('exports Docker-named products that verify, in the app’s verify view too', async () => {
    const { page } = session;
    await confirmStep(page);
    await confirmStep(page);
    await page.getByTestId('runbook-pick-folder').click();
    await page.locator('[data-testid^="runbook-target-folder:"]').first().check();
    await perform(page);
    await perform(page);
    // The last DO before END: confirming it finishes the ceremony.
    await page.getByTestId('runbook-confirm').click();
    await page.getByTestId('runbook-finished').waitFor();
    const products = join(session.exportDir, 'ceremony-products', `yubikey-${serial}`);
    assert.equal(
      readFileSync(join(products, 'keys', serial, 'README.md'), 'utf8'),
      'held by: @kai\n',
    );
    const manifest = JSON.parse(readFileSync(join(products, 'manifest.json'), 'utf8')) as {
      keyholders: { spkiSha256: string }[];
    };
    assert.equal(manifest.keyholders[0]?.spkiSha256, shownFingerprint);
    const report = verifyProducts(session.exportDir);
    assert.equal(report.isOk, true, JSON.stringify(report.devices[0]?.checks));
    await page.getByTestId('view-verify').click();
    await page.getByTestId('verify-folder-pick').click();
    const verdict = page.getByTestId('verify-verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-exit-code'), '0');
    assert.match(await verdict.innerText(), /Verified[\s\S]*REHEARSAL/);
    // The report is a table per device folder: the keyholder's row, in words.
    const keyholder = page
      .getByTestId('verify-report')
      .locator(`[data-testid="verify-check"][data-check="keyholder:${serial}"]`);
    assert.equal(await keyholder.getAttribute('data-status'), 'ok');
    assert.match(await keyholder.innerText(), /@kai: root P-384 in slot 9C/);
    const journal = readFileSync(join(session.dataDir, 'journal', 'journal.jsonl'), 'utf8');
    for (const secret of [PIN, PUK, '135790']) assert.equal(journal.includes(secret), false);
    await assertCleanPage(session);
  });
});
