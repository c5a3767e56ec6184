// The cryptography of the rehearsal NetHSM: key generation and import, public key forms, and
// every sign/decrypt/encrypt mode of the NetHSM API v4.0, computed exactly as the device does
// (the caller hashes; the device pads and exponentiates). Pure functions over key material.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  constants,
  generateKeyPairSync,
  privateDecrypt,
  privateEncrypt,
  randomBytes,
  sign as nodeSign,
  type KeyObject,
} from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 } from '@noble/curves/misc.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { KindedError } from '../../base/errors.ts';
import {
  DerTag,
  concatBytes,
  encodeTlv,
  encodeUnsignedInteger,
  readSingleTlv,
  readTlv,
} from '../../formats/der.ts';
import {
  DecryptMode,
  EncryptMode,
  KeyMechanism,
  KeyType,
  SignMode,
  mechanismForSignMode,
} from './protocol.ts';
import { bigIntOf, rsaPrivateKeyFromPrimes } from '../rehearsal-rsa.ts';

// The spec's enumerations, defined once in protocol.ts (which is tied to the generated types).
export const NETHSM_KEY_TYPES = KeyType.options;
export type NetHsmKeyType = KeyType;
export const NETHSM_KEY_MECHANISMS = KeyMechanism.options;
export type NetHsmKeyMechanism = KeyMechanism;
export const NETHSM_SIGN_MODES = SignMode.options;
export type NetHsmSignMode = SignMode;
export const NETHSM_DECRYPT_MODES = DecryptMode.options;
export type NetHsmDecryptMode = DecryptMode;
export const NETHSM_ENCRYPT_MODES = EncryptMode.options;
export type NetHsmEncryptMode = EncryptMode;

export type RehearsalCryptoFailure =
  'unsupported-key' | 'bad-key-data' | 'bad-input' | 'wrong-mechanism' | 'decryption-failed';

/** Every refusal maps to an HTTP 400 with `message` on the device. */
export class RehearsalCryptoError extends KindedError<RehearsalCryptoFailure> {
  readonly name = 'RehearsalCryptoError';
}

/**
 * The secret of one key. RSA: PKCS#8 DER; EC types: the big-endian scalar (fixed length);
 * Curve25519: the 32-byte RFC 8032 seed; Generic: the AES key.
 */
export interface RehearsalKeyMaterial {
  readonly type: NetHsmKeyType;
  readonly secret: Uint8Array;
}

export type NetHsmPublicKeyData =
  | { readonly modulus: Uint8Array; readonly publicExponent: Uint8Array }
  | { readonly data: Uint8Array }
  | null;

type EcKeyType = Exclude<NetHsmKeyType, 'RSA' | 'Curve25519' | 'Generic'>;

interface EcCurve {
  readonly oid: string;
  readonly scalarBytes: number;
  readonly groupBits: number;
  readonly csrHash: 'sha256' | 'sha384' | 'sha512';
  readonly noble: typeof p256;
}

const EC_CURVES: Record<EcKeyType, EcCurve> = {
  EC_P256: {
    oid: '1.2.840.10045.3.1.7',
    scalarBytes: 32,
    groupBits: 256,
    csrHash: 'sha256',
    noble: p256,
  },
  EC_P384: { oid: '1.3.132.0.34', scalarBytes: 48, groupBits: 384, csrHash: 'sha384', noble: p384 },
  EC_P521: { oid: '1.3.132.0.35', scalarBytes: 66, groupBits: 521, csrHash: 'sha512', noble: p521 },
  EC_P256K1: {
    oid: '1.3.132.0.10',
    scalarBytes: 32,
    groupBits: 256,
    csrHash: 'sha256',
    noble: secp256k1,
  },
  BrainpoolP256: {
    oid: '1.3.36.3.3.2.8.1.1.7',
    scalarBytes: 32,
    groupBits: 256,
    csrHash: 'sha256',
    noble: brainpoolP256r1,
  },
  BrainpoolP384: {
    oid: '1.3.36.3.3.2.8.1.1.11',
    scalarBytes: 48,
    groupBits: 384,
    csrHash: 'sha384',
    noble: brainpoolP384r1,
  },
  BrainpoolP512: {
    oid: '1.3.36.3.3.2.8.1.1.13',
    scalarBytes: 64,
    groupBits: 512,
    csrHash: 'sha512',
    noble: brainpoolP512r1,
  },
};

