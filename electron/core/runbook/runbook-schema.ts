// The runbook format: sections of DO / IF-THEN / GO TO / END steps in the PSF notation, with roles,
// RFC 2119 levels and collected inputs (v1); v2 adds lists of items (devices, keyholders) and
// procedure sections performed once for each item, the PSF "GO TO Provisioning … and come back"
// made explicit (`repeat: <list>`). Credentials never appear in a runbook.
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
  /** v2: collected once for each item, inside the procedure performed for it. */
  perItem: z.literal(true).optional(),
});

/** v2: one item of a list, e.g. one of the ceremony's devices, and the procedure done for it. */
export const ListItem = z.strictObject({
  id: Id,
  /** How the step names it to the room, e.g. "Nitrokey HSM-4, P-384". */
  label: z.string().min(1).max(200),
  /** The procedure section performed for this item. */
  procedure: Id,
  /**
   * The item of an earlier list whose device this one uses again (its keys sign now): the same
   * device must be selected, and the same person holds it.
   */
  sameDeviceAs: Id.optional(),
  /** Values the procedure's steps use as `{item.<name>}` (a key type, a keyholder). */
  with: z
    .record(z.string().regex(/^[a-z][A-Za-z0-9]{0,31}$/), z.string().min(1).max(200))
    .optional(),
});

export const ItemList = z.strictObject({
  id: Id,
  /** What one item is called: "Device" gives "Device 4 of 6". */
  label: z.string().min(1).max(64),
  /**
   * Each item is held by one person of this role (a keyholder's own device), named when the
   * ceremony starts; that person performs the item's steps confirmed by the role.
   */
  heldBy: Role.optional(),
  items: z.array(ListItem).min(1).max(32),
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
  /** v2: perform the list's items' procedures, one after another, here. */
  repeat?: string | undefined;
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
    z.strictObject({ repeat: Id }),
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
  /** v2: performed only for a list's items (`repeat`), never reached by falling through. */
  procedure: z.literal(true).optional(),
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

/** The runbook as written. */
export const RunbookText = z.strictObject({
  v: z.union([z.literal(1), z.literal(2)]),
  id: Id,
  title: z.string().min(1).max(200),
  roles: z.array(Role).min(1),
  signing: Signing.default({ key: 'ceremony' }),
  inputs: z.array(RunbookInput).max(100).default([]),
  /** v2. */
  lists: z.array(ItemList).max(8).optional(),
  sections: z.array(Section).min(1).max(200),
});
export type RunbookText = z.infer<typeof RunbookText>;

/** Where an expanded section or input belongs: an item of a list, and its place in the list. */
export interface ItemPlace {
  list: string;
  /** The list's word for an item ("Device"). */
  noun: string;
  id: string;
  label: string;
  /** 1-based, of `count`. */
  index: number;
  count: number;
  /** The role one of whose people holds the item (the list's `heldBy`). */
  heldBy?: z.infer<typeof Role>;
  /** The earlier item whose device this one uses again. */
  sameDeviceAs?: string;
}

/**
 * The runbook the engine runs: as written for v1; for v2 with every `repeat` expanded into one
 * copy of its procedure per item, in order (per-item inputs and `{item.…}` values filled in), and
 * the procedures themselves left out. Replaying a journal expands the same text the same way.
 */
export type Runbook = Omit<RunbookText, 'sections' | 'inputs'> & {
  inputs: (z.infer<typeof RunbookInput> & { item?: ItemPlace })[];
  sections: (z.infer<typeof Section> & { item?: ItemPlace })[];
};
export type Section = Runbook['sections'][number];
