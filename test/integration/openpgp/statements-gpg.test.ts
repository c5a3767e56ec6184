// Cycle keys, transition statements, certifications and signed messages from
// electron/core/openpgp, verified by GnuPG 2.2 and sq 0.27 rather than by openpgp.js itself.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import {
  OpenPgpError,
  certifyKey,
  clearsign,
  createCycleKey,
  createPrimaryKey,
  describeKey,
  signDetached,
  transitionStatement,
  type OpenPgpErrorCode,
} from '../../../electron/core/openpgp/index.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { GnupgHome, loopback } from './gnupg-home.ts';
import { checkedSignatures, gpgVerify, sqVerify, validSigners } from './tool-checks.ts';

const OLD_TEXT = 'old cycle passphrase';
const NEW_TEXT = 'new cycle passphrase';
const OLD_PASSPHRASE = SecretBytes.fromText(OLD_TEXT);
const NEW_PASSPHRASE = SecretBytes.fromText(NEW_TEXT);
const DAY = 24 * 60 * 60;
const SEVEN_MONTHS = 214 * DAY;
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const HALF_YEAR_AGO = new Date(NOW.getTime() - 180 * DAY * 1000);
const CRC24_LINE = /^=[A-Za-z0-9+/]{4}$/m;

async function withHome(body: (home: GnupgHome) => Promise<void>): Promise<void> {
  const home = await GnupgHome.create();
  try {
    await body(home);
  } finally {
    await home.close();
  }
}

function rejectsWith(code: OpenPgpErrorCode) {
  return (error: unknown) => {
    assert.ok(error instanceof OpenPgpError, `expected OpenPgpError, got ${String(error)}`);
    assert.equal(error.kind, code);
    return true;
  };
}

async function signingSubkeyOf(key: openpgp.Key): Promise<string> {
  const signing = (await describeKey(key, NOW)).subkeys.filter((s) => s.role === 'sign');
  assert.equal(signing.length, 1);
  return signing[0]?.fingerprint ?? '';
}

describe('OpenStack-style cycle key rotation against GnuPG and sq', () => {
  let oldKey: openpgp.PrivateKey;
  let newKey: openpgp.PrivateKey;

  before(async () => {
    oldKey = await createPrimaryKey({
      userId: 'Vigil Release Rehearsal 2026.1 <release@example.org>',
      expiresInSeconds: SEVEN_MONTHS,
      passphrase: OLD_PASSPHRASE,
      now: HALF_YEAR_AGO,
    });
    newKey = await createCycleKey(oldKey, {
      userId: 'Vigil Release Rehearsal 2026.2 <release@example.org>',
      expiresInSeconds: SEVEN_MONTHS,
      subkeys: ['sign'],
      passphrase: NEW_PASSPHRASE,
      oldPassphrase: OLD_PASSPHRASE,
      now: NOW,
    });
  });

  it('certifies the new cycle key with the old one: gpg --check-sigs shows sig! by the old key', async () => {
    assert.equal(newKey.isDecrypted(), false);
    assert.deepEqual(
      (await describeKey(newKey, NOW)).subkeys.map((s) => s.role),
      ['sign'],
    );
    await withHome(async (home) => {
      await home.import(oldKey.toPublic().armor());
      await home.trustUltimately(oldKey.getFingerprint());
      await home.import(newKey.toPublic().armor());
      const sigs = await checkedSignatures(home, newKey.getFingerprint());
      const oldId = oldKey.getKeyID().toHex().toUpperCase();
      const byOld = sigs.filter((s) => s.issuer === oldId);
      assert.deepEqual(byOld, [{ record: 'sig', check: '!', issuer: oldId, sigClass: '10x' }]);
      // With the old key trusted, its certification makes the new key fully valid.
      const [pub] = await home
        .listKeys()
        .then((keys) =>
          keys.filter((k) => k.fingerprint === newKey.getFingerprint().toUpperCase()),
        );
      assert.equal(pub?.validity, 'f');
    });
  });

  it('signs one clearsigned transition statement with both keys: two VALIDSIGs in gpg, sq accepts', async () => {
    const text = 'The 2026.1 release key is superseded by the 2026.2 key.\nBoth keys sign this.\n';
    const statement = await transitionStatement(oldKey, newKey, {
      text,
      oldPassphrase: OLD_PASSPHRASE,
      newPassphrase: NEW_PASSPHRASE,
      now: NOW,
    });
    assert.match(statement, /^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n/);
    assert.match(statement, CRC24_LINE);
    const signature = statement.slice(statement.indexOf('-----BEGIN PGP SIGNATURE-----'));
    assert.equal((await openpgp.readSignature({ armoredSignature: signature })).packets.length, 2);

    await withHome(async (home) => {
      await home.import(oldKey.toPublic().armor());
      await home.import(newKey.toPublic().armor());
      const path = await home.file('transition.txt.asc', statement);
      const status = await gpgVerify(home, [path]);
      assert.deepEqual(
        validSigners(status).sort(),
        [
          `${await signingSubkeyOf(oldKey)}/${oldKey.getFingerprint().toUpperCase()}`,
          `${await signingSubkeyOf(newKey)}/${newKey.getFingerprint().toUpperCase()}`,
        ].sort(),
      );
      assert.equal(status.match(/^\[GNUPG:\] GOODSIG /gm)?.length, 2);

      const oldCert = await home.file('old.pub.asc', oldKey.toPublic().armor());
      const newCert = await home.file('new.pub.asc', newKey.toPublic().armor());
      const sq = await sqVerify([
        '--signatures',
        '2',
        '--signer-cert',
        oldCert,
        '--signer-cert',
        newCert,
        path,
      ]);
      assert.match(sq, /2 good signatures/);
      // With only the old key's certificate, sq counts one good signature: short of two.
      await assert.rejects(sqVerify(['--signatures', '2', '--signer-cert', oldCert, path]));
    });
  });

  it('refuses to make a cycle key from an expired old key', async () => {
    await assert.rejects(
      createCycleKey(oldKey, {
        userId: 'Too Late <late@example.org>',
        expiresInSeconds: SEVEN_MONTHS,
        passphrase: NEW_PASSPHRASE,
        oldPassphrase: OLD_PASSPHRASE,
        now: new Date(NOW.getTime() + 60 * DAY * 1000),
      }),
      rejectsWith('key-not-valid'),
    );
  });
});

