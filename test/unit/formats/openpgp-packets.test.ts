// The pure OpenPGP framing used by the products verifier, byte-exact on hand-made packets and
// against GnuPG's own fingerprint of a key it generated.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dearmor,
  publicKeyFacts,
  readPackets,
  v4Fingerprint,
} from '../../../electron/formats/openpgp-packets.ts';
import { GnupgHome } from '../../integration/openpgp/gnupg-home.ts';

describe('OpenPGP packets', () => {
  it('reads old- and new-format headers, including two-byte new lengths', () => {
    const long = new Uint8Array(200).fill(7);
    const bytes = Uint8Array.from([
      0x99,
      0x00,
      0x02,
      0x04,
      0x05, // old format, tag 6, two-byte length 2
      0xcd,
      0x03,
      0x41,
      0x42,
      0x43, // new format, tag 13, length 3
      0xcd,
      0xc0,
      0x08,
      ...long, // new format, tag 13, (0xc0-192)<<8 + 8 + 192 = 200
    ]);
    const packets = readPackets(bytes);
    assert.deepEqual(
      packets.map((p) => [p.tag, p.body.length]),
      [
        [6, 2],
        [13, 3],
        [13, 200],
      ],
    );
    assert.deepEqual([...(packets[1]?.body ?? [])], [0x41, 0x42, 0x43]);
    assert.throws(() => readPackets(Uint8Array.of(0xcd, 0x05, 0x41)), /truncated/);
    assert.throws(() => readPackets(Uint8Array.of(0x41)), /no packet header/);
  });

  it('hashes 0x99, the length and the body for a v4 fingerprint', () => {
    // SHA-1 of 99 00 01 04 (a one-byte "key" body of version 4).
    assert.equal(v4Fingerprint(Uint8Array.of(4)), '9bda2648851c894a02ce41912c50baac82f15f8c');
    assert.throws(() => v4Fingerprint(Uint8Array.of(6)), /version 6/);
  });

  it('names the fingerprint and User ID of a key GnuPG generated, as GnuPG does', async () => {
    const home = await GnupgHome.create();
    try {
      await home.gpg([
        '--passphrase',
        '',
        '--pinentry-mode',
        'loopback',
        '--quick-gen-key',
        'Packet Probe <probe@example.org>',
        'ed25519',
        'cert',
        '1y',
      ]);
      const { stdout } = await home.gpg(['--armor', '--export', 'probe@example.org']);
      const gpgFingerprint = (await home.listKeys())[0]?.fingerprint.toLowerCase();
      assert.match(gpgFingerprint ?? '', /^[0-9a-f]{40}$/);
      const facts = publicKeyFacts(stdout);
      assert.equal(facts.fingerprint, gpgFingerprint);
      assert.deepEqual(facts.userIds, ['Packet Probe <probe@example.org>']);
      assert.equal(dearmor(stdout)[0], 0x98, 'old-format public key header, as gpg writes it');
    } finally {
      await home.close();
    }
  });
});
