// The lifecycle's refusals and descriptions, checked without external tools (the integration
// tests hand the same keys to GnuPG and sq).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import {
  OpenPgpError,
  createPrimaryKey,
  describeKey,
  parseFingerprint,
  renewSubkeys,
  rotateSubkey,
  secretSubkeysOnly,
  signDetached,
  type OpenPgpErrorCode,
} from '../../../../electron/core/openpgp/index.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';

const PASSPHRASE_TEXT = 'unit rehearsal passphrase';
const PASSPHRASE = SecretBytes.fromText(PASSPHRASE_TEXT);
const DAY = 24 * 60 * 60;
const YEAR = 365 * DAY;
const CREATED = new Date('2026-01-05T10:00:00Z');
const NOW = new Date('2026-03-01T12:00:00Z');
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

function rejectsWith(code: OpenPgpErrorCode) {
  return (error: unknown) => {
    assert.ok(error instanceof OpenPgpError, `expected OpenPgpError, got ${String(error)}`);
    assert.equal(error.kind, code);
    assert.doesNotMatch(JSON.stringify(error.context), new RegExp(PASSPHRASE_TEXT));
    return true;
  };
}

describe('createPrimaryKey', () => {
  it('refuses an empty passphrase before generating anything', async () => {
    await assert.rejects(
      createPrimaryKey({
        userId: 'Empty',
        expiresInSeconds: YEAR,
        passphrase: SecretBytes.fromText(''),
        now: NOW,
      }),
      rejectsWith('passphrase-empty'),
    );
  });

  it('makes a v6 key only when asked, with the same roles', async () => {
    const key = await createPrimaryKey({
      userId: 'V6 Rehearsal <v6@example.org>',
      expiresInSeconds: YEAR,
      v6: true,
      passphrase: PASSPHRASE,
      now: CREATED,
    });
    const described = await describeKey(key, NOW);
    assert.equal(described.version, 6);
    assert.equal(described.fingerprint.length, 64);
    assert.deepEqual(
      described.subkeys.map((s) => [s.role, s.usage, s.algorithm]),
      [
        ['sign', 's', 'ed25519'],
        ['encrypt', 'e', 'x25519'],
        ['authenticate', 'a', 'ed25519'],
      ],
    );
    assert.equal(described.expires, new Date(CREATED.getTime() + YEAR * 1000).toISOString());
    const signature = await signDetached(key, PASSPHRASE, 'v6 message', NOW);
    const verified = await openpgp.verify({
      message: await openpgp.createMessage({ binary: new TextEncoder().encode('v6 message') }),
      signature: await openpgp.readSignature({ armoredSignature: signature }),
      verificationKeys: key.toPublic(),
      date: NOW,
    });
    await verified.signatures[0]?.verified;
    assert.equal(verified.signatures[0]?.keyID.toHex(), key.subkeys[0]?.getKeyID().toHex());
  });
});

describe('describeKey', () => {
  let key: openpgp.PrivateKey;

  before(async () => {
    key = await createPrimaryKey({
      userId: 'Described Rehearsal <described@example.org>',
      expiresInSeconds: 2 * YEAR,
      subkeyExpiresInSeconds: { sign: YEAR, encrypt: 30 * DAY, authenticate: 0 },
      passphrase: PASSPHRASE,
      now: CREATED,
    });
  });

  it('gives a JSON-safe picture of the key at a given moment', async () => {
    const described = await describeKey(key, NOW);
    assert.deepEqual(JSON.parse(JSON.stringify(described)), described);
    assert.equal(described.fingerprint, key.getFingerprint().toUpperCase());
    assert.equal(described.keyId, described.fingerprint.slice(-16));
    assert.deepEqual(described.userIds, ['Described Rehearsal <described@example.org>']);
    assert.deepEqual(
      {
        version: described.version,
        algorithm: described.algorithm,
        created: described.created,
        revoked: described.revoked,
        isExpired: described.isExpired,
        hasSecret: described.hasSecret,
      },
      {
        version: 4,
        algorithm: 'ed25519',
        created: CREATED.toISOString(),
        revoked: false,
        isExpired: false,
        hasSecret: true,
      },
    );
    const at = (seconds: number) => new Date(CREATED.getTime() + seconds * 1000).toISOString();
    assert.equal(described.expires, at(2 * YEAR));
    assert.deepEqual(
      described.subkeys.map((s) => [s.role, s.usage, s.algorithm, s.expires, s.isExpired]),
      [
        ['sign', 's', 'ed25519', at(YEAR), false],
        ['encrypt', 'e', 'cv25519', at(30 * DAY), true],
        ['authenticate', 'a', 'ed25519', null, false],
      ],
    );
    assert.ok(described.subkeys.every((s) => s.keyId === s.fingerprint.slice(-16)));
    assert.ok(described.subkeys.every((s) => !s.revoked && s.revocation === null));
  });
});

