// The certificate walk that PIV verification uses instead of an ASN.1 library: OIDs against
// X.690's own examples, and every certificate of the pinned trust and the public ceremony
// archives read exactly as @peculiar/x509 (the library it replaces there) and openssl read them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DerError, hexToBytes } from '../../../electron/formats/der.ts';
import { x509 } from '../../../electron/formats/x509.ts';
import { decodeOid, readCertificateParts } from '../../../electron/formats/x509-der.ts';

const root = join(import.meta.dirname, '..', '..', '..');

function pemFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return pemFilesUnder(path);
    return name.endsWith('.pem') ? [path] : [];
  });
}

/** Every certificate (not key) PEM we can read: pinned trust and the real archives. */
const certificates = [
  ...pemFilesUnder(join(root, 'resources', 'trust')),
  ...pemFilesUnder(join(root, '..', 'shared', 'ceremony-archives')),
]
  .map((path) => ({ path, text: readFileSync(path, 'utf8') }))
  .filter((f) => f.text.includes('-----BEGIN CERTIFICATE-----'))
  .map((f) => ({ path: f.path, der: new Uint8Array(new X509Certificate(f.text).raw) }));

describe('decodeOid (pure)', () => {
  it('decodes X.690 §8.19 and well-known identifiers byte for byte', () => {
    for (const [hex, dotted] of [
      ['883703', '2.999.3'], // X.690's own example
      ['2a864886f70d010101', '1.2.840.113549.1.1.1'], // rsaEncryption
      ['2a8648ce3d0201', '1.2.840.10045.2.1'], // id-ecPublicKey
      ['2b6570', '1.3.101.112'], // Ed25519
      ['551d13', '2.5.29.19'], // basicConstraints
      ['2b0601040182c40a0307', '1.3.6.1.4.1.41482.3.7'], // Yubico PIV serial
      ['00', '0.0'],
      ['27', '0.39'],
      ['28', '1.0'],
      ['4f', '1.39'],
      ['50', '2.0'],
    ] as const)
      assert.equal(decodeOid(hexToBytes(hex)), dotted, hex);
  });

  it('refuses empty, truncated and non-minimal arcs', () => {
    for (const hex of ['', '2a86', '2a8048', '80'])
      assert.throws(() => decodeOid(hexToBytes(hex)), DerError, hex);
  });
});

describe('readCertificateParts (pure)', () => {
  it(`reads ${certificates.length} real certificates as @peculiar/x509 does`, () => {
    assert.ok(certificates.length >= 40, `${certificates.length} certificates found`);
    for (const { path, der } of certificates) {
      const parts = readCertificateParts(der);
      const judge = new x509.X509Certificate(der);
      assert.deepEqual(
        Buffer.from(parts.spki).toString('hex'),
        Buffer.from(judge.publicKey.rawData).toString('hex'),
        path,
      );
      assert.deepEqual(
        parts.extensions.map((e) => ({
          oid: e.oid,
          critical: e.isCritical,
          value: Buffer.from(e.value).toString('hex'),
        })),
        Array.from(judge.extensions, (e) => ({
          oid: e.type,
          critical: e.critical,
          value: Buffer.from(e.value).toString('hex'),
        })),
        path,
      );
    }
  });

  it('finds the SPKI whose SHA-256 openssl computes', () => {
    const { path, der } = certificates.find((c) => c.path.includes('Slot9CAttestation')) ?? {
      path: '',
      der: new Uint8Array(),
    };
    assert.ok(path, 'a PIV slot attestation is among the archives');
    const pubkey = execFileSync('openssl', ['x509', '-in', path, '-noout', '-pubkey']);
    const spkiDer = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], {
      input: pubkey,
    });
    assert.equal(
      Buffer.from(readCertificateParts(der).spki).toString('hex'),
      spkiDer.toString('hex'),
    );
  });

  it('throws DerError, never anything else, for every truncation and a flipped tag', () => {
    const der = certificates[0]?.der ?? new Uint8Array();
    for (let length = 0; length < der.length; length += 7)
      assert.throws(
        () => readCertificateParts(der.subarray(0, length)),
        DerError,
        `length ${length}`,
      );
    const flipped = Uint8Array.from(der);
    flipped[0] = 0x31; // SET instead of SEQUENCE
    assert.throws(() => readCertificateParts(flipped), DerError);
  });
});
