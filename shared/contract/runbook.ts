import { call, event, NoArgs, secret, z } from './schema-kit.ts';
import { nethsmErrorCodes, openpgpErrorCodes } from './error-codes.ts';
import { ExportReport, ExportTargetId } from '../model/media.ts';
import { Participant, RunbookRole, RunbookState } from '../model/runbook.ts';
import { Transcript } from '../model/transcript.ts';
import {
  credentialFieldKind,
  credentialFields,
  type CredentialField,
} from '../model/credential-fields.ts';
import { credentialText } from '../model/credentials.ts';
import { RunbookPreview } from '../model/runbook-preview.ts';

/** Every credential field, optional, each arriving as a string and leaving as SecretBytes. */
const PerformCredentials = z.strictObject(
  Object.fromEntries(
    credentialFields.map((field) => [
      field,
      secret(credentialText(credentialFieldKind(field))).optional(),
    ]),
  ) as Record<CredentialField, z.ZodOptional<ReturnType<typeof secret>>>,
);
const Person = z.string().min(1).max(100);
const StepNumber = z.number().int().min(1);
const Note = z.string().min(1).max(2000);

/** Who confirms: the role the runbook asks for, and the person's name for the transcript. */
const Confirmer = { stepNumber: StepNumber, role: RunbookRole, person: Person };

const deviceActionErrors = [
  'no-device',
  'several-devices',
  'device-gone',
  'device-in-deadly-state',
  'final-try-refused',
  'pin-incorrect',
  'pin-locked',
  'pin-format',
  'pin-mismatch',
  'default-pin-refused',
  'curve-not-supported',
  'module-unavailable',
  'key-exists',
  'device-error',
  'input-mismatch',
  'credentials-missing',
  'media-not-found',
  'media-full',
  'media-read-only',
  'media-removed',
  'media-path-refused',
  'products-exist',
  'products-incomplete',
  'rehearsal-mix-refused',
  'read-back-mismatch',
  'media-io-error',
  'eject-failed',
  ...openpgpErrorCodes,
  ...nethsmErrorCodes,
] as const;

// The last step of a runbook also writes the record, whose PDF Chromium renders.
const stepErrors = [
  'no-ceremony',
  'wrong-step',
  'role-mismatch',
  'action-interrupted',
  'transcript-pdf-failed',
] as const;

export const runbook = {
  state: call({ request: NoArgs, response: RunbookState, errors: ['journal-corrupt'] }),
  start: call({
    request: z.strictObject({
      runbookId: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
      participants: z.array(Participant).min(1).max(20),
      /** Rehearsal ceremonies use rehearsal devices only, and everything they make says so. */
      rehearsal: z.boolean(),
    }),
    response: RunbookState,
    // An abandoned ceremony's record left unwritten by a failure is written first.
    errors: [
      'runbook-unknown',
      'runbook-invalid',
      'ceremony-active',
      'role-mismatch',
      'transcript-pdf-failed',
    ],
  }),
  /** A human DO step, or a collected input (`value`). */
  confirm: call({
    request: z.strictObject({ ...Confirmer, value: z.string().min(1).max(200).optional() }),
    response: RunbookState,
    errors: [...stepErrors, 'input-invalid', 'input-mismatch'],
  }),
  /** A device action; only the credentials the step asks for are used, then wiped. */
  perform: call({
    request: z.strictObject({
      ...Confirmer,
      targetId: ExportTargetId.optional(),
      credentials: PerformCredentials.default({}),
    }),
    response: RunbookState,
    errors: [...stepErrors, ...deviceActionErrors],
  }),
  /** An exception sheet entry (IANA, Juicebox): expected / happened / decision. */
  recordException: call({
    request: z.strictObject({
      ...Confirmer,
      expected: Note,
      happened: Note,
      decision: Note,
    }),
    response: RunbookState,
    errors: ['no-ceremony', 'wrong-step', 'role-mismatch', 'ceremony-finished'],
  }),
  acknowledgeInterruption: call({
    request: NoArgs,
    response: RunbookState,
    errors: ['no-ceremony', 'wrong-step'],
  }),
  /**
   * Goes back to the step that collected an input, to collect it again (a mistyped serial or
   * address); journalled with who and why. Device actions after it run again only when performed.
   */
  goBack: call({
    request: z.strictObject({
      ...Confirmer,
      inputId: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
      reason: Note,
    }),
    response: RunbookState,
    errors: [
      'no-ceremony',
      'wrong-step',
      'role-mismatch',
      'ceremony-finished',
      'action-interrupted',
      'input-invalid',
    ],
  }),
  /**
   * Leaves the current ceremony (journalled as abandoned, with who and why) and writes its record,
   * signed by the per-ceremony key; another can start at once.
   */
  abandon: call({
    request: z.strictObject({ role: RunbookRole, person: Person, reason: Note }),
    response: RunbookState,
    errors: ['no-ceremony', 'role-mismatch', 'ceremony-finished', 'transcript-pdf-failed'],
  }),
  /** The transcript of the ceremony that ended last (at END or abandoned), as its record holds it. */
  transcript: call({
    request: z.strictObject({
      ceremonyId: z
        .string()
        .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    }),
    response: Transcript,
    errors: ['no-ceremony', 'wrong-step'],
  }),
  /** After END: the whole record (products, transcript, journal, runbook, attestation) to media. */
  exportRecord: call({
    request: z.strictObject({ targetId: ExportTargetId }),
    response: ExportReport,
    errors: [
      'no-ceremony',
      'wrong-step',
      'media-not-found',
      'media-full',
      'media-read-only',
      'media-removed',
      'media-path-refused',
      'products-exist',
      'rehearsal-mix-refused',
      'read-back-mismatch',
      'media-io-error',
    ],
  }),
  /** A bundled runbook before it starts: every section and step, for the preview and the sheet. */
  preview: call({
    request: z.strictObject({ runbookId: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/) }),
    response: RunbookPreview,
    errors: ['runbook-unknown'],
  }),
  stepChanged: event({ payload: RunbookState }),
};
