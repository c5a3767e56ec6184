// The PIV driver against the rehearsal YubiKey in-process: each refusal the card makes becomes
// the typed error a ceremony step shows, firmware decides what is offered, and a reset restores
// the factory state. (Over PC/SC and with Yubico's tools: test/integration/yubikey-piv.)
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import {
  authenticateWithPin,
  checkNewPinAndPuk,
  generateAttestedSlotKey,
  installRandomManagementKey,
} from '../../../../electron/devices/yubikey-piv/ceremony/keyholder.ts';
import { VigilError } from '../../../../electron/base/errors.ts';
import { PivSession } from '../../../../electron/devices/yubikey-piv/driver.ts';
import {
  DEFAULT_MANAGEMENT_KEY,
  PivKeyRef,
  PivSlot,
} from '../../../../electron/devices/yubikey-piv/protocol.ts';
import { RehearsalYubiKey } from '../../../../electron/devices/yubikey-piv/rehearsal.ts';
import { InProcessCardChannel } from '../../../../electron/devices/yubikey-piv/transport.ts';

const secret = (text: string) => SecretBytes.fromText(text);

async function session(options: { firmware?: [number, number, number] } = {}) {
  const card = await RehearsalYubiKey.create({ serial: 12_345_678, ...options });
  return PivSession.open(new InProcessCardChannel(card));
}

function code(expected: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VigilError, String(error));
    assert.equal(error.code, expected);
    if (message) assert.match(error.message, message);
    return true;
  };
}

const keyRequest = {
  slot: PivSlot.signature,
  pinPolicy: 'always' as const,
  touchPolicy: 'never' as const,
  subject: 'CN=driver test',
  now: new Date('2026-12-01T00:00:00Z'),
};

