import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DerError, bytesToHex, concatBytes, hexToBytes } from '../../../electron/formats/der.ts';
import {
  curveFacts,
  ecdsaRawToDer,
  rawPublicKeyFromEcPoint,
  rawPublicKeyFromSpki,
  spkiFromRawPublicKey,
  type KeyCurve,
} from '../../../electron/formats/ec-point.ts';
import { decodePem, encodePem } from '../../../electron/formats/pem.ts';
import { spkiFingerprint } from '../../../electron/formats/fingerprint.ts';

const vectors = join(import.meta.dirname, '..', '..', 'vectors', 'keys');
const files: Record<KeyCurve, string> = { 'P-256': 'P256', 'P-384': 'P384', Ed25519: 'Ed25519' };

for (const [curve, file] of Object.entries(files) as [KeyCurve, string][]) {
  const pemText = readFileSync(join(vectors, `${file}.pub.pem`), 'utf8');
  const spki = new Uint8Array(readFileSync(join(vectors, `${file}.spki.der`)));
  const opensslFingerprint = readFileSync(join(vectors, `${file}.spki-sha256.txt`), 'utf8').trim();

  describe(`${curve} public key formats (OpenSSL vectors)`, () => {
    it('decodes the OpenSSL PEM to the exact SPKI DER OpenSSL wrote', () => {
      assert.deepEqual(decodePem(pemText, 'PUBLIC KEY'), spki);
    });

    it('re-encodes the SPKI as the byte-identical PEM text', () => {
      assert.equal(encodePem('PUBLIC KEY', spki), pemText);
    });

    it('round-trips raw key → SPKI byte for byte', () => {
      const { curve: found, raw } = rawPublicKeyFromSpki(spki);
      assert.equal(found, curve);
      assert.equal(raw.length, curveFacts[curve].rawLength);
      assert.deepEqual(spkiFromRawPublicKey(raw, curve), spki);
    });

    it('accepts CKA_EC_POINT both DER-wrapped and bare', () => {
      const { raw } = rawPublicKeyFromSpki(spki);
      const wrapped = concatBytes(Uint8Array.of(0x04, raw.length), raw);
      assert.deepEqual(rawPublicKeyFromEcPoint(wrapped, curve), raw);
      assert.deepEqual(rawPublicKeyFromEcPoint(raw, curve), raw);
    });

    it('computes the SPKI SHA-256 fingerprint OpenSSL computed', () => {
      const fingerprint = spkiFingerprint(spki);
      assert.equal(fingerprint.hex, opensslFingerprint);
      assert.equal(fingerprint.grouped.replaceAll(' ', '').toLowerCase(), opensslFingerprint);
      assert.equal(fingerprint.words.length, 32);
    });
  });
}

describe('ec-point refusals', () => {
  it('refuses an EC point of the wrong length for the curve', () => {
    const p384 = rawPublicKeyFromSpki(new Uint8Array(readFileSync(join(vectors, 'P384.spki.der'))));
    assert.throws(() => rawPublicKeyFromEcPoint(p384.raw, 'P-256'), DerError);
  });

  it('refuses a compressed point', () => {
    const compressed = new Uint8Array(65);
    compressed[0] = 0x02;
    assert.throws(() => spkiFromRawPublicKey(compressed, 'P-256'), /not uncompressed/);
  });

  it('refuses an SPKI with trailing bytes', () => {
    const spki = new Uint8Array(readFileSync(join(vectors, 'P256.spki.der')));
    assert.throws(() => rawPublicKeyFromSpki(concatBytes(spki, Uint8Array.of(0))), DerError);
  });

  it('refuses a PEM with another label or broken base64', () => {
    const pem = readFileSync(join(vectors, 'P256.pub.pem'), 'utf8');
    assert.throws(() => decodePem(pem, 'CERTIFICATE'), /PUBLIC KEY|CERTIFICATE/);
    assert.throws(() => decodePem(pem.replace('MFkw', 'M*kw'), 'PUBLIC KEY'));
  });
});

describe('ecdsaRawToDer', () => {
  it('gives the DER signature OpenSSL produced for the same r||s', () => {
    const raw = hexToBytes(readFileSync(join(vectors, 'ecdsa-p256.sig.raw.hex'), 'utf8').trim());
    const der = new Uint8Array(readFileSync(join(vectors, 'ecdsa-p256.sig.der')));
    assert.equal(bytesToHex(ecdsaRawToDer(raw)), bytesToHex(der));
  });

  it('strips leading zeros and pads high bits', () => {
    const raw = new Uint8Array(64);
    raw[31] = 0x01; // r = 1
    raw[32] = 0x80; // s has its high bit set
    assert.equal(bytesToHex(ecdsaRawToDer(raw)), '3026020101022100' + '80' + '00'.repeat(31));
  });
});
