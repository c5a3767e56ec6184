import { call, event, NoArgs, secret, z } from './schema-kit.ts';
import { nethsmErrorCodes, openpgpErrorCodes } from './error-codes.ts';
import { ExportReport, ExportTargetId } from '../model/media.ts';
import { Participant, RunbookRole, RunbookState } from '../model/runbook.ts';

// Length bounds only; PIN rules (hex SO-PIN, defaults refused) are meaning, checked in main.
const PinField = z.string().min(1).max(64);
/** YubiHSM 2 authentication passwords: any length the keyholder chooses, within reason. */
const PasswordField = z.string().min(1).max(256);
/** OpenPGP key passphrases: long sentences are welcome. */
const PassphraseField = z.string().min(1).max(1024);
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
  'device-error',
  'input-mismatch',
  'credentials-missing',
  'media-not-found',
  'media-full',
  'media-read-only',
  'media-removed',
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
    errors: ['runbook-unknown', 'runbook-invalid', 'ceremony-active', 'role-mismatch'],
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
      credentials: z
        .strictObject({
          currentSoPin: secret(PinField).optional(),
          newSoPin: secret(PinField).optional(),
          newSoPinRepeat: secret(PinField).optional(),
          newUserPin: secret(PinField).optional(),
          newUserPinRepeat: secret(PinField).optional(),
          userPin: secret(PinField).optional(),
          authPassword: secret(PasswordField).optional(),
          newAuthPassword: secret(PasswordField).optional(),
          newAuthPasswordRepeat: secret(PasswordField).optional(),
          currentPuk: secret(PinField).optional(),
          newPuk: secret(PinField).optional(),
          newPukRepeat: secret(PinField).optional(),
          passphrase: secret(PassphraseField).optional(),
          newPassphrase: secret(PassphraseField).optional(),
          newPassphraseRepeat: secret(PassphraseField).optional(),
          adminPin: secret(PinField).optional(),
          newAdminPin: secret(PinField).optional(),
          newAdminPinRepeat: secret(PinField).optional(),
          unlockPassphrase: secret(PassphraseField).optional(),
          newUnlockPassphrase: secret(PassphraseField).optional(),
          newUnlockPassphraseRepeat: secret(PassphraseField).optional(),
          backupPassphrase: secret(PassphraseField).optional(),
          newBackupPassphrase: secret(PassphraseField).optional(),
          newBackupPassphraseRepeat: secret(PassphraseField).optional(),
        })
        .default({}),
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
  /** Leaves the current ceremony (journalled as abandoned) so another can start. */
  abandon: call({
    request: z.strictObject({ role: RunbookRole, person: Person, reason: Note }),
    response: RunbookState,
    errors: ['no-ceremony'],
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
      'products-exist',
      'rehearsal-mix-refused',
      'read-back-mismatch',
      'media-io-error',
    ],
  }),
  stepChanged: event({ payload: RunbookState }),
};
