// The PIN policy every driver applies before it sends a PIN, in one place: tries left are read
// first, a blocked PIN is reported, and a PIN on its final try is never used (Vigil never spends
// the last try; the keyholder unblocks or resets with the vendor's procedure instead).
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
