// Writes the few v4 OpenPGP packets a certificate and a detached signature need (RFC 4880, with
// RFC 9580's names): new-format packet framing, MPIs, public-key, User ID and signature packets,
// the v4 signature hash inputs, and ASCII armor. The signing itself happens elsewhere (an HSM
// that never exports the key), so this module stops at "these bytes are to be hashed and signed"
// and "put this signature into a packet". Pure and synchronous; the reader is openpgp-packets.ts.
import { createHash } from 'node:crypto';
import { KindedError } from '../base/errors.ts';
import { DerTag, bytesToHex, concatBytes, hexToBytes, readSingleTlv, readTlv } from './der.ts';

/** RFC 9580 §9.1 public-key algorithm IDs this builder writes. */
export const PublicKeyAlgorithm = { rsa: 1, ecdsa: 19, eddsaLegacy: 22 } as const;
export type PublicKeyAlgorithmId = (typeof PublicKeyAlgorithm)[keyof typeof PublicKeyAlgorithm];

/** RFC 9580 §9.5 hash algorithm IDs. */
export const HashAlgorithm = { sha256: 8, sha384: 9, sha512: 10 } as const;
export type OpenPgpHash = keyof typeof HashAlgorithm;

export const SignatureType = { binaryDocument: 0x00, positiveCertification: 0x13 } as const;
export type SignatureTypeId = (typeof SignatureType)[keyof typeof SignatureType];

export const PacketTagNumber = { signature: 2, publicKey: 6, userId: 13 } as const;

/** RFC 9580 §5.2.3.7 signature subpacket types used here. */
export const SubpacketType = {
  signatureCreationTime: 2,
  preferredSymmetric: 11,
  issuerKeyId: 16,
  preferredHash: 21,
  preferredCompression: 22,
  keyFlags: 27,
  features: 30,
  issuerFingerprint: 33,
} as const;

export const KeyFlag = { certify: 0x01, sign: 0x02 } as const;

/** Curve OIDs as OpenPGP writes them: the DER contents without tag and length (RFC 9580 §9.2). */
export const CurveOid = {
  ed25519Legacy: hexToBytes('2b06010401da470f01'),
  p256: hexToBytes('2a8648ce3d030107'),
  p384: hexToBytes('2b81040022'),
  p521: hexToBytes('2b81040023'),
} as const;
export type EcdsaCurve = 'p256' | 'p384' | 'p521';

export class OpenPgpBuildError extends KindedError<
  'bad-key-material' | 'bad-signature-encoding' | 'too-long' | 'not-a-key'
> {
  readonly name = 'OpenPgpBuildError';
}

/** New-format body length (RFC 9580 §4.2.1): 1 byte below 192, 2 below 8384, else 0xFF + 4. */
export function encodeBodyLength(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new OpenPgpBuildError('too-long', `packet length ${length} cannot be written`);
  }
  if (length < 192) return Uint8Array.of(length);
  if (length < 8384) {
    const rest = length - 192;
    return Uint8Array.of((rest >> 8) + 192, rest & 0xff);
  }
  return Uint8Array.of(
    0xff,
    length >>> 24,
    (length >>> 16) & 0xff,
    (length >>> 8) & 0xff,
    length & 0xff,
  );
}

/** A new-format packet: 0xC0 | tag, the body length, the body. */
export function encodePacket(tag: number, body: Uint8Array): Uint8Array {
  if (tag < 0 || tag > 63) throw new RangeError(`packet tag ${tag} out of range`);
  return concatBytes(Uint8Array.of(0xc0 | tag), encodeBodyLength(body.length), body);
}

