// Certifying another keyholder's key after the fingerprint was compared in the room: the
// fingerprint must match in full, and the result carries only that key and our certification.
import * as openpgp from 'openpgp';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { OpenPgpError } from './errors.ts';
import { parseFingerprint } from './fingerprint.ts';
import { fingerprintHex, secretPrimary } from './key-material.ts';
import { refuseInvalidKey } from './message-signing.ts';
import { unlockKey } from './passphrase.ts';
import { makeSignature } from './self-signature.ts';

/**
 * Certification signature types: 0x10 generic, 0x11 persona (no check), 0x12 casual,
 * 0x13 positive (RFC 4880 §5.2.1).
 */
export type CertificationLevel = 0x10 | 0x11 | 0x12 | 0x13;

export interface CertifyOptions {
  /** As typed or scanned from a QR code: spaces, any case and a `0x` prefix are accepted. */
  expectedFingerprint: string;
  /** Exact User ID strings to certify; default every User ID that is valid at `now`. */
  userIds?: readonly string[];
  /**
   * Default 0x10, as `gpg --sign-key` writes. Vigil proves that the fingerprint matched, not
   * how the identity was checked, so a stronger claim (0x12, 0x13) is the operator's to make.
   * GnuPG's web of trust ignores 0x11 (min-cert-level 2), so it is never the default.
   */
  level?: CertificationLevel;
  now: Date;
}

/**
 * The other keyholder's public key, armored, with our certification on the chosen User IDs
 * and no other third-party certifications (the caff convention: they import only ours).
 */
export async function certifyKey(
  signer: openpgp.PrivateKey,
  passphrase: SecretBytes,
  otherArmoredPublicKey: string,
  options: CertifyOptions,
): Promise<string> {
  const expected = parseFingerprint(options.expectedFingerprint);
  const level = options.level ?? 0x10;
  if (!isCertificationLevel(level)) {
    throw new OpenPgpError('certification-level-invalid', 'levels are 0x10 to 0x13', { level });
  }
  const other = await readOnePublicKey(otherArmoredPublicKey);
  // SECURITY: exact, whole-fingerprint comparison; no key IDs, prefixes or subkey matches.
  if (other.getFingerprint() !== expected) {
    throw new OpenPgpError(
      'fingerprint-mismatch',
      'the key is not the one whose fingerprint was checked',
      {
        expected: expected.toUpperCase(),
        actual: fingerprintHex(other),
      },
    );
  }
  await refuseInvalidKey(other, options.now);
  const users = await chooseUsers(other, options.userIds, options.now);
  await refuseInvalidKey(signer, options.now);
  const certifier = secretPrimary(await unlockKey(signer, passphrase));

  const certified = other.toPublic();
  for (const user of certified.users) {
    user.otherCertifications = [];
    if (user.userID === null || !users.includes(user.userID.userID)) continue;
    user.otherCertifications.push(
      await certificationSignature(certifier, user.userID, certified.keyPacket, level, options.now),
    );
  }
  return certified.armor();
}

/** A third-party certification by `certifier` over one User ID of another key. */
export function certificationSignature(
  certifier: openpgp.SecretKeyPacket,
  userID: openpgp.UserIDPacket,
  certified: openpgp.PublicKeyPacket | openpgp.SecretKeyPacket,
  level: CertificationLevel,
  now: Date,
): Promise<openpgp.SignaturePacket> {
  return makeSignature(certifier, level, { userID, key: certified }, now, {});
}

function isCertificationLevel(level: number): level is CertificationLevel {
  return Number.isInteger(level) && level >= 0x10 && level <= 0x13;
}

async function readOnePublicKey(armored: string): Promise<openpgp.Key> {
  let keys: openpgp.Key[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: armored });
  } catch {
    throw new OpenPgpError('key-unreadable', 'not an armored OpenPGP public key');
  }
  const [key, ...others] = keys;
  if (key === undefined || others.length > 0) {
    throw new OpenPgpError('key-count-not-one', 'expected exactly one key', { count: keys.length });
  }
  // SECURITY: a certifier has no business holding someone else's secret key.
  if (key.isPrivate()) {
    throw new OpenPgpError('key-secret-given', 'this is a secret key; ask for the public key', {
      fingerprint: fingerprintHex(key),
    });
  }
  return key;
}

async function chooseUsers(
  key: openpgp.Key,
  requested: readonly string[] | undefined,
  now: Date,
): Promise<string[]> {
  const valid: string[] = [];
  for (const user of key.users) {
    if (user.userID === null) continue;
    const isValid = await user.verify(now).then(
      () => true,
      () => false,
    );
    if (isValid) valid.push(user.userID.userID);
  }
  if (requested === undefined) {
    if (valid.length === 0) throw new OpenPgpError('user-id-not-found', 'no valid User ID');
    return valid;
  }
  const missing = requested.filter((userId) => !valid.includes(userId));
  if (missing.length > 0 || requested.length === 0) {
    throw new OpenPgpError('user-id-not-found', 'no valid User ID by that name', {
      userIds: missing,
    });
  }
  return [...requested];
}
