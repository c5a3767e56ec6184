// The ceremony transcript (transcript.json): everything that happened, built from the journal at
// END. The printable HTML/PDF and the in-toto predicate are both derived from this one record.
import { z } from 'zod';

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const Role = z.enum(['ceremony-lead', 'witness', 'keyholder']);

export const TRANSCRIPT_KIND = 'vigil.ceremony-transcript';
export const PREDICATE_TYPE = 'https://vigil.dev/attestation/ceremony/v1';

/** File names of a ceremony record folder (the `--out` of `vigil run`, or an exported record). */
export const RecordFiles = {
  transcriptJson: 'transcript.json',
  transcriptHtml: 'transcript.html',
  transcriptPdf: 'transcript.pdf',
  journal: 'journal.jsonl',
  runbook: 'runbook.yaml',
  envelope: 'ceremony.intoto.dsse.json',
  productsFolder: 'products',
} as const;

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
  finishedAt: z.string(),
  participants: z.array(z.strictObject({ role: Role, name: z.string() })),
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