describe('certifyKey against GnuPG', () => {
  let signer: openpgp.PrivateKey;
  let otherPublic: string;
  let otherFingerprint: string;
  // gpg stamps the other key with the wall clock, which has moved on since NOW.
  let certifiedAt: Date;

  before(async () => {
    signer = await createPrimaryKey({
      userId: 'Ceremony Certifier <certifier@example.org>',
      expiresInSeconds: 365 * DAY,
      passphrase: OLD_PASSPHRASE,
      now: HALF_YEAR_AGO,
    });
    // The other keyholder's key comes from GnuPG itself, with two User IDs.
    await withHome(async (home) => {
      await home.gpg([
        ...loopback('other'),
        '--quick-gen-key',
        'Other Keyholder <other@example.org>',
        'ed25519',
        'default',
        '1y',
      ]);
      const [pub] = await home.listKeys();
      assert.ok(pub);
      otherFingerprint = pub.fingerprint;
      await home.gpg([
        ...loopback('other'),
        '--quick-add-uid',
        otherFingerprint,
        'Other Keyholder <other@example.net>',
      ]);
      otherPublic = (await home.gpg(['--armor', '--export', otherFingerprint])).stdout;
    });
    certifiedAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
  });

  it('certifies every valid User ID of the checked key: gpg --check-sigs shows sig! by the signer', async () => {
    const typed = `0x${otherFingerprint.toLowerCase().replace(/(.{4})/g, '$1 ')}`;
    const certified = await certifyKey(signer, OLD_PASSPHRASE, otherPublic, {
      expectedFingerprint: typed,
      now: certifiedAt,
    });
    assert.match(certified, CRC24_LINE);
    const keys = await openpgp.readKeys({ armoredKeys: certified });
    assert.deepEqual(
      keys.map((k) => [k.isPrivate(), k.getFingerprint().toUpperCase()]),
      [[false, otherFingerprint]],
    );
    await withHome(async (home) => {
      await home.import(signer.toPublic().armor());
      await home.import(certified);
      const signerId = signer.getKeyID().toHex().toUpperCase();
      const sigs = await checkedSignatures(home, otherFingerprint);
      assert.deepEqual(
        sigs.filter((s) => s.issuer === signerId).map((s) => [s.check, s.sigClass]),
        [
          ['!', '10x'],
          ['!', '10x'],
        ],
      );
    });
  });

  it('certifies only the chosen User ID at the chosen level', async () => {
    const certified = await certifyKey(signer, OLD_PASSPHRASE, otherPublic, {
      expectedFingerprint: otherFingerprint,
      userIds: ['Other Keyholder <other@example.net>'],
      level: 0x13,
      now: certifiedAt,
    });
    await withHome(async (home) => {
      await home.import(signer.toPublic().armor());
      await home.import(certified);
      const { stdout } = await home.gpg(['--with-colons', '--check-sigs', otherFingerprint]);
      const signerId = signer.getKeyID().toHex().toUpperCase();
      const lines = stdout.split('\n');
      const uidOf = (index: number) =>
        lines
          .slice(0, index)
          .reverse()
          .find((l) => l.startsWith('uid:'))
          ?.split(':')[9];
      const mine = lines.flatMap((line, index) =>
        line.startsWith('sig:') && line.split(':')[4] === signerId
          ? [[line.split(':')[1], line.split(':')[10], uidOf(index)]]
          : [],
      );
      assert.deepEqual(mine, [['!', '13x', 'Other Keyholder <other@example.net>']]);
    });
    await assert.rejects(
      certifyKey(signer, OLD_PASSPHRASE, otherPublic, {
        expectedFingerprint: otherFingerprint,
        userIds: ['Someone Else <else@example.org>'],
        now: certifiedAt,
      }),
      rejectsWith('user-id-not-found'),
    );
  });

  it('refuses a fingerprint that does not match exactly, a key ID, and a secret key', async () => {
    const flipped = otherFingerprint.slice(0, 39) + (otherFingerprint.endsWith('0') ? '1' : '0');
    const attempts: [string, OpenPgpErrorCode][] = [
      [flipped, 'fingerprint-mismatch'],
      [signer.getFingerprint(), 'fingerprint-mismatch'],
      [otherFingerprint.slice(-16), 'fingerprint-malformed'],
      [otherFingerprint.slice(0, 39), 'fingerprint-malformed'],
      [`${otherFingerprint}00`, 'fingerprint-malformed'],
      ['', 'fingerprint-malformed'],
    ];
    for (const [expectedFingerprint, code] of attempts) {
      await assert.rejects(
        certifyKey(signer, OLD_PASSPHRASE, otherPublic, { expectedFingerprint, now: certifiedAt }),
        rejectsWith(code),
      );
    }
    await assert.rejects(
      certifyKey(signer, OLD_PASSPHRASE, signer.armor(), {
        expectedFingerprint: signer.getFingerprint(),
        now: certifiedAt,
      }),
      rejectsWith('key-secret-given'),
    );
  });
});

