// One shareholder's part of the NetHSM credentials (issue 24): the share format v1, byte-exact,
// with the forms a person types, reads aloud, scans and confirms. Pure: no I/O, no logging.
//
// Binary layout, v1 (all numbers big-endian; 36 + L bytes):
//
//   offset  size  field
//   0       2     magic 0x56 0x53 ("VS", Vigil share)
//   2       1     version 0x01
//   3       16    set id: random, the same in every share of one split
//   19      1     threshold n (2..255): shares needed
//   20      1     count m (n..255): shares made
//   21      1     index (1..m): which share this is, for people ("share 2 of 5")
//   22      8     commitment: SHA-256(COMMITMENT_LABEL || 0x00 || set id || n || m || secret)[0..8]
//   30      2     L: length of the Shamir share (2..MAX_SHAMIR_SHARE_BYTES)
//   32      L     the Shamir share as shamir-secret-sharing@0.0.4 lays it out: one y-value per
//                 secret byte, then the x-coordinate (1..255, chosen by the library, not the index)
//   32+L    4     checksum: SHA-256(bytes 0 .. 32+L)[0..4]
//
// Text forms:
//   text   Crockford base32 of the binary (upper case, 5 bits a character, zero-padded), in groups
//          of 4 characters each followed by a check character (Luhn mod 32 over the group number
//          and the group), groups joined by '-': "ABCDE-FGHJK-…". Read case-insensitively, O as
//          0, I and L as 1; dashes and spaces separate groups.
//   words  one PGP word per byte of the binary (fingerprint.ts): the even/odd lists catch a
//          missing, doubled or swapped word.
//   QR     "vigil-share:1:" followed by the text form.
//   receipt  the first two checksum bytes as PGP words: printed with the share, typed back by
//          its holder to prove receipt.
import { createHash, timingSafeEqual } from 'node:crypto';
import wordlist from '../../resources/wordlists/pgp-wordlist.json' with { type: 'json' };
import { KindedError } from '../base/errors.ts';
import { bytesToHex } from './der.ts';
import { groupHex, pgpWords } from './fingerprint.ts';

export const CREDENTIAL_SHARE_VERSION = 1;
export const SET_ID_BYTES = 16;
export const COMMITMENT_BYTES = 8;
export const CHECKSUM_BYTES = 4;
const MAGIC = [0x56, 0x53] as const;
const HEADER_BYTES = 32;
/** The credentials secret is at most 1024 bytes; the library adds one x-coordinate byte. */
export const MAX_SHAMIR_SHARE_BYTES = 1025;
export const MAX_SHARE_BYTES = HEADER_BYTES + MAX_SHAMIR_SHARE_BYTES + CHECKSUM_BYTES;
const MIN_SHARE_BYTES = HEADER_BYTES + 2 + CHECKSUM_BYTES;
/** Longer than any share in any form (the word form of the largest is ~13,000 characters). */
export const MAX_SHARE_INPUT_CHARS = 16_384;
export const SHARE_QR_PREFIX = 'vigil-share:1:';
const COMMITMENT_LABEL = 'vigil credential share v1 commitment';

/** Crockford's base32 alphabet: no I, L, O or U, so nothing reads as something else. */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUP_DATA_CHARS = 4;
const GROUP_CHARS = GROUP_DATA_CHARS + 1;

export type CredentialShareErrorKind =
  | 'share-malformed'
  | 'share-checksum'
  | 'share-unknown-version'
  | 'share-wrong-set'
  | 'share-receipt-mismatch'
  | 'share-wiped';

/** Every message is for the shareholder, and none repeats any part of the share. */
export class CredentialShareError extends KindedError<CredentialShareErrorKind> {
  readonly name = 'CredentialShareError';
}

const malformed = (message: string) => new CredentialShareError('share-malformed', message);

/** The fields of one share; the byte arrays are views into the bytes they were read from. */
export interface CredentialShareFields {
  setId: Uint8Array;
  threshold: number;
  count: number;
  index: number;
  commitment: Uint8Array;
  shamirShare: Uint8Array;
}

// ---- binary ------------------------------------------------------------------------------------

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};

/**
 * Binds the secret to its set: a reconstruction from shares that pass every checksum but were
 * altered (or come from a lookalike set) gives a secret whose commitment differs. The secret has
 * well over 128 bits of entropy, so 8 hash bytes give nothing away.
 */
export function shareCommitment(
  setId: Uint8Array,
  threshold: number,
  count: number,
  secret: Uint8Array,
): Uint8Array {
  const label = new TextEncoder().encode(COMMITMENT_LABEL);
  const digest = sha256(label, Uint8Array.of(0), setId, Uint8Array.of(threshold, count), secret);
  return digest.slice(0, COMMITMENT_BYTES);
}

