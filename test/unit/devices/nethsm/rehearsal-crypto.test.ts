// The rehearsal NetHSM's cryptography, checked against Node's OpenSSL and the openssl CLI: every
// sign mode verifies as the NetHSM API says it should, every decrypt mode round-trips, imports
// reproduce the same keys, and the small DER encoders are byte-exact.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  constants,
  createCipheriv,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  verify,
} from 'node:crypto';
import { describe, it } from 'node:test';
import {
  RehearsalCryptoError,
  certificationRequest,
  decryptWith,
  emsaPssEncode,
  encodeName,
  encryptWith,
  generateKeyMaterial,
  importKeyMaterial,
  importPemKeyMaterial,
  mechanismFitsType,
  oid,
  parseIpAddress,
  privateKeyObject,
  publicKeyData,
  signWith,
  subjectPublicKeyInfo,
  type NetHsmKeyType,
  type NetHsmSignMode,
  type RehearsalKeyMaterial,
} from '../../../../electron/devices/nethsm/rehearsal-crypto.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';
import { encodePem } from '../../../../electron/formats/pem.ts';

const message = new TextEncoder().encode('the rehearsal signs this');
const spkiKey = (material: RehearsalKeyMaterial) =>
  createPublicKey({
    key: Buffer.from(subjectPublicKeyInfo(material)),
    format: 'der',
    type: 'spki',
  });

function expectRefusal(reason: RehearsalCryptoError['kind'], action: () => unknown): void {
  assert.throws(action, (error) => error instanceof RehearsalCryptoError && error.kind === reason);
}

// One RSA key for all RSA cases: generation is the slow part.
const rsa = generateKeyMaterial('RSA', 2048);

