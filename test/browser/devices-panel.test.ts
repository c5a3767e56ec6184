// The devices panel follows tokens that appear and disappear while the page is open: SoftHSM2
// tokens made and deleted by softhsm2-util in another process.
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
});
