// ISO/IEC 7816-4 command and response APDUs: short and extended encodings, command chaining,
// status words with names, and the 61xx GET RESPONSE loop. Pure; the transport sends the bytes.
import { KindedError } from '../../base/errors.ts';

export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data?: Uint8Array;
  /** Expected response length: 0 = none, 256 (short) or 65536 (extended) = as much as there is. */
  ne?: number;
}

export class ApduError extends KindedError<'apdu-malformed'> {
  readonly name = 'ApduError';
  constructor(message: string) {
    super('apdu-malformed', message);
  }
}

const MAX_SHORT_DATA = 255;
const MAX_SHORT_NE = 256;

function byte(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff)
    throw new ApduError(`${what} is not a byte`);
  return value;
}

/**
 * Encodes one APDU, short when it fits (Lc ≤ 255, Ne ≤ 256) and extended otherwise, per the four
 * ISO 7816-4 cases.
 */
export function encodeApdu(apdu: CommandApdu, allowExtended = true): Uint8Array {
  const header = [
    byte(apdu.cla, 'CLA'),
    byte(apdu.ins, 'INS'),
    byte(apdu.p1, 'P1'),
    byte(apdu.p2, 'P2'),
  ];
  const data = apdu.data ?? new Uint8Array(0);
  const ne = apdu.ne ?? 0;
  if (data.length > 65535) throw new ApduError('command data longer than 65535 bytes');
  if (!Number.isInteger(ne) || ne < 0 || ne > 65536) throw new ApduError('Ne out of range');
  const isShort = data.length <= MAX_SHORT_DATA && ne <= MAX_SHORT_NE;
  if (!isShort && !allowExtended)
    throw new ApduError('needs an extended APDU, which is not allowed');
  const out: number[] = [...header];
  if (isShort) {
    if (data.length > 0) out.push(data.length, ...data);
    if (ne > 0) out.push(ne === MAX_SHORT_NE ? 0 : ne);
    return Uint8Array.from(out);
  }
  if (data.length > 0) {
    out.push(0, data.length >> 8, data.length & 0xff, ...data);
    if (ne > 0) out.push((ne === 65536 ? 0 : ne) >> 8, (ne === 65536 ? 0 : ne) & 0xff);
  } else {
    out.push(0, (ne === 65536 ? 0 : ne) >> 8, (ne === 65536 ? 0 : ne) & 0xff);
  }
  return Uint8Array.from(out);
}

/**
 * Splits a command whose data exceeds one short APDU into a chain (CLA bit 0x10 on all but the
 * last), as PIV and OpenPGP cards expect for key imports and certificates.
 */
export function chainApdus(apdu: CommandApdu, chunk = MAX_SHORT_DATA): Uint8Array[] {
  const data = apdu.data ?? new Uint8Array(0);
  if (data.length <= chunk) return [encodeApdu(apdu, false)];
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += chunk) {
    const isLast = offset + chunk >= data.length;
    parts.push(
      encodeApdu(
        {
          ...apdu,
          cla: isLast ? apdu.cla : apdu.cla | 0x10,
          data: data.subarray(offset, offset + chunk),
          ne: isLast ? (apdu.ne ?? 0) : 0,
        },
        false,
      ),
    );
  }
  return parts;
}

export interface ResponseApdu {
  data: Uint8Array;
  sw: number;
}

export function decodeResponse(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) throw new ApduError('response shorter than its status word');
  const sw = ((bytes[bytes.length - 2] ?? 0) << 8) | (bytes[bytes.length - 1] ?? 0);
  return { data: bytes.slice(0, -2), sw };
}

export function encodeResponse(response: ResponseApdu): Uint8Array {
  const out = new Uint8Array(response.data.length + 2);
  out.set(response.data);
  out[out.length - 2] = response.sw >> 8;
  out[out.length - 1] = response.sw & 0xff;
  return out;
}

export const SW = {
  ok: 0x9000,
  wrongLength: 0x6700,
  securityNotSatisfied: 0x6982,
  authenticationBlocked: 0x6983,
  conditionsNotSatisfied: 0x6985,
  incorrectData: 0x6a80,
  functionNotSupported: 0x6a81,
  fileNotFound: 0x6a82,
  incorrectP1P2: 0x6a86,
  referenceNotFound: 0x6a88,
  insNotSupported: 0x6d00,
  claNotSupported: 0x6e00,
} as const;

