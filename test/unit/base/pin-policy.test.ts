// The one final-try policy the PKCS#11, PIV and OpenPGP-card drivers apply before a PIN is sent,
// and the one "new secret typed twice" comparison every family uses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VigilError } from '../../../electron/base/errors.ts';
import {
  checkTypedTwice,
  refuseFinalTry,
  triesLeftSentence,
  typingsDiffer,
} from '../../../electron/base/pin-policy.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';

const refused = (code: string) => (e: unknown) => e instanceof VigilError && e.code === code;

describe('PIN policy', () => {
  it('lets an attempt go ahead with two or more tries left', () => {
    assert.doesNotThrow(() => refuseFinalTry(2, triesLeftSentence(2, 'PIN')));
    assert.equal(triesLeftSentence(3, 'admin PIN'), 'The admin PIN has 3 tries left.');
  });

  it('never spends the final try', () => {
    assert.throws(
      () => refuseFinalTry(1, triesLeftSentence(1, 'PIN')),
      refused('final-try-refused'),
    );
    assert.match(triesLeftSentence(1, 'PUK'), /1 try left: Vigil will not use it/);
  });

  it('reports a blocked PIN as locked', () => {
    assert.throws(() => refuseFinalTry(0, triesLeftSentence(0, 'PIN')), refused('pin-locked'));
    assert.equal(triesLeftSentence(0, 'user PIN'), 'The user PIN is blocked.');
  });
});

describe('checkTypedTwice', () => {
  const text = (s: string) => SecretBytes.fromText(s);

  it('returns the first typing when both are the same', () => {
    const first = text('654321');
    assert.equal(
      checkTypedTwice(first, text('654321'), () => typingsDiffer('new PIN')),
      first,
    );
  });

  it('throws the caller’s error, code and sentence, when the typings differ', () => {
    assert.throws(
      () => checkTypedTwice(text('654321'), text('654322'), () => typingsDiffer('new PIN')),
      (e: unknown) =>
        refused('pin-mismatch')(e) &&
        (e as Error).message === 'The two new PINs differ. Type them again.',
    );
    assert.throws(
      () =>
        checkTypedTwice(text('correct horse'), text('correct horse '), () =>
          typingsDiffer('new passphrase', 'passphrase-mismatch'),
        ),
      (e: unknown) =>
        refused('passphrase-mismatch')(e) &&
        (e as Error).message === 'The two new passphrases differ. Type them again.',
    );
    class OwnError extends Error {}
    assert.throws(
      () => checkTypedTwice(text('1234567'), text('12345678'), () => new OwnError('differ')),
      OwnError,
    );
  });

  it('compares bytes, not text: a prefix or another encoding is not the same', () => {
    const differ = () => typingsDiffer('new PIN');
    assert.throws(() => checkTypedTwice(text('123456'), text('1234567'), differ));
    assert.throws(() => checkTypedTwice(text('é'), text('e\u0301'), differ));
    assert.throws(() => checkTypedTwice(SecretBytes.fromBytes(Uint8Array.of(0)), text(''), differ));
  });
});
