// The rehearsal YubiKey's key material: slot key pairs (EC P-256/P-384, Ed25519), signing a
// digest the way a PIV card does (no second hash), ECDH, the management key's block cipher, and
// the public-key shapes the card answers with. Kept apart from the APDU handling so each stays
// small; only the rehearsal card uses it.
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign as nodeSign,
  type KeyObject,
} from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { PivAlgorithm, type ManagementKeyAlgorithm } from './protocol.ts';
import { concat, tlv } from './tlv.ts';
import { decryptBlock, encryptBlock, managementKeyAlgorithmOf } from './management-key.ts';

/** Key-pair algorithms the rehearsal card generates and imports (RSA is not emulated). */
export type SlotAlgorithm =
  typeof PivAlgorithm.eccP256 | typeof PivAlgorithm.eccP384 | typeof PivAlgorithm.ed25519;

export const KeyOrigin = { generated: 1, imported: 2 } as const;
export type KeyOriginCode = (typeof KeyOrigin)[keyof typeof KeyOrigin];

export interface SlotKey {
  algorithm: SlotAlgorithm;
  privateKey: KeyObject;
  /** As the card sends it: uncompressed `04‖X‖Y` for EC, 32 raw bytes for Ed25519. */
  publicKey: Uint8Array;
  /** Resolved policies (never 0 = default): PIN 1 never, 2 once, 3 always; touch 1, 2, 3. */
  pinPolicy: number;
  touchPolicy: number;
  origin: KeyOriginCode;
}

export interface ManagementKey {
  algorithm: number;
  key: Uint8Array;
  requiresTouch: boolean;
}

const curveOf: Record<SlotAlgorithm, 'P-256' | 'P-384' | 'Ed25519'> = {
  [PivAlgorithm.eccP256]: 'P-256',
  [PivAlgorithm.eccP384]: 'P-384',
  [PivAlgorithm.ed25519]: 'Ed25519',
};

/** EC scalar / Ed25519 seed length of each algorithm. */
export const privateLengthOf: Record<SlotAlgorithm, number> = {
  [PivAlgorithm.eccP256]: 32,
  [PivAlgorithm.eccP384]: 48,
  [PivAlgorithm.ed25519]: 32,
};

export function isSlotAlgorithm(code: number): code is SlotAlgorithm {
  return (
    code === PivAlgorithm.eccP256 || code === PivAlgorithm.eccP384 || code === PivAlgorithm.ed25519
  );
}

export const managementKeyAlgorithmByCode: Record<number, ManagementKeyAlgorithm | undefined> = {
  [PivAlgorithm.tdes]: 'TDES',
  [PivAlgorithm.aes128]: 'AES128',
  [PivAlgorithm.aes192]: 'AES192',
  [PivAlgorithm.aes256]: 'AES256',
};

function fromBase64Url(text: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(text ?? '', 'base64url'));
}

function publicKeyOf(algorithm: SlotAlgorithm, privateKey: KeyObject): Uint8Array {
  const jwk = privateKey.export({ format: 'jwk' });
  if (algorithm === PivAlgorithm.ed25519) return fromBase64Url(jwk.x);
  return concat(Uint8Array.of(0x04), fromBase64Url(jwk.x), fromBase64Url(jwk.y));
}

export function slotKeyFrom(
  algorithm: SlotAlgorithm,
  privateKey: KeyObject,
  policies: { pinPolicy: number; touchPolicy: number; origin: KeyOriginCode },
): SlotKey {
  return { algorithm, privateKey, publicKey: publicKeyOf(algorithm, privateKey), ...policies };
}

export function generatePrivateKey(algorithm: SlotAlgorithm): KeyObject {
  if (algorithm === PivAlgorithm.ed25519) return generateKeyPairSync('ed25519').privateKey;
  return generateKeyPairSync('ec', { namedCurve: curveOf[algorithm] }).privateKey;
}

/** A private key from the bytes IMPORT KEY carries: tag 06 scalar (EC) or 07 seed (Ed25519). */
export function privateKeyFromBytes(algorithm: SlotAlgorithm, secret: Uint8Array): KeyObject {
  const d = Buffer.from(secret).toString('base64url');
  if (algorithm === PivAlgorithm.ed25519) {
    const x = Buffer.from(ed25519.getPublicKey(secret)).toString('base64url');
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x }, format: 'jwk' });
  }
  const curve = algorithm === PivAlgorithm.eccP256 ? p256 : p384;
  const point = curve.getPublicKey(secret, false);
  const size = privateLengthOf[algorithm];
  const x = Buffer.from(point.subarray(1, 1 + size)).toString('base64url');
  const y = Buffer.from(point.subarray(1 + size)).toString('base64url');
  return createPrivateKey({
    key: { kty: 'EC', crv: curveOf[algorithm], d, x, y },
    format: 'jwk',
  });
}

/** `7F49 { 86 <point or raw key> }`, as GENERATE answers and metadata tag 04 carries. */
export function publicKeyTemplate(key: SlotKey): Uint8Array {
  return tlv(0x7f49, tlv(0x86, key.publicKey));
}

export function spkiOf(key: SlotKey): Uint8Array {
  return new Uint8Array(createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' }));
}

/**
 * A PIV signature: ECDSA over the digest exactly as given (left-padded to the curve size, as
 * the card reads it as an integer), DER-encoded; Ed25519 over the whole message. Null when the
 * input cannot be signed with this key.
 */
export function signWithSlotKey(key: SlotKey, input: Uint8Array): Uint8Array | null {
  if (key.algorithm === PivAlgorithm.ed25519) {
    return new Uint8Array(nodeSign(null, input, key.privateKey));
  }
  const size = privateLengthOf[key.algorithm];
  if (input.length === 0 || input.length > size) return null;
  const digest = concat(new Uint8Array(size - input.length), input);
  const scalar = fromBase64Url(key.privateKey.export({ format: 'jwk' }).d);
  const curve = key.algorithm === PivAlgorithm.eccP256 ? p256 : p384;
  return curve.sign(digest, scalar, { prehash: false, format: 'der' });
}

/** ECDH with the peer's uncompressed point: the shared X coordinate, or null for a bad point. */
export function agreeWithSlotKey(key: SlotKey, peerPoint: Uint8Array): Uint8Array | null {
  if (key.algorithm === PivAlgorithm.ed25519) return null;
  const size = privateLengthOf[key.algorithm];
  if (peerPoint.length !== 1 + 2 * size || peerPoint[0] !== 0x04) return null;
  try {
    const publicKey = createPublicKey({
      key: {
        kty: 'EC',
        crv: curveOf[key.algorithm],
        x: Buffer.from(peerPoint.subarray(1, 1 + size)).toString('base64url'),
        y: Buffer.from(peerPoint.subarray(1 + size)).toString('base64url'),
      },
      format: 'jwk',
    });
    return new Uint8Array(diffieHellman({ privateKey: key.privateKey, publicKey }));
  } catch {
    return null;
  }
}

/** One ECB pass of the management key's cipher (3DES or AES), as in the 9B challenge exchange. */
export function managementCipher(
  key: ManagementKey,
  direction: 'encrypt' | 'decrypt',
  block: Uint8Array,
): Uint8Array {
  const algorithm = managementKeyAlgorithmOf(key.algorithm);
  if (!algorithm) throw new RangeError(`algorithm ${key.algorithm} is not a management key's`);
  return direction === 'encrypt'
    ? encryptBlock(algorithm, key.key, block)
    : decryptBlock(algorithm, key.key, block);
}
