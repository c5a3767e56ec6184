// NetHSM protocol formats, byte-exact: DigestInfo against RFC 8017 and OpenSSL, ECDSA DER ↔ r‖s
// against node:crypto, multipart bytes, JSON with secrets, error mapping, ids, and the schemas
// against the examples of the official OpenAPI document.
import assert from 'node:assert/strict';
import { createHash, createSign, generateKeyPairSync, publicDecrypt, verify } from 'node:crypto';
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import {
  CreateResourceId,
  DecryptData,
  HealthStateData,
  InfoData,
  KeyGenerateRequestData,
  KeyList,
  LoggingConfig,
  NetHsmError,
  NetHsmInputError,
  NetworkConfigOutput,
  PrivateKey,
  ProvisionRequestData,
  PublicKey,
  SignData,
  SignMode,
  SignRequestData,
  SystemInfo,
  TagList,
  UserData,
  UserList,
  UserPostData,
  digestInfo,
  digestInfoPrefix,
  ecdsaDerToRaw,
  ecdsaRawToDer,
  encodeMultipart,
  encodeSecretJson,
  errorFromResponse,
  errorKindForStatus,
  fromBase64,
  hashForMode,
  idSegment,
  isId,
  isUserId,
  mechanismForSignMode,
  namespaceOf,
  namespacedUserId,
  passphraseLength,
  sanitiseServerMessage,
  systemTimeText,
  toBase64,
  userIdSegment,
  userNameOf,
  type HashName,
} from '../../../../electron/devices/nethsm/protocol.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { referenceDataDir } from '../../../helpers/shared-reference.ts';

const text = (s: string) => new TextEncoder().encode(s);
const utf8 = (b: Uint8Array) => new TextDecoder().decode(b);

describe('DigestInfo', () => {
  // RFC 8017 §9.2, note 1: the DER prefixes, written out there byte by byte.
  const rfc8017: Record<HashName, string> = {
    md5: '30 20 30 0c 06 08 2a 86 48 86 f7 0d 02 05 05 00 04 10',
    sha1: '30 21 30 09 06 05 2b 0e 03 02 1a 05 00 04 14',
    sha224: '30 2d 30 0d 06 09 60 86 48 01 65 03 04 02 04 05 00 04 1c',
    sha256: '30 31 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20',
    sha384: '30 41 30 0d 06 09 60 86 48 01 65 03 04 02 02 05 00 04 30',
    sha512: '30 51 30 0d 06 09 60 86 48 01 65 03 04 02 03 05 00 04 40',
  };

  it('has the RFC 8017 prefixes', () => {
    for (const [hash, spaced] of Object.entries(rfc8017) as [HashName, string][]) {
      assert.equal(bytesToHex(digestInfoPrefix(hash)), spaced.replaceAll(' ', ''), hash);
    }
  });

  it('is what OpenSSL puts under an RSA PKCS#1 v1.5 signature', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const message = text('Vigil DigestInfo vector');
    for (const hash of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const) {
      const signature = createSign(hash).update(message).sign(privateKey);
      // Public "decryption" with PKCS#1 padding strips EMSA-PKCS1-v1_5: DigestInfo ‖ digest remains.
      const recovered = publicDecrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
        signature,
      );
      const digest = new Uint8Array(createHash(hash).update(message).digest());
      assert.equal(bytesToHex(digestInfo(hash, digest)), recovered.toString('hex'), hash);
    }
  });

  it('refuses a digest of the wrong length', () => {
    assert.throws(() => digestInfo('sha256', new Uint8Array(20)), NetHsmInputError);
  });
});