describe('renewSubkeys and rotateSubkey refusals', () => {
  let key: openpgp.PrivateKey;
  let signing: string;

  before(async () => {
    key = await createPrimaryKey({
      userId: 'Refusals <refusals@example.org>',
      expiresInSeconds: 0,
      passphrase: PASSPHRASE,
      now: CREATED,
    });
    signing = key.subkeys[0]?.getFingerprint() ?? '';
  });

  it('refuses a wrong passphrase with a typed error and leaves the caller’s passphrase alone', async () => {
    const wrong = SecretBytes.fromText('not the passphrase');
    await assert.rejects(
      renewSubkeys(key, [signing], { expiresInSeconds: YEAR, passphrase: wrong, now: NOW }),
      rejectsWith('passphrase-wrong'),
    );
    assert.equal(wrong.isWiped, false);
  });

  it('refuses a renewal time not after the current binding (same second as creation)', async () => {
    await assert.rejects(
      renewSubkeys(key, [signing], {
        expiresInSeconds: YEAR,
        passphrase: PASSPHRASE,
        now: new Date(CREATED.getTime() + 400),
      }),
      rejectsWith('expiry-invalid'),
    );
    await assert.rejects(
      renewSubkeys(key, [signing], { expiresInSeconds: 0, passphrase: PASSPHRASE, now: NOW }),
      rejectsWith('expiry-invalid'),
    );
  });

  it('refuses to renew or rotate without the primary secret (a subkeys-only export)', async () => {
    const stub = await openpgp.readPrivateKey({
      armoredKey: await secretSubkeysOnly(key, PASSPHRASE),
    });
    await assert.rejects(
      renewSubkeys(stub, [signing], { expiresInSeconds: YEAR, passphrase: PASSPHRASE, now: NOW }),
      rejectsWith('key-stub'),
    );
    await assert.rejects(
      rotateSubkey(stub, 'sign', {
        expiresInSeconds: YEAR,
        oldSubkey: 'revoke',
        passphrase: PASSPHRASE,
        now: NOW,
      }),
      rejectsWith('key-stub'),
    );
  });

  it('asks for a fingerprint when a role names two valid subkeys, and refuses unknown ones', async () => {
    const expired = await rotateSubkey(key, 'sign', {
      expiresInSeconds: YEAR,
      oldSubkey: 'expire',
      passphrase: PASSPHRASE,
      now: NOW,
    });
    // Renewing the expired one brings back a second valid signing subkey.
    const both = await renewSubkeys(expired.key, [expired.oldSubkeyFingerprint], {
      expiresInSeconds: YEAR,
      passphrase: PASSPHRASE,
      now: later(60),
    });
    const signingRoles = (await describeKey(both, later(61))).subkeys.filter(
      (s) => s.role === 'sign' && !s.isExpired,
    );
    assert.equal(signingRoles.length, 2);
    await assert.rejects(
      rotateSubkey(both, 'sign', {
        expiresInSeconds: YEAR,
        oldSubkey: 'revoke',
        passphrase: PASSPHRASE,
        now: later(120),
      }),
      rejectsWith('subkey-ambiguous'),
    );
    const byFingerprint = await rotateSubkey(both, expired.oldSubkeyFingerprint.toLowerCase(), {
      expiresInSeconds: YEAR,
      oldSubkey: 'revoke',
      passphrase: PASSPHRASE,
      now: later(120),
    });
    assert.equal(byFingerprint.oldSubkeyFingerprint, expired.oldSubkeyFingerprint);
    await assert.rejects(
      rotateSubkey(key, 'CC'.repeat(20), {
        expiresInSeconds: YEAR,
        oldSubkey: 'revoke',
        passphrase: PASSPHRASE,
        now: NOW,
      }),
      rejectsWith('subkey-not-found'),
    );
  });
});

describe('parseFingerprint', () => {
  const hex = '0123456789abcdef0123456789abcdef01234567';

  it('accepts spaces, any case and 0x, and returns lower-case hex', () => {
    for (const typed of [
      hex,
      hex.toUpperCase(),
      `0x${hex}`,
      `0X ${hex.replace(/(.{4})/g, '$1 ')}`,
    ]) {
      assert.equal(parseFingerprint(typed), hex);
    }
    assert.equal(parseFingerprint('ab'.repeat(32)), 'ab'.repeat(32));
  });

  it('refuses key IDs, fragments and anything not hex', () => {
    for (const bad of [
      hex.slice(-16),
      hex.slice(-8),
      hex.slice(1),
      `${hex}0`,
      hex.replace('a', 'g'),
      '',
    ]) {
      assert.throws(() => parseFingerprint(bad), rejectsWith('fingerprint-malformed'));
    }
  });
});
