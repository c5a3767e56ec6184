import { z } from '../contract/schema-kit.ts';
import { DeviceSummary, KeyCurve, DeviceFamilyId } from './device.ts';
import { ProductSet } from './product.ts';
import { ExportReport } from './media.ts';

/** The wizard's steps in order; main owns which one is current. */
export const CeremonyStepId = z.enum([
  'choose-device',
  'credentials',
  'generate-keys',
  'fingerprints',
  'export',
  'done',
]);
export type CeremonyStepId = z.infer<typeof CeremonyStepId>;

export const InterruptedAction = z.strictObject({
  action: z.string(),
  startedSeq: z.number().int(),
  advice: z.string(),
});

export const CeremonyState = z.strictObject({
  ceremonyId: z.string(),
  step: CeremonyStepId,
  family: DeviceFamilyId.nullable(),
  device: DeviceSummary.nullable(),
  curve: KeyCurve.nullable(),
  products: ProductSet.nullable(),
  exports: z.array(ExportReport),
  interrupted: InterruptedAction.nullable(),
  /** Tries-left hint read from the device before the next PIN attempt. */
  pinHint: z.string().nullable(),
  journalHead: z.strictObject({ seq: z.number().int(), hash: z.string() }),
});
export type CeremonyState = z.infer<typeof CeremonyState>;
