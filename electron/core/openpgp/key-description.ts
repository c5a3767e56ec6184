// A key as the journal and the UI see it: plain JSON, dates as ISO strings, no key material.
import type * as openpgp from 'openpgp';
import {
  algorithmName,
  fingerprintHex,
  roleOf,
  usageLetters,
  type SubkeyRole,
} from './key-material.ts';
import {
  currentBinding,
  expiryUnder,
  isExpiredAt,
  primaryRevocation,
  subkeyRevocation,
  type Revocation,
  type RevocationReasonName,
} from './key-status.ts';

export interface RevocationDescription {
  reason: RevocationReasonName;
  text: string;
  /** ISO 8601, or null if the signature carries no time. */
  at: string | null;
}

export interface SubkeyDescription {
  fingerprint: string;
  keyId: string;
  /** From the key flags of the current binding (the algorithm decides when none apply). */
  role: SubkeyRole;
  /** The key flags exactly, in GnuPG's letters: c, s, e, a. */
  usage: string;
  algorithm: string;
  created: string;
  expires: string | null;
  revoked: boolean;
  revocation: RevocationDescription | null;
  isExpired: boolean;
}

export interface KeyDescription {
  version: number;
  fingerprint: string;
  keyId: string;
  userIds: string[];
  algorithm: string;
  created: string;
  expires: string | null;
  revoked: boolean;
  revocation: RevocationDescription | null;
  isExpired: boolean;
  hasSecret: boolean;
  subkeys: SubkeyDescription[];
}

/** Describes `key` as it stands at `now` (revocations and expiry judged at that moment). */
export async function describeKey(
  key: openpgp.Key,
  now: Date = new Date(),
): Promise<KeyDescription> {
  const revocation = await primaryRevocation(key, now);
  const expires = await primaryExpiry(key);
  const subkeys: SubkeyDescription[] = [];
  for (const subkey of key.subkeys) subkeys.push(await describeSubkey(subkey, now));
  return {
    version: key.keyPacket.version,
    fingerprint: fingerprintHex(key),
    keyId: key.getKeyID().toHex().toUpperCase(),
    userIds: key.users.flatMap((user) => (user.userID === null ? [] : [user.userID.userID])),
    algorithm: algorithmName(key.getAlgorithmInfo()),
    created: key.getCreationTime().toISOString(),
    expires: expires?.toISOString() ?? null,
    revoked: revocation !== null,
    revocation: revocationDescription(revocation),
    isExpired: isExpiredAt(expires, now),
    hasSecret: key.isPrivate(),
    subkeys,
  };
}

async function describeSubkey(subkey: openpgp.Subkey, now: Date): Promise<SubkeyDescription> {
  const binding = await currentBinding(subkey, now);
  const expires = expiryUnder(subkey.keyPacket, binding);
  const revocation = await subkeyRevocation(subkey, now);
  const flags = binding?.keyFlags?.[0] ?? 0;
  return {
    fingerprint: fingerprintHex(subkey),
    keyId: subkey.getKeyID().toHex().toUpperCase(),
    role: roleOf(flags, subkey.getAlgorithmInfo()),
    usage: usageLetters(flags),
    algorithm: algorithmName(subkey.getAlgorithmInfo()),
    created: subkey.getCreationTime().toISOString(),
    expires: expires?.toISOString() ?? null,
    revoked: revocation !== null,
    revocation: revocationDescription(revocation),
    isExpired: isExpiredAt(expires, now),
  };
}

// openpgp.js reports Infinity for "never" and null for "no valid self-signature".
async function primaryExpiry(key: openpgp.Key): Promise<Date | null> {
  const expiry = await key.getExpirationTime();
  return expiry instanceof Date ? expiry : null;
}

function revocationDescription(revocation: Revocation | null): RevocationDescription | null {
  if (revocation === null) return null;
  return {
    reason: revocation.reason,
    text: revocation.text,
    at: revocation.at?.toISOString() ?? null,
  };
}
