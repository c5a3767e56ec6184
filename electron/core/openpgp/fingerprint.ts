// OpenPGP v4 fingerprints (SHA-1 over the key packet, 20 bytes) in the form the audience reads.
import type { Key, Subkey } from 'openpgp';
import { groupHex, pgpWords, type Fingerprint } from '../../formats/fingerprint.ts';
import { OpenPgpError } from './errors.ts';

export function openpgpFingerprint(key: Key | Subkey): Fingerprint {
  const hex = key.getFingerprint().toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(hex)) throw new Error('not an OpenPGP v4 fingerprint (20 bytes)');
  return { hex, grouped: groupHex(hex), words: pgpWords(Buffer.from(hex, 'hex')) };
}

/** Accepts a fingerprint as typed, pasted or scanned: any case, spaces, an optional `0x`. */
export function normaliseFingerprint(text: string): string {
  return text.replace(/\s+/g, '').replace(/^0x/i, '').toLowerCase();
}

/**
 * A whole fingerprint, normalised: 40 hex digits (v4) or 64 (v6). Key IDs and other fragments
 * are refused, because a ceremony compares full fingerprints only.
 */
export function parseFingerprint(text: string): string {
  const hex = normaliseFingerprint(text);
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(hex)) {
    throw new OpenPgpError('fingerprint-malformed', 'not a full OpenPGP fingerprint', {
      digits: hex.length,
    });
  }
  return hex;
}
