// The devices panel follows tokens that appear and disappear while the page is open: SoftHSM2
// tokens made and deleted by softhsm2-util in another process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VigilCore } from '../../electron/core/vigil-core.ts';
import { FACTORY_SO_PIN, freshDataDir, openCore } from '../helpers/softhsm-token.ts';
import { startBridge, type Bridge } from '../helpers/test-bridge.ts';

describe('devices panel', () => {
  let core: VigilCore;
  let bridge: Bridge;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    const dataDir = freshDataDir();
    core = openCore({ dataDir });
    env = {
      ...process.env,
      SOFTHSM2_CONF: join(dataDir, 'rehearsal', 'softhsm2', 'softhsm2.conf'),
    };
    core.watchDevices(300);
    bridge = await startBridge({ core });
    await bridge.page.getByTestId('app-ready').waitFor();
  });
  after(async () => {
    await bridge.close();
    core.close();
  });

  it('starts with no token', async () => {
    await bridge.page.getByTestId('no-devices').waitFor();
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
    const card = bridge.page
      .getByTestId('devices-panel')
      .getByText('appears-live', { exact: true });
    await card.waitFor({ timeout: 10_000 });
    assert.match(await bridge.page.getByTestId('devices-panel').innerText(), /REHEARSAL/);
  });

  it('removes it when softhsm2-util deletes it', async () => {
    execFileSync('softhsm2-util', ['--delete-token', '--token', 'appears-live'], { env });
    await bridge.page.getByTestId('no-devices').waitFor({ timeout: 10_000 });
    assert.equal(
      await bridge.page.getByTestId('devices-panel').getByText('appears-live').count(),
      0,
    );
  });
});
