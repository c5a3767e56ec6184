// openpgp.js keys from electron/core/openpgp, judged by GnuPG 2.2 and sq-keyring-linter.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import {
  createPrimaryKey,
  encryptedBackup,
  minimalPublicKey,
  openpgpFingerprint,
  renewSubkey,
  revocationCertificate,
  secretSubkeysOnly,
} from '../../../electron/core/openpgp/index.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { GnupgHome, type ColonKey } from './gnupg-home.ts';

const run = promisify(execFile);
// gpg reads the text; Vigil's functions take it as SecretBytes, as the ceremony holds it.
const PASSPHRASE_TEXT = 'correct horse battery staple';
const PASSPHRASE = SecretBytes.fromText(PASSPHRASE_TEXT);
const DAY = 24 * 60 * 60;
const YEAR = 365 * DAY;
// Whole seconds, so expiry arithmetic matches gpg's integer timestamps exactly.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const NOW_S = NOW.getTime() / 1000;

function only(keys: ColonKey[], type: string): ColonKey {
  const found = keys.filter((key) => key.type === type);
  assert.equal(found.length, 1, `expected one ${type} record`);
  const [key] = found;
  assert.ok(key);
  return key;
}

function subkeyWith(keys: ColonKey[], type: string, capability: string): ColonKey {
  const found = keys.filter((key) => key.type === type && key.capabilities === capability);
  assert.equal(found.length, 1, `expected one ${type} with usage ${capability}`);
  const [key] = found;
  assert.ok(key);
  return key;
}

async function withHome(body: (home: GnupgHome) => Promise<void>): Promise<void> {
  const home = await GnupgHome.create();
  try {
    await body(home);
  } finally {
    await home.close();
  }
}

