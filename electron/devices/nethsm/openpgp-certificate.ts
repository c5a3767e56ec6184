// OpenPGP for a NetHSM key. The NetHSM has no OpenPGP endpoints, so Vigil builds the v4
// certificate around the key's public part and has the device sign the self-signature through
// POST /keys/{id}/sign (the approach of Arch Linux's Signstar); detached signatures over data are
// made the same way. Vigil computes every hash; the device only ever signs a digest or DigestInfo.
// Each signature is checked against the public key before it is used, so a device that answers
// with the wrong key or a broken signature stops the step instead of producing a bad certificate.
import { constants, createPublicKey, publicDecrypt, verify } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { KindedError } from '../../base/errors.ts';
import { bytesEqual, concatBytes } from '../../formats/der.ts';
import {
  HashAlgorithm,
  KeyFlag,
  PacketTagNumber,
  SignatureType,
  algorithmIdOf,
  armor,
  certificationHashInput,
  decodePublicKeyPacketBody,
  digestOf,
  documentHashInput,
  encodePacket,
  pkcs1DigestInfo,
  publicKeyPacketBody,
  signatureHashedPart,
  signatureMpis,
  signaturePacket,
  subpacket,
  userIdPacket,
  type OpenPgpHash,
  type OpenPgpKeyMaterial,
  type SignatureTypeId,
} from '../../formats/openpgp-packet-builder.ts';
import { readPackets, v4Fingerprint } from '../../formats/openpgp-packets.ts';

export type NetHsmKeyType = 'Curve25519' | 'EC_P256' | 'EC_P384' | 'EC_P521' | 'RSA';

export interface NetHsmPublicKey {
  type: NetHsmKeyType;
  /** EC: 04 ‖ X ‖ Y; Curve25519: the 32-byte Ed25519 public key. */
  data?: Uint8Array | undefined;
  modulus?: Uint8Array | undefined;
  publicExponent?: Uint8Array | undefined;
}

/**
 * Signs as the NetHSM's POST /keys/{id}/sign does: mode 'EdDSA' (message = what is signed; returns
 * R ‖ S, 64 bytes), 'ECDSA' (message = the digest; returns DER), 'PKCS1' (message = DigestInfo ‖
 * digest; returns the raw signature).
 */
export type NetHsmSigner = (
  mode: 'EdDSA' | 'ECDSA' | 'PKCS1',
  message: Uint8Array,
) => Promise<Uint8Array>;

export type OpenPgpCertificateErrorReason =
  'unsupported-key' | 'bad-public-key' | 'signature-invalid' | 'not-a-certificate' | 'bad-user-id';

export class OpenPgpCertificateError extends KindedError<OpenPgpCertificateErrorReason> {
  readonly name = 'OpenPgpCertificateError';
}

const ecdsaCurveOf = { EC_P256: 'p256', EC_P384: 'p384', EC_P521: 'p521' } as const;

/** The OpenPGP form of a NetHSM public key. */
export function openPgpKeyMaterial(publicKey: NetHsmPublicKey): OpenPgpKeyMaterial {
  switch (publicKey.type) {
    case 'Curve25519':
      if (publicKey.data?.length !== 32) {
        throw new OpenPgpCertificateError('bad-public-key', 'Curve25519 key data is not 32 bytes');
      }
      return { algorithm: 'eddsa-legacy', point: publicKey.data };
    case 'EC_P256':
    case 'EC_P384':
    case 'EC_P521':
      if (publicKey.data === undefined) {
        throw new OpenPgpCertificateError('bad-public-key', `${publicKey.type} key has no point`);
      }
      return { algorithm: 'ecdsa', curve: ecdsaCurveOf[publicKey.type], point: publicKey.data };
    case 'RSA':
      if (publicKey.modulus === undefined || publicKey.publicExponent === undefined) {
        throw new OpenPgpCertificateError('bad-public-key', 'RSA key lacks modulus or exponent');
      }
      return {
        algorithm: 'rsa',
        modulus: publicKey.modulus,
        publicExponent: publicKey.publicExponent,
      };
  }
}

/** SHA-512 for Ed25519 and RSA; for ECDSA the hash whose size matches the curve. */
export function openPgpHashFor(material: OpenPgpKeyMaterial): OpenPgpHash {
  switch (material.algorithm) {
    case 'eddsa-legacy':
    case 'rsa':
      return 'sha512';
    case 'ecdsa':
      return ({ p256: 'sha256', p384: 'sha384', p521: 'sha512' } as const)[material.curve];
  }
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

function isValidSignature(
  material: OpenPgpKeyMaterial,
  hash: OpenPgpHash,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    switch (material.algorithm) {
      case 'eddsa-legacy': {
        const key = createPublicKey({
          key: { kty: 'OKP', crv: 'Ed25519', x: base64url(material.point) },
          format: 'jwk',
        });
        return verify(null, digest, key, signature);
      }
      case 'ecdsa': {
        const curve = { p256, p384, p521 }[material.curve];
        // The device signs the digest as given; high-S signatures are valid ECDSA.
        return curve.verify(signature, digest, material.point, {
          prehash: false,
          lowS: false,
          format: 'der',
        });
      }
      case 'rsa': {
        const key = createPublicKey({
          key: {
            kty: 'RSA',
            n: base64url(material.modulus),
            e: base64url(material.publicExponent),
          },
          format: 'jwk',
        });
        const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
        return bytesEqual(new Uint8Array(recovered), pkcs1DigestInfo(hash, digest));
      }
    }
  } catch {
    return false;
  }
}

