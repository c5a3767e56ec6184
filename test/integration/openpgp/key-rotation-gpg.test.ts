// Rotation, multi-subkey renewal, other algorithms and backup reading, judged by GnuPG 2.2,
// sq-keyring-linter and gpg's own export formats.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import {
  OpenPgpError,
  createPrimaryKey,
  describeKey,
  encryptedBackup,
  minimalPublicKey,
  readKeyBackup,
  renewSubkeys,
  rotateSubkey,
  secretSubkeysOnly,
  signDetached,
  type OpenPgpErrorCode,
} from '../../../electron/core/openpgp/index.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { GnupgHome, loopback, parseColons, type ColonKey } from './gnupg-home.ts';
import { gpgVerify, keyringLint, listPackets, validSigners } from './tool-checks.ts';

const PASSPHRASE_TEXT = 'rotation rehearsal passphrase';
const PASSPHRASE = SecretBytes.fromText(PASSPHRASE_TEXT);
const DAY = 24 * 60 * 60;
const YEAR = 365 * DAY;
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const NOW_S = NOW.getTime() / 1000;
const MONTH_AGO = new Date(NOW.getTime() - 30 * DAY * 1000);

async function withHome(body: (home: GnupgHome) => Promise<void>): Promise<void> {
  const home = await GnupgHome.create();
  try {
    await body(home);
  } finally {
    await home.close();
  }
}

function byFingerprint(keys: ColonKey[], fingerprint: string): ColonKey {
  const key = keys.find((k) => k.fingerprint === fingerprint.toUpperCase());
  assert.ok(key, `gpg lists ${fingerprint}`);
  return key;
}

function rejectsWith(code: OpenPgpErrorCode, check?: (error: OpenPgpError) => void) {
  return (error: unknown) => {
    assert.ok(error instanceof OpenPgpError, `expected OpenPgpError, got ${String(error)}`);
    assert.equal(error.kind, code);
    check?.(error);
    return true;
  };
}

/** Imports the key's public half into a trusting keyring and returns gpg's key records. */
async function gpgView(home: GnupgHome, armoredPublic: string, fingerprint: string) {
  await home.import(armoredPublic);
  await home.trustUltimately(fingerprint);
  return home.listKeys();
}

