// Fingerprints as the audience sees them: SHA-256 of the SPKI DER, grouped hex, PGP words.
import { createHash } from 'node:crypto';
import wordlist from '../../resources/wordlists/pgp-wordlist.json' with { type: 'json' };
import { bytesToHex } from './der.ts';

export interface Fingerprint {
  /** Lower-case hex, 64 characters for SHA-256: this exact string is the QR payload. */
  hex: string;
  /** Upper-case groups of four for reading aloud. */
  grouped: string;
  /** One PGP word per byte. */
  words: string[];
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** PGP word list: even byte positions use the two-syllable list, odd positions the other. */
export function pgpWords(bytes: Uint8Array): string[] {
  return Array.from(bytes, (byte, index) => {
    const list = index % 2 === 0 ? wordlist.evenPosition : wordlist.oddPosition;
    const word = list[byte];
    if (word === undefined) throw new RangeError('PGP word list is incomplete');
    return word;
  });
}

export function groupHex(hex: string, size = 4): string {
  return (hex.toUpperCase().match(new RegExp(`.{1,${size}}`, 'g')) ?? []).join(' ');
}

/** The SHA-256 of any bytes as the audience sees it (a public key's SPKI, metadata's canonical bytes). */
export function spkiFingerprint(spki: Uint8Array): Fingerprint {
  const digest = createHash('sha256').update(spki).digest();
  const hex = bytesToHex(digest);
  return { hex, grouped: groupHex(hex), words: pgpWords(digest) };
}
