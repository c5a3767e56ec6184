// What "Verify a ceremony folder" shows: `vigil verify`'s typed report (FolderReport in
// electron/core/verification) brought into one shape for every kind of folder — a verdict, the
// rehearsal/production marking, then one table of checks per device folder or record.
import { z } from '../contract/schema-kit.ts';
import { PIV_PIN_POLICIES, PIV_TOUCH_POLICIES } from './verification-options.ts';

/** One check's result, in the words `vigil verify` prints: ok, WARN, FAIL. */
export const VerificationStatus = z.enum(['ok', 'warn', 'fail']);
export type VerificationStatus = z.infer<typeof VerificationStatus>;

/**
 * The whole folder, as a ceremony lead reads it. `warnings` passes (exit code 0) but has checks a
 * person must read; `unverifiable` means nothing was checked (exit code 2); `abandoned` is an
 * intact record of a ceremony that did not reach its END (exit code 4): never a pass.
 */
export const VerificationOutcome = z.enum([
  'ok',
  'warnings',
  'failed',
  'unverifiable',
  'abandoned',
]);
export type VerificationOutcome = z.infer<typeof VerificationOutcome>;

/** What a device folder or record says it is; `unmarked`: nothing readable says either. */
export const VerificationMarking = z.enum(['rehearsal', 'production', 'unmarked']);
export type VerificationMarking = z.infer<typeof VerificationMarking>;

/** The folder as a whole: `mixed` holds rehearsal and production products together. */
export const FolderMarking = z.enum(['rehearsal', 'production', 'mixed', 'unmarked']);
export type FolderMarking = z.infer<typeof FolderMarking>;

export const VerificationCheck = z.strictObject({
  /** Stable machine name, as `vigil verify` prints it: 'sha256sums', 'key:root', … */
  check: z.string().max(200),
  status: VerificationStatus,
  /** One line for a person: what was found, or why it failed. */
  detail: z.string().max(4000),
});
export type VerificationCheck = z.infer<typeof VerificationCheck>;

export const VerificationFact = z.strictObject({
  label: z.string().max(100),
  value: z.string().max(1000),
});
export type VerificationFact = z.infer<typeof VerificationFact>;

/**
 * One table: a ceremony record, a PIV archive's archive-wide checks, one device folder, or the
 * products folder itself (`folder`: what sits beside the device folders, or how many tables more
 * a report too large for the window holds).
 */
export const VerificationGroup = z.strictObject({
  /** Unique within the report. */
  id: z.string().max(4000),
  kind: z.enum(['record', 'archive', 'device', 'folder']),
  title: z.string().max(300),
  /** The folder the checks are about, as the verifier names it. */
  path: z.string().max(4000),
  /** The worst of its checks. */
  status: VerificationStatus,
  /** Null where a marking does not apply (a PIV archive's archive-wide checks). */
  marking: VerificationMarking.nullable(),
  facts: z.array(VerificationFact).max(20),
  /** FAIL first, then WARN, then ok; in the verifier's order within each. */
  checks: z.array(VerificationCheck).max(500),
});
export type VerificationGroup = z.infer<typeof VerificationGroup>;

/** A TUF role in the root.json a PIV archive was compared with. */
export const RootMetadataRole = z.strictObject({
  role: z.string().max(100),
  threshold: z.number().int(),
  keyCount: z.number().int(),
  /** Distinct keys whose signature over this root.json verifies. */
  signedCount: z.number().int(),
  /** Only the root role must reach its threshold over root.json. */
  isRequired: z.boolean(),
  isThresholdMet: z.boolean(),
  attestedKeys: z.number().int(),
  /** Keyids (first 8 hex) no device in the archive attested. */
  unattestedKeyids: z.array(z.string().max(100)).max(100),
});
export type RootMetadataRole = z.infer<typeof RootMetadataRole>;

/** One root.json version a PIV archive holds, checked by its own root role. */
export const RootVersionSummary = z.strictObject({
  version: z.number().int(),
  expires: z.string().max(100),
  isExpired: z.boolean(),
  /** Every file with these bytes, root.json first. */
  files: z.array(z.string().max(4000)).max(20),
  /** Null when it has no root role. */
  rootThreshold: z.number().int().nullable(),
  /** Distinct root keys whose signature over it verifies. */
  rootSignedCount: z.number().int(),
  invalidSignatureCount: z.number().int(),
  /** Its root role signed it to its threshold. */
  isTrusted: z.boolean(),
  /** Ceremonies compared with it ('' for a keys or device folder on its own). */
  usedBy: z.array(z.string().max(300)).max(50),
});
export type RootVersionSummary = z.infer<typeof RootVersionSummary>;

/** One root.json a PIV archive's devices were compared with; the newer fields are optional. */
const rootMetadataFields = {
  file: z.string().max(4000),
  version: z.number().int(),
  expires: z.string().max(100),
  isExpired: z.boolean(),
  roles: z.array(RootMetadataRole).max(50),
  /** Its root role signed it to its threshold; if not, the roles it gives are not shown as true. */
  isTrusted: z.boolean().optional(),
  /** The ceremony compared with it; null for a keys or device folder on its own. */
  ceremony: z.string().max(300).nullable().optional(),
  /** Why this root.json is the one of the ceremony's time. */
  chosenBecause: z.string().max(4000).optional(),
};

