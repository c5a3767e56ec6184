// The rehearsal YubiHSM's RSA and HMAC arithmetic against node:crypto and RFC vectors: PKCS#1
// v1.5 signatures over a host-made digest equal node's own, PSS ones verify at every salt
// length that fits, and HMAC keys give RFC 4231's answers.
import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  digestInfo,
  emsaPssEncode,
  generateRsaKey,
  hmac,
  isSameMac,
  rsaModulus,
  signPkcs1Digest,
  signPssDigest,
} from '../../../../electron/devices/yubihsm2/rehearsal-keys.ts';
import { pagesFor } from '../../../../electron/devices/yubihsm2/rehearsal.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';

const message = new TextEncoder().encode('the ceremony message');
const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest());
const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });

describe('rehearsal YubiHSM RSA signatures over a digest', () => {
  it('wraps a digest in the DigestInfo of the hash its length names', () => {
    assert.equal(
      bytesToHex(digestInfo(new Uint8Array(32)) ?? new Uint8Array(0)),
      `3031300d060960864801650304020105000420${'00'.repeat(32)}`,
    );
    assert.equal(digestInfo(new Uint8Array(48))?.length, 19 + 48);
    assert.equal(digestInfo(new Uint8Array(31)), null);
  });

  it('PKCS#1 v1.5 over a SHA-256 digest is the signature node makes of the message', () => {
    const signature = signPkcs1Digest(rsa2048.privateKey, sha256(message));
    assert.ok(signature);
    assert.equal(bytesToHex(signature), bytesToHex(sign('sha256', message, rsa2048.privateKey)));
    assert.equal(signPkcs1Digest(rsa2048.privateKey, new Uint8Array(33)), null);
  });

  it('PSS verifies with no salt, a digest-long salt and the longest salt that fits', () => {
    for (const saltLength of [0, 32, 256 - 32 - 2]) {
      const signature = signPssDigest(rsa2048.privateKey, sha256(message), 'sha256', saltLength);
      assert.ok(signature, `salt ${saltLength}`);
      const key = { key: rsa2048.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength };
      assert.ok(verify('sha256', message, key, signature), `salt ${saltLength}`);
    }
    assert.equal(signPssDigest(rsa2048.privateKey, sha256(message), 'sha256', 256 - 32 - 1), null);
  });

  it('encodes PSS by RFC 8017: masked DB, H, then BC, top bits cleared', () => {
    const encoded = emsaPssEncode(sha256(message), 'sha1', new Uint8Array(20), 2047);
    assert.ok(encoded);
    assert.equal(encoded.length, 256);
    assert.equal(encoded.at(-1), 0xbc);
    assert.equal((encoded[0] ?? 0) & 0x80, 0);
  });

  it('generates 3072-bit keys with exponent 65537 and reads the modulus at full length', async () => {
    const key = await generateRsaKey(3072);
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 3072);
    assert.equal(key.asymmetricKeyDetails?.publicExponent, 65537n);
    const modulus = rsaModulus(key);
    assert.equal(modulus.length, 384);
    assert.equal(Buffer.from(modulus).toString('base64url'), key.export({ format: 'jwk' }).n);
    const signature = signPkcs1Digest(key, sha256(message));
    assert.ok(signature && verify('sha256', message, key, signature));
  });
});

describe('rehearsal YubiHSM HMAC keys and storage', () => {
  it('gives RFC 4231 test case 2 for HMAC-SHA-256', () => {
    const mac = hmac(
      'sha256',
      new TextEncoder().encode('Jefe'),
      new TextEncoder().encode('what do ya want for nothing?'),
    );
    const expected = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
    assert.equal(bytesToHex(mac), expected);
    assert.ok(isSameMac(mac, hexToBytes(expected)));
    assert.ok(!isSameMac(mac, mac.subarray(1)));
  });

  it('counts pages of 126 bytes, at least one per object', () => {
    assert.deepEqual([0, 40, 126, 127, 896].map(pagesFor), [1, 1, 1, 2, 8]);
  });
});
