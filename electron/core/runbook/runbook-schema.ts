// The runbook format (v1): sections of DO / IF-THEN / GO TO / END steps in the PSF notation, with
// roles, RFC 2119 levels and collected inputs. Credentials never appear in a runbook.
import { z } from 'zod';

const Id = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'ids are lower-case words joined by hyphens');
export const Role = z.enum(['ceremony-lead', 'witness', 'keyholder']);
export const Level = z.enum(['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY']);

export const RunbookInput = z.strictObject({
  id: Id,
  label: z.string().min(1).max(200),
  kind: z.enum(['text', 'choice', 'serial', 'fingerprint', 'address']),
  choices: z.array(z.string().min(1).max(64)).min(2).max(16).optional(),
  /** Checked later against a device fact, e.g. "the serial on the device equals this one". */
  mustEqual: z.enum(['device.serial']).optional(),
});

export const Condition = z.strictObject({
  input: Id,
  equals: z.string().max(64),
});

export const DeviceAction = z.strictObject({
  action: z
    .string()
    .regex(/^[a-z][A-Za-z0-9]*\.[a-z][A-Za-z0-9]*$/, 'actions are family.operation'),
  with: z
    .record(
      z.string(),
      z.union([
        z.string().max(200),
        z.number(),
        z.boolean(),
        // A short list, e.g. the subkey roles to renew.
        z.array(z.string().max(64)).max(16),
      ]),
    )
    .optional(),
  /** What the people in the room are told; the action's own title is shown when absent. */
  text: z.string().min(1).max(2000).optional(),
});

export interface Step {
  do?: string | z.infer<typeof DeviceAction> | undefined;
  level?: z.infer<typeof Level> | undefined;
  confirmedBy?: z.infer<typeof Role> | undefined;
  collect?: string | undefined;
  if?: z.infer<typeof Condition> | undefined;
  then?: Step[] | undefined;
  else?: Step[] | undefined;
  goto?: string | undefined;
  end?: true | undefined;
}

export const Step: z.ZodType<Step> = z.lazy(() =>
  z.union([
    z.strictObject({
      do: z.union([z.string().min(1).max(2000), DeviceAction]),
      level: Level.optional(),
      confirmedBy: Role.optional(),
      collect: Id.optional(),
    }),
    z.strictObject({
      if: Condition,
      then: z.array(Step).min(1).max(200),
      else: z.array(Step).max(200).optional(),
    }),
    z.strictObject({ goto: Id }),
    z.strictObject({ end: z.literal(true) }),
  ]),
);

export const Section = z.strictObject({
  id: Id,
  title: z.string().min(1).max(200),
  estimateMinutes: z
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .optional(),
  steps: z.array(Step).min(1).max(500),
});

/**
 * Who signs the ceremony's attestation: a per-ceremony software key (the default), or a key the
 * runbook generates on a device whose family can sign records (its key-generating action with that
 * role), used at END with its PIN.
 */
export const Signing = z.union([
  z.strictObject({ key: z.literal('ceremony') }),
  z.strictObject({ key: z.literal('device'), role: z.enum(['root', 'targets']) }),
]);
export type Signing = z.infer<typeof Signing>;

export const Runbook = z.strictObject({
  v: z.literal(1),
  id: Id,
  title: z.string().min(1).max(200),
  roles: z.array(Role).min(1),
  signing: Signing.default({ key: 'ceremony' }),
  inputs: z.array(RunbookInput).max(100).default([]),
  sections: z.array(Section).min(1).max(200),
});
export type Runbook = z.infer<typeof Runbook>;
export type Section = z.infer<typeof Section>;
