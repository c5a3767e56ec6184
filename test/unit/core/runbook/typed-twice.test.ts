// The one "new secret typed twice" check every family uses before its own device rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../../../electron/base/errors.ts';
import { typedTwice } from '../../../../electron/core/runbook/credentials.ts';

const text = (s: string) => SecretBytes.fromText(s);
const code = (expected: string) => (e: unknown) => e instanceof VigilError && e.code === expected;

describe('typedTwice', () => {
  it('returns the secret when both typings agree', () => {
    const secret = typedTwice(
      { newPassphrase: text('correct horse'), newPassphraseRepeat: text('correct horse') },
      'newPassphrase',
      'new passphrase',
      'passphrase-mismatch',
    );
    assert.ok(secret.equalsText('correct horse'));
  });

  it('names the typing that is missing', () => {
    assert.throws(
      () => typedTwice({ newUserPinRepeat: text('654321') }, 'newUserPin', 'new user PIN'),
      (e: unknown) => code('credentials-missing')(e) && /the new user PIN\./.test(String(e)),
    );
    assert.throws(
      () => typedTwice({ newUserPin: text('654321') }, 'newUserPin', 'new user PIN'),
      (e: unknown) => code('credentials-missing')(e) && /typed again/.test(String(e)),
    );
  });

  it('reports differing typings with the family’s code', () => {
    const typed = { newAdminPin: text('12345678'), newAdminPinRepeat: text('12345679') };
    assert.throws(() => typedTwice(typed, 'newAdminPin', 'new admin PIN'), code('pin-mismatch'));
    assert.throws(
      () => typedTwice(typed, 'newAdminPin', 'new admin PIN', 'passphrase-mismatch'),
      code('passphrase-mismatch'),
    );
  });
});
