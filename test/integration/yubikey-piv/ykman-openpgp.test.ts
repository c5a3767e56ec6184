// ykman 4.0.9's OpenPGP commands against the rehearsal YubiKey through a real pcscd: `ykman info`
// lists OpenPGP as enabled, `ykman openpgp info` reads every touch policy (the attestation key's
// D9 too), and `ykman openpgp keys attest` attests a key the card generated (SELECT DATA, Yubico
// GET ATTESTATION, 7F21); openssl then verifies the attestation up to the rehearsal OPGP CA and
// the rehearsal YubiKey CA above it, and the certificate carries the card's serial.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resourcesDir } from '../../../electron/base/resources-dir.ts';
import { x509 } from '../../../electron/formats/x509.ts';
import { readTlv } from '../../../electron/formats/der.ts';
import {
  OpenPgpAttestationOid,
  PinRef,
  encodeAlgorithmAttributes,
  generateKeyCommand,
  putDataCommand,
  selectOpenPgpCommand,
  verifyCommand,
} from '../../../electron/devices/yubikey-openpgp/protocol.ts';
import { REHEARSAL_OPGP_CA_FILE } from '../../../electron/devices/yubikey-openpgp/rehearsal-attestation.ts';
import { InProcessCardChannel } from '../../../electron/devices/yubikey-piv/transport.ts';
import { yubicoToolRunner } from '../../helpers/yubico-tool-runner.ts';
import {
  REHEARSAL_YUBIKEY_SERIAL,
  startRehearsalYubiKey,
  type InsertedRehearsalYubiKey,
} from '../../helpers/rehearsal-yubikey.ts';

const SERIAL = String(REHEARSAL_YUBIKEY_SERIAL);
const ROOT_PEM = join(resourcesDir(), 'rehearsal', 'yubikey-piv-rehearsal-ca.pem');
const OPGP_CA_PEM = join(resourcesDir(), 'rehearsal', REHEARSAL_OPGP_CA_FILE);
const text = (s: string) => new TextEncoder().encode(s);

let yubikey: InsertedRehearsalYubiKey;
let dir: string;

const { run, ykman } = yubicoToolRunner(() => dir, SERIAL);

/**
 * A P-256 signing key generated on the card (ykman 4.0.9 cannot generate OpenPGP keys), with a
 * cardholder name and generation time as GnuPG would write them. The APDUs go to the card
 * directly, between tool runs, while no PC/SC client holds it.
 */
async function generateSigningKey(generatedAt: number): Promise<void> {
  const channel = new InProcessCardChannel(yubikey.card);
  const expectOk = async (what: string, apdu: Parameters<typeof channel.send>[0]) =>
    assert.equal((await channel.send(apdu)).sw, 0x9000, what);
  await expectOk('select', selectOpenPgpCommand());
  await expectOk('admin PIN', verifyCommand(PinRef.admin, text('12345678')));
  await expectOk('attributes', putDataCommand(0xc1, encodeAlgorithmAttributes('ecdsa-p256')));
  await expectOk('generate', generateKeyCommand('sign'));
  const time = new Uint8Array(4);
  new DataView(time.buffer).setUint32(0, generatedAt);
  await expectOk('generation time', putDataCommand(0xce, time));
  await expectOk('name', putDataCommand(0x5b, text('Keyholder<<Rehearsal')));
}

/** An extension's value inside its DER wrapper (all of the OPGP arc is DER-encoded). */
function extensionValue(certificate: x509.X509Certificate, oid: string): Uint8Array {
  const raw = certificate.getExtension(oid)?.value;
  assert.ok(raw, `extension ${oid} present`);
  return readTlv(new Uint8Array(raw)).value;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-ykman-openpgp-'));
  yubikey = await startRehearsalYubiKey();
});
after(async () => {
  await yubikey.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('ykman OpenPGP commands against the rehearsal YubiKey', () => {
  it('ykman info lists OpenPGP and PIV as enabled', async () => {
    const info = await ykman('info');
    assert.match(info, /^Device type: YubiKey 5 NFC$/m);
    assert.match(info, /^Serial number: 31415926$/m);
    assert.match(info, /^OpenPGP\s+Enabled/m);
    assert.match(info, /^PIV\s+Enabled/m);
  });

  it('ykman openpgp info reads the tries and every touch policy, attestation key included', async () => {
    const info = await ykman('openpgp', 'info');
    assert.match(info, /^OpenPGP version: 3\.4$/m);
    assert.match(info, /^Application version: 5\.4\.3$/m);
    assert.match(info, /^PIN tries remaining: 3$/m);
    assert.match(info, /^Signature key\s+Off$/m);
    assert.match(info, /^Attestation key\s+Off$/m);
  });

  it('ykman attests a generated key; openssl verifies it up to the rehearsal CAs', async () => {
    const generatedAt = 1_700_000_000;
    await generateSigningKey(generatedAt);
    await ykman('openpgp', 'keys', 'attest', '-P', '123456', 'sig', 'att.pem');
    await ykman('openpgp', 'certificates', 'export', 'att', 'card.pem');
    // The published rehearsal OPGP CA, as a keyholder would hand it to openssl.
    const opgpCa = readFileSync(OPGP_CA_PEM, 'utf8');
    writeFileSync(join(dir, 'chain.pem'), readFileSync(join(dir, 'card.pem'), 'utf8') + opgpCa);
    const verify = (...args: string[]) => run('openssl', ['verify', ...args, 'att.pem']);
    assert.equal(
      (await verify('-partial_chain', '-CAfile', OPGP_CA_PEM, '-untrusted', 'card.pem')).trim(),
      'att.pem: OK',
      'to the rehearsal OPGP Attestation CA through the card certificate',
    );
    assert.equal(
      (await verify('-CAfile', ROOT_PEM, '-untrusted', 'chain.pem')).trim(),
      'att.pem: OK',
      'and on to the rehearsal YubiKey CA',
    );
    await assert.rejects(verify('-CAfile', 'card.pem'), 'the card certificate is no root');

    const attestation = new x509.X509Certificate(readFileSync(join(dir, 'att.pem'), 'utf8'));
    assert.equal(attestation.subject, 'CN=YubiKey OPGP Attestation SIG');
    const serial = extensionValue(attestation, OpenPgpAttestationOid.serial);
    assert.equal(Buffer.from(serial).readUIntBE(0, serial.length), REHEARSAL_YUBIKEY_SERIAL);
    assert.deepEqual(
      extensionValue(attestation, OpenPgpAttestationOid.keySource),
      Uint8Array.of(1),
    );
    assert.deepEqual(
      extensionValue(attestation, OpenPgpAttestationOid.firmware),
      Uint8Array.of(5, 4, 3),
    );
    const date = extensionValue(attestation, OpenPgpAttestationOid.generationDate);
    assert.equal(Buffer.from(date).readUInt32BE(0), generatedAt);
    assert.equal(
      new TextDecoder().decode(extensionValue(attestation, OpenPgpAttestationOid.cardholderName)),
      'Keyholder<<Rehearsal',
    );
    const card = new x509.X509Certificate(readFileSync(join(dir, 'card.pem'), 'utf8'));
    assert.match(card.subject, /REHEARSAL/);
    assert.match(new x509.X509Certificate(opgpCa).subject, /REHEARSAL/);
  });
});
