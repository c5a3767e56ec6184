import { z } from '../contract/schema-kit.ts';
import { KeyCurve } from './device.ts';

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const FingerprintView = z.strictObject({
  hex: Sha256Hex,
  grouped: z.string(),
  words: z.array(z.string()).length(32),
});
export type FingerprintView = z.infer<typeof FingerprintView>;

/** A key pair generated on the device, as the ceremony products describe it. */
export const ProductKey = z.strictObject({
  role: z.enum(['root', 'targets']),
  curve: KeyCurve,
  rawFile: z.string(),
  pemFile: z.string(),
  fingerprint: FingerprintView,
  /** CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE of the private key. */
  isOnDevice: z.boolean(),
  /** What the device attested about the key, one line, shown as a QR for the camera. */
  attestationSummary: z.string().max(300).optional(),
});
export type ProductKey = z.infer<typeof ProductKey>;

const OpenPgpFingerprintHex = z.string().regex(/^[0-9a-f]{40}$/);

/** A v4 OpenPGP fingerprint (SHA-1, 20 bytes) as the audience reads it: grouped hex and 20 words. */
export const OpenPgpFingerprintView = z.strictObject({
  hex: OpenPgpFingerprintHex,
  grouped: z.string(),
  words: z.array(z.string()).length(20),
});
export type OpenPgpFingerprintView = z.infer<typeof OpenPgpFingerprintView>;

export const OpenPgpSubkeyView = z.strictObject({
  role: z.enum(['sign', 'encrypt', 'authenticate']),
  fingerprint: OpenPgpFingerprintHex,
  algorithm: z.string(),
  expires: z.string().nullable(),
  status: z.enum(['valid', 'expired', 'revoked']),
  /** Serials of the OpenPGP cards this ceremony moved the subkey onto. */
  cards: z.array(z.string()),
});
export type OpenPgpSubkeyView = z.infer<typeof OpenPgpSubkeyView>;

/** An OpenPGP key the ceremony made, renewed or certified, as its products describe it. */
export const OpenPgpProductKey = z.strictObject({
  purpose: z.enum(['primary', 'cycle', 'certified']),
  userIds: z.array(z.string()),
  algorithm: z.string(),
  expires: z.string().nullable(),
  publicKeyFile: z.string(),
  fingerprint: OpenPgpFingerprintView,
  subkeys: z.array(OpenPgpSubkeyView),
  /** The fingerprint of the key that certified this one in the ceremony. */
  certifiedBy: OpenPgpFingerprintHex.nullable(),
});
export type OpenPgpProductKey = z.infer<typeof OpenPgpProductKey>;

export const ProductSet = z.strictObject({
  serial: z.string(),
  folder: z.string(),
  isRehearsal: z.boolean(),
  keys: z.array(ProductKey),
  openpgpKeys: z.array(OpenPgpProductKey).optional(),
  files: z.array(z.strictObject({ name: z.string(), sha256: Sha256Hex, sizeBytes: z.number() })),
});
export type ProductSet = z.infer<typeof ProductSet>;
