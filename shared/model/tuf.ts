// What the renderer sees of TUF root metadata under signature (issue 20): the change from the
// previous trusted version in people's words, each key with its owner and fingerprint, who has
// signed and who is still to, and the canonical bytes' SHA-256 the room compares before a device
// signs. Public facts only, rebuilt from the journal.
import { z } from '../contract/schema-kit.ts';
import { FingerprintView } from './product.ts';

export const TufKeyView = z.strictObject({
  keyid: z.string(),
  /** The keyholder or device the key belongs to, as the metadata names it. */
  owner: z.string(),
  /** The device holding it (its serial), as the metadata names it; null when it names none. */
  device: z.string().nullable(),
  /** The top-level roles whose keys it is in this version (a removed key: those it leaves). */
  roles: z.array(z.string()),
  change: z.enum(['added', 'removed', 'kept']),
  /** SHA-256 of the public key (SubjectPublicKeyInfo DER). */
  fingerprint: FingerprintView.nullable(),
  /** It has signed this version (a valid signature is on it). */
  hasSigned: z.boolean(),
});
export type TufKeyView = z.infer<typeof TufKeyView>;

export const TufRootView = z.strictObject({
  version: z.number().int(),
  expires: z.string(),
  /** The change from the previous trusted version (or "New root, version 1"), line by line. */
  change: z.array(z.string()),
  keys: z.array(TufKeyView),
  /** Per threshold that must be met: "root keys of version 1: signed 1 of 2 needed: … — waiting for …". */
  progress: z.array(z.strictObject({ line: z.string(), isMet: z.boolean() })),
  /** The bytes every signature covers (OLPC canonical JSON of `signed`). */
  canonical: z.strictObject({ sha256: FingerprintView, text: z.string(), sizeBytes: z.number() }),
  isTrusted: z.boolean(),
  /** targets.json for the offline targets role, when the ceremony built one. */
  targets: z
    .strictObject({
      version: z.number().int(),
      expires: z.string(),
      files: z.array(
        z.strictObject({
          path: z.string(),
          length: z.number().int(),
          sha256: z.string().nullable(),
        }),
      ),
      canonical: z.strictObject({
        sha256: FingerprintView,
        text: z.string(),
        sizeBytes: z.number(),
      }),
      progress: z.strictObject({ line: z.string(), isMet: z.boolean() }),
    })
    .nullable(),
  /** Where this ceremony wrote it last: the complete metadata, or the signing event. */
  written: z.strictObject({ destination: z.string(), isComplete: z.boolean() }).nullable(),
});
export type TufRootView = z.infer<typeof TufRootView>;
