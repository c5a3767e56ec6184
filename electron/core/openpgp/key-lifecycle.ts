// Signing-key lifecycle on openpgp.js: create, renew subkeys, rotate a subkey, revoke.
// Keys default to v4 EdDSA-legacy / cv25519 because GnuPG 2.2 and OpenPGP cards accept nothing
// newer; v6 keys exist only behind an explicit opt-in.
import * as openpgp from 'openpgp';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { OpenPgpError } from './errors.ts';
import { parseFingerprint } from './fingerprint.ts';
import {
  SUBKEY_ROLES,
  algorithmFamily,
  expiryFrom,
  fingerprintHex,
  generationOptions,
  parseUserId,
  roleFromFlags,
  secretPrimary,
  secretSubkey,
  type KeyAlgorithm,
  type SubkeyRole,
} from './key-material.ts';
import { currentBinding, expiryUnder, isExpiredAt, subkeyRevocation } from './key-status.ts';
import { lockKey, refuseEmptyPassphrase, unlockKey } from './passphrase.ts';
import {
  KEY_FLAGS,
  bindingSignature,
  makeSignature,
  secondsAfterCreation,
} from './self-signature.ts';

export type { KeyAlgorithm, SubkeyRole } from './key-material.ts';

export interface CreatePrimaryKeyOptions {
  /** "Name <email>" or a bare name. */
  userId: string;
  /** Primary key lifetime from `now`; 0 means no expiry. */
  expiresInSeconds: number;
  /** Per-subkey lifetimes from `now`; each defaults to `expiresInSeconds`. */
  subkeyExpiresInSeconds?: Partial<Record<SubkeyRole, number>>;
  /** Which subkeys to make, in this order; default sign, encrypt, authenticate. */
  subkeys?: readonly SubkeyRole[];
  /** Default `ed25519` (v4 EdDSA-legacy + cv25519). */
  algorithm?: KeyAlgorithm;
  /**
   * RFC 9580 v6 key. GnuPG 2.2 and sq 0.27 cannot read v6 keys ("unknown version 6"),
   * so this is for tests and future tooling only.
   */
  v6?: boolean;
  passphrase: SecretBytes;
  now: Date;
}

/**
 * A certify-only primary with the requested subkeys (by default signing, encryption and
 * authentication), every secret protected by `passphrase`.
 */
export async function createPrimaryKey(
  options: CreatePrimaryKeyOptions,
): Promise<openpgp.PrivateKey> {
  refuseEmptyPassphrase(options.passphrase);
  const roles = options.subkeys ?? SUBKEY_ROLES;
  if (new Set(roles).size !== roles.length) {
    throw new OpenPgpError('subkey-ambiguous', 'each subkey role may be asked for once', {
      roles: [...roles],
    });
  }
  const algorithm = options.algorithm ?? 'ed25519';
  const isV6 = options.v6 === true;
  const primaryExpiry = expiryFrom(options.now, options.expiresInSeconds);
  const subkeyExpiries = roles.map((role) =>
    expiryFrom(options.now, options.subkeyExpiresInSeconds?.[role] ?? options.expiresInSeconds),
  );
  const { privateKey } = await openpgp.generateKey({
    ...generationOptions(algorithm, 'certify', isV6).options,
    userIDs: [parseUserId(options.userId)],
    date: options.now,
    subkeys: roles.map((role) => {
      const { sign, options: typeOptions } = generationOptions(algorithm, role, isV6);
      return { ...typeOptions, sign };
    }),
    format: 'object',
    config: { v6Keys: isV6 },
  });
  await selfCertify(privateKey, primaryExpiry, options.now);
  for (const [index, role] of roles.entries()) {
    const subkey = privateKey.subkeys[index];
    if (subkey === undefined) throw new Error(`generated key lacks the ${role} subkey`);
    subkey.bindingSignatures = [
      await bindingSignature(
        secretPrimary(privateKey),
        secretSubkey(subkey),
        KEY_FLAGS[role],
        subkeyExpiries[index] ?? null,
        options.now,
      ),
    ];
  }
  return lockKey(privateKey, options.passphrase);
}

/** Replaces openpgp.js's own self-signatures (which mark the primary certify+sign) with certify-only ones. */
async function selfCertify(key: openpgp.PrivateKey, expiresAt: Date | null, now: Date) {
  const primary = secretPrimary(key);
  const fields = {
    keyFlags: KEY_FLAGS.certify,
    keyExpirationTime: secondsAfterCreation(primary, expiresAt),
    preferences: true,
  };
  if (primary.version === 6) {
    // v6 keys carry their flags and expiry in a direct-key signature (RFC 9580 §5.2.3.10).
    const direct = await makeSignature(
      primary,
      openpgp.enums.signature.key,
      { key: primary },
      now,
      fields,
    );
    (key as unknown as { directSignatures: openpgp.SignaturePacket[] }).directSignatures = [direct];
  }
  for (const user of key.users) {
    if (user.userID === null) continue;
    user.selfCertifications = [
      await makeSignature(
        primary,
        openpgp.enums.signature.certPositive,
        { userID: user.userID, key: primary },
        now,
        { ...fields, primaryUserId: true },
      ),
    ];
  }
}

