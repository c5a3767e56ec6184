// The rehearsal YubiKey's OpenPGP attestation and certificate slots at the APDU level, in-process:
// SELECT DATA and a 7F21 per slot, the attestation key's DOs (D9, DA, DB, DD, FC), GET
// ATTESTATION's refusals and its certificate (chain, subject, extensions, public key), the
// attestation key kept across an applet reset and a reload, and the DER of each extension.
import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bytesToHex, readTlv } from '../../../../electron/formats/der.ts';
import { x509 } from '../../../../electron/formats/x509.ts';
import { resourcesDir } from '../../../../electron/base/resources-dir.ts';
import type { CommandApdu } from '../../../../electron/devices/smartcard/apdu.ts';
import {
  OpenPgpAttestationOid,
  PinRef,
  activateCommand,
  attestKeyCommand,
  decodeApplicationRelated,
  decodePublicKey,
  encodeAlgorithmAttributes,
  generateKeyCommand,
  getDataCommand,
  importKeyCommand,
  putDataCommand,
  selectCertificateCommand,
  selectOpenPgpCommand,
  terminateCommand,
  verifyCommand,
} from '../../../../electron/devices/yubikey-openpgp/protocol.ts';
import {
  REHEARSAL_OPGP_CARD_SUBJECT,
  REHEARSAL_OPGP_CA_FILE,
  rehearsalOpenPgpCaFor,
  slotAttestationExtensions,
} from '../../../../electron/devices/yubikey-openpgp/rehearsal-attestation.ts';
import { defaultOpenPgpState } from '../../../../electron/devices/yubikey-openpgp/rehearsal-openpgp-state.ts';
import {
  loadRehearsalPivCa,
  type RehearsalPivCa,
} from '../../../../electron/devices/yubikey-piv/rehearsal-attestation.ts';
import {
  RehearsalYubiKey,
  type RehearsalYubiKeyOptions,
} from '../../../../electron/devices/yubikey-piv/rehearsal.ts';
import { InProcessCardChannel } from '../../../../electron/devices/yubikey-piv/transport.ts';

const SERIAL = 7_654_321;
const text = (s: string) => new TextEncoder().encode(s);

let ca: RehearsalPivCa;
let dir: string;

