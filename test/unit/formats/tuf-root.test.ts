// TUF root metadata: securesystemslib canonical JSON, keyids, both key encodings (hex raw points as
// Sigstore 2021 wrote them, PEM as Sigstore 2022 and tuf-on-ci do), and signature thresholds.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../electron/formats/canonical-json.ts';
import { bytesToHex } from '../../../electron/formats/der.ts';
import { rawPublicKeyFromSpki } from '../../../electron/formats/ec-point.ts';
import {
  TufRootError,
  checkKeyid,
  checkRootSignatures,
  computeKeyid,
  parseTufRoot,
  tufCanonicalJson,
  tufKeySpki,
} from '../../../electron/formats/tuf-root.ts';
import { buildRootJson } from '../../helpers/piv-archive-fixtures.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';

const archive = (...parts: string[]) => readFileSync(join(ceremonyArchivesDir, ...parts), 'utf8');
const dockerRoot = () => parseTufRoot(archive('docker-tuf', 'metadata', 'root.json'));
const sigstoreRoot = (date: string) =>
  parseTufRoot(archive('sigstore-root-signing', 'ceremony', date, 'repository', 'root.json'));

describe('tufCanonicalJson (securesystemslib encode_canonical)', () => {
  it('sorts keys, drops whitespace, escapes only backslash and quote', () => {
    assert.equal(
      tufCanonicalJson({ b: [1, true, null], a: 'x\ny"\\z', c: { e: 'é', d: 0 } }),
      '{"a":"x\ny\\"\\\\z","b":[1,true,null],"c":{"d":0,"e":"é"}}',
    );
  });

  it('orders keys by code point as Python does, not by UTF-16 unit', () => {
    assert.equal(tufCanonicalJson({ '\u{1F600}': 1, '\uFFFD': 2 }), '{"\uFFFD":2,"\u{1F600}":1}');
  });

  it('refuses floats, which canonical JSON cannot hold', () => {
    assert.throws(() => tufCanonicalJson({ threshold: 1.5 }), TufRootError);
  });

  it('differs from canonical-json.ts on a PEM key: newlines stay raw bytes', () => {
    const key = {
      keyval: { public: '-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n' },
    };
    assert.notEqual(tufCanonicalJson(key), canonicalJson(key));
    assert.ok(tufCanonicalJson(key).includes('-----\nAA==\n'));
  });
});

describe('keyids of real root.json files', () => {
  it('reproduces 9 of Docker’s 10 keyids over the whole key object; 9c8e1be7 only without x- fields', () => {
    const statuses = dockerRoot().keys.map((k) => [
      k.keyid.slice(0, 8),
      checkKeyid(k.keyid, k.object).status,
    ]);
    assert.equal(statuses.filter(([, s]) => s === 'matches').length, 9);
    assert.deepEqual(
      statuses.filter(([, s]) => s !== 'matches'),
      [['9c8e1be7', 'matches-without-extensions']],
    );
    const key = dockerRoot().keys.find((k) => k.keyid.startsWith('08d6f4ca'));
    assert.equal(computeKeyid(key?.object), key?.keyid);
  });

  it('reproduces every Sigstore keyid, hex (2021) and PEM (2022)', () => {
    for (const date of ['2021-06-18', '2022-10-18']) {
      const root = sigstoreRoot(date);
      assert.ok(root.keys.length >= 5);
      for (const key of root.keys)
        assert.equal(checkKeyid(key.keyid, key.object).status, 'matches');
    }
  });

  it('reports a keyid that matches neither way', () => {
    const key = dockerRoot().keys[0];
    assert.ok(key);
    assert.equal(checkKeyid('00'.repeat(32), key.object).status, 'mismatch');
  });
});

describe('TUF key values', () => {
  it('reads a hex raw point (2021) and a PEM (2022) of the same key to one SPKI', () => {
    // Sigstore 2022 signed root v5 twice with one key: under 2f64fb5e (hex era) and ff51e17f (PEM).
    const hex = sigstoreRoot('2021-06-18').keys.find((k) => k.keyid.startsWith('2f64fb5e'));
    const pem = sigstoreRoot('2022-10-18').keys.find((k) => k.keyid.startsWith('ff51e17f'));
    assert.equal(hex?.form, 'hex');
    assert.equal(pem?.form, 'pem');
    assert.ok(hex?.spki && pem?.spki);
    assert.equal(bytesToHex(hex.spki), bytesToHex(pem.spki));
  });

  it('reads ed25519 hex keys and refuses a key that contradicts its scheme', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = rawPublicKeyFromSpki(
      new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    );
    const read = tufKeySpki({
      keytype: 'ed25519',
      scheme: 'ed25519',
      keyval: { public: bytesToHex(raw.raw) },
    });
    assert.equal(read.form, 'hex');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const pemText = p256.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(
      () =>
        tufKeySpki({
          keytype: 'ecdsa',
          scheme: 'ecdsa-sha2-nistp384',
          keyval: { public: pemText },
        }),
      /does not match scheme/,
    );
    assert.throws(
      () =>
        tufKeySpki({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: 'zz' } }),
      TufRootError,
    );
    assert.throws(
      () => tufKeySpki({ keytype: 'gpg', scheme: 'x', keyval: { public: 'aa' } }),
      /not supported/,
    );
  });
});

