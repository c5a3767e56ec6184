// Shared vocabulary of the key lifecycle: algorithm families, subkey roles from key flags,
// secret packets, expiry dates and User IDs.
import * as openpgp from 'openpgp';
import { OpenPgpError } from './errors.ts';
import { KEY_FLAGS } from './self-signature.ts';

export type SubkeyRole = 'sign' | 'encrypt' | 'authenticate';

export const SUBKEY_ROLES: readonly SubkeyRole[] = ['sign', 'encrypt', 'authenticate'];

/**
 * `ed25519` is v4 EdDSA-legacy with a cv25519 encryption subkey: what GnuPG 2.2 and OpenPGP
 * cards read. The NIST curves and RSA 4096 are for cards and HSMs without Curve25519.
 */
export type KeyAlgorithm = 'ed25519' | 'rsa4096' | 'nistp256' | 'nistp384';

type KeyTypeOptions = Pick<openpgp.SubkeyOptions, 'type' | 'curve' | 'rsaBits'>;

/** openpgp.js generation options for one key of `algorithm`; signing-capable unless encrypting. */
export function generationOptions(
  algorithm: KeyAlgorithm,
  role: SubkeyRole | 'certify',
  isV6: boolean,
): { sign: boolean; options: KeyTypeOptions } {
  const sign = role !== 'encrypt';
  return { sign, options: keyTypeOptions(algorithm, sign, isV6) };
}

function keyTypeOptions(algorithm: KeyAlgorithm, sign: boolean, isV6: boolean): KeyTypeOptions {
  switch (algorithm) {
    case 'ed25519':
      // v6 uses the RFC 9580 Ed25519/X25519 packets; v4 the legacy curve OIDs GnuPG 2.2 reads.
      if (isV6) return { type: 'curve25519' };
      return { type: 'ecc', curve: sign ? 'ed25519Legacy' : 'curve25519Legacy' };
    case 'rsa4096':
      return { type: 'rsa', rsaBits: 4096 };
    case 'nistp256':
      return { type: 'ecc', curve: 'nistP256' };
    case 'nistp384':
      return { type: 'ecc', curve: 'nistP384' };
  }
}

/** The family a rotated subkey's successor is generated in: the same as the old subkey's. */
export function algorithmFamily(info: openpgp.AlgorithmInfo): KeyAlgorithm {
  if (info.algorithm === 'rsaEncryptSign' || info.algorithm === 'rsaSign') {
    if (info.bits === 4096) return 'rsa4096';
  } else if (info.curve === 'nistP256') {
    return 'nistp256';
  } else if (info.curve === 'nistP384') {
    return 'nistp384';
  } else if (
    info.curve === 'ed25519Legacy' ||
    info.curve === 'curve25519Legacy' ||
    info.algorithm === 'ed25519' ||
    info.algorithm === 'x25519'
  ) {
    return 'ed25519';
  }
  throw new OpenPgpError('key-algorithm-unsupported', 'no Vigil algorithm matches this key', {
    algorithm: info.algorithm,
  });
}

/** A short algorithm name in GnuPG's spelling (ed25519, cv25519, nistp256, rsa4096…). */
export function algorithmName(info: openpgp.AlgorithmInfo): string {
  if (info.curve === 'ed25519Legacy') return 'ed25519';
  if (info.curve === 'curve25519Legacy') return 'cv25519';
  if (info.curve !== undefined) return info.curve.toLowerCase();
  if (info.bits !== undefined) return `rsa${info.bits}`;
  return info.algorithm;
}

/**
 * The role a subkey plays, read from its key flags. Without any of Vigil's flags, the algorithm
 * decides, as RFC 4880 §5.2.3.21 lets a key without flags do what its algorithm can.
 */
export function roleOf(flags: number, info: openpgp.AlgorithmInfo): SubkeyRole {
  if ((flags & KEY_FLAGS.sign) !== 0) return 'sign';
  if ((flags & KEY_FLAGS.encrypt) !== 0) return 'encrypt';
  if ((flags & KEY_FLAGS.authenticate) !== 0) return 'authenticate';
  return ENCRYPTION_ONLY.has(info.algorithm) ? 'encrypt' : 'sign';
}

const ENCRYPTION_ONLY = new Set<string>(['ecdh', 'x25519', 'x448', 'elgamal', 'rsaEncrypt']);

/** The role named by key flags alone, or null when they grant none of Vigil's roles. */
export function roleFromFlags(flags: number): SubkeyRole | null {
  if ((flags & KEY_FLAGS.sign) !== 0) return 'sign';
  if ((flags & KEY_FLAGS.encrypt) !== 0) return 'encrypt';
  if ((flags & KEY_FLAGS.authenticate) !== 0) return 'authenticate';
  return null;
}

/** Key flags in GnuPG's letters (c, s, e, a), as `gpg --with-colons` prints usage. */
export function usageLetters(flags: number): string {
  const { certifyKeys, signData, encryptCommunication, encryptStorage, authentication } =
    openpgp.enums.keyFlags;
  return [
    (flags & certifyKeys) !== 0 ? 'c' : '',
    (flags & signData) !== 0 ? 's' : '',
    (flags & (encryptCommunication | encryptStorage)) !== 0 ? 'e' : '',
    (flags & authentication) !== 0 ? 'a' : '',
  ].join('');
}

export function secretPrimary(key: openpgp.PrivateKey): openpgp.SecretKeyPacket {
  const packet = key.keyPacket;
  if (!(packet instanceof openpgp.SecretKeyPacket) || packet.isDummy()) {
    // The "No secret key" of gpg --quick-set-expire on a subkeys-only keyring, said plainly.
    throw new OpenPgpError('key-stub', 'this needs the offline primary secret key, not a stub', {
      fingerprint: key.getFingerprint().toUpperCase(),
    });
  }
  return packet;
}

export function secretSubkey(subkey: openpgp.Subkey): openpgp.SecretSubkeyPacket {
  const packet = subkey.keyPacket;
  if (!(packet instanceof openpgp.SecretSubkeyPacket) || packet.isDummy()) {
    throw new OpenPgpError('key-stub', 'this needs the subkey secret, not a stub', {
      fingerprint: subkey.getFingerprint().toUpperCase(),
    });
  }
  return packet;
}

/** `now + seconds`, or null (no expiry) for 0. */
export function expiryFrom(now: Date, seconds: number): Date | null {
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new OpenPgpError(
      'expiry-invalid',
      'a lifetime is a whole, non-negative number of seconds',
    );
  }
  return seconds === 0 ? null : new Date(now.getTime() + seconds * 1000);
}

export function parseUserId(userId: string): openpgp.UserID {
  const match = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(userId.trim());
  if (match === null) return { name: userId.trim() };
  const [, name = '', email = ''] = match;
  return name === '' ? { email } : { name, email };
}

/** Upper-case hex, the form GnuPG prints and the journal records. */
export function fingerprintHex(key: { getFingerprint(): string }): string {
  return key.getFingerprint().toUpperCase();
}
