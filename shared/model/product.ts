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

export const ProductSet = z.strictObject({
  serial: z.string(),
  folder: z.string(),
  isRehearsal: z.boolean(),
  keys: z.array(ProductKey),
  files: z.array(z.strictObject({ name: z.string(), sha256: Sha256Hex, sizeBytes: z.number() })),
});
export type ProductSet = z.infer<typeof ProductSet>;
