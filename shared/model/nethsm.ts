// What the renderer sees of a NetHSM ceremony: the pinned TLS certificate (compared by the
// audience before anything is sent), the users, namespaces and keys made, and the backup. Public
// facts only, rebuilt from the journal.
import { z } from '../contract/schema-kit.ts';
import { FingerprintView, OpenPgpFingerprintView, Sha256Hex } from './product.ts';

export const NetHsmRole = z.enum(['Administrator', 'Operator', 'Metrics', 'Backup']);
export type NetHsmRole = z.infer<typeof NetHsmRole>;

export const NetHsmUserView = z.strictObject({
  id: z.string(),
  role: NetHsmRole,
  realName: z.string(),
  tags: z.array(z.string()),
});
export type NetHsmUserView = z.infer<typeof NetHsmUserView>;

export const NetHsmKeyView = z.strictObject({
  id: z.string(),
  namespace: z.string().nullable(),
  type: z.string(),
  mechanisms: z.array(z.string()),
  tags: z.array(z.string()),
  /** SHA-256 of the public key's DER SubjectPublicKeyInfo. */
  fingerprint: FingerprintView,
  openpgpFingerprint: OpenPgpFingerprintView.nullable(),
  isCertificateStored: z.boolean(),
  isTestSignatureVerified: z.boolean(),
});
export type NetHsmKeyView = z.infer<typeof NetHsmKeyView>;

export const NetHsmCeremonyView = z.strictObject({
  address: z.string(),
  /** SHA-256 of the appliance's TLS certificate (DER), read before any request is sent. */
  tlsFingerprint: FingerprintView,
  isPinned: z.boolean(),
  state: z.enum(['Unprovisioned', 'Locked', 'Operational']).nullable(),
  deviceId: z.string().nullable(),
  users: z.array(NetHsmUserView),
  namespaces: z.array(z.string()),
  keys: z.array(NetHsmKeyView),
  backup: z
    .strictObject({ sha256: Sha256Hex, sizeBytes: z.number().int(), isValidated: z.boolean() })
    .nullable(),
});
export type NetHsmCeremonyView = z.infer<typeof NetHsmCeremonyView>;
