// YubiKey PIV slot attestation: extension byte vectors, and chains made at test time that mimic
// both Yubico PKIs (PIV Root CA for firmware < 5.7.4; Root 1 → Intermediate → PIV Attestation for
// ≥ 5.7.4) with the trust set injected, plus the rehearsal CA; then every way a chain can be wrong.
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  PivAttestationExtensionError,
  PivAttestationFormatError,
  decodeFirmware,
  decodeFormFactor,
  decodePivAttestationExtensions,
  decodePolicy,
  decodeSerial,
  loadPivTrust,
  verifyPivAttestation,
  type PivTrust,
} from '../../../../electron/devices/yubikey-piv/attestation.ts';
import { PivAttestationOid } from '../../../../electron/devices/yubikey-piv/protocol.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';
import {
  der,
  issueF9,
  issueSlotAttestation,
  makeFakeYubicoPki,
  type FakeYubicoPki,
} from '../../../helpers/piv-archive-fixtures.ts';

const malformed = (extension: string) => (e: unknown) =>
  e instanceof PivAttestationExtensionError &&
  e.extension === extension &&
  e.kind === 'piv-attestation-extension-malformed' &&
  e.message.includes(extension);

describe('pinned Yubico PIV trust anchors', () => {
  it('are the certificates with the published SHA-256 fingerprints', () => {
    const trust = loadPivTrust();
    const fingerprint = (c: { raw: Buffer }) => createHash('sha256').update(c.raw).digest('hex');
    assert.deepEqual(trust.legacyRoots.map(fingerprint), [
      '63ece914e54dd87915f34033c85af4c0696ba1512f8add66ced738331207b546',
    ]);
    assert.deepEqual(trust.roots.map(fingerprint), [
      '62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8',
    ]);
    assert.deepEqual(trust.intermediates.map(fingerprint), [
      '6de693f05376f5d8ca29069261e1c8626c75d503bd2edbfd75354cad1f722870',
      '2d55b7998f4e42569d6d8fa382b6dc77d1dacf07358b19701163892922b17052',
      '4698a1d3389c3ec60016c216250f1d0439922832d65142327436376dc2942b55',
      'd4cc3f456fdaf4e7812a21aab1dfe9d8e27d24e2fd2d6f21c9940109f0daa754',
    ]);
    assert.match(trust.rehearsalRoots[0]?.subject ?? '', /Vigil REHEARSAL/);
  });
});

