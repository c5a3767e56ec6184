// YubiHSM attestation checks against certificates real ceremonies published
// (../shared/ceremony-archives): the PSF TUF ceremony (fw 2.1.2, P-384/P-256) and dark.bio
// (fw 2.4.0, Ed25519 and RSA, exportable-under-wrap keys).
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  decodeAttestationExtensions,
  encodeAttestationExtensions,
} from '../../../../electron/devices/yubihsm2/attestation-extensions.ts';
import {
  loadYubiHsmTrust,
  verifyDeviceCertificateChain,
  verifyKeyAttestation,
} from '../../../../electron/devices/yubihsm2/attestation.ts';
import { capabilitiesOf, domainsOf } from '../../../../electron/devices/yubihsm2/protocol.ts';
import { bytesToHex } from '../../../../electron/formats/der.ts';
import { decodePem } from '../../../../electron/formats/pem.ts';
import { x509 } from '../../../../electron/formats/x509.ts';
import { ceremonyArchivesDir } from '../../../helpers/shared-reference.ts';

const psf = join(
  ceremonyArchivesDir,
  'psf-tuf-runbook',
  'ceremony',
  '2020-10-30',
  'ceremony-products',
);
const darkBio = join(ceremonyArchivesDir, 'dark-bio-transparency', 'hsms');
const trust = loadYubiHsmTrust();
const read = (...parts: string[]) => new Uint8Array(readFileSync(join(...parts)));
const pemFile = (...parts: string[]) =>
  decodePem(readFileSync(join(...parts), 'utf8'), 'CERTIFICATE');

describe('pinned Yubico YubiHSM trust anchors', () => {
  it('are the certificates with the published SHA-256 fingerprints', () => {
    const fingerprints = [...trust.roots, ...trust.intermediates].map((c) =>
      createHash('sha256').update(c.raw).digest('hex'),
    );
    assert.deepEqual(fingerprints, [
      '094a3ac493c2bdcd65a54bdf40190f52bb03f7156397a3fc69d8aa9a392fb724',
      'd7c6d8f45208e2a53996fb5a8f4d631b33ebabb64956b37b2ac151fbdbaf4ae9',
    ]);
  });
});

describe('YubiHSM attestation extensions (PSF ceremony, byte-exact)', () => {
  it('decodes firmware, serial, origin, domains, capabilities, id and label', () => {
    const der = read(psf, '0013200460', '0013200460_root_attestation.der');
    const cert = new x509.X509Certificate(der);
    const raw = Array.from(cert.extensions, (e) => ({
      oid: e.type,
      value: new Uint8Array(e.value),
    }));
    const facts = decodeAttestationExtensions(raw);
    assert.deepEqual(facts, {
      firmware: '2.1.2',
      serial: 13200460,
      origin: 1,
      domains: 1,
      capabilities: 0x80n,
      objectId: 3,
      label: 'tuf-root',
    });
    assert.deepEqual(capabilitiesOf(facts.capabilities ?? 0n), ['sign-ecdsa']);
    assert.deepEqual(domainsOf(facts.domains ?? 0), [1]);
    // Re-encoding gives the device's bytes exactly.
    assert.deepEqual(
      encodeAttestationExtensions(facts).map((e) => [e.oid, bytesToHex(e.value)]),
      raw.map((e) => [e.oid, bytesToHex(e.value)]),
    );
  });
});

describe('YubiHSM key attestation chains (real devices)', () => {
  for (const serial of ['0013200460', '0013200461', '0013200462']) {
    for (const role of ['root', 'targets']) {
      it(`PSF ${serial} ${role}: chains to the Yubico root and attests the published key`, () => {
        const result = verifyKeyAttestation(
          read(psf, serial, `${serial}_${role}_attestation.der`),
          read(psf, serial, `${serial}_cert.der`),
          trust,
        );
        assert.equal(result.chain.verdict, 'production', result.chain.detail);
        assert.deepEqual(result.chain.path, [
          `YubiHSM Attestation id:0x000${role === 'root' ? 3 : 4}`,
          `YubiHSM Attestation (${Number(serial)})`,
          'Yubico YubiHSM 6742036 Sub-CA',
          'Yubico YubiHSM Root CA',
        ]);
        assert.equal(result.key.serial, Number(serial));
        assert.equal(result.device.serial, Number(serial));
        assert.equal(result.key.label, `tuf-${role}`);
        const published = decodePem(
          readFileSync(join(psf, serial, `${serial}_${role}_pubkey.pem`), 'utf8'),
          'PUBLIC KEY',
        );
        assert.equal(bytesToHex(result.attestedSpki), bytesToHex(published));
      });
    }
  }

  it('dark.bio 31650558: Ed25519 keys attested on fw 2.4.0, flagged exportable-under-wrap', () => {
    const device = pemFile(darkBio, 'certs', 'yubihsm-31650558-auth.cert');
    for (const name of ['alpha', 'friend', 'founder']) {
      const result = verifyKeyAttestation(
        pemFile(darkBio, 'attests', `firmwareupdate-ark1-${name}.eddsa.cert`),
        device,
        trust,
      );
      assert.equal(result.chain.verdict, 'production', result.chain.detail);
      assert.equal(result.key.firmware, '2.4.0');
      assert.ok(capabilitiesOf(result.key.capabilities ?? 0n).includes('exportable-under-wrap'));
      assert.ok(capabilitiesOf(result.key.capabilities ?? 0n).includes('sign-eddsa'));
    }
  });

  it('refuses an attestation paired with another device certificate', () => {
    const result = verifyKeyAttestation(
      read(psf, '0013200460', '0013200460_root_attestation.der'),
      read(psf, '0013200461', '0013200461_cert.der'),
      trust,
    );
    assert.equal(result.chain.verdict, 'broken');
    assert.match(result.chain.detail, /not signed by YubiHSM Attestation \(13200461\)/);
  });

  it('refuses a device certificate whose issuer is not pinned', () => {
    // The Yubico root's self-signed certificate stands in for "some other CA's leaf".
    const stranger = new X509Certificate(
      readFileSync(
        join(
          ceremonyArchivesDir,
          '..',
          'reference',
          'data',
          'yubico',
          'yubico-piv-attestation-a-1.pem',
        ),
      ),
    );
    const result = verifyDeviceCertificateChain(stranger, trust);
    assert.equal(result.verdict, 'broken');
    assert.match(result.detail, /not issued by a pinned Yubico certificate/);
  });

  it('judges a chain by the date it is checked on', () => {
    const result = verifyKeyAttestation(
      read(psf, '0013200460', '0013200460_root_attestation.der'),
      read(psf, '0013200460', '0013200460_cert.der'),
      trust,
      new Date('2072-01-01T00:00:00Z'),
    );
    assert.equal(result.chain.verdict, 'broken');
    assert.match(result.chain.detail, /not valid on 2072/);
  });
});