/** One ceremony's root.json, when an archive holds several ceremonies. */
export const CeremonyRootSummary = z.strictObject(rootMetadataFields);
export type CeremonyRootSummary = z.infer<typeof CeremonyRootSummary>;

/** The root.json compared (with several ceremonies, the last one's), and every version found. */
export const RootMetadataSummary = z.strictObject({
  ...rootMetadataFields,
  /** Each ceremony's root.json, when there are several; empty otherwise. */
  ceremonyRoots: z.array(CeremonyRootSummary).max(50).optional(),
  /** Every root.json version found or given, oldest first. */
  versions: z.array(RootVersionSummary).max(100).optional(),
});
export type RootMetadataSummary = z.infer<typeof RootMetadataSummary>;

/**
 * One attested key found by its content (kind `attestation-scan`): what the attestation says and
 * where its chain ended. Fields read from a certificate whose chain failed are `isVerified: false`
 * and are shown as unverified.
 */
export const AttestedKeyRow = z.strictObject({
  /** The file (and `#n` within it) the attestation came from, relative to the folder. */
  source: z.string().max(4000),
  /** 'YubiKey PIV', 'YubiKey OpenPGP', 'YubiHSM 2'. */
  device: z.string().max(100),
  status: VerificationStatus,
  /** Stable reason code (README: `vigil verify --json`): 'verified', 'signature-invalid', … */
  reason: z.string().max(100),
  /** Every problem in words, or where the chain ended. */
  detail: z.string().max(4000),
  isVerified: z.boolean(),
  isRehearsal: z.boolean(),
  serial: z.string().max(100).nullable(),
  firmware: z.string().max(100).nullable(),
  /** PIV slot, OpenPGP key, or YubiHSM 2 object id and label. */
  slotOrObject: z.string().max(300).nullable(),
  keyAlgorithm: z.string().max(100),
  policies: z.array(z.string().max(300)).max(40),
  /** SHA-256 of the attested key's SubjectPublicKeyInfo, hex. */
  attestedSpkiSha256: z.string().max(100),
  chainEnd: z.string().max(300).nullable(),
  /** Published certificates and key files holding the same key. */
  sameKeyIn: z.array(z.string().max(4000)).max(50),
});
export type AttestedKeyRow = z.infer<typeof AttestedKeyRow>;

export const FolderVerification = z.strictObject({
  folder: z.string().max(4000),
  /** Which verifier ran; null when nothing could be verified. */
  kind: z
    .enum([
      'ceremony-record',
      'piv-archive',
      'products',
      'tuf-metadata',
      'in-toto-layout',
      'attestation-scan',
    ])
    .nullable(),
  outcome: VerificationOutcome,
  /**
   * `vigil verify`'s exit code: 0 verified, 1 verification failed, 2 could not verify, 4 the
   * intact record of an abandoned ceremony.
   */
  exitCode: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(4)]),
  marking: FolderMarking,
  /** True when anything verified is a rehearsal product. */
  isRehearsal: z.boolean(),
  /** Device folders and records by marking. */
  markingCounts: z.strictObject({
    rehearsal: z.number().int(),
    production: z.number().int(),
    unmarked: z.number().int(),
  }),
  /** Checks by status, over every group. */
  counts: z.strictObject({ ok: z.number().int(), warn: z.number().int(), fail: z.number().int() }),
  /** Why nothing could be verified (outcome `unverifiable`), for a person. */
  problem: z.string().max(4000).nullable(),
  /** Failing groups first, then those with warnings, then the rest. */
  groups: z.array(VerificationGroup).max(500),
  rootMetadata: RootMetadataSummary.nullable(),
  /** Kind `attestation-scan`: one row per attested key; empty for the other kinds. */
  attestedKeys: z.array(AttestedKeyRow).max(500),
  /** Outcome `abandoned`: when, at which step, by whom and why, as the record says. */
  abandonment: z
    .strictObject({
      at: z.string().max(100),
      stepNumber: z.number().int(),
      stepText: z.string().max(4000),
      role: z.string().max(100),
      person: z.string().max(1000),
      reason: z.string().max(4000),
    })
    .nullable(),
  /** The files main was given through its dialogs, shown so the person knows what was used. */
  rootMetadataFile: z.string().max(4000).nullable(),
  witnessKeyFiles: z.array(z.string().max(4000)).max(50),
  /** The report as `vigil verify` prints it. */
  report: z.string().max(1_000_000),
});
export type FolderVerification = z.infer<typeof FolderVerification>;

/** A verification under way, as far as it has read (the folder is main's pick). */
export const VerificationProgress = z.strictObject({
  folder: z.string().max(4000),
  filesRead: z.number().int().nonnegative(),
  bytesRead: z.number().int().nonnegative(),
  /** Files, folders and other entries looked at (each counts against the verifier's limit). */
  entriesSeen: z.number().int().nonnegative(),
  elapsedMs: z.number().int().nonnegative(),
  /** The file being read, relative to the folder, escaped as the report shows names. */
  current: z.string().max(300).nullable(),
});
export type VerificationProgress = z.infer<typeof VerificationProgress>;

export const PivPinPolicyName = z.enum(PIV_PIN_POLICIES);
export const PivTouchPolicyName = z.enum(PIV_TOUCH_POLICIES);
