// A message from main shown as a sentence: prose gets its capital, a name keeps its own spelling.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asSentence } from '../../../../shared/format/sentence.ts';

describe('asSentence', () => {
  it('capitalises a clause', () => {
    assert.equal(
      asSentence('this share belongs to another set'),
      'This share belongs to another set',
    );
    assert.equal(
      asSentence('new user PIN must be 6 to 15 characters'),
      'New user PIN must be 6 to 15 characters',
    );
  });

  it('keeps a file name, a path, an identifier or a serial as written', () => {
    for (const text of [
      'share-medium.vshare is not a share file',
      'vigil-shares/set-d6c13bbf/share-2.vshare: read-only medium',
      '/media/usb is read-only',
      '~/shares holds nothing',
      'archlinux~admin refused the passphrase',
      'nethsm_admin: wrong role',
      '0012345678 is not a serial this ceremony knows',
      'iPhone-camera is not a webcam',
      '`admin` was refused',
    ])
      assert.equal(asSentence(text), text, text);
  });

  it('leaves an empty text and one that starts with a space alone', () => {
    assert.equal(asSentence(''), '');
    assert.equal(asSentence(' trailing'), ' trailing');
  });
});
