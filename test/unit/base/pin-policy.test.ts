// The one final-try policy the PKCS#11, PIV and OpenPGP-card drivers apply before a PIN is sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VigilError } from '../../../electron/base/errors.ts';
import { refuseFinalTry, triesLeftSentence } from '../../../electron/base/pin-policy.ts';

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
