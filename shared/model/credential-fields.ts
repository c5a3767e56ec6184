// Every secret a runbook step can ask for, listed once. The contract's `runbook.perform` request,
// the main process's credentials, the rehearsal answers and the window's form all derive from it:
// a new credential is one line here. Ids starting with `new` are typed twice (`<id>Repeat`).
// Each family's format for each credential is written here too, with the one check both sides
// run. Plain data and pure functions, no zod: the window imports it, and its bundle carries no
// schema library.
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

// --- formats ------------------------------------------------------------------------------------
// What each family's devices accept, written once: the window shows `rule` under the field, and
// main refuses anything else before a device is touched (electron/core/runbook/credentials.ts).
// The numbers are the families' own (smartcard-hsm/protocol.ts, yubikey-piv/driver.ts,
// yubikey-openpgp/protocol.ts, nethsm/protocol.ts, yubihsm2 and openpgp ceremony actions).

/** Which bytes a credential may hold. */
export type CredentialCharacters =
  /** 0-9, a-f, A-F. */
  | 'hex'
  /** Printable ASCII without space (0x21–0x7e). */
  | 'printable'
  /** Printable ASCII and space (0x20–0x7e). */
  | 'printable-or-space'
  /** Anything the keyboard types (UTF-8). */
  | 'any';

export interface CredentialFormat {
  /** What to type, as a phrase that follows "must be" and also reads as the field's hint. */
  readonly rule: string;
  readonly minLength: number;
  readonly maxLength: number;
  /** How length is counted: bytes (what a card stores) or characters (UTF-8 code points). */
  readonly unit: 'byte' | 'character';
  readonly characters: CredentialCharacters;
  /** A PIN-like secret or a passphrase: the refusal's contract code follows it. */
  readonly kind: 'pin' | 'passphrase';
}

const smartCardHsmSoPin: CredentialFormat = {
  rule: 'exactly 16 hexadecimal characters (0–9, A–F)',
  minLength: 16,
  maxLength: 16,
  unit: 'byte',
  characters: 'hex',
  kind: 'pin',
};
const smartCardHsmUserPin: CredentialFormat = {
  rule: '6 to 15 characters: letters, digits or symbols, no spaces',
  minLength: 6,
  maxLength: 15,
  unit: 'byte',
  characters: 'printable',
  kind: 'pin',
};
const pivPin: CredentialFormat = {
  rule: '6 to 8 characters: letters, digits or symbols',
  minLength: 6,
  maxLength: 8,
  unit: 'byte',
  characters: 'printable-or-space',
  kind: 'pin',
};
const openPgpUserPin: CredentialFormat = {
  rule: 'at least 6 characters',
  minLength: 6,
  maxLength: credentialFieldBounds.pin.max,
  unit: 'byte',
  characters: 'any',
  kind: 'pin',
};
const openPgpAdminPin: CredentialFormat = {
  ...openPgpUserPin,
  rule: 'at least 8 characters',
  minLength: 8,
};
const keyPassphrase: CredentialFormat = {
  rule: 'the passphrase the key was made with',
  minLength: 1,
  maxLength: credentialFieldBounds.passphrase.max,
  unit: 'byte',
  characters: 'any',
  kind: 'passphrase',
};
/** GnuPG's own floor for a passphrase it does not warn about. */
const newKeyPassphrase: CredentialFormat = {
  ...keyPassphrase,
  rule: 'at least 8 characters',
  minLength: 8,
};
/** The NetHSM refuses shorter passphrases (unlock, backup and every user's). */
const netHsmPassphrase: CredentialFormat = {
  ...keyPassphrase,
  rule: 'at least 10 characters',
  minLength: 10,
  unit: 'character',
};
/** Vigil's floor for the keyholder's authentication password (the device takes any). */
const yubiHsmPassword: CredentialFormat = {
  rule: 'at least 8 characters',
  minLength: 8,
  maxLength: credentialFieldBounds.password.max,
  unit: 'character',
  characters: 'any',
  kind: 'pin',
};

/** Each ceremony family's formats (keyed by its id, the prefix of its action names). */
export const credentialFormats = {
  pkcs11: {
    currentSoPin: smartCardHsmSoPin,
    newSoPin: smartCardHsmSoPin,
    userPin: smartCardHsmUserPin,
    newUserPin: smartCardHsmUserPin,
  },
  yubikeyPiv: { userPin: pivPin, newUserPin: pivPin, currentPuk: pivPin, newPuk: pivPin },
  yubikeyOpenpgp: {
    userPin: openPgpUserPin,
    newUserPin: openPgpUserPin,
    adminPin: openPgpAdminPin,
    newAdminPin: openPgpAdminPin,
    passphrase: keyPassphrase,
    // The cycle key's passphrase, made in this ceremony with GnuPG's floor.
    newPassphrase: newKeyPassphrase,
  },
  openpgp: { passphrase: keyPassphrase, newPassphrase: newKeyPassphrase },
  nethsm: {
    passphrase: netHsmPassphrase,
    newPassphrase: netHsmPassphrase,
    unlockPassphrase: netHsmPassphrase,
    newUnlockPassphrase: netHsmPassphrase,
    backupPassphrase: netHsmPassphrase,
    newBackupPassphrase: netHsmPassphrase,
  },
  yubihsm2: { authPassword: yubiHsmPassword, newAuthPassword: yubiHsmPassword },
} as const satisfies Record<string, Partial<Record<CredentialId, CredentialFormat>>>;
export type CredentialFamily = keyof typeof credentialFormats;