describe('PIV attestation extensions (byte vectors)', () => {
  it('reads firmware as three raw bytes', () => {
    assert.deepEqual(decodeFirmware(hexToBytes('050403')), [5, 4, 3]);
    assert.deepEqual(decodeFirmware(hexToBytes('050704')), [5, 7, 4]);
    assert.throws(() => decodeFirmware(hexToBytes('0504')), malformed('firmware'));
    assert.throws(() => decodeFirmware(hexToBytes('04030504')), malformed('firmware'));
  });

  it('reads the serial as a DER INTEGER (Sigstore 13078778, TameMyCerts 30000948)', () => {
    assert.equal(decodeSerial(hexToBytes('020400c790fa')), 13078778);
    assert.equal(decodeSerial(hexToBytes('020401c9c734')), 30000948);
    assert.equal(decodeSerial(hexToBytes('02050080000000')), 0x80000000);
    for (const bad of [
      '0404 00c790fa'.replace(' ', ''), // OCTET STRING, not INTEGER
      '020180', // negative
      '02020005', // not minimal
      '020400c790fa00', // trailing byte
      '0204c790', // truncated
      '02080102030405060708', // larger than any serial
      '0200', // empty
    ])
      assert.throws(() => decodeSerial(hexToBytes(bad)), malformed('serial'), bad);
  });

  it('reads PIN and touch policy as two raw bytes', () => {
    assert.deepEqual(decodePolicy(hexToBytes('0301')), {
      pinPolicy: 'always',
      touchPolicy: 'never',
    });
    assert.deepEqual(decodePolicy(hexToBytes('0203')), {
      pinPolicy: 'once',
      touchPolicy: 'cached',
    });
    assert.deepEqual(decodePolicy(hexToBytes('0302')), {
      pinPolicy: 'always',
      touchPolicy: 'always',
    });
    assert.throws(() => decodePolicy(hexToBytes('0901')), malformed('policy'));
    assert.throws(() => decodePolicy(hexToBytes('0309')), malformed('policy'));
    assert.throws(() => decodePolicy(hexToBytes('03')), malformed('policy'));
  });

  it('reads the form factor: low nibble the kind, 0x80 the FIPS bit', () => {
    assert.deepEqual(decodeFormFactor(hexToBytes('83')), {
      code: 0x83,
      kind: 'usb-c-keychain',
      hasFipsBit: true,
    });
    assert.deepEqual(decodeFormFactor(hexToBytes('01')), {
      code: 1,
      kind: 'usb-a-keychain',
      hasFipsBit: false,
    });
    assert.equal(decodeFormFactor(hexToBytes('07')).kind, 'usb-c-bio');
    assert.equal(decodeFormFactor(hexToBytes('4f')).kind, 'unknown');
    assert.throws(() => decodeFormFactor(hexToBytes('0383')), malformed('formFactor'));
    assert.throws(() => decodeFormFactor(new Uint8Array(0)), malformed('formFactor'));
  });

  it('notes FIPS and CSPN by presence and refuses a repeated extension', () => {
    const facts = decodePivAttestationExtensions([
      { oid: PivAttestationOid.firmware, value: hexToBytes('050403') },
      { oid: PivAttestationOid.fips, value: hexToBytes('020107') },
      { oid: '2.5.29.19', value: hexToBytes('3003010100') },
    ]);
    assert.deepEqual(facts, {
      firmware: [5, 4, 3],
      serial: null,
      pinPolicy: null,
      touchPolicy: null,
      formFactor: null,
      isFips: true,
      isCspn: false,
    });
    assert.equal(
      decodePivAttestationExtensions([{ oid: PivAttestationOid.cspn, value: new Uint8Array(0) }])
        .isCspn,
      true,
    );
    assert.throws(
      () =>
        decodePivAttestationExtensions([
          { oid: PivAttestationOid.serial, value: hexToBytes('020400c790fa') },
          { oid: PivAttestationOid.serial, value: hexToBytes('020400c790fb') },
        ]),
      malformed('serial'),
    );
  });
});

const spkiOf = async (key: webcrypto.CryptoKey) =>
  bytesToHex(new Uint8Array(await webcrypto.subtle.exportKey('spki', key)));

/** Flips one bit of the DER: the last byte is inside the signature value. */
function flipLastBit(bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
  return copy;
}

/** Overwrites the attested serial inside the signed part, keeping the signature as it was. */
function editSerial(bytes: Uint8Array, serial: number, newSerial: number): Uint8Array {
  const hex = bytesToHex(bytes);
  const find = (n: number) => `04060204${n.toString(16).padStart(8, '0')}`;
  assert.equal(hex.split(find(serial)).length, 2, 'serial extension found once');
  return hexToBytes(hex.replace(find(serial), find(newSerial)));
}