const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  emailAddress: '1.2.840.113549.1.9.1',
} as const;

type HashName = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
const HASH_LENGTH: Record<HashName, number> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

function isEcType(type: NetHsmKeyType): type is EcKeyType {
  return type in EC_CURVES;
}

/** Which key types a mechanism belongs to; a key only accepts mechanisms of its own type. */
export function mechanismFitsType(mechanism: NetHsmKeyMechanism, type: NetHsmKeyType): boolean {
  if (mechanism.startsWith('RSA_')) return type === 'RSA';
  if (mechanism.startsWith('AES_')) return type === 'Generic';
  if (mechanism === 'EdDSA_Signature') return type === 'Curve25519';
  if (mechanism === 'BIP340_Signature') return type === 'EC_P256K1';
  return mechanism === 'ECDSA_Signature' && isEcType(type);
}

/** The mechanism a key needs for a sign mode (one rule, shared with the client). */
export const signModeMechanism = mechanismForSignMode;

export function decryptModeMechanism(mode: NetHsmDecryptMode): NetHsmKeyMechanism {
  return mode === 'AES_CBC' ? 'AES_Decryption_CBC' : `RSA_Decryption_${mode}`;
}

export function encryptModeMechanism(mode: NetHsmEncryptMode): NetHsmKeyMechanism {
  switch (mode) {
    case 'AES_CBC':
      return 'AES_Encryption_CBC';
  }
}

// ---------------------------------------------------------------------------------------------
// Generation and import

export function generateKeyMaterial(
  type: NetHsmKeyType,
  lengthBits?: number,
): RehearsalKeyMaterial {
  switch (type) {
    case 'RSA': {
      if (lengthBits === undefined)
        throw new RehearsalCryptoError('bad-input', 'RSA keys need a length');
      if (lengthBits < 1024 || lengthBits > 8192 || lengthBits % 8 !== 0)
        throw new RehearsalCryptoError(
          'unsupported-key',
          'RSA length must be 1024..8192 bits, whole bytes',
        );
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: lengthBits });
      return { type, secret: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })) };
    }
    case 'Generic': {
      // As the firmware: any 128..8192 bits, rounded up to whole bytes. Only 128, 192 and 256
      // make AES keys; the others fail when used (aesCbc), as on the device.
      if (lengthBits === undefined || lengthBits < 128 || lengthBits > 8192)
        throw new RehearsalCryptoError(
          'unsupported-key',
          'Generic key length must be between 128 and 8192 bits',
        );
      return { type, secret: new Uint8Array(randomBytes(Math.ceil(lengthBits / 8))) };
    }
    case 'Curve25519':
      return { type, secret: ed25519.utils.randomSecretKey() };
    case 'EC_P256':
    case 'EC_P384':
    case 'EC_P521':
    case 'EC_P256K1':
    case 'BrainpoolP256':
    case 'BrainpoolP384':
    case 'BrainpoolP512':
      return { type, secret: EC_CURVES[type].noble.utils.randomSecretKey() };
  }
}

export interface NetHsmPrivateKeyFields {
  readonly primeP?: Uint8Array;
  readonly primeQ?: Uint8Array;
  readonly publicExponent?: Uint8Array;
  readonly data?: Uint8Array;
}