/** Constant-time: commitments and checksums are compared without leaking where they differ. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function checkQuorum(threshold: number, count: number, index: number): string | null {
  const byte = (n: number) => Number.isInteger(n) && n >= 0 && n <= 255;
  if (!byte(threshold) || !byte(count) || !byte(index)) return 'a share number is out of range';
  if (threshold < 2) return 'a share says fewer than 2 shares are needed';
  if (count < threshold) return 'a share says more shares are needed than were made';
  if (index < 1 || index > count) return 'a share says it is a share that was never made';
  return null;
}

export function encodeCredentialShare(fields: CredentialShareFields): Uint8Array {
  const { setId, threshold, count, index, commitment, shamirShare } = fields;
  if (setId.length !== SET_ID_BYTES) throw malformed(`a set id has ${SET_ID_BYTES} bytes`);
  if (commitment.length !== COMMITMENT_BYTES) {
    throw malformed(`a commitment has ${COMMITMENT_BYTES} bytes`);
  }
  const quorumProblem = checkQuorum(threshold, count, index);
  if (quorumProblem !== null) throw malformed(quorumProblem);
  if (shamirShare.length < 2 || shamirShare.length > MAX_SHAMIR_SHARE_BYTES) {
    throw malformed(`a Shamir share has 2 to ${MAX_SHAMIR_SHARE_BYTES} bytes`);
  }
  if (shamirShare[shamirShare.length - 1] === 0) throw malformed('a Shamir point at x = 0');
  const out = new Uint8Array(HEADER_BYTES + shamirShare.length + CHECKSUM_BYTES);
  out.set(MAGIC, 0);
  out[2] = CREDENTIAL_SHARE_VERSION;
  out.set(setId, 3);
  out.set([threshold, count, index], 19);
  out.set(commitment, 22);
  out.set([shamirShare.length >> 8, shamirShare.length & 0xff], 30);
  out.set(shamirShare, HEADER_BYTES);
  const body = out.subarray(0, HEADER_BYTES + shamirShare.length);
  out.set(sha256(body).subarray(0, CHECKSUM_BYTES), body.length);
  return out;
}

/** Strict: every byte is accounted for, and the first problem found is the one reported. */
export function decodeCredentialShare(bytes: Uint8Array): CredentialShareFields {
  if (!(bytes instanceof Uint8Array)) throw malformed('this is not a share');
  if (bytes.length < MIN_SHARE_BYTES) throw malformed('the share is too short: part is missing');
  if (bytes.length > MAX_SHARE_BYTES) throw malformed('this is too long to be a share');
  if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1]) {
    throw malformed('this is not a Vigil credential share');
  }
  const version = bytes[2] ?? 0;
  if (version !== CREDENTIAL_SHARE_VERSION) {
    throw new CredentialShareError(
      'share-unknown-version',
      `this share is in format ${version}, which this Vigil does not read (it reads format ${CREDENTIAL_SHARE_VERSION}): use the Vigil version that made it`,
    );
  }
  const shamirLength = ((bytes[30] ?? 0) << 8) | (bytes[31] ?? 0);
  if (shamirLength !== bytes.length - HEADER_BYTES - CHECKSUM_BYTES) {
    throw malformed('the share is cut short or has extra parts: read it again in full');
  }
  const body = bytes.subarray(0, HEADER_BYTES + shamirLength);
  const checksum = bytes.subarray(body.length);
  if (!sameBytes(sha256(body).subarray(0, CHECKSUM_BYTES), checksum)) {
    throw new CredentialShareError(
      'share-checksum',
      "the share's checksum does not match: part of it was mistyped, swapped or damaged; retype or rescan the whole share",
    );
  }
  const [threshold, count, index] = [bytes[19] ?? 0, bytes[20] ?? 0, bytes[21] ?? 0];
  const quorumProblem = checkQuorum(threshold, count, index);
  if (quorumProblem !== null) throw malformed(`${quorumProblem}: this share cannot be used`);
  const shamirShare = bytes.subarray(HEADER_BYTES, body.length);
  if (shamirShare[shamirLength - 1] === 0) {
    throw malformed('the share holds an impossible point: it cannot be used');
  }
  return {
    setId: bytes.subarray(3, 3 + SET_ID_BYTES),
    threshold,
    count,
    index,
    commitment: bytes.subarray(22, 22 + COMMITMENT_BYTES),
    shamirShare,
  };
}

// ---- text: Crockford base32 in checked groups --------------------------------------------------

