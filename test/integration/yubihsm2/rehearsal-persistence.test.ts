// A rehearsal YubiHSM saved in the data folder comes back after a restart with its objects, keys
// and audit log, as a real device does. And the new-password rules of the ceremony, checked
// before the device is touched.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import {
  CEREMONY_AUTH_KEY_ID,
  generateAttestedKey,
  replaceDefaultAuthenticationKey,
} from '../../../electron/devices/yubihsm2/ceremony/provisioning.ts';
import { checkNewPassword } from '../../../electron/devices/yubihsm2/ceremony/actions.ts';
import { YubiHsmDriver } from '../../../electron/devices/yubihsm2/driver.ts';
import { RehearsalYubiHsmRack, findYubiHsms } from '../../../electron/devices/yubihsm2/index.ts';
import { ObjectType } from '../../../electron/devices/yubihsm2/protocol.ts';
import { ConnectorTransport } from '../../../electron/devices/yubihsm2/transport.ts';
import { bytesToHex } from '../../../electron/formats/der.ts';

const folder = mkdtempSync(join(tmpdir(), 'vigil-rehearsal-yubihsm-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const sources = (rack: RehearsalYubiHsmRack) => ({
  connectorUrl: null,
  useUsb: false,
  rehearsal: rack,
});

describe('rehearsal YubiHSM saved across a restart', () => {
  it('keeps keys and the log, and logs the restart as a boot', async () => {
    const first = new RehearsalYubiHsmRack(folder);
    const device = await first.plugIn({ serial: 31415926, rebootMs: 0 });
    const [found] = await findYubiHsms(sources(first));
    assert.equal(found?.summary.serial, '0031415926');
    assert.equal(found?.summary.family, 'yubihsm2-rehearsal');
    const driver = await found.open();
    await replaceDefaultAuthenticationKey(driver, 'persisted password');
    const root = await driver.withSession(CEREMONY_AUTH_KEY_ID, 'persisted password', (s) =>
      generateAttestedKey(s, 'root', 'Ed25519'),
    );
    await first.close();
    assert.deepEqual(readdirSync(folder), ['31415926.json']);
    assert.equal(statSync(join(folder, '31415926.json')).mode & 0o777, 0o600);
    assert.ok(device);

    const second = new RehearsalYubiHsmRack(folder);
    await second.restore({ rebootMs: 0 });
    const [again] = await findYubiHsms(sources(second));
    assert.equal(again?.summary.serial, '0031415926');
    const restarted = new YubiHsmDriver(new ConnectorTransport(second.connectors[0]!.url));
    await restarted.withSession(CEREMONY_AUTH_KEY_ID, 'persisted password', async (session) => {
      const info = await session.objectInfo(0x0003, ObjectType.asymmetricKey);
      assert.equal(info.label, 'tuf-root');
      const key = await session.publicKey(0x0003);
      assert.equal(bytesToHex(key.key), bytesToHex(root.rawPublicKey));
      // The log survived, and the restart wrote a boot entry (command 0xff) like a power-up.
      const log = await session.logEntries();
      assert.ok(log.entries.length > 5);
      assert.ok(log.entries.some((e) => e.command === 0xff && e.number > 1));
    });
    await second.unplug(31415926);
    assert.deepEqual(readdirSync(folder), []);
  });
});

describe('new YubiHSM password rules', () => {
  const check = (first: string, again = first) =>
    checkNewPassword({
      newAuthPassword: SecretBytes.fromText(first),
      newAuthPasswordRepeat: SecretBytes.fromText(again),
    });
  const refused = (code: string) => (e: unknown) => e instanceof VigilError && e.code === code;

  it('refuses two different entries, the factory password and short passwords', () => {
    assert.throws(() => check('long enough one', 'long enough two'), refused('pin-mismatch'));
    assert.throws(() => check('password'), refused('default-pin-refused'));
    assert.throws(() => check('short'), refused('pin-format'));
    // Characters, not bytes: seven Greek letters are 14 bytes and still too short.
    assert.throws(() => check('κόσμεκό'), refused('pin-format'));
    assert.throws(
      () => checkNewPassword({ newAuthPassword: SecretBytes.fromText('only once given') }),
      refused('credentials-missing'),
    );
  });

  it('derives the session keys of an accepted password from its bytes', () => {
    const keys = check('κόσμε κόσμε');
    assert.equal(keys.encryptionKey.length, 16);
    assert.equal(keys.macKey.length, 16);
  });
});