/** The JSON `PrivateKey` import: RSA from p, q, e; EC from the scalar; Curve25519 from the seed. */
export function importKeyMaterial(
  type: NetHsmKeyType,
  fields: NetHsmPrivateKeyFields,
): RehearsalKeyMaterial {
  if (type === 'RSA') {
    const { primeP, primeQ, publicExponent } = fields;
    if (!primeP || !primeQ || !publicExponent || fields.data)
      throw new RehearsalCryptoError(
        'bad-key-data',
        'RSA import needs primeP, primeQ and publicExponent only',
      );
    return { type, secret: rsaFromPrimes(primeP, primeQ, publicExponent) };
  }
  const { data } = fields;
  if (!data || fields.primeP || fields.primeQ || fields.publicExponent)
    throw new RehearsalCryptoError('bad-key-data', `${type} import needs the data field only`);
  if (type === 'Curve25519') {
    if (data.length !== 32)
      throw new RehearsalCryptoError('bad-key-data', 'Curve25519 keys are 32 bytes');
    return { type, secret: Uint8Array.from(data) };
  }
  if (type === 'Generic') {
    if (![16, 24, 32].includes(data.length))
      throw new RehearsalCryptoError(
        'bad-key-data',
        'Generic keys are AES keys of 16, 24 or 32 bytes',
      );
    return { type, secret: Uint8Array.from(data) };
  }
  return { type, secret: checkedScalar(type, data) };
}

function checkedScalar(type: EcKeyType, data: Uint8Array): Uint8Array {
  const curve = EC_CURVES[type];
  if (data.length > curve.scalarBytes)
    throw new RehearsalCryptoError(
      'bad-key-data',
      `${type} scalars are at most ${curve.scalarBytes} bytes`,
    );
  const scalar = new Uint8Array(curve.scalarBytes);
  scalar.set(data, curve.scalarBytes - data.length);
  if (!curve.noble.utils.isValidSecretKey(scalar))
    throw new RehearsalCryptoError('bad-key-data', `not a valid ${type} private scalar`);
  return scalar;
}

const NODE_CURVE_TYPES: Record<string, EcKeyType> = {
  prime256v1: 'EC_P256',
  secp384r1: 'EC_P384',
  secp521r1: 'EC_P521',
  secp256k1: 'EC_P256K1',
  brainpoolP256r1: 'BrainpoolP256',
  brainpoolP384r1: 'BrainpoolP384',
  brainpoolP512r1: 'BrainpoolP512',
};

/** The multipart import: a PEM private key (PKCS#8, PKCS#1 or SEC1); its type comes from the PEM. */
export function importPemKeyMaterial(pem: string): RehearsalKeyMaterial {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new RehearsalCryptoError('bad-key-data', 'the key file is not a PEM private key');
  }
  const kind = key.asymmetricKeyType;
  if (kind === 'rsa')
    return { type: 'RSA', secret: new Uint8Array(key.export({ format: 'der', type: 'pkcs8' })) };
  if (kind === 'ed25519') {
    const pkcs8 = new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
    return { type: 'Curve25519', secret: pkcs8.slice(pkcs8.length - 32) };
  }
  if (kind !== 'ec') throw new RehearsalCryptoError('unsupported-key', 'unsupported key type');
  const type = NODE_CURVE_TYPES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (!type) throw new RehearsalCryptoError('unsupported-key', 'unsupported EC curve');
  const sec1 = new Uint8Array(key.export({ format: 'der', type: 'sec1' }));
  const body = readSingleTlv(sec1, DerTag.sequence);
  const version = readTlv(body, 0);
  const scalar = readTlv(body, version.end);
  return { type, secret: checkedScalar(type, scalar.value) };
}

function rsaFromPrimes(pBytes: Uint8Array, qBytes: Uint8Array, eBytes: Uint8Array): Uint8Array {
  const key = rsaPrivateKeyFromPrimes(bigIntOf(eBytes), bigIntOf(pBytes), bigIntOf(qBytes));
  if (key === null) throw new RehearsalCryptoError('bad-key-data', 'invalid RSA parameters');
  return new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
}

// ---------------------------------------------------------------------------------------------
// Public forms

function rsaKey(material: RehearsalKeyMaterial): KeyObject {
  return createPrivateKey({ key: Buffer.from(material.secret), format: 'der', type: 'pkcs8' });
}

/** Modulus length in bytes (`k` of RFC 8017). */
function rsaModulusBytes(key: KeyObject): number {
  return Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
}

