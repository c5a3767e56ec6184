import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import {
  normaliseFingerprint,
  openpgpFingerprint,
} from '../../../../electron/core/openpgp/fingerprint.ts';
import wordlist from '../../../../resources/wordlists/pgp-wordlist.json' with { type: 'json' };

describe('openpgpFingerprint', () => {
  it('gives hex, grouped hex and one PGP word per byte of a v4 fingerprint', async () => {
    const { privateKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'Fingerprint Test' }],
      format: 'object',
    });
    const fingerprint = openpgpFingerprint(privateKey);
    assert.equal(fingerprint.hex, privateKey.getFingerprint());
    assert.match(fingerprint.hex, /^[0-9a-f]{40}$/);
    assert.equal(fingerprint.grouped.split(' ').length, 10);
    assert.equal(fingerprint.grouped.replaceAll(' ', ''), fingerprint.hex.toUpperCase());
    assert.equal(fingerprint.words.length, 20);
    const bytes = Buffer.from(fingerprint.hex, 'hex');
    assert.equal(fingerprint.words[0], wordlist.evenPosition[bytes[0] ?? -1]);
    assert.equal(fingerprint.words[1], wordlist.oddPosition[bytes[1] ?? -1]);
    assert.equal(normaliseFingerprint(fingerprint.grouped), fingerprint.hex);
  });

  it('rejects a v6 fingerprint (32 bytes)', async () => {
    const { privateKey } = await openpgp.generateKey({
      type: 'curve25519',
      userIDs: [{ name: 'V6' }],
      format: 'object',
      config: { v6Keys: true },
    });
    assert.throws(() => openpgpFingerprint(privateKey), /v4/);
  });
});