describe('root.json signatures and thresholds', () => {
  it('real roots: Docker 5 of 5 root keys; Sigstore 2022 4 of 5, old-keyid duplicates not counted', () => {
    const docker = checkRootSignatures(dockerRoot());
    assert.deepEqual(
      docker.roles.map((r) => [r.role, r.signedBy.length, r.threshold, r.isMet]),
      [
        ['root', 5, 3, true],
        ['snapshot', 0, 1, false],
        ['targets', 0, 2, false],
        ['timestamp', 0, 1, false],
      ],
    );
    const sigstore = checkRootSignatures(sigstoreRoot('2022-10-18'));
    assert.equal(sigstore.roles.find((r) => r.role === 'root')?.signedBy.length, 4);
    assert.deepEqual(
      sigstore.signatures.map((s) => s.status),
      [
        'valid',
        'valid',
        'valid',
        'valid',
        'unknown-keyid',
        'unknown-keyid',
        'unknown-keyid',
        'unknown-keyid',
      ],
    );
  });

  const keys = () =>
    webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);

  it('meets the threshold with enough distinct signers and not with fewer', async () => {
    const rootKeys = [{ keys: await keys() }, { keys: await keys() }, { keys: await keys() }];
    const base = {
      rootKeys,
      rootThreshold: 2,
      targetsKeys: [{ keys: await keys() }],
      targetsThreshold: 1,
      onlineKey: { keys: await keys(), onlineUri: 'awskms:x' },
    };
    const two = checkRootSignatures(
      parseTufRoot((await buildRootJson({ ...base, signers: [0, 2] })).json),
    );
    assert.equal(two.roles.find((r) => r.role === 'root')?.isMet, true);
    const one = checkRootSignatures(
      parseTufRoot((await buildRootJson({ ...base, signers: [1] })).json),
    );
    assert.equal(one.roles.find((r) => r.role === 'root')?.isMet, false);
    // The same key signing twice counts once.
    const twice = checkRootSignatures(
      parseTufRoot((await buildRootJson({ ...base, signers: [1, 1] })).json),
    );
    assert.deepEqual(
      twice.signatures.map((s) => s.status),
      ['valid', 'duplicate'],
    );
    assert.equal(twice.roles.find((r) => r.role === 'root')?.isMet, false);
  });

  it('counts one key listed under two keyids once', async () => {
    const a = await keys();
    const b = await keys();
    const built = await buildRootJson({
      rootKeys: [{ keys: a }, { keys: a, owner: '@same-key-again' }, { keys: b }],
      rootThreshold: 2,
      targetsKeys: [],
      targetsThreshold: 1,
      onlineKey: { keys: b },
      signers: [0, 1],
    });
    const checked = checkRootSignatures(parseTufRoot(built.json));
    assert.notEqual(built.keyids.root[0], built.keyids.root[1]);
    assert.deepEqual(
      checked.signatures.map((s) => s.status),
      ['valid', 'duplicate'],
    );
    assert.equal(checked.roles.find((r) => r.role === 'root')?.isMet, false);
  });

  it('finds every signature invalid once `signed` is edited', async () => {
    const k = await keys();
    const built = await buildRootJson({
      rootKeys: [{ keys: k }],
      rootThreshold: 1,
      targetsKeys: [],
      targetsThreshold: 1,
      onlineKey: { keys: k },
      signers: [0],
    });
    const edited = built.json.replace('"version": 1', '"version": 2');
    assert.notEqual(edited, built.json);
    const checked = checkRootSignatures(parseTufRoot(edited));
    assert.deepEqual(
      checked.signatures.map((s) => s.status),
      ['invalid'],
    );
    assert.equal(checked.roles.find((r) => r.role === 'root')?.isMet, false);
  });

  it('verifies ed25519 signatures as hex raw bytes', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = rawPublicKeyFromSpki(
      new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    );
    const keyObject = {
      keytype: 'ed25519',
      scheme: 'ed25519',
      keyval: { public: bytesToHex(raw.raw) },
    };
    const keyid = computeKeyid(keyObject);
    const signed = {
      _type: 'root',
      expires: '2030-01-01T00:00:00Z',
      keys: { [keyid]: keyObject },
      roles: { root: { keyids: [keyid], threshold: 1 } },
      spec_version: '1.0.0',
      version: 3,
    };
    const sig = sign(null, Buffer.from(tufCanonicalJson(signed)), privateKey).toString('hex');
    const root = parseTufRoot(JSON.stringify({ signed, signatures: [{ keyid, sig }] }));
    assert.equal(root.version, 3);
    assert.deepEqual(checkRootSignatures(root).signatures, [{ keyid, status: 'valid' }]);
  });
});

describe('parseTufRoot', () => {
  it('refuses what is not root metadata, saying where', () => {
    assert.throws(() => parseTufRoot('{'), /not JSON/);
    assert.throws(
      () => parseTufRoot(JSON.stringify({ signed: { _type: 'targets' }, signatures: [] })),
      /signed\._type/,
    );
    const root = JSON.parse(archive('docker-tuf', 'metadata', 'root.json')) as {
      signed: { roles: { root: { threshold?: number } } };
    };
    delete root.signed.roles.root.threshold;
    assert.throws(() => parseTufRoot(JSON.stringify(root)), /signed\.roles\.root\.threshold/);
  });
});