function toSymbols(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((bytes.length * 8) / 5));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[at++] = (acc >> bits) & 31;
    }
  }
  if (bits > 0) out[at] = (acc << (5 - bits)) & 31;
  return out;
}

/** Null when the count of symbols is not that of whole bytes, or the padding bits are not zero. */
function fromSymbols(symbols: Uint8Array): Uint8Array | null {
  const length = Math.floor((symbols.length * 5) / 8);
  if (Math.ceil((length * 8) / 5) !== symbols.length) return null;
  const out = new Uint8Array(length);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const symbol of symbols) {
    acc = ((acc << 5) | symbol) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) {
    out.fill(0);
    return null;
  }
  return out;
}

/**
 * Luhn mod 32 (the Luhn mod N algorithm) over the 1-based group number and the group's values:
 * doubling is a permutation of 0..31, so every single-character change is caught, and every
 * swap of neighbours except 0 with Z; the group number makes a group typed in the wrong place
 * fail too.
 */
function groupCheck(groupNumber: number, values: Uint8Array): number {
  const all = [(groupNumber >> 5) & 31, groupNumber & 31, ...values];
  let sum = 0;
  let isDoubled = true;
  for (let i = all.length - 1; i >= 0; i--) {
    const addend = (all[i] ?? 0) * (isDoubled ? 2 : 1);
    sum += Math.floor(addend / 32) + (addend % 32);
    isDoubled = !isDoubled;
  }
  all.fill(0);
  return (32 - (sum % 32)) % 32;
}

export function shareText(bytes: Uint8Array): string {
  const symbols = toSymbols(bytes);
  const groups: string[] = [];
  for (let at = 0; at < symbols.length; at += GROUP_DATA_CHARS) {
    const values = symbols.subarray(at, at + GROUP_DATA_CHARS);
    const check = groupCheck(groups.length + 1, values);
    groups.push(Array.from([...values, check], (v) => CROCKFORD_ALPHABET[v]).join(''));
  }
  symbols.fill(0);
  return groups.join('-');
}

/** A typed character's value: case-insensitive, O read as 0, I and L as 1; -1 when none. */
function symbolValue(code: number): number {
  const upper = code >= 0x61 && code <= 0x7a ? code - 0x20 : code;
  const folded = upper === 0x4f ? 0x30 : upper === 0x49 || upper === 0x4c ? 0x31 : upper;
  return folded < 0x80 ? CROCKFORD_ALPHABET.indexOf(String.fromCharCode(folded)) : -1;
}

function checkInput(input: unknown): asserts input is string {
  if (typeof input !== 'string') throw malformed('this is not a share');
  if (input.length > MAX_SHARE_INPUT_CHARS) throw malformed('this is too long to be a share');
}

/**
 * Typed groups: split at separators, and a run typed without them (the whole share, or a few
 * groups) cut into fives; any other run keeps its length, so its group can be named.
 */
function textGroups(text: string): string[] {
  const pieces = text.split(/[\s-]+/).filter((piece) => piece.length > 0);
  if (pieces.length === 0) throw malformed('the share is empty');
  const isRun = (piece: string) => pieces.length === 1 || piece.length % GROUP_CHARS === 0;
  return pieces.flatMap((piece) => {
    if (!isRun(piece)) return [piece];
    const groups: string[] = [];
    for (let at = 0; at < piece.length; at += GROUP_CHARS) {
      groups.push(piece.slice(at, at + GROUP_CHARS));
    }
    return groups;
  });
}

/** The binary of a share's text form, checked group by group, then as a whole. */
export function parseShareText(text: string): Uint8Array {
  checkInput(text);
  const groups = textGroups(text);
  const symbols = new Uint8Array(groups.length * GROUP_DATA_CHARS);
  let symbolCount = 0;
  try {
    for (const [i, group] of groups.entries()) {
      const number = i + 1;
      const isLast = number === groups.length;
      if (group.length > GROUP_CHARS || (!isLast && group.length < GROUP_CHARS)) {
        throw malformed(
          `group ${number} has ${group.length} characters where ${GROUP_CHARS} belong: a character is missing or extra; retype it`,
        );
      }
      if (group.length < 2) {
        throw malformed(`the last group (group ${number}) is too short: retype it`);
      }
      const values = new Uint8Array(group.length);
      for (let c = 0; c < group.length; c++) {
        const value = symbolValue(group.charCodeAt(c));
        if (value < 0) {
          values.fill(0);
          throw malformed(
            `character ${c + 1} of group ${number} is not one a share uses (digits and letters, no U): retype it`,
          );
        }
        values[c] = value;
      }
      const data = values.subarray(0, values.length - 1);
      const isCheckMatched = groupCheck(number, data) === values[values.length - 1];
      symbols.set(data, symbolCount);
      symbolCount += data.length;
      values.fill(0);
      if (!isCheckMatched) {
        throw new CredentialShareError(
          'share-checksum',
          `group ${number} does not match its check: retype it`,
        );
      }
    }
    const bytes = fromSymbols(symbols.subarray(0, symbolCount));
    if (bytes === null) {
      throw malformed('the share has a wrong number of characters: a group is missing or extra');
    }
    return validated(bytes);
  } finally {
    symbols.fill(0);
  }
}