export function publicKeyData(material: RehearsalKeyMaterial): NetHsmPublicKeyData {
  switch (material.type) {
    case 'RSA': {
      const jwk = createPublicKey(rsaKey(material)).export({ format: 'jwk' });
      return {
        modulus: new Uint8Array(Buffer.from(jwk.n ?? '', 'base64url')),
        publicExponent: new Uint8Array(Buffer.from(jwk.e ?? '', 'base64url')),
      };
    }
    case 'Generic':
      return null;
    case 'Curve25519':
      return { data: ed25519.getPublicKey(material.secret) };
    case 'EC_P256':
    case 'EC_P384':
    case 'EC_P521':
    case 'EC_P256K1':
    case 'BrainpoolP256':
    case 'BrainpoolP384':
    case 'BrainpoolP512':
      return { data: EC_CURVES[material.type].noble.getPublicKey(material.secret, false) };
  }
}

/** DER SubjectPublicKeyInfo, as served in `public.pem`. */
export function subjectPublicKeyInfo(material: RehearsalKeyMaterial): Uint8Array {
  switch (material.type) {
    case 'RSA':
      return new Uint8Array(
        createPublicKey(rsaKey(material)).export({ format: 'der', type: 'spki' }),
      );
    case 'Generic':
      throw new RehearsalCryptoError('unsupported-key', 'Generic keys have no public key');
    case 'Curve25519':
      return sequence(sequence(oid(OID.ed25519)), bitString(ed25519.getPublicKey(material.secret)));
    case 'EC_P256':
    case 'EC_P384':
    case 'EC_P521':
    case 'EC_P256K1':
    case 'BrainpoolP256':
    case 'BrainpoolP384':
    case 'BrainpoolP512': {
      const curve = EC_CURVES[material.type];
      return sequence(
        sequence(oid(OID.ecPublicKey), oid(curve.oid)),
        bitString(curve.noble.getPublicKey(material.secret, false)),
      );
    }
  }
}

/** A Node key object for the asymmetric types (TLS identity, checks in tests). */
export function privateKeyObject(material: RehearsalKeyMaterial): KeyObject {
  switch (material.type) {
    case 'RSA':
      return rsaKey(material);
    case 'Generic':
      throw new RehearsalCryptoError('unsupported-key', 'Generic keys are symmetric');
    case 'Curve25519': {
      const pkcs8 = sequence(
        encodeUnsignedInteger(Uint8Array.of(0)),
        sequence(oid(OID.ed25519)),
        encodeTlv(DerTag.octetString, encodeTlv(DerTag.octetString, material.secret)),
      );
      return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    }
    case 'EC_P256':
    case 'EC_P384':
    case 'EC_P521':
    case 'EC_P256K1':
    case 'BrainpoolP256':
    case 'BrainpoolP384':
    case 'BrainpoolP512': {
      const curve = EC_CURVES[material.type];
      // The public key is optional in ECPrivateKey (RFC 5915): OpenSSL derives it, far faster
      // than noble's first multiplication (which builds its tables: 30 ms of every start).
      const ecPrivateKey = sequence(
        encodeUnsignedInteger(Uint8Array.of(1)),
        encodeTlv(DerTag.octetString, material.secret),
      );
      const pkcs8 = sequence(
        encodeUnsignedInteger(Uint8Array.of(0)),
        sequence(oid(OID.ecPublicKey), oid(curve.oid)),
        encodeTlv(DerTag.octetString, ecPrivateKey),
      );
      return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Operations

/** `POST /keys/{id}/sign`: the caller supplies what the mode signs (hash, DigestInfo‖hash, message). */
export function signWith(
  material: RehearsalKeyMaterial,
  mode: NetHsmSignMode,
  message: Uint8Array,
): Uint8Array {
  if (!mechanismFitsType(signModeMechanism(mode), material.type))
    throw new RehearsalCryptoError(
      'wrong-mechanism',
      `mode ${mode} does not fit a ${material.type} key`,
    );
  switch (mode) {
    case 'EdDSA':
      return ed25519.sign(message, material.secret);
    case 'BIP340':
      return schnorr.sign(message, material.secret);
    case 'ECDSA': {
      const curve = EC_CURVES[material.type as EcKeyType];
      if (message.length === 0 || message.length > Math.ceil(curve.groupBits / 8))
        throw new RehearsalCryptoError('bad-input', 'the hash exceeds the group size');
      return curve.noble.sign(message, material.secret, { prehash: false, format: 'der' });
    }
    case 'PKCS1': {
      const key = rsaKey(material);
      if (message.length > rsaModulusBytes(key) - 11)
        throw new RehearsalCryptoError('bad-input', 'the input is too long for the key');
      return new Uint8Array(privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, message));
    }
    case 'PSS_MD5':
    case 'PSS_SHA1':
    case 'PSS_SHA224':
    case 'PSS_SHA256':
    case 'PSS_SHA384':
    case 'PSS_SHA512': {
      const hash = mode.slice(4).toLowerCase() as HashName;
      if (message.length !== HASH_LENGTH[hash])
        throw new RehearsalCryptoError('bad-input', `the input must be a ${hash} hash`);
      const key = rsaKey(material);
      const modulusBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      const encoded = emsaPssEncode(message, modulusBits - 1, hash, randomBytes(HASH_LENGTH[hash]));
      return rsaRaw(key, encoded);
    }
  }
}

/**
 * EMSA-PSS-ENCODE (RFC 8017 §9.1.1) over an already computed hash, MGF1 with the same hash and
 * a salt as long as the hash (what the NetHSM uses).
 */
export function emsaPssEncode(
  hashValue: Uint8Array,
  emBits: number,
  hash: HashName,
  salt: Uint8Array,
): Uint8Array {
  const hLen = HASH_LENGTH[hash];
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + salt.length + 2)
    throw new RehearsalCryptoError('bad-input', 'the key is too small for this hash');
  const mPrime = concatBytes(new Uint8Array(8), hashValue, salt);
  const h = new Uint8Array(createHash(hash).update(mPrime).digest());
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - salt.length - 1] = 0x01;
  db.set(salt, db.length - salt.length);
  const mask = mgf1(h, db.length, hash);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] ?? 0) ^ (mask[i] ?? 0);
  db[0] = (db[0] ?? 0) & (0xff >> (8 * emLen - emBits));
  return concatBytes(db, h, Uint8Array.of(0xbc));
}