function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/** Multiprecision integer (RFC 9580 §3.2): bit count, then the big-endian magnitude, no padding. */
export function encodeMpi(magnitude: Uint8Array): Uint8Array {
  const bytes = stripLeadingZeros(magnitude);
  const bits = bytes.length === 0 ? 0 : (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
  if (bits > 0xffff) throw new OpenPgpBuildError('too-long', 'an MPI holds at most 65535 bits');
  return concatBytes(Uint8Array.of(bits >> 8, bits & 0xff), bytes);
}

/** Signature subpacket (RFC 9580 §5.2.3.7): the same 1/2/5-byte length, over type and body. */
export function encodeSubpacket(type: number, body: Uint8Array, isCritical = false): Uint8Array {
  return concatBytes(
    encodeBodyLength(body.length + 1),
    Uint8Array.of(type | (isCritical ? 0x80 : 0)),
    body,
  );
}

function uint32(value: number): Uint8Array {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/** OpenPGP timestamps are whole seconds since 1970 in 32 bits. */
export function openPgpTime(at: Date): number {
  const seconds = Math.floor(at.getTime() / 1000);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 0xffffffff) {
    throw new RangeError(`${at.toISOString()} is outside the OpenPGP time range`);
  }
  return seconds;
}

export type OpenPgpKeyMaterial =
  | { algorithm: 'eddsa-legacy'; point: Uint8Array /* 32-byte Ed25519 public key */ }
  | { algorithm: 'ecdsa'; curve: EcdsaCurve; point: Uint8Array /* 04 ‖ X ‖ Y */ }
  | { algorithm: 'rsa'; modulus: Uint8Array; publicExponent: Uint8Array };

const ecdsaPointBytes: Record<EcdsaCurve, number> = { p256: 65, p384: 97, p521: 133 };

export function algorithmIdOf(material: OpenPgpKeyMaterial): PublicKeyAlgorithmId {
  switch (material.algorithm) {
    case 'eddsa-legacy':
      return PublicKeyAlgorithm.eddsaLegacy;
    case 'ecdsa':
      return PublicKeyAlgorithm.ecdsa;
    case 'rsa':
      return PublicKeyAlgorithm.rsa;
  }
}

function oidField(oid: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(oid.length), oid);
}

/** The v4 public-key packet body (RFC 9580 §5.5.2): version, creation time, algorithm, key. */
export function publicKeyPacketBody(material: OpenPgpKeyMaterial, createdAt: Date): Uint8Array {
  const head = concatBytes(Uint8Array.of(4), uint32(openPgpTime(createdAt)));
  switch (material.algorithm) {
    case 'eddsa-legacy':
      if (material.point.length !== 32) {
        throw new OpenPgpBuildError('bad-key-material', 'an Ed25519 public key has 32 bytes');
      }
      // The legacy EdDSA point is prefixed with 0x40, the "native point format" octet.
      return concatBytes(
        head,
        Uint8Array.of(PublicKeyAlgorithm.eddsaLegacy),
        oidField(CurveOid.ed25519Legacy),
        encodeMpi(concatBytes(Uint8Array.of(0x40), material.point)),
      );
    case 'ecdsa':
      if (material.point.length !== ecdsaPointBytes[material.curve] || material.point[0] !== 4) {
        throw new OpenPgpBuildError(
          'bad-key-material',
          `not an uncompressed ${material.curve} point`,
        );
      }
      return concatBytes(
        head,
        Uint8Array.of(PublicKeyAlgorithm.ecdsa),
        oidField(CurveOid[material.curve]),
        encodeMpi(material.point),
      );
    case 'rsa':
      if (stripLeadingZeros(material.modulus).length < 128) {
        throw new OpenPgpBuildError('bad-key-material', 'an RSA modulus below 1024 bits');
      }
      return concatBytes(
        head,
        Uint8Array.of(PublicKeyAlgorithm.rsa),
        encodeMpi(material.modulus),
        encodeMpi(material.publicExponent),
      );
  }
}

function readMpi(bytes: Uint8Array, at: number): { value: Uint8Array; next: number } {
  if (at + 2 > bytes.length) throw new OpenPgpBuildError('not-a-key', 'MPI truncated');
  const bits = (bytes[at]! << 8) | bytes[at + 1]!;
  const end = at + 2 + Math.ceil(bits / 8);
  if (end > bytes.length) throw new OpenPgpBuildError('not-a-key', 'MPI truncated');
  return { value: bytes.subarray(at + 2, end), next: end };
}