/** Runs the binary checks; wipes the bytes if they fail. */
function validated(bytes: Uint8Array): Uint8Array {
  try {
    decodeCredentialShare(bytes);
    return bytes;
  } catch (error) {
    bytes.fill(0);
    throw error;
  }
}

// ---- words ---------------------------------------------------------------------------------------

const wordValues = (list: readonly string[]) =>
  new Map(list.map((word, value) => [word.toLowerCase(), value]));
const evenWords = wordValues(wordlist.evenPosition);
const oddWords = wordValues(wordlist.oddPosition);

export function shareWords(bytes: Uint8Array): string[] {
  return pgpWords(bytes);
}

function isPgpWord(token: string): boolean {
  const word = token.toLowerCase();
  return evenWords.has(word) || oddWords.has(word);
}

const wordTokens = (text: string) => text.split(/[\s,;]+/).filter((token) => token.length > 0);

/** The binary of a share's word form: every word in its list and in its place, then the checks. */
export function parseShareWords(text: string): Uint8Array {
  checkInput(text);
  const tokens = wordTokens(text);
  if (tokens.length === 0) throw malformed('the share is empty');
  if (tokens.length > MAX_SHARE_BYTES) throw malformed('this is too long to be a share');
  const bytes = new Uint8Array(tokens.length);
  for (const [i, token] of tokens.entries()) {
    const word = token.toLowerCase();
    const isEven = i % 2 === 0;
    const value = (isEven ? evenWords : oddWords).get(word);
    if (value !== undefined) {
      bytes[i] = value;
      continue;
    }
    bytes.fill(0);
    if ((isEven ? oddWords : evenWords).has(word)) {
      throw new CredentialShareError(
        'share-checksum',
        `word ${i + 1} is a ${isEven ? 'three' : 'two'}-syllable word where a ${isEven ? 'two' : 'three'}-syllable word belongs: a word before it is missing, doubled or swapped`,
      );
    }
    throw malformed(`word ${i + 1} is not in the PGP word list: check its spelling`);
  }
  return validated(bytes);
}

// ---- QR and receipt ----------------------------------------------------------------------------

export function shareQrPayload(bytes: Uint8Array): string {
  return `${SHARE_QR_PREFIX}${shareText(bytes)}`;
}

export function parseShareQrPayload(payload: string): Uint8Array {
  checkInput(payload);
  const match = /^vigil-share:([^:]{0,8}):(.*)$/is.exec(payload.trim());
  if (match === null) throw malformed('this QR code is not a Vigil credential share');
  if (match[1] !== String(CREDENTIAL_SHARE_VERSION)) {
    throw new CredentialShareError(
      'share-unknown-version',
      'this QR code holds a share in a format this Vigil does not read: use the Vigil version that made it',
    );
  }
  return parseShareText(match[2] ?? '');
}

/** Any of the three forms, told apart by the QR prefix or by being mostly PGP words. */
export function parseShareInput(input: string): Uint8Array {
  checkInput(input);
  if (/^\s*vigil-share:/i.test(input)) return parseShareQrPayload(input);
  const tokens = wordTokens(input);
  const wordCount = tokens.filter(isPgpWord).length;
  return tokens.length >= 2 && wordCount * 2 >= tokens.length
    ? parseShareWords(input)
    : parseShareText(input);
}

/** 16 bits: enough to show the shareholder read their own share, not meant to be secret. */
export function receiptWords(bytes: Uint8Array): [string, string] {
  decodeCredentialShare(bytes);
  const checksumAt = bytes.length - CHECKSUM_BYTES;
  const [even = '', odd = ''] = pgpWords(bytes.subarray(checksumAt, checksumAt + 2));
  return [even, odd];
}

