// The whole wizard as a user runs it, in Chromium through the test bridge, on a SoftHSM2
// rehearsal token. The QR is decoded from a screenshot with zbarimg and compared with the
// fingerprint openssl computes from the exported .pem.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pgpWords, groupHex } from '../../electron/formats/fingerprint.ts';
import { hexToBytes } from '../../electron/formats/der.ts';
import { FACTORY_SO_PIN } from '../helpers/softhsm-token.ts';
import { useBridgeSession } from '../helpers/test-bridge.ts';
import {
  createRehearsalTokenInUi,
  reinitialiseInUi,
  typeSecret,
  waitForStep,
} from '../helpers/browser-ceremony.ts';

describe('the token ceremony wizard in Chromium', () => {
  const exportDir = mkdtempSync(join(tmpdir(), 'vigil-wizard-export-'));
  const shotDir = mkdtempSync(join(tmpdir(), 'vigil-wizard-shots-'));
  const session = useBridgeSession({ pickFolder: () => Promise.resolve(exportDir) });

  it('provisions a rehearsal token from device choice to fingerprints', async () => {
    const { page } = session.bridge;
    await createRehearsalTokenInUi(page, 'wizard');
    await page.getByTestId('choose-family-softhsm-rehearsal').click();
    await waitForStep(page, 'credentials');
    assert.match(await page.getByTestId('step-device').innerText(), /REHEARSAL/);
    assert.match(await page.getByTestId('pin-hint').innerText(), /all tries are left/);
    await reinitialiseInUi(page, {
      current: FACTORY_SO_PIN,
      so: '0123456789abcdef',
      user: '482901',
    });
    await waitForStep(page, 'generate-keys');
    await page.getByTestId('curve').selectOption('P-256');
    await typeSecret(page, 'user-pin', '482901');
    await page.getByTestId('generate-keys').click();
    await waitForStep(page, 'fingerprints');
  });

  let decodedRootQr = '';

  it('shows the root fingerprint in stream mode as a QR that zbarimg decodes, with matching words', async () => {
    const { page } = session.bridge;
    await page.getByTestId('stream-toggle').click();
    const root = page.getByTestId('fingerprint-root');
    const shot = join(shotDir, 'root-qr.png');
    await root.getByTestId('fingerprint-qr').screenshot({ path: shot });
    decodedRootQr = execFileSync('zbarimg', ['--nodbus', '--quiet', '--raw', shot])
      .toString()
      .trim();
    assert.match(decodedRootQr, /^[0-9a-f]{64}$/);
    const words = await root.getByTestId('fingerprint-words').locator('li').allInnerTexts();
    assert.deepEqual(words, pgpWords(hexToBytes(decodedRootQr)));
    assert.equal(await root.getByTestId('fingerprint-hex').innerText(), groupHex(decodedRootQr));
    // The whole streamed page still decodes (the camera sees the page, not an element).
    const full = join(shotDir, 'page.png');
    await page.screenshot({ path: full, fullPage: true });
    const all = execFileSync('zbarimg', ['--nodbus', '--quiet', '--raw', full]).toString();
    assert.ok(all.includes(decodedRootQr));
    await page.getByTestId('stream-toggle').click();
  });

  it('exports the products, and the openssl fingerprint of the exported .pem equals the QR', async () => {
    const { page } = session.bridge;
    await page.getByTestId('confirm-fingerprints').click();
    await waitForStep(page, 'export');
    await page.getByTestId('pick-folder').click();
    await page.getByTestId('export').click();
    await page.getByTestId('export-report').waitFor();
    const serial = readdirSync(join(exportDir, 'ceremony-products'))[0] ?? '';
    const pem = join(exportDir, 'ceremony-products', serial, `${serial}_root_pubkey.pem`);
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER']);
    const opensslFingerprint = execFileSync('sha256sum', { input: der }).toString().split(' ')[0];
    assert.equal(decodedRootQr, opensslFingerprint);
    const manifest = JSON.parse(
      readFileSync(join(exportDir, 'ceremony-products', serial, 'manifest.json'), 'utf8'),
    ) as { rehearsal: boolean };
    assert.equal(manifest.rehearsal, true);
  });

  it('finishes the ceremony', async () => {
    const { page } = session.bridge;
    await page.getByTestId('finish').click();
    await waitForStep(page, 'done');
    assert.equal(session.core.ceremony.state().step, 'done');
  });
});
