// The NetHSM credentials no single person holds (issue 24): the unlock, backup and Administrator
// passphrases generated here, bundled into one secret, split into n-of-m shares with the audited
// shamir-secret-sharing library, and combined again in memory. No disk, no log: the caller shows
// the shares and wipes them.
//
// Bundle serialization v1 (the secret that is split; binary rather than JSON, because JSON.parse
// would turn every passphrase into a string nobody can wipe):
//
//   offset  size  field
//   0       1     version 0x01
//   1       1     entry count k (3..3+MAX_NAMESPACES)
//   then k entries, ordered by kind, then by user id (byte order):
//           1     kind: 1 unlock passphrase, 2 backup passphrase, 3 Administrator passphrase
//           1     user id length u: 0 for kinds 1 and 2; 1..134 for kind 3
//           u     user id, ASCII: `admin` or `<namespace>~admin`
//           1     passphrase length p in bytes (10..255)
//           p     passphrase, UTF-8, exactly as the NetHSM receives it
import { randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { SecretBytes, redactedText } from '../../../shared/model/secret-bytes.ts';
import { KindedError } from '../../base/errors.ts';
import { isId, passphraseLength } from '../../devices/nethsm/protocol.ts';
import {
  CROCKFORD_ALPHABET,
  CredentialShare,
  MAX_SHAMIR_SHARE_BYTES,
  SET_ID_BYTES,
  sameBytes,
  shareCommitment,
} from '../../formats/credential-share.ts';

/**
 * Two at least (the library's floor, and one person alone must not hold the credentials); 16 at
 * most: every shareholder is a person in the room or on call, and beyond 16 a ceremony cannot
 * gather or audit them (the format itself allows 255).
 */
export const MIN_THRESHOLD = 2;
export const MAX_SHARE_COUNT = 16;
/** Each namespace adds its Administrator to every share a person may have to type. */
export const MAX_NAMESPACES = 16;
export const MAX_CREDENTIAL_SECRET_BYTES = MAX_SHAMIR_SHARE_BYTES - 1;
export const SYSTEM_ADMINISTRATOR = 'admin';
const BUNDLE_VERSION = 1;
const Kind = { unlock: 1, backup: 2, administrator: 3 } as const;

/**
 * 28 symbols of Crockford base32 (140 bits, above the 128 asked for) in 7 groups of 4 joined by
 * '-': 34 characters, within the firmware's 10 to 200, typeable from paper in an emergency. Upper
 * case and dashes are part of the passphrase: the device compares bytes.
 */
const PASSPHRASE_SYMBOLS = 28;
const PASSPHRASE_GROUP = 4;
/** The firmware's bounds (keyfender `valid_passphrase`), in characters. */
const PASSPHRASE_CHARS = { min: 10, max: 200 } as const;

export type CredentialSharingErrorKind =
  | 'shares-invalid-quorum'
  | 'shares-too-few'
  | 'shares-duplicate'
  | 'shares-mixed-sets'
  | 'shares-inconsistent'
  | 'shares-commitment-mismatch'
  | 'credentials-invalid'
  | 'credentials-malformed';

export class CredentialSharingError extends KindedError<CredentialSharingErrorKind> {
  readonly name = 'CredentialSharingError';
}

const fail = (kind: CredentialSharingErrorKind, message: string) =>
  new CredentialSharingError(kind, message);

// ---- the bundle --------------------------------------------------------------------------------

export interface AdministratorCredential {
  /** `admin` (system-wide) or `<namespace>~admin`. */
  readonly userId: string;
  readonly passphrase: SecretBytes;
}

const byBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function namespaceOfAdministrator(userId: string): string | null {
  if (userId === SYSTEM_ADMINISTRATOR) return null;
  const suffix = `~${SYSTEM_ADMINISTRATOR}`;
  const namespace = userId.endsWith(suffix) ? userId.slice(0, -suffix.length) : '';
  if (!isId(namespace)) {
    throw fail('credentials-invalid', `"${userId.slice(0, 40)}" is not a namespace Administrator`);
  }
  return namespace;
}

function checkPassphrase(passphrase: SecretBytes, what: string): void {
  const characters = passphrase.isWiped ? 0 : passphraseLength(passphrase);
  if (
    characters < PASSPHRASE_CHARS.min ||
    characters > PASSPHRASE_CHARS.max ||
    passphrase.length > 255
  ) {
    throw fail(
      'credentials-invalid',
      `the ${what} must have ${PASSPHRASE_CHARS.min} to ${PASSPHRASE_CHARS.max} characters`,
    );
  }
}

/**
 * The passphrases of one NetHSM: unlock, backup, the system-wide Administrator and one
 * Administrator per namespace. Each is a SecretBytes, so JSON, inspect and the journal's
 * redaction show "[secret]"; `wipe` ends them all.
 */
export class CredentialBundle {
  readonly unlock: SecretBytes;
  readonly backup: SecretBytes;
  /** `admin` first, then the namespace Administrators by user id. */
  readonly administrators: readonly AdministratorCredential[];

  constructor(parts: {
    unlock: SecretBytes;
    backup: SecretBytes;
    administrators: readonly AdministratorCredential[];
  }) {
    checkPassphrase(parts.unlock, 'unlock passphrase');
    checkPassphrase(parts.backup, 'backup passphrase');
    const administrators = [...parts.administrators].sort((a, b) => byBytes(a.userId, b.userId));
    const userIds = administrators.map((a) => a.userId);
    if (!userIds.includes(SYSTEM_ADMINISTRATOR)) {
      throw fail('credentials-invalid', 'the system-wide Administrator (admin) is missing');
    }
    if (new Set(userIds).size !== userIds.length) {
      throw fail('credentials-invalid', 'an Administrator is listed twice');
    }
    if (userIds.length - 1 > MAX_NAMESPACES) {
      throw fail('credentials-invalid', `at most ${MAX_NAMESPACES} namespaces share one split`);
    }
    for (const { userId, passphrase } of administrators) {
      namespaceOfAdministrator(userId);
      checkPassphrase(passphrase, `passphrase of ${userId}`);
    }
    this.unlock = parts.unlock;
    this.backup = parts.backup;
    this.administrators = [
      ...administrators.filter((a) => a.userId === SYSTEM_ADMINISTRATOR),
      ...administrators.filter((a) => a.userId !== SYSTEM_ADMINISTRATOR),
    ];
  }

  get namespaces(): string[] {
    return this.administrators.flatMap((a) => namespaceOfAdministrator(a.userId) ?? []);
  }

  administrator(userId: string): SecretBytes | undefined {
    return this.administrators.find((a) => a.userId === userId)?.passphrase;
  }

  wipe(): void {
    this.unlock.wipe();
    this.backup.wipe();
    for (const { passphrase } of this.administrators) passphrase.wipe();
  }

  toJSON(): Record<string, unknown> {
    return {
      unlock: redactedText,
      backup: redactedText,
      administrators: Object.fromEntries(this.administrators.map((a) => [a.userId, redactedText])),
    };
  }

  toString(): string {
    return `[credentials: unlock, backup, ${this.administrators.map((a) => a.userId).join(', ')}]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function generatePassphrase(): SecretBytes {
  const random = randomBytes(PASSPHRASE_SYMBOLS);
  const separators = PASSPHRASE_SYMBOLS / PASSPHRASE_GROUP - 1;
  const text = new Uint8Array(PASSPHRASE_SYMBOLS + separators);
  let at = 0;
  for (let i = 0; i < PASSPHRASE_SYMBOLS; i++) {
    if (i > 0 && i % PASSPHRASE_GROUP === 0) text[at++] = 0x2d;
    // 256 is a multiple of 32: the low five bits of a uniform byte are uniform.
    text[at++] = CROCKFORD_ALPHABET.charCodeAt((random[i] ?? 0) & 31);
  }
  random.fill(0);
  const passphrase = SecretBytes.fromBytes(text);
  text.fill(0);
  return passphrase;
}

/** Fresh passphrases from the OS CSPRNG for the device and every namespace named. */
export function generateCredentials(options: { namespaces: readonly string[] }): CredentialBundle {
  const { namespaces } = options;
  for (const namespace of namespaces) {
    if (!isId(namespace)) {
      throw fail(
        'credentials-invalid',
        `"${namespace.slice(0, 40)}" is not a NetHSM namespace (letters, digits, _ . -)`,
      );
    }
  }
  if (new Set(namespaces).size !== namespaces.length) {
    throw fail('credentials-invalid', 'a namespace is named twice');
  }
  if (namespaces.length > MAX_NAMESPACES) {
    throw fail('credentials-invalid', `at most ${MAX_NAMESPACES} namespaces share one split`);
  }
  return new CredentialBundle({
    unlock: generatePassphrase(),
    backup: generatePassphrase(),
    administrators: [SYSTEM_ADMINISTRATOR, ...namespaces.map((ns) => `${ns}~admin`)].map(
      (userId) => ({ userId, passphrase: generatePassphrase() }),
    ),
  });
}

// ---- serialization -----------------------------------------------------------------------------

interface Entry {
  kind: number;
  userId: string;
  passphrase: SecretBytes;
}

const entriesOf = (bundle: CredentialBundle): Entry[] => [
  { kind: Kind.unlock, userId: '', passphrase: bundle.unlock },
  { kind: Kind.backup, userId: '', passphrase: bundle.backup },
  ...bundle.administrators.map((a) => ({ kind: Kind.administrator, ...a })),
];

/**
 * The one secret that is split; canonical, so one bundle always gives the same bytes. A plain
 * Uint8Array (the library refuses a Buffer) that the caller wipes.
 */
export function serializeCredentials(bundle: CredentialBundle): Uint8Array {
  const entries = entriesOf(bundle).sort((a, b) => a.kind - b.kind || byBytes(a.userId, b.userId));
  const size = entries.reduce((n, e) => n + 3 + e.userId.length + e.passphrase.length, 2);
  if (size > MAX_CREDENTIAL_SECRET_BYTES) {
    throw fail(
      'credentials-invalid',
      `the credentials take ${size} bytes, more than the ${MAX_CREDENTIAL_SECRET_BYTES} one share carries: use fewer namespaces or shorter names`,
    );
  }
  const out = new Uint8Array(size);
  out.set([BUNDLE_VERSION, entries.length], 0);
  let at = 2;
  for (const { kind, userId, passphrase } of entries) {
    out.set([kind, userId.length], at);
    at += 2;
    for (let i = 0; i < userId.length; i++) out[at++] = userId.charCodeAt(i);
    passphrase.use((bytes) => {
      out[at++] = bytes.length;
      out.set(bytes, at);
      at += bytes.length;
    });
  }
  return out;
}

/** The bundle back from its secret, strictly; the secret stays the caller's to wipe. */
export function parseCredentials(secret: Uint8Array): CredentialBundle {
  const malformed = (what: string) =>
    fail('credentials-malformed', `the reconstructed credentials are malformed (${what})`);
  if (secret.length < 2 || secret[0] !== BUNDLE_VERSION) throw malformed('unknown version');
  const count = secret[1] ?? 0;
  const entries: Entry[] = [];
  let at = 2;
  const take = (length: number): Uint8Array => {
    if (at + length > secret.length) throw malformed('cut short');
    const part = secret.subarray(at, at + length);
    at += length;
    return part;
  };
  try {
    for (let i = 0; i < count; i++) {
      const [kind = 0, idLength = 0] = take(2);
      const userId = String.fromCharCode(...take(idLength));
      const [length = 0] = take(1);
      entries.push({ kind, userId, passphrase: SecretBytes.fromBytes(take(length)) });
    }
    if (at !== secret.length) throw malformed('extra bytes');
    const unlock = entries.filter((e) => e.kind === Kind.unlock && e.userId === '');
    const backup = entries.filter((e) => e.kind === Kind.backup && e.userId === '');
    const administrators = entries.filter((e) => e.kind === Kind.administrator);
    if (unlock.length !== 1 || backup.length !== 1) throw malformed('unlock or backup');
    if (unlock.length + backup.length + administrators.length !== entries.length) {
      throw malformed('unknown entry');
    }
    const bundle = new CredentialBundle({
      unlock: (unlock[0] as Entry).passphrase,
      backup: (backup[0] as Entry).passphrase,
      administrators,
    });
    // Canonical or nothing: one bundle has one serialization.
    const again = serializeCredentials(bundle);
    const isCanonical = sameBytes(again, secret);
    again.fill(0);
    if (!isCanonical) throw malformed('not canonical');
    return bundle;
  } catch (error) {
    for (const entry of entries) entry.passphrase.wipe();
    if (error instanceof CredentialSharingError && error.kind === 'credentials-invalid') {
      throw malformed(error.message);
    }
    throw error;
  }
}

// ---- split and combine -------------------------------------------------------------------------

export interface Quorum {
  /** n: shares needed to reconstruct. */
  threshold: number;
  /** m: shares made, one per shareholder. */
  count: number;
}

export function checkQuorum({ threshold, count }: Quorum): void {
  if (
    !Number.isInteger(threshold) ||
    !Number.isInteger(count) ||
    threshold < MIN_THRESHOLD ||
    threshold > count ||
    count > MAX_SHARE_COUNT
  ) {
    throw fail(
      'shares-invalid-quorum',
      `choose n of m with ${MIN_THRESHOLD} ≤ n ≤ m ≤ ${MAX_SHARE_COUNT} (asked for ${String(threshold)} of ${String(count)})`,
    );
  }
}

/** The shamir library checks `constructor === Uint8Array`: a Buffer or a view is refused. */
const plainCopy = (bytes: Uint8Array) => {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
};

const wipeAll = (arrays: readonly Uint8Array[]) => {
  for (const array of arrays) array.fill(0);
};

/**
 * m shares of one new set, any n of which give the bundle back. Before returning, the first n
 * shares are combined and checked against the commitment, so a split that cannot be undone is
 * never handed out.
 */
export async function splitCredentials(
  bundle: CredentialBundle,
  quorum: Quorum,
): Promise<CredentialShare[]> {
  checkQuorum(quorum);
  const { threshold, count } = quorum;
  const secret = serializeCredentials(bundle);
  const setId = plainCopy(randomBytes(SET_ID_BYTES));
  const commitment = shareCommitment(setId, threshold, count, secret);
  let points: Uint8Array[] = [];
  try {
    points = await split(secret, count, threshold);
    const shares = points.map((shamirShare, i) =>
      CredentialShare.fromFields({
        setId,
        threshold,
        count,
        index: i + 1,
        commitment,
        shamirShare,
      }),
    );
    const check = await combine(points.slice(0, threshold));
    const isRecoverable = sameBytes(check, secret);
    check.fill(0);
    if (!isRecoverable) {
      for (const share of shares) share.wipe();
      throw fail('shares-inconsistent', 'the split could not be undone: nothing was handed out');
    }
    return shares;
  } finally {
    secret.fill(0);
    wipeAll(points);
  }
}

const shareList = (shares: readonly CredentialShare[]) =>
  shares.map((share) => share.index).join(', ');

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Every refusal that needs no arithmetic: one set, one quorum, no share twice, enough of them. */
function checkCollection(shares: readonly CredentialShare[]): void {
  const first = shares[0];
  if (first === undefined) throw fail('shares-too-few', 'no shares were given');
  const foreign = shares.filter((share) => share.setId !== first.setId);
  if (foreign.length > 0) {
    throw fail(
      'shares-mixed-sets',
      `share ${shareList(foreign)} belongs to set ${foreign[0]?.setLabel ?? ''}, share ${first.index} to set ${first.setLabel}: these are shares of two different splits; use shares of one set only`,
    );
  }
  const odd = shares.find((s) => s.threshold !== first.threshold || s.count !== first.count);
  if (odd !== undefined) {
    throw fail(
      'shares-inconsistent',
      `share ${odd.index} says ${odd.threshold} of ${odd.count} are needed, share ${first.index} says ${first.threshold} of ${first.count}: one of them was altered; do not use them`,
    );
  }
  const seen = new Set<number>();
  for (const share of shares) {
    if (seen.has(share.index)) {
      throw fail(
        'shares-duplicate',
        `share ${share.index} was given twice: bring another shareholder's share instead`,
      );
    }
    seen.add(share.index);
  }
  if (shares.length < first.threshold) {
    const missing = first.threshold - shares.length;
    throw fail(
      'shares-too-few',
      `${first.threshold} of ${first.count} needed, ${shares.length} given: bring ${missing === 1 ? 'one more shareholder' : `${missing} more shareholders`}`,
    );
  }
}