describe('sign modes', () => {
  it('names the hash only where the mode fixes it', () => {
    assert.equal(hashForMode('PSS_SHA256'), 'sha256');
    assert.equal(hashForMode('PSS_SHA512'), 'sha512');
    assert.equal(hashForMode('PSS_MD5'), 'md5');
    for (const mode of ['PKCS1', 'ECDSA', 'EdDSA', 'BIP340'] as const) {
      assert.equal(hashForMode(mode), null);
    }
  });

  it('maps every mode to its key mechanism', () => {
    assert.equal(mechanismForSignMode('PSS_SHA384'), 'RSA_Signature_PSS_SHA384');
    assert.equal(mechanismForSignMode('PKCS1'), 'RSA_Signature_PKCS1');
    assert.equal(mechanismForSignMode('EdDSA'), 'EdDSA_Signature');
    assert.equal(mechanismForSignMode('ECDSA'), 'ECDSA_Signature');
    assert.equal(mechanismForSignMode('BIP340'), 'BIP340_Signature');
    assert.equal(SignMode.options.length, 10);
  });
});

describe('ECDSA DER ↔ r‖s', () => {
  it('matches node:crypto on P-256, P-384 and P-521', () => {
    for (const [curve, size, hash] of [
      ['prime256v1', 32, 'sha256'],
      ['secp384r1', 48, 'sha384'],
      ['secp521r1', 66, 'sha512'],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      for (let i = 0; i < 8; i++) {
        const message = text(`vector ${i}`);
        const der = new Uint8Array(createSign(hash).update(message).sign(privateKey));
        const raw = ecdsaDerToRaw(der, size);
        assert.equal(raw.length, 2 * size);
        assert.ok(verify(hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw));
        assert.equal(bytesToHex(ecdsaRawToDer(raw)), bytesToHex(der), `${curve} round trip`);
      }
    }
  });

  it('pads short integers and strips sign bytes, byte-exact', () => {
    // r = 0x80…01 needs a 0x00 sign byte; s = 0x01 is one byte long.
    const r = `80${'00'.repeat(30)}01`;
    const s = `${'00'.repeat(31)}01`;
    const der = `3026022100${r}020101`;
    assert.equal(bytesToHex(ecdsaRawToDer(hexToBytes(r + s))), der);
    assert.equal(bytesToHex(ecdsaDerToRaw(hexToBytes(der), 32)), r + s);
  });

  it('refuses malformed signatures', () => {
    assert.throws(() => ecdsaDerToRaw(hexToBytes('3006020101020101ff'), 32));
    assert.throws(() => ecdsaDerToRaw(hexToBytes('3006020101040101'), 32), NetHsmInputError);
    assert.throws(() => ecdsaDerToRaw(hexToBytes('30060201ff020101'), 32), NetHsmInputError);
    assert.throws(() => ecdsaDerToRaw(hexToBytes(`3025022100${'11'.repeat(33)}`), 32));
    assert.throws(() => ecdsaRawToDer(new Uint8Array(3)), NetHsmInputError);
  });
});

describe('multipart/form-data', () => {
  it('encodes the restore request byte-exactly', () => {
    const { body, contentType } = encodeMultipart(
      [
        { name: 'arguments', contentType: 'application/json', body: text('{"a":1}') },
        {
          name: 'backup_file',
          contentType: 'application/octet-stream',
          body: Uint8Array.of(0, 1, 0xff),
          filename: 'backup.bin',
        },
      ],
      'b0undary',
    );
    assert.equal(contentType, 'multipart/form-data; boundary=b0undary');
    const expected = Buffer.concat([
      Buffer.from(
        '--b0undary\r\n' +
          'Content-Disposition: form-data; name="arguments"\r\n' +
          'Content-Type: application/json\r\n\r\n' +
          '{"a":1}\r\n' +
          '--b0undary\r\n' +
          'Content-Disposition: form-data; name="backup_file"; filename="backup.bin"\r\n' +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      Buffer.from([0, 1, 0xff]),
      Buffer.from('\r\n--b0undary--\r\n'),
    ]);
    assert.equal(Buffer.from(body).toString('hex'), expected.toString('hex'));
  });

  it('refuses a body containing the boundary and odd names', () => {
    const part = { name: 'x', contentType: 'text/plain', body: text('a\r\n--b0undary') };
    assert.throws(() => encodeMultipart([part], 'b0undary'), NetHsmInputError);
    assert.throws(() => encodeMultipart([{ ...part, body: text('ok') }], 'bad boundary'));
    assert.throws(() => encodeMultipart([{ ...part, name: 'a"b', body: text('ok') }], 'b'));
  });
});

describe('JSON with secrets', () => {
  it('equals JSON.stringify for quotes, backslashes, controls and non-ASCII', () => {
    const tricky = 'pa"ss\\wörd\n\t\r\b\f\u0001\u001f ✓ 𝄞';
    const secret = SecretBytes.fromText(tricky);
    const bytes = encodeSecretJson({
      passphrase: secret,
      systemTime: '2026-12-02T00:00:00Z',
      n: 3,
      list: ['a'],
      empty: '',
    });
    const expected = JSON.stringify({
      passphrase: tricky,
      systemTime: '2026-12-02T00:00:00Z',
      n: 3,
      list: ['a'],
      empty: '',
    });
    assert.equal(utf8(bytes), expected);
    assert.deepEqual(JSON.parse(utf8(bytes)), JSON.parse(expected));
  });

  it('counts passphrase characters, not bytes', () => {
    assert.equal(passphraseLength(SecretBytes.fromText('äöüäöüäöü')), 9);
    assert.equal(passphraseLength(SecretBytes.fromText('𝄞123456789')), 10);
  });

  it('writes the system time as RFC 3339 UTC seconds', () => {
    assert.equal(
      systemTimeText(new Date(Date.UTC(2026, 11, 2, 1, 2, 3, 456))),
      '2026-12-02T01:02:03Z',
    );
  });
});

describe('errors', () => {
  const cases: [number, string][] = [
    [400, 'bad-request'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not-found'],
    [406, 'not-acceptable'],
    [409, 'conflict'],
    [412, 'wrong-state'],
    [415, 'unsupported-media-type'],
    [429, 'too-many-requests'],
    [500, 'server-error'],
    [503, 'server-error'],
    [302, 'unexpected-response'],
    [418, 'unexpected-response'],
    [200, 'unexpected-response'],
  ];

  it('maps each status to its kind, keeping the device message', () => {
    for (const [status, kind] of cases) {
      assert.equal(errorKindForStatus(status), kind, String(status));
      const error = errorFromResponse('unlock', status, text('{"message":"wrong passphrase"}'));
      assert.ok(error instanceof NetHsmError);
      assert.equal(error.kind, kind);
      assert.equal(error.status, status);
      assert.equal(error.operation, 'unlock');
      assert.equal(error.serverMessage, 'wrong passphrase');
    }
  });

  it('has no message for empty, non-JSON or off-schema bodies', () => {
    assert.equal(errorFromResponse('x', 401, new Uint8Array()).serverMessage, null);
    assert.equal(errorFromResponse('x', 500, text('<html>')).serverMessage, null);
    assert.equal(errorFromResponse('x', 400, text('{"message":3}')).serverMessage, null);
    assert.equal(errorFromResponse('x', 400, text('{"message":"\\u0000"}')).serverMessage, null);
  });

  it('sanitises device text: one printable line, at most 300 characters', () => {
    assert.equal(sanitiseServerMessage('a\u0000b\r\nc\u202ed\u001b[31m'), 'a b c d [31m');
    const long = sanitiseServerMessage('é'.repeat(1000));
    assert.equal(Array.from(long).length, 300);
    assert.ok(long.endsWith('…'));
    const error = errorFromResponse('sign', 400, text(JSON.stringify({ message: 'x\ny' })));
    assert.equal(error.serverMessage, 'x y');
    assert.equal(error.message, 'NetHSM sign: bad-request (HTTP 400): x y');
  });
});

describe('identifiers', () => {
  it('validates ids and user ids like the spec', () => {
    for (const ok of ['a', 'Key1', 'root-2026.v1_x', 'a'.repeat(128)]) assert.ok(isId(ok), ok);
    for (const bad of ['', '-a', '.a', 'a/b', 'a b', '..', 'a~b', 'a'.repeat(129), 'ä']) {
      assert.ok(!isId(bad), bad);
    }
    for (const ok of ['admin', 'ops~alice', 'n1~a.b']) assert.ok(isUserId(ok), ok);
    for (const bad of ['~alice', 'ops~', 'a~b~c', 'a:b', 'ops~-a']) assert.ok(!isUserId(bad), bad);
  });

  it('splits namespaces', () => {
    assert.equal(namespaceOf('ops~alice'), 'ops');
    assert.equal(namespaceOf('admin'), null);
    assert.equal(userNameOf('ops~alice'), 'alice');
    assert.equal(userNameOf('admin'), 'admin');
    assert.equal(namespacedUserId('ops', 'alice'), 'ops~alice');
    assert.equal(namespacedUserId(null, 'admin'), 'admin');
    assert.throws(() => namespacedUserId('o/p', 'alice'), NetHsmInputError);
  });

  it('never lets an id escape its path segment', () => {
    assert.equal(idSegment('key1'), 'key1');
    assert.equal(userIdSegment('ops~alice'), 'ops~alice');
    for (const bad of ['../users', 'a?b', 'a#b', 'a%2f', '']) {
      assert.throws(
        () => idSegment(bad),
        (e: unknown) => e instanceof NetHsmInputError && e.kind === 'bad-id',
      );
    }
    assert.throws(
      () => userIdSegment('../x'),
      (e: unknown) => e instanceof NetHsmInputError && e.kind === 'bad-user-id',
    );
  });
});

describe('base64', () => {
  it('round-trips and refuses non-canonical text', () => {
    assert.equal(toBase64(Uint8Array.of(0xfb, 0xff)), '+/8=');
    assert.deepEqual(fromBase64('+/8='), Uint8Array.of(0xfb, 0xff));
    assert.deepEqual(fromBase64(''), new Uint8Array());
    for (const bad of ['+/8', '-_8=', '+/9=', 'ab cd', 'YQ==YQ==']) {
      assert.throws(() => fromBase64(bad), NetHsmInputError, bad);
    }
  });
});

describe('schemas against the OpenAPI examples (v4.0)', () => {
  const spec = parseYaml(readFileSync(join(referenceDataDir, 'nethsm-api.yaml'), 'utf8')) as {
    components: { schemas: Record<string, { example?: unknown }> };
  };
  const example = (name: string): unknown => {
    const value = spec.components.schemas[name]?.example;
    assert.notEqual(value, undefined, `${name} has an example`);
    return value;
  };
  const schemas: [string, z.ZodType][] = [
    ['InfoData', InfoData],
    ['HealthStateData', HealthStateData],
    ['PublicKey', PublicKey],
    ['SystemInfo', SystemInfo],
    ['UserData', UserData],
    ['UserList', UserList],
    ['KeyList', KeyList],
    ['TagList', TagList],
    ['CreateResourceId', CreateResourceId],
    ['SignData', SignData],
    ['DecryptData', DecryptData],
    ['NetworkConfigOutput', NetworkConfigOutput],
    ['LoggingConfig', LoggingConfig],
    ['ProvisionRequestData', ProvisionRequestData],
    ['UserPostData', UserPostData],
    ['KeyGenerateRequestData', KeyGenerateRequestData],
    ['PrivateKey', PrivateKey],
    ['SignRequestData', SignRequestData],
  ];

  for (const [name, schema] of schemas) {
    it(`parses the ${name} example`, () => {
      const value = example(name);
      const result = schema.safeParse(value);
      assert.ok(result.success, `${name}: ${JSON.stringify(result.error?.issues)}`);
    });
  }

  it('parses a Generic key without a public part', () => {
    const generic = { mechanisms: ['AES_Encryption_CBC'], type: 'Generic', restrictions: {} };
    assert.ok(PublicKey.safeParse({ ...generic, operations: 0 }).success);
    assert.ok(PublicKey.safeParse({ ...generic, public: null, operations: 0 }).success);
  });

  it('refuses request bodies with unknown properties, like the device', () => {
    assert.ok(!SignRequestData.safeParse({ mode: 'EdDSA', message: 'AA==', extra: 1 }).success);
    assert.ok(
      !KeyGenerateRequestData.safeParse({ mechanisms: [], type: 'RSA', length: 64 }).success,
    );
  });
});