describe('rehearsal NetHSM signatures', () => {
  it('EdDSA signs the full message (RFC 8032), verified by OpenSSL', () => {
    const key = generateKeyMaterial('Curve25519');
    const signature = signWith(key, 'EdDSA', message);
    assert.equal(signature.length, 64);
    assert.ok(verify(null, message, spkiKey(key), signature));
    const data = publicKeyData(key);
    assert.ok(data && 'data' in data && data.data.length === 32);
  });

  const curves: [NetHsmKeyType, string][] = [
    ['EC_P256', 'sha256'],
    ['EC_P384', 'sha384'],
    ['EC_P521', 'sha512'],
    ['EC_P256K1', 'sha256'],
    ['BrainpoolP256', 'sha256'],
    ['BrainpoolP384', 'sha384'],
    ['BrainpoolP512', 'sha512'],
  ];
  for (const [type, hash] of curves) {
    it(`ECDSA on ${type} signs the given ${hash} hash, DER r,s verified by OpenSSL`, () => {
      const key = generateKeyMaterial(type);
      const digest = createHash(hash).update(message).digest();
      const signature = signWith(key, 'ECDSA', digest);
      assert.equal(signature[0], 0x30, 'DER SEQUENCE');
      assert.ok(verify(hash, message, { key: spkiKey(key), dsaEncoding: 'der' }, signature));
      const data = publicKeyData(key);
      assert.ok(data && 'data' in data && data.data[0] === 0x04, 'uncompressed point');
    });
  }

  it('ECDSA refuses a hash longer than the group', () => {
    const key = generateKeyMaterial('EC_P256');
    expectRefusal('bad-input', () => signWith(key, 'ECDSA', new Uint8Array(48)));
  });

  it('BIP340 gives 64 bytes on secp256k1 only', () => {
    assert.equal(signWith(generateKeyMaterial('EC_P256K1'), 'BIP340', message).length, 64);
    expectRefusal('wrong-mechanism', () =>
      signWith(generateKeyMaterial('EC_P256'), 'BIP340', message),
    );
  });

  it('PKCS1 is the raw RSA signature over DigestInfo‖hash, a standard RSASSA-PKCS1-v1_5', () => {
    const digestInfo = hexToBytes('3031300d060960864801650304020105000420');
    const digest = createHash('sha256').update(message).digest();
    const signature = signWith(rsa, 'PKCS1', Buffer.concat([digestInfo, digest]));
    assert.equal(signature.length, 256);
    assert.ok(verify('sha256', message, spkiKey(rsa), signature));
    expectRefusal('bad-input', () => signWith(rsa, 'PKCS1', new Uint8Array(250)));
  });

  const pssModes: [NetHsmSignMode, string][] = [
    ['PSS_MD5', 'md5'],
    ['PSS_SHA1', 'sha1'],
    ['PSS_SHA224', 'sha224'],
    ['PSS_SHA256', 'sha256'],
    ['PSS_SHA384', 'sha384'],
    ['PSS_SHA512', 'sha512'],
  ];
  for (const [mode, hash] of pssModes) {
    it(`${mode} signs the given hash (EMSA-PSS, salt = hash length)`, () => {
      const digest = createHash(hash).update(message).digest();
      const signature = signWith(rsa, mode, digest);
      const key = { key: spkiKey(rsa), padding: constants.RSA_PKCS1_PSS_PADDING };
      assert.ok(verify(hash, message, { ...key, saltLength: digest.length }, signature));
      expectRefusal('bad-input', () => signWith(rsa, mode, digest.subarray(1)));
    });
  }

  it('PSS_SHA256 also verifies with openssl pkeyutl', () => {
    const digest = createHash('sha256').update(message).digest();
    const signature = signWith(rsa, 'PSS_SHA256', digest);
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    const write = (name: string, bytes: Uint8Array | string) => {
      execFileSync('tee', [`${dir}/${name}`], {
        input: bytes,
        stdio: ['pipe', 'ignore', 'inherit'],
      });
    };
    write('pub.pem', encodePem('PUBLIC KEY', subjectPublicKeyInfo(rsa)));
    write('digest', digest);
    write('sig', signature);
    const out = execFileSync('openssl', [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      `${dir}/pub.pem`,
      '-in',
      `${dir}/digest`,
      '-sigfile',
      `${dir}/sig`,
      '-pkeyopt',
      'digest:sha256',
      '-pkeyopt',
      'rsa_padding_mode:pss',
      '-pkeyopt',
      'rsa_pss_saltlen:32',
    ]).toString();
    execFileSync('rm', ['-r', dir]);
    assert.match(out, /Signature Verified Successfully/);
  });

  it('EMSA-PSS encoding is deterministic for a given salt and ends in 0xbc', () => {
    const digest = createHash('sha256').update(message).digest();
    const salt = new Uint8Array(32).fill(7);
    const a = emsaPssEncode(digest, 2047, 'sha256', salt);
    const b = emsaPssEncode(digest, 2047, 'sha256', salt);
    assert.deepEqual(a, b);
    assert.equal(a.length, 256);
    assert.equal(a[255], 0xbc);
    assert.equal((a[0] ?? 0) & 0x80, 0, 'top bit cleared for emBits = 2047');
  });

  it('refuses a mode that does not fit the key type', () => {
    expectRefusal('wrong-mechanism', () => signWith(rsa, 'EdDSA', message));
    expectRefusal('wrong-mechanism', () =>
      signWith(generateKeyMaterial('Curve25519'), 'ECDSA', message),
    );
    assert.equal(mechanismFitsType('ECDSA_Signature', 'BrainpoolP384'), true);
    assert.equal(mechanismFitsType('EdDSA_Signature', 'EC_P256'), false);
    assert.equal(mechanismFitsType('AES_Decryption_CBC', 'Generic'), true);
    assert.equal(mechanismFitsType('RSA_Signature_PKCS1', 'Generic'), false);
  });
});