/** Reads back a v4 public-key packet body written by publicKeyPacketBody (or a peer). */
export function decodePublicKeyPacketBody(body: Uint8Array): {
  createdAt: Date;
  material: OpenPgpKeyMaterial;
} {
  if (body.length < 6 || body[0] !== 4) {
    throw new OpenPgpBuildError('not-a-key', 'not a version 4 public-key packet');
  }
  const seconds = new DataView(body.buffer, body.byteOffset + 1, 4).getUint32(0);
  const createdAt = new Date(seconds * 1000);
  const algorithm = body[5];
  if (algorithm === PublicKeyAlgorithm.rsa) {
    const n = readMpi(body, 6);
    const e = readMpi(body, n.next);
    return { createdAt, material: { algorithm: 'rsa', modulus: n.value, publicExponent: e.value } };
  }
  if (algorithm === PublicKeyAlgorithm.eddsaLegacy || algorithm === PublicKeyAlgorithm.ecdsa) {
    const oidLength = body[6] ?? 0;
    const oid = bytesToHex(body.subarray(7, 7 + oidLength));
    const point = readMpi(body, 7 + oidLength).value;
    if (algorithm === PublicKeyAlgorithm.eddsaLegacy) {
      if (oid !== bytesToHex(CurveOid.ed25519Legacy) || point.length !== 33 || point[0] !== 0x40) {
        throw new OpenPgpBuildError('not-a-key', 'EdDSA key is not a 0x40-prefixed Ed25519 point');
      }
      return { createdAt, material: { algorithm: 'eddsa-legacy', point: point.slice(1) } };
    }
    const curve = (['p256', 'p384', 'p521'] as const).find((c) => bytesToHex(CurveOid[c]) === oid);
    if (curve === undefined) throw new OpenPgpBuildError('not-a-key', `ECDSA curve OID ${oid}`);
    return { createdAt, material: { algorithm: 'ecdsa', curve, point: point.slice() } };
  }
  throw new OpenPgpBuildError('not-a-key', `public-key algorithm ${algorithm} is not written here`);
}

export function userIdPacket(userId: string): Uint8Array {
  return encodePacket(PacketTagNumber.userId, new TextEncoder().encode(userId));
}

/** The key ID is the low 64 bits of the v4 fingerprint. */
export function keyIdOfFingerprint(fingerprintHex: string): Uint8Array {
  const fingerprint = hexToBytes(fingerprintHex);
  if (fingerprint.length !== 20) throw new RangeError('a v4 fingerprint has 20 bytes');
  return fingerprint.slice(12);
}

export const subpacket = {
  creationTime: (at: Date) =>
    encodeSubpacket(SubpacketType.signatureCreationTime, uint32(openPgpTime(at))),
  issuerFingerprint: (fingerprintHex: string) =>
    encodeSubpacket(
      SubpacketType.issuerFingerprint,
      concatBytes(Uint8Array.of(4), hexToBytes(fingerprintHex)),
    ),
  issuerKeyId: (fingerprintHex: string) =>
    encodeSubpacket(SubpacketType.issuerKeyId, keyIdOfFingerprint(fingerprintHex)),
  keyFlags: (flags: number) => encodeSubpacket(SubpacketType.keyFlags, Uint8Array.of(flags)),
  preferredSymmetric: (ids: number[]) =>
    encodeSubpacket(SubpacketType.preferredSymmetric, Uint8Array.from(ids)),
  preferredHash: (ids: number[]) =>
    encodeSubpacket(SubpacketType.preferredHash, Uint8Array.from(ids)),
  preferredCompression: (ids: number[]) =>
    encodeSubpacket(SubpacketType.preferredCompression, Uint8Array.from(ids)),
  /** 0x01: the key holder understands SEIPD v1 (modification detection). */
  features: (flags: number) => encodeSubpacket(SubpacketType.features, Uint8Array.of(flags)),
};

export interface SignatureHead {
  type: SignatureTypeId;
  publicKeyAlgorithm: PublicKeyAlgorithmId;
  hash: OpenPgpHash;
  hashedSubpackets: readonly Uint8Array[];
}

/** The hashed part of a v4 signature: version … hashed subpackets (RFC 9580 §5.2.3). */
export function signatureHashedPart(head: SignatureHead): Uint8Array {
  const subpackets = concatBytes(...head.hashedSubpackets);
  if (subpackets.length > 0xffff) throw new OpenPgpBuildError('too-long', 'hashed subpackets');
  return concatBytes(
    Uint8Array.of(4, head.type, head.publicKeyAlgorithm, HashAlgorithm[head.hash]),
    Uint8Array.of(subpackets.length >> 8, subpackets.length & 0xff),
    subpackets,
  );
}

/** The v4 trailer hashed after the hashed part: 04 FF and the hashed part's length. */
export function signatureTrailer(hashedPart: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(4, 0xff), uint32(hashedPart.length));
}

/** What a certification over key and User ID hashes (RFC 9580 §5.2.4). */
export function certificationHashInput(
  publicKeyBody: Uint8Array,
  userId: string,
  hashedPart: Uint8Array,
): Uint8Array {
  const uid = new TextEncoder().encode(userId);
  if (publicKeyBody.length > 0xffff) throw new OpenPgpBuildError('too-long', 'public key packet');
  return concatBytes(
    Uint8Array.of(0x99, publicKeyBody.length >> 8, publicKeyBody.length & 0xff),
    publicKeyBody,
    Uint8Array.of(0xb4),
    uint32(uid.length),
    uid,
    hashedPart,
    signatureTrailer(hashedPart),
  );
}

