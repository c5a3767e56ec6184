// The PIN policy every driver applies before it sends a PIN, in one place: tries left are read
// first, a blocked PIN is reported, and a PIN on its final try is never used (Vigil never spends
// the last try; the keyholder unblocks or resets with the vendor's procedure instead). A new PIN
// or passphrase is typed twice and the two typings compared here, before any device sees it.
import type { SecretBytes } from '../../shared/model/secret-bytes.ts';
import { VigilError } from './errors.ts';

/** Throws unless an attempt may go ahead with `remaining` tries left; `sentence` says why not. */
export function refuseFinalTry(remaining: number, sentence: string): void {
  if (remaining <= 0) throw new VigilError('pin-locked', sentence);
  if (remaining === 1) throw new VigilError('final-try-refused', sentence, { triesLeft: 1 });
}

/** The sentence shown before an attempt, for a device that counts tries. */
export function triesLeftSentence(remaining: number, who: string): string {
  if (remaining === 0) return `The ${who} is blocked.`;
  if (remaining === 1)
    return `The ${who} has 1 try left: Vigil will not use it. Unblock or reset first.`;
  return `The ${who} has ${remaining} tries left.`;
}

export type MismatchCode = 'pin-mismatch' | 'passphrase-mismatch';

/**
 * A new secret must be typed the same twice, checked before any device is touched so a typo never
 * becomes the device's secret; a mismatch throws the family's own error, code and sentence.
 */
export function checkTypedTwice(
  first: SecretBytes,
  again: SecretBytes,
  mismatch: () => Error,
): SecretBytes {
  // SECURITY: constant time (SecretBytes.equals), so timing tells nothing of where typings part.
  if (!first.equals(again)) throw mismatch();
  return first;
}

/** The refusal most families give: "The two new PINs differ. Type them again." */
export function typingsDiffer(what: string, code: MismatchCode = 'pin-mismatch'): VigilError {
  return new VigilError(code, `The two ${what}s differ. Type them again.`);
}