/** Device families whose credentials follow a ceremony family's (the record-signing step). */
const credentialFamilyOfDevice: Readonly<Record<string, CredentialFamily>> = {
  'smartcard-hsm': 'pkcs11',
  'softhsm-rehearsal': 'pkcs11',
};

const isCredentialFamily = (name: string): name is CredentialFamily =>
  Object.hasOwn(credentialFormats, name);

/**
 * Whose rules a step's credentials follow: the family of its action (`<family>.<operation>`),
 * or, for a step of no family (signing the record), the family of the device it acts on.
 */
export function credentialFamilyOf(
  actionName: string,
  deviceFamily: string | null,
): CredentialFamily | null {
  const prefix = actionName.slice(0, Math.max(0, actionName.indexOf('.')));
  if (isCredentialFamily(prefix)) return prefix;
  return deviceFamily === null ? null : (credentialFamilyOfDevice[deviceFamily] ?? null);
}

/** The format of a credential for a family; only the contract's bounds when none is written. */
export function credentialFormat(
  family: CredentialFamily | null,
  id: CredentialId,
): CredentialFormat | null {
  if (family === null) return null;
  const formats: Partial<Record<CredentialId, CredentialFormat>> = credentialFormats[family];
  return formats[id] ?? null;
}

/** The hint under a field: its rule as a sentence. */
export function credentialHint(format: CredentialFormat | null): string | null {
  if (format === null) return null;
  return `${format.rule.charAt(0).toUpperCase()}${format.rule.slice(1)}.`;
}

const isContinuationByte = (b: number) => (b & 0xc0) === 0x80;
const isHexDigit = (b: number) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** Pure, over the UTF-8 bytes, so main checks a SecretBytes and the window a typed string alike. */
export function fitsCredentialFormat(format: CredentialFormat, bytes: Uint8Array): boolean {
  const length =
    format.unit === 'byte' ? bytes.length : bytes.filter((b) => !isContinuationByte(b)).length;
  if (length < format.minLength || length > format.maxLength) return false;
  switch (format.characters) {
    case 'hex':
      return bytes.every(isHexDigit);
    case 'printable':
      return bytes.every((b) => b >= 0x21 && b <= 0x7e);
    case 'printable-or-space':
      return bytes.every((b) => b >= 0x20 && b <= 0x7e);
    case 'any':
      return true;
  }
}

/** One way a typed credential is wrong, for one form field. */
export interface CredentialFieldProblem {
  field: CredentialField;
  /** The field's label as the form shows it. */
  label: string;
  problem: 'missing' | 'format' | 'mismatch';
  /** The contract code a refusal of this problem carries. */
  code:
    | 'credentials-missing'
    | 'pin-format'
    | 'pin-mismatch'
    | 'passphrase-too-short'
    | 'passphrase-mismatch';
  /** What is wrong and what to do, to follow the label. */
  sentence: string;
}

/** How one side reads what was typed: main over SecretBytes, the window over strings. */
export interface TypedCredentials {
  isPresent(field: CredentialField): boolean;
  fits(field: CredentialField, format: CredentialFormat): boolean;
  /** Both typings of a new credential agree (main compares in constant time). */
  isSame(first: CredentialField, again: CredentialField): boolean;
}

/** A credential a step asks for, as the view lists it. */
export interface CredentialAsked {
  id: CredentialId;
  label: string;
  repeat: boolean;
}

/**
 * Every problem with what was typed for a step, field by field in the form's order: missing,
 * out of format, or typed twice differently. Both sides run this one function.
 */
export function credentialProblems(
  family: CredentialFamily | null,
  asked: readonly CredentialAsked[],
  typed: TypedCredentials,
): CredentialFieldProblem[] {
  const problems: CredentialFieldProblem[] = [];
  for (const request of asked) {
    const format = credentialFormat(family, request.id);
    const isPassphrase = (format?.kind ?? credentialKinds[request.id]) === 'passphrase';
    if (!typed.isPresent(request.id)) {
      problems.push({
        field: request.id,
        label: request.label,
        problem: 'missing',
        code: 'credentials-missing',
        sentence: 'is empty: type it.',
      });
    } else if (format && !typed.fits(request.id, format)) {
      problems.push({
        field: request.id,
        label: request.label,
        problem: 'format',
        code: isPassphrase ? 'passphrase-too-short' : 'pin-format',
        sentence: `must be ${format.rule}.`,
      });
    }
    if (!request.repeat || !isNew(request.id)) continue;
    const again: CredentialField = `${request.id}Repeat`;
    const label = `${request.label}, typed again,`;
    if (!typed.isPresent(again)) {
      problems.push({
        field: again,
        label,
        problem: 'missing',
        code: 'credentials-missing',
        sentence: 'is empty: type it a second time.',
      });
    } else if (typed.isPresent(request.id) && !typed.isSame(request.id, again)) {
      problems.push({
        field: again,
        label,
        problem: 'mismatch',
        code: isPassphrase ? 'passphrase-mismatch' : 'pin-mismatch',
        sentence: 'differs from the first typing: type both again.',
      });
    }
  }
  return problems;
}