/** Has the device sign one OpenPGP hash, checks the result, and returns the signature MPIs. */
async function signDigest(
  material: OpenPgpKeyMaterial,
  hash: OpenPgpHash,
  digest: Uint8Array,
  sign: NetHsmSigner,
): Promise<Uint8Array> {
  let signature: Uint8Array;
  switch (material.algorithm) {
    case 'eddsa-legacy':
      // Legacy EdDSA in OpenPGP signs the digest bytes, not the hashed data itself.
      signature = await sign('EdDSA', digest);
      break;
    case 'ecdsa':
      signature = await sign('ECDSA', digest);
      break;
    case 'rsa':
      signature = await sign('PKCS1', pkcs1DigestInfo(hash, digest));
      break;
  }
  if (!isValidSignature(material, hash, digest, signature)) {
    throw new OpenPgpCertificateError(
      'signature-invalid',
      'the NetHSM signature does not verify with the key’s public part',
    );
  }
  return signatureMpis(material.algorithm, signature);
}

interface SignatureRequest {
  type: SignatureTypeId;
  material: OpenPgpKeyMaterial;
  fingerprint: string;
  createdAt: Date;
  extraHashedSubpackets: readonly Uint8Array[];
  hashInput: (hashedPart: Uint8Array) => Uint8Array;
  sign: NetHsmSigner;
}

async function makeSignaturePacket(request: SignatureRequest): Promise<Uint8Array> {
  const hash = openPgpHashFor(request.material);
  const hashedPart = signatureHashedPart({
    type: request.type,
    publicKeyAlgorithm: algorithmIdOf(request.material),
    hash,
    hashedSubpackets: [
      subpacket.creationTime(request.createdAt),
      subpacket.issuerFingerprint(request.fingerprint),
      ...request.extraHashedSubpackets,
    ],
  });
  const digest = digestOf(hash, request.hashInput(hashedPart));
  const mpis = await signDigest(request.material, hash, digest, request.sign);
  return signaturePacket(hashedPart, [subpacket.issuerKeyId(request.fingerprint)], digest, mpis);
}

/**
 * A transferable public key: the key, one User ID and its positive self-certification made by
 * the NetHSM. One key that certifies and signs, as Signstar's single-key certificates are.
 */
export async function createOpenPgpCertificate(options: {
  publicKey: NetHsmPublicKey;
  userId: string;
  createdAt: Date;
  sign: NetHsmSigner;
}): Promise<{ certificate: Uint8Array; armored: string; fingerprint: string }> {
  if (options.userId.trim() === '' || /[\r\n]/.test(options.userId)) {
    throw new OpenPgpCertificateError('bad-user-id', 'a User ID is one non-empty line');
  }
  const material = openPgpKeyMaterial(options.publicKey);
  const keyBody = publicKeyPacketBody(material, options.createdAt);
  const fingerprint = v4Fingerprint(keyBody);
  const selfSignature = await makeSignaturePacket({
    type: SignatureType.positiveCertification,
    material,
    fingerprint,
    createdAt: options.createdAt,
    extraHashedSubpackets: [
      subpacket.keyFlags(KeyFlag.certify | KeyFlag.sign),
      subpacket.preferredHash([HashAlgorithm.sha512, HashAlgorithm.sha384, HashAlgorithm.sha256]),
      // AES-256, AES-128: needed by nobody for a signing key, but peers expect the subpacket.
      subpacket.preferredSymmetric([9, 7]),
      subpacket.features(0x01),
    ],
    hashInput: (hashedPart) => certificationHashInput(keyBody, options.userId, hashedPart),
    sign: options.sign,
  });
  const certificate = concatBytes(
    encodePacket(PacketTagNumber.publicKey, keyBody),
    userIdPacket(options.userId),
    selfSignature,
  );
  return {
    certificate,
    armored: armor('PUBLIC KEY BLOCK', certificate),
    fingerprint: fingerprint.toUpperCase(),
  };
}

/** A detached binary-document signature over `message` by the certificate's primary key. */
export async function signOpenPgpDetached(options: {
  certificate: Uint8Array;
  message: Uint8Array;
  createdAt: Date;
  sign: NetHsmSigner;
}): Promise<{ signature: Uint8Array; armored: string }> {
  let keyBody: Uint8Array;
  try {
    const primary = readPackets(options.certificate)[0];
    if (primary?.tag !== PacketTagNumber.publicKey) throw new RangeError('no primary key packet');
    keyBody = primary.body;
  } catch (error) {
    throw new OpenPgpCertificateError(
      'not-a-certificate',
      `not an OpenPGP certificate: ${(error as Error).message}`,
    );
  }
  let material: OpenPgpKeyMaterial;
  try {
    material = decodePublicKeyPacketBody(keyBody).material;
  } catch (error) {
    throw new OpenPgpCertificateError('unsupported-key', (error as Error).message);
  }
  const signature = await makeSignaturePacket({
    type: SignatureType.binaryDocument,
    material,
    fingerprint: v4Fingerprint(keyBody),
    createdAt: options.createdAt,
    extraHashedSubpackets: [],
    hashInput: (hashedPart) => documentHashInput(options.message, hashedPart),
    sign: options.sign,
  });
  return { signature, armored: armor('SIGNATURE', signature) };
}

/** The upper-case v4 fingerprint of a binary certificate's primary key. */
export function certificateFingerprint(certificate: Uint8Array): string {
  const primary = readPackets(certificate)[0];
  if (primary?.tag !== PacketTagNumber.publicKey) {
    throw new OpenPgpCertificateError('not-a-certificate', 'no primary key packet');
  }
  return v4Fingerprint(primary.body).toUpperCase();
}