function mgf1(seed: Uint8Array, length: number, hash: HashName): Uint8Array {
  const out = new Uint8Array(length);
  let filled = 0;
  for (let counter = 0; filled < length; counter++) {
    const block = createHash(hash)
      .update(seed)
      .update(
        Uint8Array.of(
          counter >>> 24,
          (counter >>> 16) & 0xff,
          (counter >>> 8) & 0xff,
          counter & 0xff,
        ),
      )
      .digest();
    out.set(block.subarray(0, Math.min(block.length, length - filled)), filled);
    filled += block.length;
  }
  return out;
}

/** The bare RSA private operation on an input no longer than the modulus. */
function rsaRaw(key: KeyObject, input: Uint8Array): Uint8Array {
  const k = rsaModulusBytes(key);
  if (input.length > k)
    throw new RehearsalCryptoError('bad-input', 'the input is longer than the key');
  const block = new Uint8Array(k);
  block.set(input, k - input.length);
  try {
    return new Uint8Array(privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, block));
  } catch {
    throw new RehearsalCryptoError('bad-input', 'the input is not smaller than the modulus');
  }
}

export function decryptWith(
  material: RehearsalKeyMaterial,
  mode: NetHsmDecryptMode,
  encrypted: Uint8Array,
  iv?: Uint8Array,
): Uint8Array {
  if (!mechanismFitsType(decryptModeMechanism(mode), material.type))
    throw new RehearsalCryptoError(
      'wrong-mechanism',
      `mode ${mode} does not fit a ${material.type} key`,
    );
  switch (mode) {
    case 'AES_CBC': {
      if (!iv || iv.length !== 16)
        throw new RehearsalCryptoError('bad-input', 'AES_CBC needs a 16-byte iv');
      return aesCbc('decrypt', material.secret, encrypted, iv);
    }
    case 'RAW':
      return rsaRaw(rsaKey(material), encrypted);
    case 'PKCS1': {
      // Node refuses PKCS#1 v1.5 decryption (Marvin); the device offers it, so unpad by hand.
      const block = rsaRaw(rsaKey(material), encrypted);
      const separator = block.indexOf(0, 2);
      if (block[0] !== 0 || block[1] !== 2 || separator < 10)
        throw new RehearsalCryptoError('decryption-failed', 'decryption failed');
      return block.slice(separator + 1);
    }
    case 'OAEP_MD5':
    case 'OAEP_SHA1':
    case 'OAEP_SHA224':
    case 'OAEP_SHA256':
    case 'OAEP_SHA384':
    case 'OAEP_SHA512': {
      const key = rsaKey(material);
      if (encrypted.length > rsaModulusBytes(key))
        throw new RehearsalCryptoError('bad-input', 'the input is longer than the key');
      try {
        return new Uint8Array(
          privateDecrypt(
            {
              key,
              padding: constants.RSA_PKCS1_OAEP_PADDING,
              oaepHash: mode.slice(5).toLowerCase(),
            },
            encrypted,
          ),
        );
      } catch {
        throw new RehearsalCryptoError('decryption-failed', 'decryption failed');
      }
    }
  }
}