describe('OpenPGP subkey rotation and renewal against GnuPG', () => {
  let key: openpgp.PrivateKey;

  before(async () => {
    key = await createPrimaryKey({
      userId: 'Rotation Rehearsal <rotation@example.org>',
      expiresInSeconds: 2 * YEAR,
      passphrase: PASSPHRASE,
      now: MONTH_AGO,
    });
  });

  it('rotates the signing subkey: old one revoked as superseded, new one signs with a back-signature', async () => {
    const oldSigning = (await describeKey(key, NOW)).subkeys.find((s) => s.role === 'sign');
    assert.ok(oldSigning);
    const rotated = await rotateSubkey(key, 'sign', {
      expiresInSeconds: YEAR,
      oldSubkey: 'revoke',
      passphrase: PASSPHRASE,
      now: NOW,
    });
    assert.equal(rotated.oldSubkeyFingerprint, oldSigning.fingerprint);
    assert.equal(rotated.key.isDecrypted(), false);
    const minimal = minimalPublicKey(rotated.key);

    const described = await describeKey(rotated.key, NOW);
    const old = described.subkeys.find((s) => s.fingerprint === oldSigning.fingerprint);
    assert.equal(old?.revoked, true);
    assert.equal(old?.revocation?.reason, 'keySuperseded');
    const fresh = described.subkeys.find((s) => s.fingerprint === rotated.newSubkeyFingerprint);
    assert.deepEqual(
      { role: fresh?.role, usage: fresh?.usage, revoked: fresh?.revoked, expires: fresh?.expires },
      {
        role: 'sign',
        usage: 's',
        revoked: false,
        expires: new Date((NOW_S + YEAR) * 1000).toISOString(),
      },
    );

    await withHome(async (home) => {
      const path = await home.file('rotated.asc', minimal);
      assert.equal(await keyringLint(path), '');
      const keys = await gpgView(home, minimal, key.getFingerprint());
      assert.equal(byFingerprint(keys, rotated.oldSubkeyFingerprint).validity, 'r');
      const newSub = byFingerprint(keys, rotated.newSubkeyFingerprint);
      assert.equal(newSub.validity, 'u');
      assert.equal(newSub.capabilities, 's');
      assert.equal(newSub.expires, NOW_S + YEAR);
      // Subkey revocation (0x28) with reason 0x01 "key is superseded".
      const packets = await listPackets(home, path);
      assert.match(packets, /sigclass 0x28/);
      assert.match(packets, /revocation reason 0x01 \(Superseded by [0-9A-F]{40}\)/);
      // The new subkey's binding embeds the primary-key binding (0x19) back-signature.
      assert.match(packets, /subpkt 32 len \d+ \(signature: v4, class 0x19/);

      // Messages are now signed by the new subkey, and gpg accepts them.
      const message = await home.file('message.txt', 'rotated\n');
      const signature = await signDetached(rotated.key, PASSPHRASE, 'rotated\n', NOW);
      const status = await gpgVerify(home, [
        await home.file('message.txt.asc', signature),
        message,
      ]);
      assert.deepEqual(validSigners(status), [
        `${rotated.newSubkeyFingerprint}/${key.getFingerprint().toUpperCase()}`,
      ]);
    });
  });

  it("rotates with 'expire': the old authentication subkey shows e, its successor a", async () => {
    const rotated = await rotateSubkey(key, 'authenticate', {
      expiresInSeconds: 90 * DAY,
      oldSubkey: 'expire',
      passphrase: PASSPHRASE,
      now: NOW,
    });
    const described = await describeKey(rotated.key, NOW);
    const old = described.subkeys.find((s) => s.fingerprint === rotated.oldSubkeyFingerprint);
    assert.deepEqual(
      { isExpired: old?.isExpired, revoked: old?.revoked, expires: old?.expires },
      { isExpired: true, revoked: false, expires: NOW.toISOString() },
    );
    await withHome(async (home) => {
      await gpgView(home, minimalPublicKey(rotated.key), key.getFingerprint());
      // gpg counts a (sub)key as expired only once its clock is past the expiry (expiry == now
      // still lists as valid), while NOW is this process's clock, truncated: a listing made in
      // NOW's own second saw 'u'. Judge at a frozen clock one second after the expiry instead.
      const { stdout } = await home.gpg([
        '--faked-system-time',
        `${NOW_S + 1}!`,
        '--with-colons',
        '--fixed-list-mode',
        '--list-keys',
      ]);
      const keys = parseColons(stdout);
      const oldSub = byFingerprint(keys, rotated.oldSubkeyFingerprint);
      assert.equal(oldSub.validity, 'e');
      assert.equal(oldSub.expires, NOW_S);
      const newSub = byFingerprint(keys, rotated.newSubkeyFingerprint);
      assert.deepEqual([newSub.validity, newSub.capabilities], ['u', 'a']);
    });
  });

  it('renews several subkeys at once, expired ones included, and names unknown ones when refusing', async () => {
    const twoYearsAgo = new Date(NOW.getTime() - 2 * YEAR * 1000);
    const old = await createPrimaryKey({
      userId: 'Lapsed Rehearsal <lapsed@example.org>',
      expiresInSeconds: 0,
      subkeyExpiresInSeconds: { sign: YEAR, encrypt: YEAR, authenticate: 3 * YEAR },
      passphrase: PASSPHRASE,
      now: twoYearsAgo,
    });
    const fingerprints = old.subkeys.map((s) => s.getFingerprint());
    const unknown = ['AA'.repeat(20), 'bb'.repeat(20)];
    await assert.rejects(
      renewSubkeys(old, [...fingerprints, ...unknown], {
        expiresInSeconds: YEAR,
        passphrase: PASSPHRASE,
        now: NOW,
      }),
      rejectsWith('subkey-not-found', (error) => {
        assert.deepEqual(
          error.context.fingerprints,
          unknown.map((f) => f.toUpperCase()),
        );
        assert.match(error.message, new RegExp(unknown[0] ?? '-'));
      }),
    );
    await assert.rejects(
      renewSubkeys(old, [fingerprints[0]?.slice(-16) ?? ''], {
        expiresInSeconds: YEAR,
        passphrase: PASSPHRASE,
        now: NOW,
      }),
      rejectsWith('fingerprint-malformed'),
    );
    // Typed in groups, as read off the screen.
    const spaced = fingerprints.map((f) => `0x${f.toUpperCase().replace(/(.{4})/g, '$1 ')}`);
    const renewed = await renewSubkeys(old, spaced, {
      expiresInSeconds: YEAR,
      passphrase: PASSPHRASE,
      now: NOW,
    });
    await withHome(async (home) => {
      const before = await gpgView(home, old.toPublic().armor(), old.getFingerprint());
      assert.deepEqual(
        fingerprints.map((f) => byFingerprint(before, f).validity),
        ['e', 'e', 'u'],
      );
      await home.import(minimalPublicKey(renewed));
      const after = await home.listKeys();
      for (const fingerprint of fingerprints) {
        const sub = byFingerprint(after, fingerprint);
        assert.deepEqual([sub.validity, sub.expires], ['u', NOW_S + YEAR]);
      }
    });
  });

  it('refuses to renew a revoked subkey', async () => {
    const rotated = await rotateSubkey(key, 'encrypt', {
      expiresInSeconds: YEAR,
      oldSubkey: 'revoke',
      passphrase: PASSPHRASE,
      now: NOW,
    });
    await assert.rejects(
      renewSubkeys(rotated.key, [rotated.oldSubkeyFingerprint], {
        expiresInSeconds: YEAR,
        passphrase: PASSPHRASE,
        now: new Date(NOW.getTime() + 1000),
      }),
      rejectsWith('subkey-revoked'),
    );
    const encryption = (await describeKey(rotated.key, NOW)).subkeys.filter(
      (s) => s.role === 'encrypt' && !s.revoked,
    );
    assert.deepEqual(
      encryption.map((s) => [s.fingerprint, s.algorithm]),
      [[rotated.newSubkeyFingerprint, 'cv25519']],
    );
  });
});

describe('OpenPGP key algorithms against GnuPG', () => {
  it('makes NIST P-256 and P-384 keys gpg imports with c / s / e / a and verifies signatures from', async () => {
    for (const [algorithm, curve] of [
      ['nistp256', 'nistp256'],
      ['nistp384', 'nistp384'],
    ] as const) {
      const key = await createPrimaryKey({
        userId: `Curve ${curve} <${curve}@example.org>`,
        algorithm,
        expiresInSeconds: YEAR,
        passphrase: PASSPHRASE,
        now: NOW,
      });
      const described = await describeKey(key, NOW);
      assert.equal(described.algorithm, curve);
      assert.deepEqual(
        described.subkeys.map((s) => [s.role, s.algorithm]),
        [
          ['sign', curve],
          ['encrypt', curve],
          ['authenticate', curve],
        ],
      );
      await withHome(async (home) => {
        const keys = await gpgView(home, key.toPublic().armor(), key.getFingerprint());
        assert.deepEqual(
          keys.map((k) => [k.type, k.algorithm, k.capabilities]),
          [
            ['pub', 19, 'cESCA'],
            ['sub', 19, 's'],
            ['sub', 18, 'e'],
            ['sub', 19, 'a'],
          ],
        );
        const message = await home.file('m.txt', 'curve\n');
        const signature = await signDetached(key, PASSPHRASE, 'curve\n', NOW);
        const status = await gpgVerify(home, [await home.file('m.txt.asc', signature), message]);
        assert.equal(validSigners(status).length, 1);
      });
    }
  });

  it('makes an RSA 4096 key gpg imports with c / s / e / a', async () => {
    const key = await createPrimaryKey({
      userId: 'RSA Rehearsal <rsa@example.org>',
      algorithm: 'rsa4096',
      expiresInSeconds: YEAR,
      passphrase: PASSPHRASE,
      now: NOW,
    });
    await withHome(async (home) => {
      const keys = await gpgView(home, key.toPublic().armor(), key.getFingerprint());
      assert.deepEqual(
        keys.map((k) => [k.type, k.algorithm, k.capabilities]),
        [
          ['pub', 1, 'cESCA'],
          ['sub', 1, 's'],
          ['sub', 1, 'e'],
          ['sub', 1, 'a'],
        ],
      );
      const { stdout } = await home.gpg(['--with-colons', '--list-keys', key.getFingerprint()]);
      assert.ok(
        stdout
          .split('\n')
          .filter((l) => /^(pub|sub):/.test(l))
          .every((l) => l.split(':')[2] === '4096'),
      );
    });
  });
});

describe('readKeyBackup', () => {
  let key: openpgp.PrivateKey;

  before(async () => {
    key = await createPrimaryKey({
      userId: 'Backup Rehearsal <backup@example.org>',
      expiresInSeconds: YEAR,
      passphrase: PASSPHRASE,
      now: NOW,
    });
  });

  it('reads back a full encrypted backup, still locked', async () => {
    const read = await readKeyBackup(encryptedBackup(key));
    assert.equal(read.getFingerprint(), key.getFingerprint());
    assert.equal(read.isDecrypted(), false);
  });

  it('refuses a public key, a subkeys-only export, an unencrypted key, two keys and noise', async () => {
    await assert.rejects(readKeyBackup(key.toPublic().armor()), rejectsWith('key-public-only'));
    await assert.rejects(
      readKeyBackup(await secretSubkeysOnly(key, PASSPHRASE)),
      rejectsWith('key-stub'),
    );
    const unlocked = await openpgp.decryptKey({ privateKey: key, passphrase: PASSPHRASE_TEXT });
    await assert.rejects(readKeyBackup(unlocked.armor()), rejectsWith('key-unprotected'));
    const other = await createPrimaryKey({
      userId: 'Other',
      expiresInSeconds: YEAR,
      passphrase: PASSPHRASE,
      now: NOW,
    });
    const both = await openpgp.readKeys({
      binaryKeys: new Uint8Array([...key.write(), ...other.write()]),
    });
    assert.equal(both.length, 2);
    const twoKeys = openpgp.armor(
      openpgp.enums.armor.privateKey,
      new Uint8Array([...key.write(), ...other.write()]),
    );
    await assert.rejects(readKeyBackup(twoKeys), rejectsWith('key-count-not-one'));
    await assert.rejects(readKeyBackup('not a key'), rejectsWith('key-unreadable'));
  });

  it("refuses gpg's own --export-secret-subkeys output (sec#)", async () => {
    await withHome(async (home) => {
      await home.gpg([
        ...loopback(PASSPHRASE_TEXT),
        '--quick-gen-key',
        'Gpg Stub <stub@example.org>',
        'ed25519',
        'cert',
        '1y',
      ]);
      const [primary] = await home.listKeys();
      assert.ok(primary);
      await home.gpg([
        ...loopback(PASSPHRASE_TEXT),
        '--quick-add-key',
        primary.fingerprint,
        'ed25519',
        'sign',
        '1y',
      ]);
      const { stdout: stub } = await home.gpg([
        ...loopback(PASSPHRASE_TEXT),
        '--armor',
        '--export-secret-subkeys',
        primary.fingerprint,
      ]);
      await assert.rejects(readKeyBackup(stub), rejectsWith('key-stub'));
      const { stdout: full } = await home.gpg([
        ...loopback(PASSPHRASE_TEXT),
        '--armor',
        '--export-secret-keys',
        primary.fingerprint,
      ]);
      const read = await readKeyBackup(full);
      assert.equal(read.getFingerprint().toUpperCase(), primary.fingerprint);
    });
  });
});
