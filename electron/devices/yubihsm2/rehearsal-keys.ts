// The rehearsal YubiHSM's RSA, HMAC and wrap key arithmetic, kept apart from its command handling:
// RSA keys of 2048/3072/4096 bits with exponent 65537, PKCS#1 v1.5 and PSS signatures over a
// digest the host already computed (as SIGN_PKCS1 and SIGN_PSS take it), and HMAC keys.
import {
  constants,
  createHash,
  createHmac,
  generateKeyPair,
  privateEncrypt,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { concatBytes, hexToBytes } from '../../formats/der.ts';
import { Algorithm } from './protocol.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** The device tells the hash of a digest by its length alone. */
const hashOfDigestLength: Readonly<Record<number, HashName>> = {
  20: 'sha1',
  32: 'sha256',
  48: 'sha384',
  64: 'sha512',
};

export function hashOfDigest(digest: Uint8Array): HashName | null {
  return hashOfDigestLength[digest.length] ?? null;
}

/** DER DigestInfo up to the digest itself (RFC 8017 §9.2, note 1). */
const digestInfoPrefix: Record<HashName, string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

export function digestInfo(digest: Uint8Array): Uint8Array | null {
  const hash = hashOfDigest(digest);
  return hash === null ? null : concatBytes(hexToBytes(digestInfoPrefix[hash]), digest);
}

export const mgf1HashOfAlgorithm: Readonly<Record<number, HashName>> = {
  [Algorithm.mgf1Sha1]: 'sha1',
  [Algorithm.mgf1Sha256]: 'sha256',
  [Algorithm.mgf1Sha384]: 'sha384',
  [Algorithm.mgf1Sha512]: 'sha512',
};

/** HMAC keys: their hash, and the longest key the device keeps (the hash's block size). */
export const hmacOfAlgorithm: Readonly<Record<number, { hash: HashName; keyLength: number }>> = {
  [Algorithm.hmacSha1]: { hash: 'sha1', keyLength: 64 },
  [Algorithm.hmacSha256]: { hash: 'sha256', keyLength: 64 },
  [Algorithm.hmacSha384]: { hash: 'sha384', keyLength: 128 },
  [Algorithm.hmacSha512]: { hash: 'sha512', keyLength: 128 },
};

/** AES-CCM wrap keys by algorithm: their key length in bytes. */
export const wrapKeyLengthOfAlgorithm: Readonly<Record<number, number>> = {
  [Algorithm.aes128CcmWrap]: 16,
  [Algorithm.aes192CcmWrap]: 24,
  [Algorithm.aes256CcmWrap]: 32,
};

/** Asynchronous, so a 4096-bit key does not stop the connector answering status requests. */
export async function generateRsaKey(bits: number): Promise<KeyObject> {
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicExponent: 65537,
  });
  return privateKey;
}

/** The modulus, big-endian and as long as the key: what GET_PUBLIC_KEY answers for RSA. */
export function rsaModulus(privateKey: KeyObject): Uint8Array {
  const n = Buffer.from(privateKey.export({ format: 'jwk' }).n ?? '', 'base64url');
  const length = Math.ceil((privateKey.asymmetricKeyDetails?.modulusLength ?? n.length * 8) / 8);
  return concatBytes(new Uint8Array(Math.max(0, length - n.length)), n);
}

/** RSASSA-PKCS1-v1_5 over a digest (type-1 padding of its DigestInfo); null for odd lengths. */
export function signPkcs1Digest(privateKey: KeyObject, digest: Uint8Array): Uint8Array | null {
  const info = digestInfo(digest);
  if (info === null) return null;
  return new Uint8Array(
    privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, info),
  );
}

function mgf1(seed: Uint8Array, length: number, hash: HashName): Uint8Array {
  const blocks: Uint8Array[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    const c = new Uint8Array(4);
    new DataView(c.buffer).setUint32(0, counter);
    const block = createHash(hash).update(seed).update(c).digest();
    blocks.push(block);
    produced += block.length;
  }
  return concatBytes(...blocks).slice(0, length);
}

/**
 * EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of a digest the host computed, with its own MGF1 hash: the
 * device lets the two differ, which node:crypto's own PSS signing does not. Null when the salt
 * does not fit.
 */
export function emsaPssEncode(
  digest: Uint8Array,
  mgfHash: HashName,
  salt: Uint8Array,
  emBits: number,
): Uint8Array | null {
  const hash = hashOfDigest(digest);
  const emLength = Math.ceil(emBits / 8);
  if (hash === null || emLength < digest.length + salt.length + 2) return null;
  const h = createHash(hash).update(new Uint8Array(8)).update(digest).update(salt).digest();
  const db = concatBytes(
    new Uint8Array(emLength - salt.length - digest.length - 2),
    Uint8Array.of(0x01),
    salt,
  );
  const mask = mgf1(h, db.length, mgfHash);
  const maskedDb = db.map((byte, i) => byte ^ (mask[i] ?? 0));
  maskedDb[0] = (maskedDb[0] ?? 0) & (0xff >> (8 * emLength - emBits));
  return concatBytes(maskedDb, h, Uint8Array.of(0xbc));
}

/** RSASSA-PSS over a digest: the encoded message, then the raw private-key operation. */
export function signPssDigest(
  privateKey: KeyObject,
  digest: Uint8Array,
  mgfHash: HashName,
  saltLength: number,
): Uint8Array | null {
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  const encoded = emsaPssEncode(digest, mgfHash, new Uint8Array(randomBytes(saltLength)), bits - 1);
  if (encoded === null) return null;
  // emBits = bits − 1 keeps the top bit clear, so the message is below the modulus.
  const message = concatBytes(new Uint8Array(Math.ceil(bits / 8) - encoded.length), encoded);
  return new Uint8Array(
    privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, message),
  );
}

export function hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(hash, key).update(data).digest());
}

export function isSameMac(expected: Uint8Array, given: Uint8Array): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given);
}
