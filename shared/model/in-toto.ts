// What the renderer sees of an in-toto layout under signature (issue 21): its steps and who may
// perform each (the step keys with their fingerprints), the expiry, the SHA-256 of the canonical
// bytes every maintainer signs, and who has signed. Public facts only, rebuilt from the journal.
import { z } from '../contract/schema-kit.ts';
import { FingerprintView, OpenPgpFingerprintView } from './product.ts';

export const InTotoStepKeyView = z.strictObject({
  keyid: z.string(),
  /** The functionary group and file it came from (`maintainers/alice.pub`). */
  label: z.string(),
  /** A key file's key, or a functionary's OpenPGP key (`in-toto-run --gpg`). */
  kind: z.enum(['key', 'openpgp']),
  /** SHA-256 of the public key (SubjectPublicKeyInfo DER), or the OpenPGP v4 fingerprint. */
  fingerprint: z.union([FingerprintView, OpenPgpFingerprintView]),
});
export type InTotoStepKeyView = z.infer<typeof InTotoStepKeyView>;

export const InTotoLayoutView = z.strictObject({
  /** The change from the layout it replaces (or "New layout"), line by line. */
  change: z.array(z.string()),
  expires: z.string(),
  readme: z.string(),
  steps: z.array(
    z.strictObject({
      name: z.string(),
      threshold: z.number().int(),
      keyids: z.array(z.string()),
    }),
  ),
  inspections: z.array(z.string()),
  keys: z.array(InTotoStepKeyView),
  /** The bytes every signature covers (canonical JSON of the layout's signed part). */
  canonical: z.strictObject({ sha256: FingerprintView, text: z.string(), sizeBytes: z.number() }),
  signatures: z.array(
    z.strictObject({
      maintainer: z.string(),
      kind: z.enum(['device', 'openpgp']),
      /** The device key's SHA-256 fingerprint, or the OpenPGP key's fingerprint. */
      fingerprint: z.string(),
    }),
  ),
  /** "signed by 1 of 2 maintainers needed: Ada — waiting for 1 more". */
  progress: z.strictObject({ line: z.string(), isMet: z.boolean() }),
  written: z.strictObject({ destination: z.string(), isComplete: z.boolean() }).nullable(),
});
export type InTotoLayoutView = z.infer<typeof InTotoLayoutView>;
