// What the renderer sees of a runbook ceremony. Main owns the engine; this is a projection of the
// journal, rebuilt on every change, so a reloaded renderer shows exactly the same step.
import { z } from '../contract/schema-kit.ts';
import { DeviceSummary } from './device.ts';
import { ExportReport } from './media.ts';
import { NetHsmCeremonyView } from './nethsm.ts';
import { TufRootView } from './tuf.ts';
import { InTotoLayoutView } from './in-toto.ts';
import { CredentialId } from './credentials.ts';
import { FingerprintView, ProductSet, Sha256Hex } from './product.ts';

export const RunbookRole = z.enum(['ceremony-lead', 'witness', 'keyholder']);
export type RunbookRole = z.infer<typeof RunbookRole>;

export const RequirementLevel = z.enum(['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY']);
export type RequirementLevel = z.infer<typeof RequirementLevel>;

/**
 * A person taking part, by the role they hold in the runbook; v2: `holds` names the items of a
 * list held by that role (`heldBy`) which are this person's, e.g. the devices a keyholder holds.
 */
export const Participant = z.strictObject({
  role: RunbookRole,
  name: z.string().min(1).max(100),
  holds: z
    .array(z.string().regex(/^[a-z][a-z0-9-]{0,63}$/))
    .max(32)
    .optional(),
});
export type Participant = z.infer<typeof Participant>;

export const RunbookSummary = z.strictObject({
  id: z.string(),
  title: z.string(),
  file: z.string(),
  sha256: Sha256Hex,
  roles: z.array(RunbookRole),
  estimateMinutes: z.number().int(),
  /** v2: the lists whose items are each held by one person of a role, named at the start. */
  holdings: z.array(
    z.strictObject({
      role: RunbookRole,
      noun: z.string(),
      items: z.array(z.strictObject({ id: z.string(), label: z.string() })),
    }),
  ),
});
export type RunbookSummary = z.infer<typeof RunbookSummary>;

export const OutlineSection = z.strictObject({
  id: z.string(),
  title: z.string(),
  estimateMinutes: z.number().int().nullable(),
  status: z.enum(['done', 'current', 'upcoming', 'skipped']),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** Exceptions recorded at the section's steps: the outline marks the section with them. */
  exceptions: z.number().int().min(0),
  /**
   * v2: the item of a list this section is the procedure of ("Device 4 of 6", "Nitrokey HSM-4")
   * and the serial of the device it selected, once it has one; null for other sections.
   */
  item: z
    .strictObject({
      noun: z.string(),
      index: z.number().int(),
      count: z.number().int(),
      label: z.string(),
      deviceSerial: z.string().nullable(),
      /** The person who holds the item (a list with `heldBy`), who performs its steps. */
      holder: z.string().nullable(),
    })
    .nullable(),
});
export type OutlineSection = z.infer<typeof OutlineSection>;

/** A credential the current device action asks for; `repeat` means typed twice. */
export const CredentialRequest = z.strictObject({
  id: CredentialId,
  label: z.string(),
  repeat: z.boolean(),
});
export type CredentialRequest = z.infer<typeof CredentialRequest>;

export const InputRequest = z.strictObject({
  id: z.string(),
  label: z.string(),
  kind: z.enum(['text', 'choice', 'serial', 'fingerprint', 'address']),
  choices: z.array(z.string()).nullable(),
});
export type InputRequest = z.infer<typeof InputRequest>;

/** The IF conditions the current step sits under, outermost first, as the runbook reads. */
export const BranchContext = z.strictObject({
  input: z.string(),
  equals: z.string(),
  isThen: z.boolean(),
});

export const CurrentStep = z.strictObject({
  /** 1-based count of steps reached so far; a confirmation names it so a double click cannot skip. */
  number: z.number().int().min(1),
  sectionId: z.string(),
  sectionTitle: z.string(),
  kind: z.enum(['confirm', 'collect', 'action']),
  text: z.string(),
  level: RequirementLevel.nullable(),
  confirmedBy: RunbookRole.nullable(),
  /** v2: the named person who performs it (the holder of its item); null when anyone in the role may. */
  performer: z.string().nullable(),
  branches: z.array(BranchContext),
  collect: InputRequest.nullable(),
  action: z
    .strictObject({
      name: z.string(),
      title: z.string(),
      params: z.record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]),
      ),
      credentials: z.array(CredentialRequest),
      /** The action writes to a medium the operator picks (products.export). */
      needsTarget: z.boolean(),
    })
    .nullable(),
  /** Tries left, read from the device before the next PIN attempt. */
  pinHint: z.string().nullable(),
  /**
   * Steps left to END, this one included, over the branches still open ("Step N of M"): `max` is
   * null when a GO TO may loop.
   */
  stepsLeft: z.strictObject({ min: z.number().int().min(1), max: z.number().int().nullable() }),
});
export type CurrentStep = z.infer<typeof CurrentStep>;

export const StepOutcome = z.enum(['confirmed', 'performed', 'failed', 'abandoned', 'went-back']);

