// Just enough of RFC 4880 to check an exported OpenPGP key without a crypto library: ASCII armor,
// packet framing (old and new headers), and the v4 fingerprint. Pure and synchronous, so the
// products verifier can name a key's fingerprint and User IDs. Signatures are not checked here.
import { createHash } from 'node:crypto';
import { KindedError } from '../base/errors.ts';

/** Armor or packets that are not an OpenPGP key as RFC 4880 frames one (a file or a device's). */
export class OpenPgpPacketError extends KindedError<'openpgp-malformed'> {
  readonly name = 'OpenPgpPacketError';
  constructor(message: string) {
    super('openpgp-malformed', message);
  }
}

export interface OpenPgpPacket {
  tag: number;
  body: Uint8Array;
}

export const PacketTag = { publicKey: 6, userId: 13, publicSubkey: 14 } as const;

/** The bytes inside the first armored block: headers and the CRC24 line are skipped. */
export function dearmor(text: string): Uint8Array {
  const lines = text.replace(/\r/g, '').split('\n');
  const begin = lines.findIndex((l) => /^-----BEGIN PGP [A-Z ]+-----$/.test(l));
  if (begin < 0) throw new OpenPgpPacketError('no armored block');
  const end = lines.findIndex((l, i) => i > begin && /^-----END PGP [A-Z ]+-----$/.test(l));
  if (end < 0) throw new OpenPgpPacketError('armored block has no end line');
  const inside = lines.slice(begin + 1, end);
  const blank = inside.findIndex((l) => l.trim() === '');
  const body = (blank < 0 ? inside : inside.slice(blank + 1)).filter((l) => !l.startsWith('='));
  const base64 = body.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw new OpenPgpPacketError('armor is not base64');
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

function bodyLength(bytes: Uint8Array, at: number): { length: number; headerBytes: number } {
  const first = bytes[at] ?? 0;
  if (first < 192) return { length: first, headerBytes: 1 };
  if (first < 224)
    return { length: ((first - 192) << 8) + (bytes[at + 1] ?? 0) + 192, headerBytes: 2 };
  if (first === 255) {
    if (at + 5 > bytes.length) throw new OpenPgpPacketError('packet length truncated');
    const view = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4);
    return { length: view.getUint32(0), headerBytes: 5 };
  }
  throw new OpenPgpPacketError('partial body lengths do not occur in keys');
}

/** The packets in order; throws on a truncated or unframed stream. */
export function readPackets(bytes: Uint8Array): OpenPgpPacket[] {
  const packets: OpenPgpPacket[] = [];
  let at = 0;
  while (at < bytes.length) {
    const header = bytes[at] ?? 0;
    if ((header & 0x80) === 0) throw new OpenPgpPacketError(`no packet header at byte ${at}`);
    let tag: number;
    let length: number;
    let start: number;
    if ((header & 0x40) !== 0) {
      tag = header & 0x3f;
      const parsed = bodyLength(bytes, at + 1);
      length = parsed.length;
      start = at + 1 + parsed.headerBytes;
    } else {
      tag = (header >> 2) & 0x0f;
      const size = [1, 2, 4][header & 0x03];
      if (size === undefined) throw new OpenPgpPacketError('indeterminate packet length');
      length = 0;
      for (let i = 0; i < size; i++) length = length * 256 + (bytes[at + 1 + i] ?? 0);
      start = at + 1 + size;
    }
    if (start + length > bytes.length) throw new OpenPgpPacketError('truncated packet');
    packets.push({ tag, body: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return packets;
}

/** SHA-1 over 0x99, the two-byte length and the v4 public-key packet body; lower-case hex. */
export function v4Fingerprint(publicKeyBody: Uint8Array): string {
  if (publicKeyBody[0] !== 4)
    throw new OpenPgpPacketError(`key packet version ${publicKeyBody[0]}, not 4`);
  const prefix = Uint8Array.of(0x99, publicKeyBody.length >> 8, publicKeyBody.length & 0xff);
  return createHash('sha1').update(prefix).update(publicKeyBody).digest('hex');
}

/** The primary fingerprint and User IDs of an armored public key. */
export function publicKeyFacts(armored: string): { fingerprint: string; userIds: string[] } {
  const packets = readPackets(dearmor(armored));
  const primary = packets[0];
  if (primary?.tag !== PacketTag.publicKey) throw new OpenPgpPacketError('not a public key');
  return {
    fingerprint: v4Fingerprint(primary.body),
    userIds: packets
      .filter((p) => p.tag === PacketTag.userId)
      .map((p) => {
        try {
          return new TextDecoder('utf-8', { fatal: true }).decode(p.body);
        } catch {
          throw new OpenPgpPacketError('a User ID is not UTF-8');
        }
      }),
  };
}
