// BER-TLV as PIV and Yubico's extensions use it: tags of one to three bytes (0x7C, 0x7F49,
// 0x5FC105), definite lengths up to 0xFFFF. Pure; both the host driver and the rehearsal card
// read and write with it.
import { KindedError } from '../../base/errors.ts';
import { concatBytes } from '../../formats/der.ts';

export class TlvError extends KindedError<'tlv-malformed'> {
  readonly name = 'TlvError';
  constructor(message: string) {
    super('tlv-malformed', message);
  }
}

/** A tag's bytes: 0x7F49 → 7F 49, 0x5FC105 → 5F C1 05. */
export function tagBytes(tag: number): number[] {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffff) throw new TlvError('bad tag');
  if (tag > 0xffff) return [tag >> 16, (tag >> 8) & 0xff, tag & 0xff];
  if (tag > 0xff) return [tag >> 8, tag & 0xff];
  return [tag];
}

export function encodeBerLength(length: number): number[] {
  if (length < 0x80) return [length];
  if (length <= 0xff) return [0x81, length];
  if (length <= 0xffff) return [0x82, length >> 8, length & 0xff];
  throw new TlvError('value longer than 65535 bytes');
}

export function tlv(tag: number, value: Uint8Array = new Uint8Array(0)): Uint8Array {
  const head = [...tagBytes(tag), ...encodeBerLength(value.length)];
  const out = new Uint8Array(head.length + value.length);
  out.set(head);
  out.set(value, head.length);
  return out;
}

/** Joins byte strings (the DER module's, under the name PIV code reads best with). */
export const concat = concatBytes;

export interface BerTlv {
  tag: number;
  value: Uint8Array;
}

/** Reads consecutive TLVs until the end of `bytes`; a truncated element is an error. */
export function readTlvs(bytes: Uint8Array): BerTlv[] {
  const out: BerTlv[] = [];
  let offset = 0;
  const at = (i: number) => {
    const value = bytes[i];
    if (value === undefined) throw new TlvError('TLV truncated');
    return value;
  };
  while (offset < bytes.length) {
    let tag = at(offset++);
    // Multi-byte tag: low five bits all set, then bytes while bit 8 is set.
    if ((tag & 0x1f) === 0x1f) {
      let next: number;
      do {
        next = at(offset++);
        tag = tag * 256 + next;
      } while (next & 0x80);
    }
    let length = at(offset++);
    if (length === 0x81) length = at(offset++);
    else if (length === 0x82) {
      length = (at(offset) << 8) | at(offset + 1);
      offset += 2;
    } else if (length > 0x80) throw new TlvError('TLV length form not supported');
    if (offset + length > bytes.length) throw new TlvError('TLV truncated');
    out.push({ tag, value: bytes.slice(offset, offset + length) });
    offset += length;
  }
  return out;
}

/** TLVs as a map by tag (the first of each). */
export function tlvMap(bytes: Uint8Array): Map<number, Uint8Array> {
  const map = new Map<number, Uint8Array>();
  for (const { tag, value } of readTlvs(bytes)) if (!map.has(tag)) map.set(tag, value);
  return map;
}

/** The value of the single TLV with `tag` that `bytes` must consist of. */
export function unwrapTlv(bytes: Uint8Array, tag: number): Uint8Array {
  const [first, ...rest] = readTlvs(bytes);
  if (!first || first.tag !== tag || rest.length > 0)
    throw new TlvError(`expected one TLV with tag ${tag.toString(16)}`);
  return first.value;
}