/**
 * The bundle from n or more shares of one set. Every share given is used, so an altered one
 * fails the commitment rather than being quietly left out.
 */
export async function combineShares(shares: readonly CredentialShare[]): Promise<CredentialBundle> {
  checkCollection(shares);
  const first = shares[0] as CredentialShare;
  const points: Uint8Array[] = [];
  const commitments: Uint8Array[] = [];
  const xs = new Map<number, number>();
  let secret: Uint8Array | null = null;
  try {
    for (const share of shares) {
      share.use(({ commitment, shamirShare }) => {
        commitments.push(plainCopy(commitment));
        points.push(plainCopy(shamirShare));
        const x = shamirShare[shamirShare.length - 1] ?? 0;
        const twin = xs.get(x);
        if (twin !== undefined) {
          throw fail(
            'shares-inconsistent',
            `shares ${twin} and ${share.index} hold the same point: one of them was altered; do not use them`,
          );
        }
        xs.set(x, share.index);
      });
    }
    const commitment = commitments[0] as Uint8Array;
    const lengths = new Set(points.map((p) => p.length));
    if (lengths.size !== 1 || !commitments.every((c) => sameBytes(c, commitment))) {
      throw fail(
        'shares-inconsistent',
        `shares ${shareList(shares)} do not agree on what they split: one of them was altered; do not use them`,
      );
    }
    secret = await combine(points);
    const setId = first.use(({ setId }) => plainCopy(setId));
    const actual = shareCommitment(setId, first.threshold, first.count, secret);
    if (!sameBytes(actual, commitment)) {
      throw fail(
        'shares-commitment-mismatch',
        `the ${plural(shares.length, 'share', 'shares')} combine to something other than what was split: at least one was altered; try again with other shareholders' shares`,
      );
    }
    return parseCredentials(secret);
  } finally {
    secret?.fill(0);
    wipeAll(points);
    wipeAll(commitments);
  }
}