export const HistoryStep = z.strictObject({
  number: z.number().int(),
  sectionId: z.string(),
  text: z.string(),
  kind: z.enum(['confirm', 'collect', 'action']),
  /** The step's RFC 2119 word, so the history keeps MUST and SHOULD. */
  level: RequirementLevel.nullable(),
  outcome: StepOutcome,
  role: RunbookRole.nullable(),
  person: z.string().nullable(),
  at: z.string(),
  detail: z.string().nullable(),
});
export type HistoryStep = z.infer<typeof HistoryStep>;

export const RecordedException = z.strictObject({
  stepNumber: z.number().int(),
  role: RunbookRole,
  person: z.string(),
  expected: z.string(),
  happened: z.string(),
  decision: z.string(),
  at: z.string(),
});
export type RecordedException = z.infer<typeof RecordedException>;

export const SigningAlgorithm = z.enum(['ed25519', 'ecdsa-p256', 'ecdsa-p384']);

export const CeremonySigningKey = z.strictObject({
  algorithm: SigningAlgorithm,
  /** A per-ceremony software key, or the key the runbook designated on the device. */
  source: z.enum(['ceremony', 'device']),
  keyId: Sha256Hex,
  publicKeyPem: z.string(),
  fingerprint: FingerprintView,
});
export type CeremonySigningKey = z.infer<typeof CeremonySigningKey>;

export const CollectedInput = z.strictObject({
  id: z.string(),
  label: z.string(),
  value: z.string(),
});

export const RecordFile = z.strictObject({
  name: z.string(),
  sha256: Sha256Hex,
  sizeBytes: z.number().int(),
});
export type RecordFile = z.infer<typeof RecordFile>;

/**
 * The window's cards for each device family's part of the ceremony, one field per family that
 * has its own (the family's plugin fills it; the engine only merges them).
 */
export const FamilyViews = z.strictObject({
  /** The NetHSM of this ceremony, once its certificate was read. */
  nethsm: NetHsmCeremonyView.nullable(),
  /** TUF root metadata built or opened in this ceremony, under signature. */
  tufRoot: TufRootView.nullable(),
  /** An in-toto layout built in this ceremony, under signature. */
  inTotoLayout: InTotoLayoutView.nullable(),
});
export type FamilyViews = z.infer<typeof FamilyViews>;

export const RunbookCeremony = z.strictObject({
  ceremonyId: z.string(),
  runbook: z.strictObject({ id: z.string(), title: z.string(), sha256: Sha256Hex }),
  isRehearsal: z.boolean(),
  participants: z.array(Participant),
  startedAt: z.string(),
  outline: z.array(OutlineSection),
  current: CurrentStep.nullable(),
  history: z.array(HistoryStep),
  inputs: z.array(CollectedInput),
  device: DeviceSummary.nullable(),
  ...FamilyViews.shape,
  /**
   * The products so far, one set a device folder (the PSF ceremony: six), in the order the keys
   * were made; empty before any.
   */
  productSets: z.array(ProductSet),
  /**
   * v2: inside an item's procedure, the serial of the device that item selected (null until it
   * has one): only its set is the one the room compares now. Null outside items, where every set
   * is shown.
   */
  itemInFocus: z.strictObject({ deviceSerial: z.string().nullable() }).nullable(),
  exports: z.array(ExportReport),
  exceptions: z.array(RecordedException),
  interrupted: z
    .strictObject({ action: z.string(), stepNumber: z.number().int(), advice: z.string() })
    .nullable(),
  signingKey: CeremonySigningKey.nullable(),
  finished: z
    .strictObject({
      at: z.string(),
      journalHash: Sha256Hex,
      journalWords: z.array(z.string()).length(32),
      record: z.array(RecordFile),
    })
    .nullable(),
  journalHead: z.strictObject({ seq: z.number().int(), hash: z.string() }),
});
export type RunbookCeremony = z.infer<typeof RunbookCeremony>;

/**
 * The last ceremony, when it was abandoned: who left it, at which step and why, and its record
 * (written as at END, without products; null until written). Replayed from the journal, so it
 * survives a restart; gone once another ceremony starts.
 */
export const AbandonedCeremony = z.strictObject({
  ceremonyId: z.string(),
  runbook: z.strictObject({ id: z.string(), title: z.string(), sha256: Sha256Hex }),
  isRehearsal: z.boolean(),
  startedAt: z.string(),
  abandonedAt: z.string(),
  step: z.strictObject({ number: z.number().int().min(1), text: z.string() }),
  role: RunbookRole,
  person: z.string(),
  reason: z.string(),
  /** Steps confirmed or performed before it was abandoned. */
  stepsDone: z.number().int(),
  journalHash: Sha256Hex,
  journalWords: z.array(z.string()).length(32),
  /** The key that signed the record: always the per-ceremony software key. */
  signingKey: CeremonySigningKey.nullable(),
  /** The runbook designated a device key, which did not sign (abandoning asks for no PIN). */
  isDeviceKeyDesignated: z.boolean(),
  record: z.array(RecordFile).nullable(),
});
export type AbandonedCeremony = z.infer<typeof AbandonedCeremony>;

export const RunbookState = z.strictObject({
  available: z.array(RunbookSummary),
  ceremony: RunbookCeremony.nullable(),
  /** Set only while no ceremony is under way and the last one was abandoned. */
  abandoned: AbandonedCeremony.nullable(),
});
export type RunbookState = z.infer<typeof RunbookState>;