describe('signed test messages against GnuPG and sq', () => {
  let key: openpgp.PrivateKey;
  let home: GnupgHome;

  before(async () => {
    key = await createPrimaryKey({
      userId: 'Message Rehearsal <message@example.org>',
      expiresInSeconds: 365 * DAY,
      passphrase: NEW_PASSPHRASE,
      now: HALF_YEAR_AGO,
    });
  });

  it('signs detached with the signing subkey: gpg and sq verify', async () => {
    const message = 'Ceremony test message\r\nwith CRLF and trailing space \n';
    const signature = await signDetached(key, NEW_PASSPHRASE, message, NOW);
    assert.match(signature, /^-----BEGIN PGP SIGNATURE-----/);
    assert.match(signature, CRC24_LINE);
    home = await GnupgHome.create();
    try {
      const cert = await home.file('cert.asc', key.toPublic().armor());
      await home.import(key.toPublic().armor());
      const messagePath = await home.file('message.txt', message);
      const signaturePath = await home.file('message.txt.asc', signature);
      const status = await gpgVerify(home, [signaturePath, messagePath]);
      assert.deepEqual(validSigners(status), [
        `${await signingSubkeyOf(key)}/${key.getFingerprint().toUpperCase()}`,
      ]);
      const sq = await sqVerify(['--detached', signaturePath, '--signer-cert', cert, messagePath]);
      assert.match(sq, /1 good signature/);
      await home.file('message.txt', `${message}tampered`);
      await assert.rejects(gpgVerify(home, [signaturePath, messagePath]));
    } finally {
      await home.close();
    }
  });

  it('clearsigns with the signing subkey: gpg and sq verify', async () => {
    const signed = await clearsign(
      key,
      NEW_PASSPHRASE,
      'Ceremony test message\n- dash line\n',
      NOW,
    );
    assert.match(signed, /^-----BEGIN PGP SIGNED MESSAGE-----/);
    assert.match(signed, /^- - dash line$/m);
    assert.match(signed, CRC24_LINE);
    await withHome(async (h) => {
      const cert = await h.file('cert.asc', key.toPublic().armor());
      await h.import(key.toPublic().armor());
      const path = await h.file('message.txt.asc', signed);
      const status = await gpgVerify(h, [path]);
      assert.deepEqual(validSigners(status), [
        `${await signingSubkeyOf(key)}/${key.getFingerprint().toUpperCase()}`,
      ]);
      assert.match(await sqVerify(['--signer-cert', cert, path]), /1 good signature/);
    });
  });

  it('refuses a key with no signing subkey rather than signing with the primary', async () => {
    const certifyOnly = await createPrimaryKey({
      userId: 'Certify Only',
      expiresInSeconds: 0,
      subkeys: ['encrypt'],
      passphrase: NEW_PASSPHRASE,
      now: HALF_YEAR_AGO,
    });
    await assert.rejects(
      signDetached(certifyOnly, NEW_PASSPHRASE, 'x', NOW),
      rejectsWith('signing-subkey-missing'),
    );
    await assert.rejects(
      clearsign(key, SecretBytes.fromText('wrong'), 'x', NOW),
      rejectsWith('passphrase-wrong'),
    );
  });
});