export interface RenewOptions {
  /** New lifetime from `now`, in seconds; must be positive. */
  expiresInSeconds: number;
  passphrase: SecretBytes;
  now: Date;
}

/**
 * Moves the expiry of every named subkey to `now + expiresInSeconds` with a fresh binding
 * signature, keeping usage flags; expired subkeys included (unlike gpg's `*`, which skips them).
 * Unknown fingerprints are refused all together, before anything is signed.
 * Returns a new key under the same passphrase; the input is untouched.
 */
export async function renewSubkeys(
  key: openpgp.PrivateKey,
  fingerprints: readonly string[],
  options: RenewOptions,
): Promise<openpgp.PrivateKey> {
  if (options.expiresInSeconds <= 0) {
    throw new OpenPgpError('expiry-invalid', 'a renewal needs a positive lifetime');
  }
  const expiresAt = expiryFrom(options.now, options.expiresInSeconds);
  const wanted = [...new Set(fingerprints.map(parseFingerprint))];
  if (wanted.length === 0) throw new OpenPgpError('subkey-not-found', 'no subkey was named');
  const missing = wanted.filter((hex) => findSubkey(key, hex) === undefined);
  if (missing.length > 0) {
    throw new OpenPgpError('subkey-not-found', `no subkey ${missing.map(upper).join(', ')}`, {
      fingerprints: missing.map(upper),
    });
  }
  for (const hex of wanted) await refuseRevoked(mustFindSubkey(key, hex), options.now);
  secretPrimary(key); // a subkeys-only key cannot renew: say so before asking for the passphrase

  const unlocked = await unlockKey(key, options.passphrase);
  const primary = secretPrimary(unlocked);
  for (const hex of wanted) {
    const subkey = mustFindSubkey(unlocked, hex);
    const current = await currentBinding(subkey, options.now);
    const flags = current?.keyFlags?.[0];
    if (current === undefined || flags === undefined) {
      throw new OpenPgpError('subkey-role-unknown', 'the subkey has no binding with key flags', {
        fingerprint: upper(hex),
      });
    }
    refuseStaleClock(current, options.now, hex);
    subkey.bindingSignatures.push(
      await bindingSignature(primary, subkey.keyPacket, flags, expiresAt, options.now),
    );
  }
  return lockKey(unlocked, options.passphrase);
}

/** One subkey; see renewSubkeys. */
export function renewSubkey(
  key: openpgp.PrivateKey,
  fingerprint: string,
  options: RenewOptions,
): Promise<openpgp.PrivateKey> {
  return renewSubkeys(key, [fingerprint], options);
}

export interface RotateOptions {
  /** Lifetime of the new subkey from `now`; 0 means no expiry. */
  expiresInSeconds: number;
  /**
   * `revoke`: a subkey revocation (0x28) with reason keySuperseded, so old signatures stay valid.
   * `expire`: a new binding that ends the old subkey at `now`; it can be renewed later.
   */
  oldSubkey: 'revoke' | 'expire';
  passphrase: SecretBytes;
  now: Date;
}

export interface RotatedKey {
  key: openpgp.PrivateKey;
  /** Upper-case hex fingerprints. */
  newSubkeyFingerprint: string;
  oldSubkeyFingerprint: string;
}

/**
 * Replaces a subkey with a fresh one of the same role and algorithm family. `which` is a
 * SubkeyRole ('sign' | 'encrypt' | 'authenticate': the one valid subkey with that role) or a
 * subkey fingerprint.
 */
export async function rotateSubkey(
  key: openpgp.PrivateKey,
  which: string,
  options: RotateOptions,
): Promise<RotatedKey> {
  const expiresAt = expiryFrom(options.now, options.expiresInSeconds);
  const { subkey: chosen, role } = await chooseSubkey(key, which, options.now);
  const oldHex = chosen.getFingerprint();
  const oldBinding = await currentBinding(chosen, options.now);
  if (oldBinding !== undefined) refuseStaleClock(oldBinding, options.now, oldHex);

  secretPrimary(key); // a subkeys-only key cannot rotate: say so before asking for the passphrase
  const unlocked = await unlockKey(key, options.passphrase);
  const family = algorithmFamily(chosen.getAlgorithmInfo());
  const isV6 = unlocked.keyPacket.version === 6;
  const { sign, options: typeOptions } = generationOptions(family, role, isV6);
  const extended = await unlocked.addSubkey({
    ...typeOptions,
    sign,
    date: options.now,
  });
  const primary = secretPrimary(extended);
  const fresh = extended.subkeys.at(-1);
  if (fresh === undefined) throw new Error('openpgp.js added no subkey');
  // Our own binding: openpgp.js cannot flag an authentication subkey and sets no expiry at `now`.
  fresh.bindingSignatures = [
    await bindingSignature(primary, secretSubkey(fresh), KEY_FLAGS[role], expiresAt, options.now),
  ];
  const old = mustFindSubkey(extended, oldHex);
  const newHex = fresh.getFingerprint();
  switch (options.oldSubkey) {
    case 'revoke':
      old.revocationSignatures.push(
        await makeSignature(
          primary,
          openpgp.enums.signature.subkeyRevocation,
          { key: primary, bind: old.keyPacket },
          options.now,
          {
            reason: {
              flag: openpgp.enums.reasonForRevocation.keySuperseded,
              text: `Superseded by ${upper(newHex)}`,
            },
          },
        ),
      );
      break;
    case 'expire':
      old.bindingSignatures.push(
        await bindingSignature(primary, old.keyPacket, KEY_FLAGS[role], options.now, options.now),
      );
      break;
  }
  return {
    key: await lockKey(extended, options.passphrase),
    newSubkeyFingerprint: upper(newHex),
    oldSubkeyFingerprint: upper(oldHex),
  };
}