before(async () => {
  ca = await loadRehearsalPivCa();
  dir = mkdtempSync(join(tmpdir(), 'vigil-opgp-attest-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function selectedCard(options: Partial<RehearsalYubiKeyOptions> = {}) {
  const card = await RehearsalYubiKey.create({ serial: SERIAL, ca, ...options });
  const channel = new InProcessCardChannel(card);
  const send = (apdu: CommandApdu) => channel.send(apdu);
  assert.equal((await send(selectOpenPgpCommand())).sw, 0x9000);
  return { card, send };
}

type Send = Awaited<ReturnType<typeof selectedCard>>['send'];

async function admin(send: Send) {
  assert.equal((await send(verifyCommand(PinRef.admin, text('12345678')))).sw, 0x9000);
}

/** ykman ≤ 5.4.3's SELECT DATA: a length byte before `60 {5C 7F21}`. */
function selectCertificateWithLengthByte(apdu: CommandApdu): CommandApdu {
  const data = apdu.data ?? new Uint8Array(0);
  return { ...apdu, data: Uint8Array.of(data.length, ...data) };
}

/** A dotted OID as its DER (06 len …). */
function oidDer(dotted: string): Uint8Array {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const body = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    body.push(...chunk);
  }
  return Uint8Array.of(0x06, body.length, ...body);
}

/** An extension's value inside its DER wrapper; node:crypto has no extension accessor. */
function extension(certificate: X509Certificate, oid: string): Uint8Array | null {
  const der = new Uint8Array(certificate.raw);
  const name = oidDer(oid);
  const at = Buffer.from(der).indexOf(name);
  if (at < 0) return null;
  const extnValue = readTlv(der, at + name.length); // the OCTET STRING (no critical flag)
  return readTlv(extnValue.value).value;
}

describe('Rehearsal OpenPGP applet: certificates and attestation', () => {
  it('answers the attestation key DOs and lists DA and D9 in 6E', async () => {
    const { send } = await selectedCard();
    assert.equal(bytesToHex((await send(getDataCommand(0xd9))).data), '0020');
    assert.deepEqual(
      (await send(getDataCommand(0xda))).data,
      encodeAlgorithmAttributes('ecdsa-p256'),
    );
    assert.deepEqual((await send(getDataCommand(0xdb))).data, new Uint8Array(20));
    assert.deepEqual((await send(getDataCommand(0xdd))).data, new Uint8Array(4));
    const fc = new X509Certificate((await send(getDataCommand(0xfc))).data);
    assert.match(fc.subject, /REHEARSAL YubiKey OPGP Attestation/);
    assert.ok(fc.ca);
    const related = await send(getDataCommand(0x6e));
    assert.equal(decodeApplicationRelated(related.data).aid.serial, SERIAL);
    assert.ok(bytesToHex(related.data).includes('d9020020'), 'D9 in the discretionary DOs');

    assert.equal((await send(putDataCommand(0xd9, Uint8Array.of(0x01, 0x20)))).sw, 0x6982);
    await admin(send);
    assert.equal((await send(putDataCommand(0xd9, Uint8Array.of(0x02, 0x20)))).sw, 0x9000);
    assert.equal((await send(putDataCommand(0xd9, Uint8Array.of(0x00, 0x20)))).sw, 0x6982);
    assert.equal(bytesToHex((await send(getDataCommand(0xd9))).data), '0220');
  });

  it('keeps a 7F21 per slot, chosen by SELECT DATA in either form; AUT after SELECT', async () => {
    const { send } = await selectedCard();
    assert.equal((await send(putDataCommand(0x7f21, text('aut')))).sw, 0x6982);
    await admin(send);
    assert.equal((await send(putDataCommand(0x7f21, text('aut')))).sw, 0x9000);
    assert.equal((await send(selectCertificateCommand('sign'))).sw, 0x9000);
    assert.deepEqual((await send(getDataCommand(0x7f21))).data, new Uint8Array(0));
    assert.equal((await send(putDataCommand(0x7f21, text('sig')))).sw, 0x9000);
    const legacy = selectCertificateWithLengthByte(selectCertificateCommand('encrypt'));
    assert.equal((await send(legacy)).sw, 0x9000);
    assert.equal((await send(putDataCommand(0x7f21, text('dec')))).sw, 0x9000);
    for (const [slot, value] of [
      ['sign', 'sig'],
      ['encrypt', 'dec'],
      ['authenticate', 'aut'],
    ] as const) {
      await send(selectCertificateCommand(slot));
      assert.deepEqual((await send(getDataCommand(0x7f21))).data, text(value));
    }
    await send(selectCertificateCommand('sign'));
    await send(selectOpenPgpCommand());
    assert.deepEqual((await send(getDataCommand(0x7f21))).data, text('aut'), 'AUT again');
    const wrongTag = {
      ...selectCertificateCommand('sign'),
      data: Uint8Array.of(0x60, 3, 0x5c, 1, 0x5e),
    };
    assert.equal((await send(wrongTag)).sw, 0x6a88);
    assert.equal((await send({ ...selectCertificateCommand('sign'), p1: 3 })).sw, 0x6a88);
  });

  it('attests only a generated key, with PW1, into the slot 7F21, chained to the rehearsal CA', async () => {
    const { send } = await selectedCard({ firmware: [5, 7, 1], formFactor: 'usb-c-nano' });
    assert.equal((await send(attestKeyCommand('sign'))).sw, 0x6982, 'no PW1');
    await send(verifyCommand(PinRef.userForSigning, text('123456')));
    assert.equal((await send(attestKeyCommand('sign'))).sw, 0x6a88, 'no key');
    await admin(send);
    await send(putDataCommand(0xc3, encodeAlgorithmAttributes('ed25519')));
    const scalar = new Uint8Array(32).fill(7);
    await send(importKeyCommand('authenticate', [{ tag: 0x92, value: scalar }]));
    assert.equal((await send(attestKeyCommand('authenticate'))).sw, 0x6985, 'imported');

    await send(putDataCommand(0xc1, encodeAlgorithmAttributes('ecdsa-p256')));
    const point = decodePublicKey((await send(generateKeyCommand('sign'))).data);
    await send(putDataCommand(0xce, Uint8Array.of(0x65, 0x53, 0xf1, 0x00)));
    await send(putDataCommand(0xc7, new Uint8Array(20).fill(0xab)));
    await send(putDataCommand(0x5b, text('Keyholder<<Rehearsal')));
    await send(putDataCommand(0xd6, Uint8Array.of(0x03, 0x20)));
    assert.equal((await send(attestKeyCommand('sign'))).sw, 0x9000);
    assert.equal((await send({ ...attestKeyCommand('sign'), cla: 0x00 })).sw, 0x6d00);

    await send(selectCertificateCommand('sign'));
    const leaf = new X509Certificate((await send(getDataCommand(0x7f21))).data);
    const card = new X509Certificate((await send(getDataCommand(0xfc))).data);
    // The middle of the chain is the CA published in resources/rehearsal, byte for byte.
    const middle = new X509Certificate(
      readFileSync(join(resourcesDir(), 'rehearsal', REHEARSAL_OPGP_CA_FILE)),
    );
    assert.ok(card.checkIssued(middle));
    const root = new X509Certificate(new Uint8Array(ca.certificate.rawData));
    assert.ok(leaf.verify(card.publicKey) && leaf.checkIssued(card));
    assert.ok(card.verify(middle.publicKey) && card.checkIssued(middle));
    assert.ok(middle.verify(root.publicKey) && middle.checkIssued(root));
    assert.equal(leaf.subject, 'CN=YubiKey OPGP Attestation SIG');
    const jwk = leaf.publicKey.export({ format: 'jwk' });
    assert.equal(
      Buffer.from(jwk.x ?? '', 'base64url').toString('hex'),
      bytesToHex(point.subarray(1, 33)),
    );

    const value = (oid: string) => bytesToHex(extension(leaf, oid) ?? Uint8Array.of());
    assert.equal(value(OpenPgpAttestationOid.serial), '74cbb1');
    assert.equal(value(OpenPgpAttestationOid.firmware), '050701');
    assert.equal(value(OpenPgpAttestationOid.keySource), '01');
    assert.equal(value(OpenPgpAttestationOid.generationDate), '6553f100');
    assert.equal(value(OpenPgpAttestationOid.fingerprint), 'ab'.repeat(20));
    assert.equal(value(OpenPgpAttestationOid.touchPolicy), '0320');
    assert.equal(value(OpenPgpAttestationOid.formFactor), '04');
    assert.equal(value(OpenPgpAttestationOid.signatureCounter), '00');
    assert.equal(
      Buffer.from(extension(leaf, OpenPgpAttestationOid.cardholderName) ?? []).toString(),
      'Keyholder<<Rehearsal',
    );
  });

  it('keeps the attestation key across an applet reset and a reload; an old save gains one', async () => {
    const stateFile = join(dir, 'card.json');
    const { card, send } = await selectedCard({ stateFile });
    const fc = (await send(getDataCommand(0xfc))).data;
    await admin(send);
    await send(putDataCommand(0x7f21, text('aut')));
    await send(putDataCommand(0xd9, Uint8Array.of(0x01, 0x20)));
    for (let i = 0; i < 3; i++) await send(verifyCommand(PinRef.admin, text('00000000')));
    assert.equal((await send(terminateCommand())).sw, 0x9000);
    assert.equal((await send(activateCommand())).sw, 0x9000);
    card.reset();
    await send(selectOpenPgpCommand());
    assert.deepEqual((await send(getDataCommand(0xfc))).data, fc, 'FC kept');
    assert.deepEqual((await send(getDataCommand(0x7f21))).data, new Uint8Array(0), '7F21 wiped');
    assert.equal(bytesToHex((await send(getDataCommand(0xd9))).data), '0020');

    const again = await selectedCard({ stateFile });
    assert.deepEqual((await again.send(getDataCommand(0xfc))).data, fc, 'FC after reload');

    // As saved before the applet kept certificates and an attestation key.
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      openpgp: Record<string, unknown>;
    };
    const old = { ...saved.openpgp };
    for (const field of ['attestation', 'certificates', 'attestationTouch']) delete old[field];
    const oldFile = join(dir, 'old.json');
    writeFileSync(oldFile, JSON.stringify({ ...saved, openpgp: old }), { mode: 0o600 });
    const upgraded = await selectedCard({ stateFile: oldFile });
    const newFc = new X509Certificate((await upgraded.send(getDataCommand(0xfc))).data);
    assert.equal(
      newFc.subject.replace(/\n/g, ', '),
      REHEARSAL_OPGP_CARD_SUBJECT.replace(/ *, */g, ', '),
    );
    assert.ok(
      (JSON.parse(readFileSync(oldFile, 'utf8')) as { openpgp: { attestation?: unknown } }).openpgp
        .attestation,
      'saved at once',
    );
  });

  it('publishes the OPGP CA under the rehearsal root; a test root gets one of its own', async () => {
    const published = await rehearsalOpenPgpCaFor(ca);
    const file = readFileSync(join(resourcesDir(), 'rehearsal', REHEARSAL_OPGP_CA_FILE), 'utf8');
    assert.equal(published.certificate.toString('pem').trim(), file.trim());
    // Another root (a test's own): the same CA name and key, issued by that root.
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const other: RehearsalPivCa = {
      certificate: await x509.X509CertificateGenerator.createSelfSigned({
        name: 'CN=A test root',
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions: [new x509.BasicConstraintsExtension(true, 2, true)],
      }),
      privateKey: keys.privateKey,
    };
    const issued = await rehearsalOpenPgpCaFor(other);
    assert.equal(issued.certificate.issuer, other.certificate.subject);
    assert.deepEqual(
      new Uint8Array(issued.certificate.publicKey.rawData),
      new Uint8Array(published.certificate.publicKey.rawData),
    );
    // A file holding another key is refused: the published CA cannot be swapped.
    const folder = mkdtempSync(join(tmpdir(), 'vigil-opgp-ca-'));
    writeFileSync(join(folder, REHEARSAL_OPGP_CA_FILE), other.certificate.toString('pem'));
    await assert.rejects(
      rehearsalOpenPgpCaFor(ca, folder),
      /does not hold the rehearsal OPGP CA's key/,
    );
    rmSync(folder, { recursive: true, force: true });
  });

  it('encodes each extension as DER, the signature counter for SIG only', () => {
    const state = defaultOpenPgpState();
    state.name = Uint8Array.of(0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72); // "Müller", ISO 8859-1
    state.signatureCounter = 0x80;
    const key = {
      algorithm: 'ed25519' as const,
      secret: new Uint8Array(32),
      origin: 'generated' as const,
    };
    const device = {
      serial: 31_415_926,
      firmware: [5, 4, 3] as const,
      formFactor: 'usb-a-keychain' as const,
    };
    const sign = new Map(
      slotAttestationExtensions({ slot: 'sign', key, state, device }).map((e) => [
        e.oid,
        bytesToHex(e.value),
      ]),
    );
    assert.equal(sign.get(OpenPgpAttestationOid.cardholderName), '0c074dc3bc6c6c6572');
    assert.equal(sign.get(OpenPgpAttestationOid.keySource), '020101');
    assert.equal(sign.get(OpenPgpAttestationOid.firmware), '0403050403');
    assert.equal(sign.get(OpenPgpAttestationOid.signatureCounter), '02020080');
    assert.equal(sign.get(OpenPgpAttestationOid.serial), '020401df5e76');
    assert.equal(sign.get(OpenPgpAttestationOid.touchPolicy), '04020020');
    assert.equal(sign.get(OpenPgpAttestationOid.formFactor), '040101');
    const aut = slotAttestationExtensions({ slot: 'authenticate', key, state, device });
    assert.ok(!aut.some((e) => e.oid === OpenPgpAttestationOid.signatureCounter));
  });
});
