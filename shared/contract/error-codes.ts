// Typed error codes, kebab-case, one union per domain. The dispatcher adds its own five.

export const dispatcherErrorCodes = [
  'sender-refused',
  'unknown-call',
  'invalid-request',
  'invalid-response',
  'internal-error',
] as const;
export type DispatcherErrorCode = (typeof dispatcherErrorCodes)[number];

export const deviceErrorCodes = [
  'device-gone',
  'no-device',
  'several-devices',
  'device-in-deadly-state',
  'final-try-refused',
  'pin-incorrect',
  'pin-locked',
  'pin-format',
  'pin-mismatch',
  'default-pin-refused',
  'curve-not-supported',
  'module-unavailable',
  'device-in-use',
  'key-exists',
  'device-error',
] as const;
export type DeviceErrorCode = (typeof deviceErrorCodes)[number];

export const ceremonyErrorCodes = [
  'wrong-step',
  'action-interrupted',
  'journal-corrupt',
  'products-incomplete',
] as const;
export type CeremonyErrorCode = (typeof ceremonyErrorCodes)[number];

/** The journal and the data folder it lives in (`journal-corrupt` is in ceremonyErrorCodes). */
export const journalErrorCodes = [
  'journal-truncated',
  'data-folder-in-use',
  'no-startup-problem',
] as const;
export type JournalErrorCode = (typeof journalErrorCodes)[number];

export const mediaErrorCodes = [
  'media-not-found',
  'media-not-removable',
  'media-full',
  'media-read-only',
  'media-removed',
  'media-path-refused',
  'products-exist',
  'read-back-mismatch',
  'media-io-error',
  'eject-failed',
  'no-folder-picked',
  'no-file-picked',
  'rehearsal-mix-refused',
] as const;
export type MediaErrorCode = (typeof mediaErrorCodes)[number];

/** Verifying a folder (`vigil verify` in the window). */
export const verificationErrorCodes = ['verification-cancelled'] as const;
export type VerificationErrorCode = (typeof verificationErrorCodes)[number];

export const runbookErrorCodes = [
  'runbook-unknown',
  'runbook-invalid',
  'ceremony-active',
  'no-ceremony',
  'role-mismatch',
  'input-invalid',
  'input-mismatch',
  'credentials-missing',
  'ceremony-finished',
  'transcript-pdf-failed',
] as const;
export type RunbookErrorCode = (typeof runbookErrorCodes)[number];

/** OpenPGP keys held by the ceremony (created, loaded from a backup, certified). */
export const openpgpErrorCodes = [
  'key-not-in-memory',
  'key-unreadable',
  'passphrase-incorrect',
  'passphrase-mismatch',
  'passphrase-too-short',
  'fingerprint-mismatch',
  'subkey-unknown',
] as const;
export type OpenPgpErrorCode = (typeof openpgpErrorCodes)[number];

/** A Nitrokey NetHSM over its pinned HTTPS link. */
export const nethsmErrorCodes = [
  'nethsm-address-invalid',
  'nethsm-unreachable',
  'nethsm-connection-dropped',
  'nethsm-certificate-mismatch',
  'nethsm-certificate-unconfirmed',
  'nethsm-wrong-state',
  'nethsm-forbidden',
  'nethsm-not-found',
  'nethsm-conflict',
  'nethsm-rejected',
  'nethsm-rehearsal-mix',
  'backup-invalid',
] as const;
export type NetHsmErrorCode = (typeof nethsmErrorCodes)[number];

export type VigilErrorCode =
  | DispatcherErrorCode
  | DeviceErrorCode
  | CeremonyErrorCode
  | JournalErrorCode
  | MediaErrorCode
  | VerificationErrorCode
  | RunbookErrorCode
  | OpenPgpErrorCode
  | NetHsmErrorCode;
