// The ceremony's OpenPGP keyring holds secret keys in memory only: a restarted Vigil (a new
// keyring) has none, and says how to get the key back instead of failing obscurely.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenPgpKeyring } from '../../../../electron/core/openpgp/ceremony/keyring.ts';
import { createPrimaryKey } from '../../../../electron/core/openpgp/index.ts';
import { VigilError } from '../../../../electron/base/errors.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';

describe('OpenPgpKeyring', () => {
  it('holds a key per ceremony, keeps its revocation certificate, and forgets it at the end', async () => {
    const key = await createPrimaryKey({
      userId: 'Keyring Rehearsal <keyring@example.org>',
      expiresInSeconds: 3600,
      passphrase: SecretBytes.fromText('keyring passphrase'),
      now: new Date(),
    });
    const fingerprint = key.getFingerprint().toUpperCase();
    const keyring = new OpenPgpKeyring();
    keyring.hold('ceremony-1', { key, revocationCertificate: 'REVOCATION' });
    // A later version of the key (renewed) keeps the certificate made at creation.
    keyring.hold('ceremony-1', { key, revocationCertificate: null });
    const held = keyring.get('ceremony-1', fingerprint);
    assert.equal(held.key, key);
    assert.equal(held.revocationCertificate, 'REVOCATION');
    assert.throws(
      () => keyring.get('ceremony-2', fingerprint),
      (e) => e instanceof VigilError && e.code === 'key-not-in-memory',
    );
    keyring.forget('ceremony-1');
    assert.throws(
      () => keyring.get('ceremony-1', fingerprint),
      (e) =>
        e instanceof VigilError &&
        e.code === 'key-not-in-memory' &&
        /Load the encrypted backup/.test(e.message),
    );
    // After a restart the keyring is new and empty.
    assert.throws(() => new OpenPgpKeyring().get('ceremony-1', fingerprint), VigilError);
  });
});
