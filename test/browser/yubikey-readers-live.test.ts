// YubiKeys appear in the devices panel when a card enters a PC/SC reader and go when it leaves,
// with no click: a real pcscd with vpcd, a rehearsal YubiKey served from another process.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultModuleCatalog } from '../../electron/devices/pkcs11/module-catalog.ts';
import { startPcscd, type TestPcscd } from '../helpers/pcscd.ts';
import { REHEARSAL_YUBIKEY_READER } from '../helpers/rehearsal-yubikey.ts';
import { assertCleanPage, useBrowserSession } from './browser-session.ts';

const HOST = join(import.meta.dirname, '..', 'helpers', 'rehearsal-yubikey-host.ts');
const SERIAL = 20_241_122;

describe('YubiKeys in PC/SC readers, live in the devices panel', () => {
  let pcscd: TestPcscd;
  let host: ChildProcess | null = null;
  before(async () => {
    pcscd = await startPcscd(REHEARSAL_YUBIKEY_READER);
  });
  // SoftHSM2 only, not OpenSC: OpenSC also reads the card in the vpcd reader, and when the card
  // leaves during its C_GetTokenInfo it can deadlock on its own lock (sc_pkcs15_get_pin_info ->
  // sc_unlock), freezing this process. That is a product hazard of its own (README, Known
  // limits); this test is about PC/SC discovery.
  const catalog = defaultModuleCatalog();
  const session = useBrowserSession('yubikey-live', {
    catalog: { ...catalog, modules: catalog.modules.filter((m) => m.name === 'softhsm2') },
  });
  after(async () => {
    host?.kill();
    await pcscd.stop();
  });

  it('shows the card when it is inserted and removes it when it is taken out', async () => {
    session.core.watchDevices(500);
    const card = session.page.locator(`[data-device-id="yubikey-piv-rehearsal:${SERIAL}"]`);
    assert.equal(await card.count(), 0);
    const inserted = spawn(process.execPath, ['--import', 'tsx', HOST, `${pcscd.port}:${SERIAL}`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    host = inserted;
    await card.waitFor({ timeout: 20_000 });
    assert.match(await card.getByTestId('device-rehearsal').innerText(), /REHEARSAL/);
    assert.ok((await card.innerText()).includes(`${REHEARSAL_YUBIKEY_READER} 00 00`));
    const exited = new Promise((resolve) => inserted.once('exit', resolve));
    inserted.stdin?.end();
    await exited;
    host = null;
    await card.waitFor({ state: 'detached', timeout: 20_000 });
    await assertCleanPage(session);
  });
});
