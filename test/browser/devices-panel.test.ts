// The devices panel follows tokens that appear and disappear while the page is open: SoftHSM2
// tokens made and deleted by softhsm2-util in another process; and a rehearsal device is removed
// from the panel only after its confirmation.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FACTORY_SO_PIN, freshDataDir } from '../helpers/softhsm-token.ts';
import { useBridgeSession } from '../helpers/test-bridge.ts';

describe('devices panel', () => {
  const dataDir = freshDataDir();
  const env = {
    ...process.env,
    SOFTHSM2_CONF: join(dataDir, 'rehearsal', 'softhsm2', 'softhsm2.conf'),
  };
  const session = useBridgeSession({ dataDir });
  before(() => session.core.watchDevices(300));

  it('starts with no token', async () => {
    await session.bridge.page.getByTestId('no-devices').waitFor();
  });

  it('shows a token created by softhsm2-util while the page is open', async () => {
    execFileSync(
      'softhsm2-util',
      [
        '--init-token',
        '--free',
        '--label',
        'appears-live',
        '--so-pin',
        FACTORY_SO_PIN,
        '--pin',
        '648219',
      ],
      { env },
    );
    const card = session.bridge.page
      .getByTestId('devices-panel')
      .getByText('appears-live', { exact: true });
    await card.waitFor({ timeout: 10_000 });
    assert.match(await session.bridge.page.getByTestId('devices-panel').innerText(), /REHEARSAL/);
  });

  it('removes it when softhsm2-util deletes it', async () => {
    execFileSync('softhsm2-util', ['--delete-token', '--token', 'appears-live'], { env });
    await session.bridge.page.getByTestId('no-devices').waitFor({ timeout: 10_000 });
    assert.equal(
      await session.bridge.page.getByTestId('devices-panel').getByText('appears-live').count(),
      0,
    );
  });

  it('removes a rehearsal YubiKey only once the removal is confirmed', async () => {
    const { page } = session.bridge;
    await page.getByTestId('connect-rehearsal-yubikey').click();
    const card = page.locator('[data-device-id^="yubikey-piv-rehearsal:"]');
    await card.waitFor();
    const serial = (await card.getByTestId('device-serial').innerText()).trim();
    await card.getByTestId('remove-rehearsal').click();
    const dialog = page.getByTestId('remove-rehearsal-dialog');
    assert.match(await dialog.innerText(), new RegExp(`Remove Rehearsal YubiKey .*${serial}\\?`));
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await card.count(), 1, 'Esc keeps the device');
    await card.getByTestId('remove-rehearsal').click();
    await page.getByTestId('remove-rehearsal-dialog-confirm').click();
    await card.waitFor({ state: 'detached', timeout: 10_000 });
    const journal = session.core.journal
      .entries()
      .filter((e) => e.kind === 'device.rehearsalRemoved');
    assert.deepEqual(
      journal.map((e) => e.detail),
      [{ family: 'yubikey-piv-rehearsal', serial }],
    );
  });
});
