// Every secret a runbook step can ask for, listed once. The contract's `runbook.perform` request,
// the main process's credentials, the rehearsal answers and the window's form all derive from it:
// a new credential is one line here. Ids starting with `new` are typed twice (`<id>Repeat`).
// Plain data, no zod: the window imports it, and its bundle carries no schema library.
/** Length bounds by what is typed; rules (hex SO-PIN, defaults refused) are meaning, checked in main. */
export const credentialFieldBounds = {
  /** PINs and PUKs. */
  pin: { min: 1, max: 64 },
  /** YubiHSM 2 authentication passwords: any length the keyholder chooses, within reason. */
  password: { min: 1, max: 256 },
  /** Passphrases: long sentences are welcome. */
  passphrase: { min: 1, max: 1024 },
} as const;
export type CredentialFieldKind = keyof typeof credentialFieldBounds;

export const credentialKinds = {
  currentSoPin: 'pin',
  newSoPin: 'pin',
  newUserPin: 'pin',
  userPin: 'pin',
  authPassword: 'password',
  newAuthPassword: 'password',
  currentPuk: 'pin',
  newPuk: 'pin',
  passphrase: 'passphrase',
  newPassphrase: 'passphrase',
  adminPin: 'pin',
  newAdminPin: 'pin',
  unlockPassphrase: 'passphrase',
  newUnlockPassphrase: 'passphrase',
  backupPassphrase: 'passphrase',
  newBackupPassphrase: 'passphrase',
} as const satisfies Record<string, CredentialFieldKind>;

export type CredentialId = keyof typeof credentialKinds;
type NewCredentialId = Extract<CredentialId, `new${string}`>;
export const credentialIds = Object.keys(credentialKinds) as CredentialId[];

/** A field of the form: the credential, or the second typing of a new one. */
export type CredentialField = CredentialId | `${NewCredentialId}Repeat`;

const isNew = (id: CredentialId): id is NewCredentialId => id.startsWith('new');

/** Every form field, each new credential followed by its repeat. */
export const credentialFields: readonly CredentialField[] = credentialIds.flatMap(
  (id): CredentialField[] => (isNew(id) ? [id, `${id}Repeat`] : [id]),
);

/** The field kind of a form field (a repeat is typed like its credential). */
export function credentialFieldKind(field: CredentialField): CredentialFieldKind {
  return credentialKinds[field.replace(/Repeat$/, '') as CredentialId];
}
