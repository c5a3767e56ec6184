// Vigil's PIV driver over real PC/SC: a pcscd with vsmartcard's two vpcd readers, a rehearsal
// YubiKey in each. YubiKeys are found by serial whichever reader they sit in, listed as
// rehearsal because their F9 chains to the rehearsal CA, and provisioned as Docker's keyholders
// are; PINs are never retried and a final try is refused. The cards live in a child process, as
// a real card lives outside the app.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import {
  generateAttestedSlotKey,
  installRandomManagementKey,
  replaceFactoryPinAndPuk,
} from '../../../electron/devices/yubikey-piv/ceremony/keyholder.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import { resourcesDir } from '../../../electron/base/resources-dir.ts';
import { PcscContext } from '../../../electron/devices/smartcard/transport.ts';
import {
  YUBIKEY_PIV_REHEARSAL_FAMILY,
  findYubiKeys,
  withYubiKey,
  type YubiKeySources,
} from '../../../electron/devices/yubikey-piv/index.ts';
import { PivSlot } from '../../../electron/devices/yubikey-piv/protocol.ts';
import { RehearsalYubiKeyRack } from '../../../electron/devices/yubikey-piv/rehearsal-rack.ts';
import { encodePem } from '../../../electron/formats/pem.ts';
import { startPcscd, type TestPcscd } from '../../helpers/pcscd.ts';
import { REHEARSAL_YUBIKEY_READER, waitForCardIn } from '../../helpers/rehearsal-yubikey.ts';

const secret = (text: string) => SecretBytes.fromText(text);
const SERIALS = [20_240_604, 20_240_605];
const HOST = join(import.meta.dirname, '..', '..', 'helpers', 'rehearsal-yubikey-host.ts');

describe('YubiKeys over PC/SC, found by serial', () => {
  let pcscd: TestPcscd;
  let host: ChildProcess;
  const sources: YubiKeySources = {
    pcsc: () => PcscContext.open(),
    rehearsal: new RehearsalYubiKeyRack(null),
  };

  before(async () => {
    pcscd = await startPcscd(REHEARSAL_YUBIKEY_READER);
    // The second card goes into the first reader: reader order says nothing about serials.
    host = spawn(
      process.execPath,
      ['--import', 'tsx', HOST, ...SERIALS.map((serial, i) => `${pcscd.port + 1 - i}:${serial}`)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      host.stdout?.once('data', () => resolve());
      host.once('exit', (code) => reject(new Error(`card host exited with ${code}`)));
    });
    for (const reader of pcscd.readers) await waitForCardIn(reader);
  });

  after(async () => {
    const exited = new Promise((resolve) => host.once('exit', resolve));
    host.stdin?.end();
    await exited;
    await pcscd.stop();
  });

  it('lists both YubiKeys by serial, marked rehearsal by their F9 chain', async () => {
    const found = await findYubiKeys(sources);
    const bySerial = new Map(found.map((f) => [f.summary.serial, f.summary]));
    assert.deepEqual([...bySerial.keys()].sort(), SERIALS.map(String).sort());
    for (const summary of bySerial.values()) {
      assert.equal(summary.family, YUBIKEY_PIV_REHEARSAL_FAMILY);
      assert.equal(summary.isRehearsal, true);
      assert.equal(summary.slotDescription, 'firmware 5.4.3');
      assert.deepEqual(summary.flags, ['default PIN', 'default PUK', 'default management key']);
      assert.equal(summary.userPin, 'to-be-changed');
      assert.deepEqual(summary.curves, ['P-256', 'P-384']);
    }
    // The reader named first holds the second serial.
    const first = found.find((f) => f.summary.moduleName === pcscd.readers[0]);
    assert.equal(first?.summary.serial, String(SERIALS[1]));
  });

  it('provisions the YubiKey picked by serial: PIN, PUK, management key, attested 9c key', async () => {
    const target = (await findYubiKeys(sources)).find(
      (f) => f.summary.serial === String(SERIALS[0]),
    );
    assert.ok(target);
    const pin = secret('246813');
    const key = await withYubiKey(target, async (session) => {
      await replaceFactoryPinAndPuk(session, { pin, puk: secret('97531864') });
      assert.equal(await installRandomManagementKey(session, pin), 'AES256');
      return generateAttestedSlotKey(session, pin, {
        slot: PivSlot.signature,
        algorithm: 'ECCP384',
        pinPolicy: 'always',
        touchPolicy: 'never',
        subject: 'CN=TUF root keyholder @test',
        now: new Date('2026-12-01T00:00:00Z'),
      });
    });
    // openssl, not our code, checks the chain: attestation ← F9 ← rehearsal CA.
    const dir = mkdtempSync(join(tmpdir(), 'vigil-piv-'));
    writeFileSync(join(dir, 'f9.pem'), encodePem('CERTIFICATE', key.deviceCertificate));
    writeFileSync(join(dir, 'att.pem'), encodePem('CERTIFICATE', key.attestation));
    const ca = join(resourcesDir(), 'rehearsal', 'yubikey-piv-rehearsal-ca.pem');
    const verified = execFileSync('openssl', [
      'verify',
      '-partial_chain',
      '-CAfile',
      ca,
      '-untrusted',
      join(dir, 'f9.pem'),
      join(dir, 'att.pem'),
    ]).toString();
    assert.match(verified, /att\.pem: OK/);
    // The self-signed certificate carries the generated key and verifies under it.
    const certificate = new X509Certificate(key.certificate);
    assert.equal(certificate.subject, 'CN=TUF root keyholder @test');
    assert.ok(certificate.verify(certificate.publicKey));
    assert.deepEqual(
      certificate.publicKey.export({ type: 'spki', format: 'der' }),
      Buffer.from(key.spki),
    );
    const after = (await findYubiKeys(sources)).find(
      (f) => f.summary.serial === String(SERIALS[0]),
    );
    assert.deepEqual(after?.summary.flags, []);
    assert.equal(after?.summary.userPin, 'ok');
  });

  it('reads tries before every PIN attempt, never retries, and refuses the final try', async () => {
    const target = (await findYubiKeys(sources)).find(
      (f) => f.summary.serial === String(SERIALS[1]),
    );
    assert.ok(target);
    await withYubiKey(target, async (session) => {
      assert.equal((await session.credentialState('PIN')).remaining, 3);
      await assert.rejects(session.verifyPin(secret('000000')), (e: unknown) => {
        assert.ok(e instanceof VigilError);
        assert.equal(e.code, 'pin-incorrect');
        assert.equal(e.context.triesLeft, 2);
        return true;
      });
      assert.equal((await session.credentialState('PIN')).remaining, 2);
      await assert.rejects(session.verifyPin(secret('000000')), /1 tries left/);
      // One try left: Vigil does not send the PIN, whatever it is.
      await assert.rejects(session.verifyPin(secret('123456')), (e: unknown) => {
        assert.ok(e instanceof VigilError);
        assert.equal(e.code, 'final-try-refused');
        return true;
      });
      assert.equal((await session.credentialState('PIN')).remaining, 1);
      await session.unblockPin(secret('12345678'), secret('123456'));
      assert.equal((await session.credentialState('PIN')).remaining, 3);
    });
  });
});
