// OpenPGP v4 fingerprints (SHA-1 over the key packet, 20 bytes) in the form the audience reads.
import type { Key, Subkey } from 'openpgp';
import { groupHex, pgpWords, type Fingerprint } from '../../formats/fingerprint.ts';

export function openpgpFingerprint(key: Key | Subkey): Fingerprint {
  const hex = key.getFingerprint().toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(hex)) throw new Error('not an OpenPGP v4 fingerprint (20 bytes)');
  return { hex, grouped: groupHex(hex), words: pgpWords(Buffer.from(hex, 'hex')) };
}

/** Accepts a fingerprint as typed or pasted: any case, with or without spaces. */
export function normaliseFingerprint(text: string): string {
  return text.replace(/\s+/g, '').toLowerCase();
}