describe('PIV driver on the rehearsal YubiKey', () => {
  it('reads serial, firmware and the factory credentials’ state', async () => {
    const s = await session();
    assert.equal(s.serial, 12_345_678);
    assert.deepEqual(s.firmware, [5, 4, 3]);
    assert.deepEqual(await s.credentialState('PIN'), { remaining: 3, total: 3, isDefault: true });
    assert.deepEqual(await s.credentialState('PUK'), { remaining: 3, total: 3, isDefault: true });
    assert.equal(await s.managementKeyAlgorithm(), 'TDES');
    assert.equal((await s.metadata(PivKeyRef.managementKey))?.isDefault, true);
    assert.equal(await s.metadata(PivSlot.signature), null);
  });

  it('refuses PINs of the wrong shape before sending them', async () => {
    const s = await session();
    await assert.rejects(s.verifyPin(secret('12345')), code('pin-format'));
    await assert.rejects(s.verifyPin(secret('123456789')), code('pin-format'));
    assert.equal((await s.credentialState('PIN')).remaining, 3, 'no try spent');
  });

  it('refuses the PUK on its final try, counting down from the card’s answers', async () => {
    const s = await session();
    for (const left of [2, 1]) {
      await assert.rejects(
        s.changePuk(secret('00000000'), secret('11111111')),
        code('pin-incorrect', new RegExp(`${left} tries left`)),
      );
    }
    await assert.rejects(
      s.changePuk(secret('12345678'), secret('11111111')),
      code('final-try-refused'),
    );
    assert.equal((await s.credentialState('PUK')).remaining, 1);
  });

  it('says a wrong management key is wrong, and asks for it before key operations', async () => {
    const s = await session();
    await assert.rejects(
      s.generateKey(PivSlot.signature, 'ECCP256', 'default', 'default'),
      code('device-error', /management key/),
    );
    await assert.rejects(
      s.authenticate(SecretBytes.fromBytes(new Uint8Array(24).fill(9)), 'TDES'),
      code('pin-incorrect', /management key is wrong/),
    );
    await assert.rejects(
      s.authenticate(SecretBytes.fromBytes(new Uint8Array(16)), 'TDES'),
      code('pin-format'),
    );
  });

  it('cannot attest an empty slot', async () => {
    const s = await session();
    await assert.rejects(s.attest(PivSlot.signature), code('device-error', /cannot be attested/));
  });

  it('offers Ed25519 and AES management keys only on firmware that has them', async () => {
    const old = await session();
    await old.verifyPin(secret('123456'));
    await old.authenticate(SecretBytes.fromBytes(DEFAULT_MANAGEMENT_KEY));
    await assert.rejects(
      old.generateKey(PivSlot.signature, 'ED25519', 'always', 'never'),
      code('curve-not-supported', /5\.4\.3/),
    );
    const newer = await session({ firmware: [5, 7, 1] });
    assert.equal(await newer.managementKeyAlgorithm(), 'AES192');
    const pin = secret('123456');
    const key = await generateAttestedSlotKey(newer, pin, { ...keyRequest, algorithm: 'ED25519' });
    const certificate = new X509Certificate(key.certificate);
    assert.equal(certificate.publicKey.asymmetricKeyType, 'ed25519');
    assert.ok(certificate.verify(certificate.publicKey), 'signed by the card’s Ed25519 key');
  });

  it('keeps a random management key behind the PIN, readable only after the PIN', async () => {
    const s = await session();
    const pin = secret('123456');
    assert.equal(await installRandomManagementKey(s, pin), 'AES256');
    assert.equal((await s.metadata(PivKeyRef.managementKey))?.isDefault, false);
    // A fresh session (the card reset in between) still authenticates, through the PIN.
    const card = (s.channel as InProcessCardChannel).card;
    card.reset?.();
    const again = await PivSession.open(new InProcessCardChannel(card));
    await assert.rejects(again.readProtectedManagementKey(), code('device-error'));
    await authenticateWithPin(again, pin);
    const key = await generateAttestedSlotKey(again, pin, { ...keyRequest, algorithm: 'ECCP256' });
    assert.equal(new X509Certificate(key.attestation).subject, 'CN=YubiKey PIV Attestation 9c');
  });

  it('resets the applet to factory: keys gone, default credentials back, F9 kept', async () => {
    const s = await session();
    const pin = secret('123456');
    await generateAttestedSlotKey(s, pin, { ...keyRequest, algorithm: 'ECCP384' });
    const f9 = await s.deviceAttestationCertificate();
    await s.resetApplet();
    assert.equal(await s.metadata(PivSlot.signature), null);
    assert.equal(await s.readCertificate(PivSlot.signature), null);
    assert.deepEqual(await s.credentialState('PIN'), { remaining: 3, total: 3, isDefault: true });
    assert.deepEqual(await s.deviceAttestationCertificate(), f9);
  });

  it('checks new PINs before any card is touched', () => {
    const given = (pin: string, pinAgain: string, puk: string, pukAgain = puk) => ({
      newPin: secret(pin),
      newPinRepeat: secret(pinAgain),
      newPuk: secret(puk),
      newPukRepeat: secret(pukAgain),
    });
    assert.throws(
      () => checkNewPinAndPuk(given('123456', '123456', '87654321')),
      code('default-pin-refused'),
    );
    assert.throws(
      () => checkNewPinAndPuk(given('654321', '654321', '12345678')),
      code('default-pin-refused'),
    );
    assert.throws(
      () => checkNewPinAndPuk(given('654321', '654322', '87654321')),
      code('pin-mismatch'),
    );
    assert.throws(
      () => checkNewPinAndPuk(given('654321', '654321', '87654321', '8765432')),
      code('pin-mismatch'),
    );
    assert.throws(() => checkNewPinAndPuk(given('65432', '65432', '87654321')), code('pin-format'));
    assert.throws(() => checkNewPinAndPuk(given('654321', '654321', '654321')), code('pin-format'));
    assert.throws(() => checkNewPinAndPuk({}), code('credentials-missing'));
    assert.ok(checkNewPinAndPuk(given('654321', '654321', '87654321')));
  });
});