async function chooseSubkey(
  key: openpgp.PrivateKey,
  which: string,
  now: Date,
): Promise<{ subkey: openpgp.Subkey; role: SubkeyRole }> {
  if (isRole(which)) {
    const candidates: openpgp.Subkey[] = [];
    for (const subkey of key.subkeys) {
      const binding = await currentBinding(subkey, now);
      const flags = binding?.keyFlags?.[0] ?? 0;
      if (roleFromFlags(flags) !== which) continue;
      if ((await subkeyRevocation(subkey, now)) !== null) continue;
      if (isExpiredAt(expiryUnder(subkey.keyPacket, binding), now)) continue;
      candidates.push(subkey);
    }
    const [only, ...others] = candidates;
    if (only === undefined) {
      throw new OpenPgpError('subkey-not-found', `no valid ${which} subkey`, { role: which });
    }
    if (others.length > 0) {
      throw new OpenPgpError('subkey-ambiguous', `several valid ${which} subkeys; name one`, {
        fingerprints: candidates.map(fingerprintHex),
      });
    }
    return { subkey: only, role: which };
  }
  const hex = parseFingerprint(which);
  const subkey = findSubkey(key, hex);
  if (subkey === undefined) {
    throw new OpenPgpError('subkey-not-found', `no subkey ${upper(hex)}`, {
      fingerprints: [upper(hex)],
    });
  }
  await refuseRevoked(subkey, now);
  const role = roleFromFlags((await currentBinding(subkey, now))?.keyFlags?.[0] ?? 0);
  if (role === null) {
    throw new OpenPgpError('subkey-role-unknown', 'the subkey has no usage Vigil rotates', {
      fingerprint: upper(hex),
    });
  }
  return { subkey, role };
}

function isRole(text: string): text is SubkeyRole {
  return (SUBKEY_ROLES as readonly string[]).includes(text);
}

function findSubkey(key: openpgp.Key, hex: string): openpgp.Subkey | undefined {
  return key.subkeys.find((subkey) => subkey.getFingerprint() === hex);
}

function mustFindSubkey(key: openpgp.Key, hex: string): openpgp.Subkey {
  const subkey = findSubkey(key, hex);
  if (subkey === undefined) throw new Error(`subkey ${hex} vanished`);
  return subkey;
}

async function refuseRevoked(subkey: openpgp.Subkey, now: Date): Promise<void> {
  const revocation = await subkeyRevocation(subkey, now);
  if (revocation !== null) {
    throw new OpenPgpError('subkey-revoked', 'a revoked subkey stays revoked; rotate instead', {
      fingerprint: fingerprintHex(subkey),
      reason: revocation.reason,
    });
  }
}

// Verifiers take the newest binding; one made in the same second as (or before) the current one
// would leave GnuPG and openpgp.js free to disagree about which counts.
function refuseStaleClock(current: openpgp.SignaturePacket, now: Date, hex: string): void {
  const created = current.created?.getTime() ?? 0;
  if (Math.floor(now.getTime() / 1000) <= Math.floor(created / 1000)) {
    throw new OpenPgpError('expiry-invalid', 'the ceremony clock is not after the last binding', {
      fingerprint: upper(hex),
    });
  }
}

function upper(hex: string): string {
  return hex.toUpperCase();
}

export type RevocationReason = 'noReason' | 'keySuperseded' | 'keyCompromised' | 'keyRetired';

export interface RevocationOptions {
  reason: RevocationReason;
  text: string;
  /** Needed when `key` is passphrase-protected. */
  passphrase?: SecretBytes;
  now?: Date;
}

/** An armored key-revocation signature for the primary key, to be kept offline until needed. */
export async function revocationCertificate(
  key: openpgp.PrivateKey,
  options: RevocationOptions,
): Promise<string> {
  const unlocked = await unlockKey(key, options.passphrase);
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
    primary.version !== 6,
  );
}