export function receiptMatches(bytes: Uint8Array, typed: string): boolean {
  if (typeof typed !== 'string' || typed.length > 200) return false;
  const tokens = typed
    .split(/[\s,;-]+/)
    .filter((token) => token.length > 0)
    .map((token) => token.toLowerCase());
  const expected = receiptWords(bytes).map((word) => word.toLowerCase());
  return tokens.length === 2 && tokens[0] === expected[0] && tokens[1] === expected[1];
}

// ---- the share as a value ----------------------------------------------------------------------

const setLabelOf = (setIdHex: string) => groupHex(setIdHex.slice(0, 8));

/**
 * A share is a secret: like SecretBytes, its bytes are private, reached through `use`, wiped
 * with `wipe`, and JSON and inspect show only which share of which set it is.
 */
export class CredentialShare {
  /** Lower-case hex of the 16-byte set id. */
  readonly setId: string;
  readonly threshold: number;
  readonly count: number;
  readonly index: number;
  #bytes: Uint8Array | null;

  /** Takes ownership of `bytes`. */
  private constructor(bytes: Uint8Array) {
    const fields = decodeCredentialShare(bytes);
    this.setId = bytesToHex(fields.setId);
    this.threshold = fields.threshold;
    this.count = fields.count;
    this.index = fields.index;
    this.#bytes = bytes;
  }

  /** A copy of the binary form; the caller wipes its own. */
  static fromBytes(bytes: Uint8Array): CredentialShare {
    if (!(bytes instanceof Uint8Array)) throw malformed('this is not a share');
    return CredentialShare.#owning(Uint8Array.from(bytes));
  }

  static fromFields(fields: CredentialShareFields): CredentialShare {
    return CredentialShare.#owning(encodeCredentialShare(fields));
  }

  static fromText(text: string): CredentialShare {
    return CredentialShare.#owning(parseShareText(text));
  }

  static fromWords(text: string): CredentialShare {
    return CredentialShare.#owning(parseShareWords(text));
  }

  static fromQrPayload(payload: string): CredentialShare {
    return CredentialShare.#owning(parseShareQrPayload(payload));
  }

  /** Whatever the shareholder typed or scanned: text, words or QR payload. */
  static fromInput(input: string): CredentialShare {
    return CredentialShare.#owning(parseShareInput(input));
  }

  static #owning(bytes: Uint8Array): CredentialShare {
    try {
      return new CredentialShare(bytes);
    } catch (error) {
      bytes.fill(0);
      throw error;
    }
  }

  /** The first 8 hex digits of the set id, as printed on every share of the set. */
  get setLabel(): string {
    return setLabelOf(this.setId);
  }

  get isWiped(): boolean {
    return this.#bytes === null;
  }

  /** The only way to the fields: a callback over views that die with the share. */
  use<T>(consumer: (fields: CredentialShareFields, bytes: Uint8Array) => T): T {
    if (this.#bytes === null) {
      throw new CredentialShareError('share-wiped', 'this share was already wiped: read it again');
    }
    return consumer(decodeCredentialShare(this.#bytes), this.#bytes);
  }

  /** A copy for a medium; the caller wipes it once written. */
  toBytes(): Uint8Array {
    return this.use((_, bytes) => Uint8Array.from(bytes));
  }

  toText(): string {
    return this.use((_, bytes) => shareText(bytes));
  }

  toWords(): string[] {
    return this.use((_, bytes) => shareWords(bytes));
  }

  toQrPayload(): string {
    return this.use((_, bytes) => shareQrPayload(bytes));
  }

  receiptWords(): [string, string] {
    return this.use((_, bytes) => receiptWords(bytes));
  }

  /** Refuses a receipt that does not match, so the shareholder reads their share again. */
  confirmReceipt(typed: string): void {
    if (!this.use((_, bytes) => receiptMatches(bytes, typed))) {
      throw new CredentialShareError(
        'share-receipt-mismatch',
        `the receipt words do not match share ${this.index}: read them again from the share you received`,
      );
    }
  }

  /** Refuses a share of another split before it is used with this one. */
  assertSet(setId: string): void {
    if (setId !== this.setId) {
      throw new CredentialShareError(
        'share-wrong-set',
        `this share belongs to set ${this.setLabel}, not to set ${setLabelOf(setId)} being collected: it is from another split`,
      );
    }
  }

  /** True when both are the same share (a scan-back matches what was handed out). */
  equals(other: CredentialShare): boolean {
    return this.use((_, a) => other.use((__, b) => sameBytes(a, b)));
  }

  wipe(): void {
    this.#bytes?.fill(0);
    this.#bytes = null;
  }

  toJSON(): string {
    return this.toString();
  }

  toString(): string {
    return `[share ${this.index} of ${this.count}, ${this.threshold} needed, set ${this.setLabel}]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