describe('verifyPivAttestation, firmware < 5.7.4 (PIV Root CA look-alike)', () => {
  let pki: FakeYubicoPki;
  before(async () => {
    pki = await makeFakeYubicoPki();
  });

  it('verifies attestation → non-CA F9 → pinned root and decodes every fact', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot, isFips: true, isCspn: true });
    assert.equal(f9.certificate.getExtension('2.5.29.19'), null, 'F9 has no basicConstraints');
    const slot = await issueSlotAttestation(f9, {
      serial: 25515003,
      pinPolicy: 'always',
      touchPolicy: 'never',
      formFactor: 0x83,
    });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      pki.trust,
    );
    assert.deepEqual(result.problems, []);
    assert.equal(result.verdict, 'production');
    assert.deepEqual(result.path, [
      'YubiKey PIV Attestation 9c',
      'Yubico PIV Attestation',
      'Yubico PIV Root CA Serial 263751',
    ]);
    const { publicKeySpki, ...facts } = result.facts;
    assert.deepEqual(facts, {
      serial: 25515003,
      firmware: [5, 4, 3],
      pinPolicy: 'always',
      touchPolicy: 'never',
      formFactor: { code: 0x83, kind: 'usb-c-keychain', hasFipsBit: true },
      isFips: true,
      isCspn: true,
      slot: '9c',
    });
    assert.equal(bytesToHex(publicKeySpki), await spkiOf(slot.keys.publicKey));
  });

  it('accepts PEM input and an F9 that says CA:TRUE (as real ones do)', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot, isCa: true });
    const slot = await issueSlotAttestation(f9, { serial: 7, slot: '9a' });
    const result = verifyPivAttestation(
      {
        attestation: new TextEncoder().encode(slot.attestation.toString('pem')),
        f9: new TextEncoder().encode(f9.certificate.toString('pem')),
      },
      pki.trust,
    );
    assert.equal(result.verdict, 'production');
    assert.equal(result.facts.slot, '9a');
    assert.equal(result.facts.isFips, false);
  });

  it('is broken when the attestation is paired with another F9 of the same PKI', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot });
    const other = await issueF9({ issuer: pki.legacyRoot });
    const slot = await issueSlotAttestation(f9, { serial: 1 });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(other.certificate) },
      pki.trust,
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /not signed by the F9 key/);
  });

  it('is broken when one bit of the attestation signature flips', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot });
    const slot = await issueSlotAttestation(f9, { serial: 2 });
    const result = verifyPivAttestation(
      { attestation: flipLastBit(der(slot.attestation)), f9: der(f9.certificate) },
      pki.trust,
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /not signed by the F9 key/);
  });

  it('is broken when one bit of the F9 signature flips', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot });
    const slot = await issueSlotAttestation(f9, { serial: 2 });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: flipLastBit(der(f9.certificate)) },
      pki.trust,
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /not issued by a pinned certificate/);
  });

  it('is broken when an extension is edited after signing (serial 25515003 → 25515004)', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot });
    const slot = await issueSlotAttestation(f9, { serial: 25515003 });
    const edited = editSerial(der(slot.attestation), 25515003, 25515004);
    const result = verifyPivAttestation(
      { attestation: edited, f9: der(f9.certificate) },
      pki.trust,
    );
    assert.equal(result.facts.serial, 25515004);
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /not signed by the F9 key/);
  });

  it('throws a typed error naming a malformed or missing extension', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot });
    const shortFirmware = await issueSlotAttestation(f9, {
      serial: 3,
      override: { firmware: hexToBytes('0504') },
    });
    assert.throws(
      () =>
        verifyPivAttestation(
          { attestation: der(shortFirmware.attestation), f9: der(f9.certificate) },
          pki.trust,
        ),
      malformed('firmware'),
    );
    const octetSerial = await issueSlotAttestation(f9, {
      serial: 3,
      override: { serial: hexToBytes('040400000003') },
    });
    assert.throws(
      () =>
        verifyPivAttestation(
          { attestation: der(octetSerial.attestation), f9: der(f9.certificate) },
          pki.trust,
        ),
      malformed('serial'),
    );
    // The F9 itself has no serial extension: used as the attestation, the serial is missing.
    assert.throws(
      () =>
        verifyPivAttestation(
          { attestation: der(f9.certificate), f9: der(f9.certificate) },
          pki.trust,
        ),
      malformed('serial'),
    );
  });

  it('refuses input that is not a certificate', () => {
    assert.throws(
      () =>
        verifyPivAttestation(
          { attestation: hexToBytes('3003020101'), f9: hexToBytes('00') },
          pki.trust,
        ),
      (e: unknown) => e instanceof PivAttestationFormatError && /slot attestation/.test(e.message),
    );
  });

  it('never trusts an impostor root that copies the Yubico name', async () => {
    const impostor = await makeFakeYubicoPki();
    const f9 = await issueF9({ issuer: impostor.legacyRoot });
    const slot = await issueSlotAttestation(f9, { serial: 4 });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      pki.trust,
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /not issued by a pinned certificate.*Yubico PIV Root CA/);
  });

  it('is broken when firmware < 5.7.4 chains through the new PKI', async () => {
    const f9 = await issueF9({ issuer: pki.pivAttestation, firmware: [5, 4, 3] });
    const slot = await issueSlotAttestation(f9, { serial: 5, firmware: [5, 4, 3] });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      pki.trust,
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /firmware 5\.4\.3 must chain to Yubico PIV Root CA/);
  });

  it('is broken when the F9 and the attestation name different firmware', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot, firmware: [5, 2, 7] });
    const slot = await issueSlotAttestation(f9, { serial: 6, firmware: [5, 4, 3] });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      pki.trust,
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /firmware 5\.4\.3 in the attestation, 5\.2\.7 in the F9/);
  });

  it('is broken outside the certificates’ validity', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot });
    const slot = await issueSlotAttestation(f9, { serial: 8 });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      pki.trust,
      new Date('2070-01-01T00:00:00Z'),
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /not valid on 2070/);
  });
});

