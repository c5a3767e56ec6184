import { z } from '../contract/schema-kit.ts';
import { Sha256Hex } from './product.ts';

export const ExportTargetId = z
  .string()
  .regex(/^(drive|folder):[A-Za-z0-9._-]+$/)
  .max(100);

export const ExportTarget = z.strictObject({
  id: ExportTargetId,
  kind: z.enum(['removable-drive', 'picked-folder']),
  label: z.string(),
  mountPoint: z.string(),
  device: z.string().nullable(),
  sizeBytes: z.number().nullable(),
  isReadOnly: z.boolean(),
});
export type ExportTarget = z.infer<typeof ExportTarget>;

export const ExportReport = z.strictObject({
  targetId: ExportTargetId,
  destination: z.string(),
  files: z.array(z.strictObject({ name: z.string(), sha256: Sha256Hex, sizeBytes: z.number() })),
  isVerified: z.literal(true),
  canEject: z.boolean(),
});
export type ExportReport = z.infer<typeof ExportReport>;