export function encryptWith(
  material: RehearsalKeyMaterial,
  mode: NetHsmEncryptMode,
  message: Uint8Array,
  iv?: Uint8Array,
): { encrypted: Uint8Array; iv: Uint8Array } {
  if (!mechanismFitsType(encryptModeMechanism(mode), material.type))
    throw new RehearsalCryptoError(
      'wrong-mechanism',
      `mode ${mode} does not fit a ${material.type} key`,
    );
  const usedIv = iv ?? new Uint8Array(randomBytes(16));
  if (usedIv.length !== 16)
    throw new RehearsalCryptoError('bad-input', 'AES_CBC needs a 16-byte iv');
  return { encrypted: aesCbc('encrypt', material.secret, message, usedIv), iv: usedIv };
}

/** AES-CBC without padding: the device works on whole blocks only. */
function aesCbc(
  direction: 'encrypt' | 'decrypt',
  key: Uint8Array,
  input: Uint8Array,
  iv: Uint8Array,
): Uint8Array {
  if (input.length === 0 || input.length % 16 !== 0)
    throw new RehearsalCryptoError('bad-input', 'AES_CBC works on whole 16-byte blocks');
  if (key.length !== 16 && key.length !== 24 && key.length !== 32)
    throw new RehearsalCryptoError('bad-input', 'the Generic key is not an AES key');
  const algorithm = `aes-${key.length * 8}-cbc`;
  const cipher =
    direction === 'encrypt'
      ? createCipheriv(algorithm, key, iv)
      : createDecipheriv(algorithm, key, iv);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(input), cipher.final()]));
}

// ---------------------------------------------------------------------------------------------
// Certification requests

export interface NetHsmDistinguishedName {
  readonly countryName?: string | undefined;
  readonly stateOrProvinceName?: string | undefined;
  readonly localityName?: string | undefined;
  readonly organizationName?: string | undefined;
  readonly organizationalUnitName?: string | undefined;
  readonly commonName: string;
  readonly emailAddress?: string | undefined;
  readonly subjectAltNames?: readonly string[] | undefined;
}

const NAME_ATTRIBUTES: readonly [keyof NetHsmDistinguishedName, string, number][] = [
  ['countryName', '2.5.4.6', 0x13],
  ['stateOrProvinceName', '2.5.4.8', 0x0c],
  ['localityName', '2.5.4.7', 0x0c],
  ['organizationName', '2.5.4.10', 0x0c],
  ['organizationalUnitName', '2.5.4.11', 0x0c],
  ['commonName', '2.5.4.3', 0x0c],
  ['emailAddress', OID.emailAddress, 0x16],
];

/** X.501 Name of the DistinguishedName fields, empty strings left out. */
export function encodeName(dn: NetHsmDistinguishedName): Uint8Array {
  const rdns: Uint8Array[] = [];
  for (const [field, attributeOid, stringTag] of NAME_ATTRIBUTES) {
    const value = dn[field];
    if (typeof value !== 'string' || value === '') continue;
    rdns.push(
      encodeTlv(
        0x31,
        sequence(oid(attributeOid), encodeTlv(stringTag, new TextEncoder().encode(value))),
      ),
    );
  }
  return sequence(...rdns);
}