/** Each named status word's kind (what code branches on) and words (what a person reads). */
const namedStatusWords = {
  [SW.wrongLength]: ['wrong-length', 'wrong length'],
  [SW.securityNotSatisfied]: ['security-not-satisfied', 'security status not satisfied'],
  [SW.authenticationBlocked]: ['authentication-blocked', 'authentication method blocked'],
  [SW.conditionsNotSatisfied]: ['conditions-not-satisfied', 'conditions of use not satisfied'],
  [SW.incorrectData]: ['incorrect-data', 'incorrect data'],
  [SW.functionNotSupported]: ['function-not-supported', 'function not supported'],
  [SW.fileNotFound]: ['file-not-found', 'file or application not found'],
  [SW.incorrectP1P2]: ['incorrect-p1-p2', 'incorrect P1/P2'],
  [SW.referenceNotFound]: ['reference-not-found', 'referenced data not found'],
  [SW.insNotSupported]: ['ins-not-supported', 'instruction not supported'],
  [SW.claNotSupported]: ['cla-not-supported', 'class not supported'],
} as const;

export type StatusWordKind =
  | (typeof namedStatusWords)[keyof typeof namedStatusWords][0]
  | 'success'
  | 'more-data'
  | 'verification-failed'
  | 'unknown';

const namedStatusWord = (sw: number): readonly [StatusWordKind, string] | undefined =>
  (namedStatusWords as Record<number, readonly [StatusWordKind, string]>)[sw];

/** A status word's kind, for an error that carries it; 63Cx is 'verification-failed'. */
export function statusWordKind(sw: number): StatusWordKind {
  if (sw === SW.ok) return 'success';
  if ((sw & 0xff00) === 0x6100) return 'more-data';
  if ((sw & 0xfff0) === 0x63c0) return 'verification-failed';
  return namedStatusWord(sw)?.[0] ?? 'unknown';
}

/** A name for a status word, for errors and logs (63Cx carries the tries left). */
export function statusWordName(sw: number): string {
  if (sw === SW.ok) return 'success';
  if ((sw & 0xff00) === 0x6100) return `${sw & 0xff} more bytes available`;
  if ((sw & 0xfff0) === 0x63c0) return `verification failed, ${sw & 0x0f} tries left`;
  return namedStatusWord(sw)?.[1] ?? `status ${sw.toString(16).padStart(4, '0')}`;
}

/** A status word other than 9000: `kind` names it, `sw` keeps the card's own number. */
export class StatusWordError extends KindedError<StatusWordKind> {
  readonly name = 'StatusWordError';
  constructor(
    readonly sw: number,
    readonly command: string,
  ) {
    super(
      statusWordKind(sw),
      `${command}: ${statusWordName(sw)} (${sw.toString(16).padStart(4, '0')})`,
    );
  }
}

/** Tries left from a 63Cx answer to VERIFY, or null for any other status word. */
export function triesLeftOf(sw: number): number | null {
  return (sw & 0xfff0) === 0x63c0 ? sw & 0x0f : null;
}

/**
 * Sends a command and gathers its whole answer: chained command parts, then GET RESPONSE while
 * the card says 61xx. `exchange` carries raw bytes to the card and back.
 */
export async function transmitApdu(
  exchange: (bytes: Uint8Array) => Promise<Uint8Array>,
  apdu: CommandApdu,
): Promise<ResponseApdu> {
  let response: ResponseApdu = { data: new Uint8Array(0), sw: SW.ok };
  for (const part of chainApdus(apdu)) {
    response = decodeResponse(await exchange(part));
    if (response.sw !== SW.ok && (response.sw & 0xff00) !== 0x6100) return response;
  }
  const chunks: Uint8Array[] = [response.data];
  let total = response.data.length;
  for (let guard = 0; (response.sw & 0xff00) === 0x6100; guard++) {
    if (guard > 256) throw new ApduError('GET RESPONSE did not end');
    const le = response.sw & 0xff || 256;
    response = decodeResponse(
      await exchange(encodeApdu({ cla: apdu.cla & ~0x10, ins: 0xc0, p1: 0, p2: 0, ne: le })),
    );
    chunks.push(response.data);
    total += response.data.length;
  }
  const data = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return { data, sw: response.sw };
}
