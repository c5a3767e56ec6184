// Signing-key lifecycle on openpgp.js: create, renew a subkey, revoke.
// Keys are v4 EdDSA-legacy / cv25519-legacy because GnuPG 2.2 and OpenPGP cards accept nothing newer.
import * as openpgp from 'openpgp';
import {
  KEY_FLAGS,
  bindingSignature,
  latest,
  makeSignature,
  secondsAfterCreation,
} from './self-signature.ts';
import { normaliseFingerprint } from './fingerprint.ts';

export type SubkeyRole = 'sign' | 'encrypt' | 'authenticate';

export interface CreatePrimaryKeyOptions {
  /** "Name <email>" or a bare name. */
  userId: string;
  /** Primary key lifetime from `now`; 0 means no expiry. */
  expiresInSeconds: number;
  /** Per-subkey lifetimes from `now`; each defaults to `expiresInSeconds`. */
  subkeyExpiresInSeconds?: Partial<Record<SubkeyRole, number>>;
  passphrase: string;
  now: Date;
}

const ROLES: readonly SubkeyRole[] = ['sign', 'encrypt', 'authenticate'];

const v4Config: Partial<openpgp.Config> = { v6Keys: false };

/**
 * A certify-only primary with signing, encryption and authentication subkeys,
 * each protected by `passphrase`.
 */
export async function createPrimaryKey(
  options: CreatePrimaryKeyOptions,
): Promise<openpgp.PrivateKey> {
  if (options.passphrase.length === 0) throw new Error('a passphrase is required');
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [parseUserId(options.userId)],
    date: options.now,
    subkeys: [
      { sign: true },
      { type: 'ecc', curve: 'curve25519Legacy' },
      { type: 'ecc', curve: 'ed25519Legacy', sign: true },
    ],
    format: 'object',
    config: v4Config,
  });
  const primary = secretPrimary(privateKey);
  const user = privateKey.users[0];
  if (user?.userID == null) throw new Error('generated key has no User ID');
  user.selfCertifications = [
    await makeSignature(
      primary,
      openpgp.enums.signature.certPositive,
      { userID: user.userID, key: primary },
      options.now,
      {
        keyFlags: KEY_FLAGS.certify,
        keyExpirationTime: secondsAfterCreation(
          primary,
          expiryFrom(options.now, options.expiresInSeconds),
        ),
        primaryUserId: true,
        preferences: true,
      },
    ),
  ];
  for (const [index, role] of ROLES.entries()) {
    const subkey = privateKey.subkeys[index];
    if (subkey === undefined) throw new Error(`generated key lacks the ${role} subkey`);
    const lifetime = options.subkeyExpiresInSeconds?.[role] ?? options.expiresInSeconds;
    subkey.bindingSignatures = [
      await bindingSignature(
        primary,
        secretSubkey(subkey),
        KEY_FLAGS[role],
        expiryFrom(options.now, lifetime),
        options.now,
      ),
    ];
  }
  return openpgp.encryptKey({ privateKey, passphrase: options.passphrase, config: v4Config });
}

export interface RenewOptions {
  expiresInSeconds: number;
  passphrase: string;
  now: Date;
}

/**
 * Adds a fresh binding signature that moves the named subkey's expiry to
 * `now + expiresInSeconds`, keeping its usage flags. Works on expired subkeys too.
 * Returns a new key, protected by the same passphrase; the input is untouched.
 */
export async function renewSubkey(
  key: openpgp.PrivateKey,
  fingerprint: string,
  options: RenewOptions,
): Promise<openpgp.PrivateKey> {
  if (options.expiresInSeconds <= 0) throw new RangeError('expiresInSeconds must be positive');
  const unlocked = await openpgp.decryptKey({ privateKey: key, passphrase: options.passphrase });
  const wanted = normaliseFingerprint(fingerprint);
  const subkey = unlocked.subkeys.find((candidate) => candidate.getFingerprint() === wanted);
  if (subkey === undefined) throw new Error(`no subkey with fingerprint ${wanted}`);
  const current = latest(subkey.bindingSignatures);
  const flags = current?.keyFlags?.[0];
  if (flags === undefined) throw new Error('the subkey has no binding signature with key flags');
  subkey.bindingSignatures.push(
    await bindingSignature(
      secretPrimary(unlocked),
      secretSubkey(subkey),
      flags,
      expiryFrom(options.now, options.expiresInSeconds),
      options.now,
    ),
  );
  return openpgp.encryptKey({ privateKey: unlocked, passphrase: options.passphrase });
}

export type RevocationReason = 'noReason' | 'keySuperseded' | 'keyCompromised' | 'keyRetired';

export interface RevocationOptions {
  reason: RevocationReason;
  text: string;
  /** Needed when `key` is passphrase-protected. */
  passphrase?: string;
  now?: Date;
}

/** An armored key-revocation signature for the primary key, to be kept offline until needed. */
export async function revocationCertificate(
  key: openpgp.PrivateKey,
  options: RevocationOptions,
): Promise<string> {
  const unlocked = await unlock(key, options.passphrase);
  const primary = secretPrimary(unlocked);
  const signature = await makeSignature(
    primary,
    openpgp.enums.signature.keyRevocation,
    { key: primary },
    options.now ?? new Date(),
    { reason: { flag: openpgp.enums.reasonForRevocation[options.reason], text: options.text } },
  );
  const packets = new openpgp.PacketList<openpgp.SignaturePacket>();
  packets.push(signature);
  // emitChecksum: GnuPG 2.2 misreads v4 armor without the CRC24 line when the body length
  // is a multiple of three (no '=' padding marks the end), so keep it, as Key.armor() does for v4.
  return openpgp.armor(
    openpgp.enums.armor.publicKey,
    packets.write(),
    undefined,
    undefined,
    'This is a revocation certificate',
    true,
  );
}

export async function unlock(
  key: openpgp.PrivateKey,
  passphrase: string | undefined,
): Promise<openpgp.PrivateKey> {
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) throw new Error('the key is passphrase-protected');
  return openpgp.decryptKey({ privateKey: key, passphrase });
}

export function secretPrimary(key: openpgp.PrivateKey): openpgp.SecretKeyPacket {
  const packet = key.keyPacket;
  if (!(packet instanceof openpgp.SecretKeyPacket)) throw new Error('not a secret primary key');
  return packet;
}

function secretSubkey(subkey: openpgp.Subkey): openpgp.SecretSubkeyPacket {
  const packet = subkey.keyPacket;
  if (!(packet instanceof openpgp.SecretSubkeyPacket)) throw new Error('not a secret subkey');
  return packet;
}

function expiryFrom(now: Date, seconds: number): Date | null {
  if (seconds < 0) throw new RangeError('expiry must not be negative');
  return seconds === 0 ? null : new Date(now.getTime() + seconds * 1000);
}

function parseUserId(userId: string): openpgp.UserID {
  const match = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(userId.trim());
  if (match === null) return { name: userId.trim() };
  const [, name = '', email = ''] = match;
  return name === '' ? { email } : { name, email };
}