/** PKCS#10 request signed by the key (SHA-256/384/512 by curve size, SHA-256 for RSA). */
export function certificationRequest(
  material: RehearsalKeyMaterial,
  dn: NetHsmDistinguishedName,
): Uint8Array {
  const spki = subjectPublicKeyInfo(material);
  const altNames = dn.subjectAltNames ?? [dn.commonName];
  const attributes =
    altNames.length === 0
      ? []
      : [
          sequence(
            oid(OID.extensionRequest),
            encodeTlv(
              0x31,
              sequence(
                sequence(
                  oid(OID.subjectAltName),
                  encodeTlv(DerTag.octetString, sequence(...altNames.map(generalName))),
                ),
              ),
            ),
          ),
        ];
  const info = sequence(
    encodeUnsignedInteger(Uint8Array.of(0)),
    encodeName(dn),
    spki,
    encodeTlv(0xa0, concatBytes(...attributes)),
  );
  const [algorithm, signature] = signCertificationInfo(material, info);
  return sequence(info, algorithm, bitString(signature));
}

function signCertificationInfo(
  material: RehearsalKeyMaterial,
  tbs: Uint8Array,
): [Uint8Array, Uint8Array] {
  switch (material.type) {
    case 'RSA':
      return [
        sequence(oid(OID.sha256WithRsa), encodeTlv(0x05, new Uint8Array())),
        new Uint8Array(nodeSign('sha256', tbs, rsaKey(material))),
      ];
    case 'Generic':
      throw new RehearsalCryptoError('unsupported-key', 'Generic keys cannot sign requests');
    case 'Curve25519':
      return [sequence(oid(OID.ed25519)), ed25519.sign(tbs, material.secret)];
    case 'EC_P256':
    case 'EC_P384':
    case 'EC_P521':
    case 'EC_P256K1':
    case 'BrainpoolP256':
    case 'BrainpoolP384':
    case 'BrainpoolP512': {
      const curve = EC_CURVES[material.type];
      const algorithmOid = {
        sha256: OID.ecdsaWithSha256,
        sha384: OID.ecdsaWithSha384,
        sha512: OID.ecdsaWithSha512,
      }[curve.csrHash];
      const digest = new Uint8Array(createHash(curve.csrHash).update(tbs).digest());
      return [
        sequence(oid(algorithmOid)),
        curve.noble.sign(digest, material.secret, { prehash: false, format: 'der' }),
      ];
    }
  }
}

function generalName(name: string): Uint8Array {
  if (!name.startsWith('IP:')) return encodeTlv(0x82, new TextEncoder().encode(name));
  return encodeTlv(0x87, parseIpAddress(name.slice(3)));
}

/** IPv4 dotted quad or IPv6 (with `::`) as the octets of an iPAddress GeneralName. */
export function parseIpAddress(text: string): Uint8Array {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.every((o) => o <= 255)) return Uint8Array.from(octets);
  }
  const halves = text.split('::');
  if (text.includes(':') && halves.length <= 2) {
    const head = halves[0] ? halves[0].split(':') : [];
    const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
    const missing = 8 - head.length - tail.length;
    const groups = [
      ...head,
      ...Array<string>(halves.length === 2 ? missing : 0).fill('0'),
      ...tail,
    ];
    if (groups.length === 8 && groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) {
      return Uint8Array.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
    }
  }
  throw new RehearsalCryptoError('bad-input', `not an IP address: ${text}`);
}

// ---------------------------------------------------------------------------------------------
// DER helpers

function sequence(...parts: Uint8Array[]): Uint8Array {
  return encodeTlv(DerTag.sequence, concatBytes(...parts));
}

function bitString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(DerTag.bitString, concatBytes(Uint8Array.of(0), bytes));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [first = 0n, second = 0n, ...rest] = arcs;
  const body: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let value = arc >> 7n; value > 0n; value >>= 7n)
      chunk.unshift(Number(value & 0x7fn) | 0x80);
    body.push(...chunk);
  }
  return encodeTlv(DerTag.objectIdentifier, Uint8Array.from(body));
}