describe('verifyPivAttestation, firmware ≥ 5.7.4 (Attestation Root 1 look-alike)', () => {
  let pki: FakeYubicoPki;
  before(async () => {
    pki = await makeFakeYubicoPki();
  });

  it('walks F9 → PIV Attestation B 1 → Intermediate B 1 → Root 1 through pinned certificates', async () => {
    const f9 = await issueF9({
      issuer: pki.pivAttestation,
      firmware: [5, 7, 4],
      subject: 'YubiKey PIV Attestation',
    });
    const slot = await issueSlotAttestation(f9, {
      serial: 33064031,
      firmware: [5, 7, 4],
      pinPolicy: 'once',
      touchPolicy: 'cached',
      formFactor: 0x03,
      slot: '9a',
    });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      pki.trust,
    );
    assert.deepEqual(result.problems, []);
    assert.equal(result.verdict, 'production');
    assert.deepEqual(result.path, [
      'YubiKey PIV Attestation 9a',
      'YubiKey PIV Attestation',
      'Yubico PIV Attestation B 1',
      'Yubico Attestation Intermediate B 1',
      'Yubico Attestation Root 1',
    ]);
    assert.deepEqual(result.facts.firmware, [5, 7, 4]);
  });

  it('does not complete the chain with intermediates that are not pinned', async () => {
    const f9 = await issueF9({ issuer: pki.pivAttestation, firmware: [5, 7, 4] });
    const slot = await issueSlotAttestation(f9, { serial: 9, firmware: [5, 7, 4] });
    const unpinned: PivTrust = { ...pki.trust, intermediates: [] };
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      unpinned,
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /Yubico PIV Attestation B 1/);
  });

  it('is broken when firmware 5.7.4 chains to the legacy PIV root', async () => {
    const f9 = await issueF9({ issuer: pki.legacyRoot, firmware: [5, 7, 4] });
    const slot = await issueSlotAttestation(f9, { serial: 10, firmware: [5, 7, 4] });
    const result = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      pki.trust,
    );
    assert.equal(result.verdict, 'broken');
    assert.match(result.problems.join(), /must chain to Yubico Attestation Root 1/);
  });
});

describe('verifyPivAttestation, rehearsal CA', () => {
  it('names a chain to the rehearsal CA rehearsal, with fake or real Yubico trust', async () => {
    const pki = await makeFakeYubicoPki();
    const f9 = await issueF9({ issuer: pki.rehearsal });
    const slot = await issueSlotAttestation(f9, { serial: 11 });
    for (const trust of [pki.trust, loadPivTrust()]) {
      const result = verifyPivAttestation(
        { attestation: der(slot.attestation), f9: der(f9.certificate) },
        trust,
      );
      assert.equal(result.verdict, 'rehearsal');
      assert.equal(result.path.at(-1), 'Vigil REHEARSAL YubiKey PIV Attestation CA');
    }
    const withoutRehearsal = verifyPivAttestation(
      { attestation: der(slot.attestation), f9: der(f9.certificate) },
      { ...pki.trust, rehearsalRoots: [] },
    );
    assert.equal(withoutRehearsal.verdict, 'broken');
  });
});
