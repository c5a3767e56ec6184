import { z } from '../contract/schema-kit.ts';

export const KeyCurve = z.enum(['P-256', 'P-384', 'Ed25519']);
export type KeyCurve = z.infer<typeof KeyCurve>;

/** Device families Vigil knows. A rehearsal family can never yield production products. */
export const DeviceFamilyId = z.enum([
  'smartcard-hsm',
  'softhsm-rehearsal',
  'pkcs11-other',
  'yubihsm2',
  'yubihsm2-rehearsal',
  'yubikey-piv',
  'yubikey-piv-rehearsal',
  'nethsm',
  'nethsm-rehearsal',
]);
export type DeviceFamilyId = z.infer<typeof DeviceFamilyId>;

/** PKCS#11 PIN state from the token flags (pkcs11-notes §9), most severe first. */
export const PinState = z.enum([
  'locked',
  'final-try',
  'count-low',
  'to-be-changed',
  'ok',
  'not-set',
]);
export type PinState = z.infer<typeof PinState>;

export const DeviceId = z
  .string()
  .regex(/^[a-z0-9-]+:[A-Za-z0-9._-]+$/)
  .max(120);

export const DeviceSummary = z.strictObject({
  id: DeviceId,
  family: DeviceFamilyId,
  familyName: z.string(),
  isRehearsal: z.boolean(),
  moduleName: z.string(),
  slotDescription: z.string(),
  manufacturer: z.string(),
  model: z.string(),
  serial: z.string(),
  label: z.string(),
  flags: z.array(z.string()),
  userPin: PinState,
  soPin: PinState,
  isInitialized: z.boolean(),
  isDeadly: z.boolean(),
  deadlyReason: z.string().nullable(),
  curves: z.array(KeyCurve),
});
export type DeviceSummary = z.infer<typeof DeviceSummary>;

export const ModuleStatus = z.strictObject({
  name: z.string(),
  path: z.string(),
  isLoaded: z.boolean(),
  problem: z.string().nullable(),
});
export type ModuleStatus = z.infer<typeof ModuleStatus>;

/** A rehearsal device put away in its bag, keys and PINs kept, until it is taken out again. */
export const PutAwayDevice = z.strictObject({
  family: z.string(),
  familyName: z.string(),
  serial: z.string(),
});
export type PutAwayDevice = z.infer<typeof PutAwayDevice>;

export const DeviceList = z.strictObject({
  devices: z.array(DeviceSummary),
  modules: z.array(ModuleStatus),
  /** Rehearsal devices put away (the core adds them; absent from a bare registry listing). */
  putAway: z.array(PutAwayDevice).optional(),
});
export type DeviceList = z.infer<typeof DeviceList>;