describe('OpenPGP key lifecycle against GnuPG', () => {
  let key: openpgp.PrivateKey;

  before(async () => {
    key = await createPrimaryKey({
      userId: 'Vigil Rehearsal <rehearsal@example.org>',
      expiresInSeconds: 2 * YEAR,
      subkeyExpiresInSeconds: { sign: YEAR, encrypt: 180 * DAY, authenticate: 90 * DAY },
      passphrase: PASSPHRASE,
      now: NOW,
    });
  });

  it('creates a passphrase-protected v4 EdDSA-legacy key with c / s / e / a usages', async () => {
    assert.equal(key.isDecrypted(), false);
    assert.equal(key.keyPacket.version, 4);
    await withHome(async (home) => {
      await home.import(key.toPublic().armor());
      const keys = await home.listKeys();
      const primary = only(keys, 'pub');
      assert.equal(primary.fingerprint, openpgpFingerprint(key).hex.toUpperCase());
      assert.equal(primary.algorithm, 22); // EdDSA (legacy)
      assert.equal(primary.capabilities, 'cESCA'); // own usage c; then the usable key-wide set
      assert.equal(primary.created, NOW_S);
      assert.equal(primary.expires, NOW_S + 2 * YEAR);

      const sign = subkeyWith(keys, 'sub', 's');
      const encrypt = subkeyWith(keys, 'sub', 'e');
      const auth = subkeyWith(keys, 'sub', 'a');
      assert.equal(sign.algorithm, 22);
      assert.equal(encrypt.algorithm, 18); // ECDH cv25519
      assert.equal(auth.algorithm, 22);
      assert.equal(sign.expires, NOW_S + YEAR);
      assert.equal(encrypt.expires, NOW_S + 180 * DAY);
      assert.equal(auth.expires, NOW_S + 90 * DAY);
      assert.equal(keys.length, 4);
    });
  });

  it('exports an encrypted backup gpg imports with the passphrase and signs with (back-signed subkey)', async () => {
    const backup = encryptedBackup(key);
    assert.match(backup, /^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    await withHome(async (home) => {
      await home.import(backup, PASSPHRASE_TEXT);
      const secrets = await home.listKeys(true);
      const primary = only(secrets, 'sec');
      assert.notEqual(primary.token, '#');
      assert.equal(secrets.filter((k) => k.type === 'ssb' && k.token !== '#').length, 3);
      const signing = subkeyWith(secrets, 'ssb', 's');
      // The wrong passphrase first: gpg-agent caches a passphrase once it has worked.
      await assert.rejects(home.signAndVerify(signing.fingerprint, 'wrong passphrase'));
      const status = await home.signAndVerify(signing.fingerprint, PASSPHRASE_TEXT);
      assert.match(status, new RegExp(`^\\[GNUPG:\\] VALIDSIG ${signing.fingerprint} `, 'm'));
    });
  });

  it('refuses to back up an unprotected key', async () => {
    const unlocked = await openpgp.decryptKey({ privateKey: key, passphrase: PASSPHRASE_TEXT });
    assert.throws(() => encryptedBackup(unlocked), /passphrase-protected/);
  });

  it('exports secret subkeys only: gpg lists sec# and can still sign with the subkey', async () => {
    const subkeys = await secretSubkeysOnly(key, PASSPHRASE);
    await withHome(async (home) => {
      await home.import(subkeys, PASSPHRASE_TEXT);
      const secrets = await home.listKeys(true);
      assert.equal(only(secrets, 'sec').token, '#');
      const ssb = secrets.filter((k) => k.type === 'ssb');
      assert.deepEqual(ssb.map((k) => k.capabilities).sort(), ['a', 'e', 's']);
      assert.ok(ssb.every((k) => k.token !== '#'));
      const signing = subkeyWith(secrets, 'ssb', 's');
      const status = await home.signAndVerify(signing.fingerprint, PASSPHRASE_TEXT);
      assert.match(status, new RegExp(`^\\[GNUPG:\\] VALIDSIG ${signing.fingerprint} `, 'm'));
    });
    await assert.rejects(secretSubkeysOnly(key, SecretBytes.fromText('wrong passphrase')));
  });

  it('makes a revocation certificate whose import revokes the key in gpg', async () => {
    const certificate = await revocationCertificate(key, {
      reason: 'keyCompromised',
      text: 'Rehearsal: card lost',
      passphrase: PASSPHRASE,
      now: NOW,
    });
    assert.match(certificate, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    await withHome(async (home) => {
      await home.import(key.toPublic().armor());
      await home.trustUltimately(key.getFingerprint());
      assert.equal(only(await home.listKeys(), 'pub').validity, 'u');
      await home.import(certificate);
      const revoked = await home.listKeys();
      assert.equal(only(revoked, 'pub').validity, 'r');
      const { stdout } = await home.gpg(['--with-colons', '--list-sigs', key.getFingerprint()]);
      // key revocation (class 20), reason 02 (compromised), with the text gpg escapes ':' in
      assert.match(stdout, /^rev:(?:[^:]*:){9}20x,02:(?:[^:]*:){9}Rehearsal\\x3a card lost:$/m);
    });
    await assert.rejects(
      revocationCertificate(key, { reason: 'keyRetired', text: 'no passphrase' }),
      /passphrase-protected/,
    );
  });

  it('renews an expired signing subkey: gpg shows the new expiry and the subkey valid again', async () => {
    const twoYearsAgo = new Date(NOW.getTime() - 2 * YEAR * 1000);
    const old = await createPrimaryKey({
      userId: 'Old Rehearsal <old@example.org>',
      expiresInSeconds: 0,
      subkeyExpiresInSeconds: { sign: YEAR },
      passphrase: PASSPHRASE,
      now: twoYearsAgo,
    });
    const signing = old.subkeys[0];
    assert.ok(signing);
    const renewed = await renewSubkey(old, openpgpFingerprint(signing).grouped, {
      expiresInSeconds: YEAR,
      passphrase: PASSPHRASE,
      now: NOW,
    });
    assert.equal(renewed.isDecrypted(), false);
    await withHome(async (home) => {
      await home.import(old.toPublic().armor());
      await home.trustUltimately(old.getFingerprint());
      const before = subkeyWith(await home.listKeys(), 'sub', 's');
      assert.equal(before.validity, 'e');
      assert.equal(before.expires, twoYearsAgo.getTime() / 1000 + YEAR);

      await home.import(minimalPublicKey(renewed));
      const keys = await home.listKeys();
      const after = subkeyWith(keys, 'sub', 's');
      assert.equal(after.validity, 'u');
      assert.equal(after.expires, NOW_S + YEAR);
      assert.equal(only(keys, 'pub').expires, null);
    });
    await withHome(async (home) => {
      await home.import(encryptedBackup(renewed), PASSPHRASE_TEXT);
      const status = await home.signAndVerify(signing.getFingerprint(), PASSPHRASE_TEXT);
      assert.match(status, /^\[GNUPG:\] VALIDSIG /m);
    });
    await assert.rejects(
      renewSubkey(old, '00'.repeat(20), {
        expiresInSeconds: YEAR,
        passphrase: PASSPHRASE,
        now: NOW,
      }),
      /no subkey/,
    );
  });

  it('exports a minimal public key: latest bindings, self-signatures only, lint-clean', async () => {
    const encryption = key.subkeys[1];
    assert.ok(encryption);
    const renewed = await renewSubkey(key, encryption.getFingerprint(), {
      expiresInSeconds: YEAR,
      passphrase: PASSPHRASE,
      now: new Date(NOW.getTime() + 1000),
    });
    const { privateKey: witness } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'Witness' }],
      format: 'object',
    });
    const certified = await renewed.toPublic().signAllUsers([witness]);
    assert.equal(certified.users[0]?.otherCertifications.length, 1);
    assert.equal(certified.subkeys[1]?.bindingSignatures.length, 2);

    const minimal = minimalPublicKey(certified);
    const reread = await openpgp.readKey({ armoredKey: minimal });
    assert.equal(reread.isPrivate(), false);
    assert.equal(reread.users[0]?.otherCertifications.length, 0);
    assert.deepEqual(
      reread.subkeys.map((subkey) => subkey.bindingSignatures.length),
      [1, 1, 1],
    );
    await withHome(async (home) => {
      const path = await home.file('minimal.asc', minimal);
      const lint = await run('sq-keyring-linter', [path]);
      assert.equal(lint.stdout + lint.stderr, '');

      await home.import(minimal);
      const keys = await home.listKeys();
      assert.equal(subkeyWith(keys, 'sub', 'e').expires, NOW_S + 1 + YEAR);
      const { stdout } = await home.gpg(['--with-colons', '--list-sigs', key.getFingerprint()]);
      const sigs = stdout.split('\n').filter((line) => line.startsWith('sig:'));
      // one self-certification on the User ID, one binding per subkey, nothing from the witness
      assert.equal(sigs.length, 4);
      assert.ok(sigs.every((line) => line.split(':')[4] === key.getKeyID().toHex().toUpperCase()));
    });
  });
});
