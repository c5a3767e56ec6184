// The ceremony transcript (transcript.json of a ceremony record): everything that happened, built
// from the journal when the ceremony ends. The record's printable HTML/PDF and its in-toto
// predicate are derived from it, and the window shows it (runbook.transcript) as this same data.
import { z } from '../contract/schema-kit.ts';

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const Role = z.enum(['ceremony-lead', 'witness', 'keyholder']);

export const TRANSCRIPT_KIND = 'vigil.ceremony-transcript';

export const TranscriptStep = z.strictObject({
  number: z.number().int().min(1),
  section: z.strictObject({ id: z.string(), title: z.string() }),
  text: z.string(),
  kind: z.enum(['confirm', 'collect', 'action']),
  level: z.enum(['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY']).nullable(),
  action: z.string().nullable(),
  outcome: z.enum(['confirmed', 'performed', 'failed', 'abandoned', 'went-back']),
  confirmedBy: z.strictObject({ role: Role, name: z.string() }).nullable(),
  at: z.string(),
  detail: z.string().nullable(),
});
export type TranscriptStep = z.infer<typeof TranscriptStep>;

/**
 * How a ceremony that did not reach its END ended. Absent from a transcript of a ceremony that
 * reached END, so those stay exactly as v1 wrote them; a reader that does not know this field
 * refuses the transcript (the object is strict) rather than taking it for a finished ceremony.
 */
export const TranscriptAbandoned = z.strictObject({
  kind: z.literal('abandoned'),
  /** When the ceremony was abandoned (the journal's first runbook.abandoned line). */
  at: z.string(),
  /** The step it was at: nobody confirmed it. */
  step: z.strictObject({
    number: z.number().int().min(1),
    section: z.strictObject({ id: z.string(), title: z.string() }),
    text: z.string(),
  }),
  abandonedBy: z.strictObject({ role: Role, name: z.string() }),
  reason: z.string(),
  /**
   * The per-ceremony software key that signed the record, and why that key: abandoning asks nobody
   * for a device PIN, so a runbook that designates a device key is signed by this one instead.
   */
  signedBy: z.strictObject({ keyId: Sha256Hex, note: z.string() }),
});
export type TranscriptAbandoned = z.infer<typeof TranscriptAbandoned>;

export const TranscriptEnding = z.discriminatedUnion('kind', [TranscriptAbandoned]);
export type TranscriptEnding = z.infer<typeof TranscriptEnding>;

export const Transcript = z.strictObject({
  v: z.literal(1),
  kind: z.literal(TRANSCRIPT_KIND),
  rehearsal: z.boolean(),
  ceremonyId: z.string(),
  runbook: z.strictObject({
    id: z.string(),
    title: z.string(),
    sha256: Sha256Hex,
    file: z.string(),
  }),
  startedAt: z.string(),
  /** When the ceremony ended: its END, or the moment it was abandoned (see `ending`). */
  finishedAt: z.string(),
  /** Absent: the ceremony reached its END. */
  ending: TranscriptEnding.optional(),
  /** `holds`: v2, the labels of the items (devices) the person held and performed the steps of. */
  participants: z.array(
    z.strictObject({ role: Role, name: z.string(), holds: z.array(z.string()).optional() }),
  ),
  /** The per-ceremony signing key(s): a crash loses the in-memory key, so a new one is journalled. */
  signingKeys: z.array(
    z.strictObject({
      algorithm: z.enum(['ed25519', 'ecdsa-p256', 'ecdsa-p384']),
      source: z.enum(['ceremony', 'device']),
      keyId: Sha256Hex,
      publicKeyPem: z.string(),
      introducedAt: z.string(),
    }),
  ),
  sections: z.array(
    z.strictObject({
      id: z.string(),
      title: z.string(),
      estimateMinutes: z.number().int().nullable(),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
    }),
  ),
  devices: z.array(
    z.strictObject({
      family: z.string(),
      manufacturer: z.string(),
      model: z.string(),
      serial: z.string(),
      label: z.string(),
      isRehearsal: z.boolean(),
    }),
  ),
  inputs: z.array(
    z.strictObject({
      id: z.string(),
      label: z.string(),
      value: z.string(),
      stepNumber: z.number().int(),
    }),
  ),
  steps: z.array(TranscriptStep),
  exceptions: z.array(
    z.strictObject({
      stepNumber: z.number().int(),
      role: Role,
      person: z.string(),
      expected: z.string(),
      happened: z.string(),
      decision: z.string(),
      at: z.string(),
    }),
  ),
  /** Product files, named relative to the record folder (products/...). */
  products: z.array(
    z.strictObject({ name: z.string(), sha256: Sha256Hex, sizeBytes: z.number().int() }),
  ),
  exports: z.array(z.strictObject({ target: z.string(), files: z.number().int(), at: z.string() })),
  journal: z.strictObject({
    file: z.string(),
    entries: z.number().int(),
    firstSeq: z.number().int(),
    finalHash: Sha256Hex,
    finalHashWords: z.array(z.string()).length(32),
  }),
});
export type Transcript = z.infer<typeof Transcript>;