describe('rehearsal NetHSM decryption and encryption', () => {
  const plaintext = new TextEncoder().encode('a wrapped secret');
  const publicKey = () => spkiKey(rsa);

  it('RAW returns the full-width RSA block', () => {
    const block = new Uint8Array(256);
    block.set(plaintext, 256 - plaintext.length);
    const encrypted = publicEncrypt({ key: publicKey(), padding: constants.RSA_NO_PADDING }, block);
    assert.deepEqual(decryptWith(rsa, 'RAW', encrypted), block);
    expectRefusal('bad-input', () => decryptWith(rsa, 'RAW', new Uint8Array(257)));
  });

  it('PKCS1 removes the type 2 padding', () => {
    const encrypted = publicEncrypt(
      { key: publicKey(), padding: constants.RSA_PKCS1_PADDING },
      plaintext,
    );
    assert.deepEqual(decryptWith(rsa, 'PKCS1', encrypted), plaintext);
  });

  for (const hash of ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const) {
    it(`OAEP_${hash.toUpperCase()} round-trips`, () => {
      const encrypted = publicEncrypt(
        { key: publicKey(), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
        plaintext,
      );
      const mode = `OAEP_${hash.toUpperCase()}` as 'OAEP_SHA256';
      assert.deepEqual(decryptWith(rsa, mode, encrypted), plaintext);
    });
  }

  it('OAEP with a corrupted block is refused', () => {
    const encrypted = publicEncrypt(
      { key: publicKey(), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      plaintext,
    );
    encrypted[10] = (encrypted[10] ?? 0) ^ 1;
    expectRefusal('decryption-failed', () => decryptWith(rsa, 'OAEP_SHA256', encrypted));
  });

  it('AES_CBC encrypts whole blocks without padding and decrypts them back', () => {
    const aes = generateKeyMaterial('Generic', 256);
    const iv = new Uint8Array(16).fill(3);
    const blocks = new Uint8Array(32).fill(9);
    const { encrypted, iv: usedIv } = encryptWith(aes, 'AES_CBC', blocks, iv);
    assert.deepEqual(usedIv, iv);
    const reference = createCipheriv('aes-256-cbc', aes.secret, iv).setAutoPadding(false);
    assert.deepEqual(
      encrypted,
      new Uint8Array(Buffer.concat([reference.update(blocks), reference.final()])),
    );
    assert.deepEqual(decryptWith(aes, 'AES_CBC', encrypted, iv), blocks);
    assert.equal(
      encryptWith(aes, 'AES_CBC', blocks).iv.length,
      16,
      'a fresh iv when none is given',
    );
    expectRefusal('bad-input', () => encryptWith(aes, 'AES_CBC', new Uint8Array(15), iv));
    expectRefusal('bad-input', () => decryptWith(aes, 'AES_CBC', encrypted));
  });
});

describe('rehearsal NetHSM key import and public forms', () => {
  it('RSA from primeP, primeQ, publicExponent gives the same key', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = privateKey.export({ format: 'jwk' });
    const b = (text: string | undefined) => new Uint8Array(Buffer.from(text ?? '', 'base64url'));
    const imported = importKeyMaterial('RSA', {
      primeP: b(jwk.p),
      primeQ: b(jwk.q),
      publicExponent: b(jwk.e),
    });
    const data = publicKeyData(imported);
    assert.ok(data && 'modulus' in data);
    assert.deepEqual(data.modulus, b(jwk.n));
    assert.deepEqual(data.publicExponent, b(jwk.e));
    expectRefusal('bad-key-data', () => importKeyMaterial('RSA', { data: b(jwk.p) }));
  });

  it('EC imports the big-endian scalar, left-padding a short one', () => {
    const key = generateKeyMaterial('EC_P384');
    const imported = importKeyMaterial('EC_P384', { data: key.secret });
    assert.deepEqual(subjectPublicKeyInfo(imported), subjectPublicKeyInfo(key));
    expectRefusal('bad-key-data', () => importKeyMaterial('EC_P256', { data: new Uint8Array(32) }));
    expectRefusal('bad-key-data', () =>
      importKeyMaterial('Curve25519', { data: new Uint8Array(31) }),
    );
  });

  for (const type of ['EC_P256', 'Curve25519', 'BrainpoolP256', 'RSA'] as const) {
    it(`PEM import of a ${type} key finds its type and key`, () => {
      const key = type === 'RSA' ? rsa : generateKeyMaterial(type);
      const pem = privateKeyObject(key).export({ format: 'pem', type: 'pkcs8' }).toString();
      const imported = importPemKeyMaterial(pem);
      assert.equal(imported.type, type);
      assert.deepEqual(subjectPublicKeyInfo(imported), subjectPublicKeyInfo(key));
    });
  }

  it('SubjectPublicKeyInfo matches what OpenSSL derives from the private key', () => {
    for (const type of [
      'EC_P256',
      'EC_P521',
      'EC_P256K1',
      'BrainpoolP512',
      'Curve25519',
    ] as const) {
      const key = generateKeyMaterial(type);
      const fromOpenSsl = createPublicKey(privateKeyObject(key)).export({
        format: 'der',
        type: 'spki',
      });
      assert.deepEqual(subjectPublicKeyInfo(key), new Uint8Array(fromOpenSsl), type);
    }
  });

  it('refuses RSA lengths outside 1024..8192 and Generic lengths outside 128..8192', () => {
    expectRefusal('unsupported-key', () => generateKeyMaterial('RSA', 512));
    expectRefusal('unsupported-key', () => generateKeyMaterial('Generic', 64));
    expectRefusal('unsupported-key', () => generateKeyMaterial('Generic', 8200));
    assert.equal(publicKeyData(generateKeyMaterial('Generic', 128)), null);
  });

  it('makes Generic keys of any 128..8192 bits, usable for AES-CBC only at AES sizes', () => {
    // As the firmware: the length is rounded up to whole bytes; a non-AES size fails on use.
    const odd = generateKeyMaterial('Generic', 300);
    assert.equal(odd.secret.length, 38);
    assert.equal(generateKeyMaterial('Generic', 8192).secret.length, 1024);
    expectRefusal('bad-input', () =>
      encryptWith(odd, 'AES_CBC', new Uint8Array(16), new Uint8Array(16)),
    );
  });
});

describe('rehearsal NetHSM certification requests and DER pieces', () => {
  it('encodes object identifiers byte-exact', () => {
    assert.equal(bytesToHex(oid('1.2.840.10045.3.1.7')), '06082a8648ce3d030107');
    assert.equal(bytesToHex(oid('1.3.36.3.3.2.8.1.1.7')), '06092b2403030208010107');
    assert.equal(bytesToHex(oid('1.3.101.112')), '06032b6570');
  });

  it('encodes IP addresses for iPAddress names', () => {
    assert.equal(bytesToHex(parseIpAddress('127.0.0.1')), '7f000001');
    assert.equal(bytesToHex(parseIpAddress('fe80::1')), 'fe800000000000000000000000000001');
    expectRefusal('bad-input', () => parseIpAddress('300.1.1.1'));
  });

  it('encodes the Name in X.501 order, skipping empty fields', () => {
    const name = encodeName({ commonName: 'a', countryName: 'DE', organizationalUnitName: '' });
    // SEQUENCE { SET { C=DE (PrintableString) }, SET { CN=a (UTF8String) } }
    assert.equal(bytesToHex(name), '3019310b3009060355040613024445310a300806035504030c0161');
  });

  for (const type of ['RSA', 'EC_P384', 'Curve25519', 'BrainpoolP256'] as const) {
    it(`a ${type} CSR verifies with openssl req`, () => {
      const key = type === 'RSA' ? rsa : generateKeyMaterial(type);
      const der = certificationRequest(key, {
        commonName: 'root.rehearsal.example',
        organizationName: 'Vigil',
        subjectAltNames: ['root.rehearsal.example', 'IP:127.0.0.1'],
      });
      const text = execFileSync(
        'openssl',
        ['req', '-inform', 'DER', '-verify', '-noout', '-text'],
        { input: der, stdio: ['pipe', 'pipe', 'pipe'] },
      ).toString();
      assert.match(text, /CN\s*=\s*root\.rehearsal\.example/);
      assert.match(text, /IP Address:127\.0\.0\.1/);
    });
  }
});