/** What a binary-document signature hashes: the document as is, then the signature's own part. */
export function documentHashInput(document: Uint8Array, hashedPart: Uint8Array): Uint8Array {
  return concatBytes(document, hashedPart, signatureTrailer(hashedPart));
}

export function digestOf(hash: OpenPgpHash, input: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(input).digest());
}

// DER DigestInfo prefixes, as RFC 9580 §5.2.2 lists them for RSA PKCS#1 v1.5 signatures.
const digestInfoPrefixHex: Record<OpenPgpHash, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/** DigestInfo ‖ digest: the bytes an RSA PKCS#1 v1.5 signer pads and signs. */
export function pkcs1DigestInfo(hash: OpenPgpHash, digest: Uint8Array): Uint8Array {
  return concatBytes(hexToBytes(digestInfoPrefixHex[hash]), digest);
}

/** The signature MPIs for each algorithm, from what the signer returned. */
export function signatureMpis(
  algorithm: OpenPgpKeyMaterial['algorithm'],
  signature: Uint8Array,
): Uint8Array {
  switch (algorithm) {
    case 'eddsa-legacy':
      // Ed25519 R ‖ S, each written as an MPI (RFC 9580 §5.2.3 for legacy EdDSA).
      if (signature.length !== 64) {
        throw new OpenPgpBuildError('bad-signature-encoding', 'an Ed25519 signature has 64 bytes');
      }
      return concatBytes(encodeMpi(signature.subarray(0, 32)), encodeMpi(signature.subarray(32)));
    case 'ecdsa': {
      const { r, s } = ecdsaIntegersFromDer(signature);
      return concatBytes(encodeMpi(r), encodeMpi(s));
    }
    case 'rsa':
      return encodeMpi(signature);
  }
}

/** r and s of an ECDSA-Sig-Value (SEQUENCE of two INTEGERs), as unsigned magnitudes. */
export function ecdsaIntegersFromDer(der: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  try {
    const sequence = readSingleTlv(der, DerTag.sequence);
    const r = readTlv(sequence, 0);
    const s = readTlv(sequence, r.end);
    if (r.tag !== DerTag.integer || s.tag !== DerTag.integer || s.end !== sequence.length) {
      throw new OpenPgpBuildError('bad-signature-encoding', 'not two DER INTEGERs');
    }
    return { r: stripLeadingZeros(r.value), s: stripLeadingZeros(s.value) };
  } catch (error) {
    if (error instanceof OpenPgpBuildError) throw error;
    throw new OpenPgpBuildError('bad-signature-encoding', 'ECDSA signature is not DER');
  }
}

/** A whole v4 signature packet: hashed part, unhashed subpackets, digest's left 16 bits, MPIs. */
export function signaturePacket(
  hashedPart: Uint8Array,
  unhashedSubpackets: readonly Uint8Array[],
  digest: Uint8Array,
  mpis: Uint8Array,
): Uint8Array {
  const unhashed = concatBytes(...unhashedSubpackets);
  if (unhashed.length > 0xffff) throw new OpenPgpBuildError('too-long', 'unhashed subpackets');
  return encodePacket(
    PacketTagNumber.signature,
    concatBytes(
      hashedPart,
      Uint8Array.of(unhashed.length >> 8, unhashed.length & 0xff),
      unhashed,
      digest.subarray(0, 2),
      mpis,
    ),
  );
}

/** CRC-24 as RFC 4880 §6.1 computes it (init 0xB704CE, polynomial 0x1864CFB). */
export function crc24(bytes: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

export type ArmorKind = 'PUBLIC KEY BLOCK' | 'SIGNATURE';

/** ASCII armor (RFC 4880 §6.2): 64-column base64 and the CRC-24 line, LF line ends. */
export function armor(kind: ArmorKind, bytes: Uint8Array): string {
  const base64 = Buffer.from(bytes).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  const crc = crc24(bytes);
  const checksum = Buffer.from([crc >> 16, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
  return [
    `-----BEGIN PGP ${kind}-----`,
    '',
    ...lines,
    `=${checksum}`,
    `-----END PGP ${kind}-----`,
    '',
  ].join('\n');
}
