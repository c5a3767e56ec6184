// Minimal DER: only the pieces our products need (lengths, TLV walk, OCTET STRING, INTEGER).
import { KindedError } from '../base/errors.ts';

export class DerError extends KindedError<'der-malformed'> {
  readonly name = 'DerError';
  constructor(message: string) {
    super('der-malformed', message);
  }
}

export function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>>= 8) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const length = encodeLength(value.length);
  const out = new Uint8Array(1 + length.length + value.length);
  out[0] = tag;
  out.set(length, 1);
  out.set(value, 1 + length.length);
  return out;
}

export interface Tlv {
  tag: number;
  value: Uint8Array;
  /** Offset just past this element. */
  end: number;
}

export function readTlv(bytes: Uint8Array, offset = 0): Tlv {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined) throw new DerError('DER element truncated');
  let length = first;
  let headerLength = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    // Definite lengths of up to 4 bytes cover every object a ceremony produces.
    if (count === 0 || count > 4) throw new DerError('DER length form not supported');
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = bytes[offset + 2 + i];
      if (b === undefined) throw new DerError('DER length truncated');
      length = length * 256 + b;
    }
    if (length < 0x80) throw new DerError('DER length not minimal');
    headerLength += count;
  }
  const start = offset + headerLength;
  const end = start + length;
  if (end > bytes.length) throw new DerError('DER value truncated');
  return { tag, value: bytes.subarray(start, end), end };
}

/** Reads exactly one element spanning the whole input. */
export function readSingleTlv(bytes: Uint8Array, expectedTag: number): Uint8Array {
  const tlv = readTlv(bytes);
  if (tlv.tag !== expectedTag) throw new DerError(`expected DER tag 0x${expectedTag.toString(16)}`);
  if (tlv.end !== bytes.length) throw new DerError('trailing bytes after DER element');
  return tlv.value;
}

export const DerTag = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  objectIdentifier: 0x06,
  sequence: 0x30,
} as const;

/** Encodes an unsigned big-endian magnitude as a DER INTEGER. */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const needsPad = (trimmed[0] ?? 0) >= 0x80;
  const body = needsPad ? Uint8Array.of(0, ...trimmed) : trimmed;
  return encodeTlv(DerTag.integer, body);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function hexToBytes(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new DerError('not an even-length hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
