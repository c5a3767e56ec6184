// Whether a key or subkey stands at a given moment: verified revocations and expiry, so the
// lifecycle never renews a revoked subkey and the journal shows what GnuPG will show.
import * as openpgp from 'openpgp';
import { latest } from './self-signature.ts';

export type RevocationReasonName =
  'noReason' | 'keySuperseded' | 'keyCompromised' | 'keyRetired' | 'userIDInvalid';

export interface Revocation {
  reason: RevocationReasonName;
  text: string;
  at: Date | null;
}

const REASON_NAMES: Record<number, RevocationReasonName> = {
  [openpgp.enums.reasonForRevocation.noReason]: 'noReason',
  [openpgp.enums.reasonForRevocation.keySuperseded]: 'keySuperseded',
  [openpgp.enums.reasonForRevocation.keyCompromised]: 'keyCompromised',
  [openpgp.enums.reasonForRevocation.keyRetired]: 'keyRetired',
  [openpgp.enums.reasonForRevocation.userIDInvalid]: 'userIDInvalid',
};

/** The latest revocation made by the primary key that verifies at `now`, if any. */
export async function primaryRevocation(key: openpgp.Key, now: Date): Promise<Revocation | null> {
  const data = { key: key.keyPacket };
  return firstValid(key.revocationSignatures, (sig) =>
    sig.verify(key.keyPacket, openpgp.enums.signature.keyRevocation, data, now),
  );
}

export async function subkeyRevocation(
  subkey: openpgp.Subkey,
  now: Date,
): Promise<Revocation | null> {
  const primary = subkey.mainKey.keyPacket;
  const data = { key: primary, bind: subkey.keyPacket };
  return firstValid(subkey.revocationSignatures, (sig) =>
    sig.verify(primary, openpgp.enums.signature.subkeyRevocation, data, now),
  );
}

async function firstValid(
  signatures: openpgp.SignaturePacket[],
  verify: (sig: openpgp.SignaturePacket) => Promise<void>,
): Promise<Revocation | null> {
  const valid: openpgp.SignaturePacket[] = [];
  for (const sig of signatures) {
    // A revocation that fails to verify (forged, or made by someone else) revokes nothing.
    if (await verifies(verify(sig))) valid.push(sig);
  }
  const chosen = latest(valid);
  if (chosen === undefined) return null;
  return {
    reason: REASON_NAMES[chosen.reasonForRevocationFlag ?? 0] ?? 'noReason',
    text: chosen.reasonForRevocationString ?? '',
    at: chosen.created,
  };
}

/** The latest binding that verifies at `now` (ignoring key expiry), else the latest present. */
export async function currentBinding(
  subkey: openpgp.Subkey,
  now: Date,
): Promise<openpgp.SignaturePacket | undefined> {
  const primary = subkey.mainKey.keyPacket;
  const data = { key: primary, bind: subkey.keyPacket };
  const valid: openpgp.SignaturePacket[] = [];
  for (const sig of subkey.bindingSignatures) {
    const check = sig.verify(primary, openpgp.enums.signature.subkeyBinding, data, now);
    if (await verifies(check)) valid.push(sig);
  }
  return latest(valid);
}

function verifies(check: Promise<void>): Promise<boolean> {
  return check.then(
    () => true,
    () => false,
  );
}

/** The moment a (sub)key stops being valid under `signature`, or null for never. */
export function expiryUnder(
  keyPacket: { created: Date },
  signature: openpgp.SignaturePacket | undefined,
): Date | null {
  if (signature === undefined || signature.keyNeverExpires !== false) return null;
  const seconds = signature.keyExpirationTime;
  if (seconds === null || seconds === 0) return null;
  return new Date(keyPacket.created.getTime() + seconds * 1000);
}

export function isExpiredAt(expires: Date | null, now: Date): boolean {
  return expires !== null && expires.getTime() <= now.getTime();
}
