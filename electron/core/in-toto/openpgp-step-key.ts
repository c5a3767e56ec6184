// A functionary's OpenPGP public key as a layout step key (issue 21): securesystemslib 0.26's
// GPG_PUBKEY_SCHEMA — the primary key with every subkey whose binding signature verifies, each
// with its creation time and validity — so that in-toto-verify checks links a functionary made
// with `in-toto-run --gpg`, signed by whichever of their subkeys GnuPG chose. Built from the
// packets openpgp.js has verified, not from securesystemslib's export, which drops the subkeys of
// keys with short packets (every Ed25519 key) and would leave their links unverifiable.
import * as openpgp from 'openpgp';
import { bytesToHex } from '../../formats/der.ts';
import { InTotoLayoutError, type GpgStepKey } from '../../formats/in-toto-layout.ts';

const { publicKey: Algorithm } = openpgp.enums;

type KeyPacket = openpgp.Key['keyPacket'] | openpgp.Subkey['keyPacket'];
type GpgKeyPart = Omit<GpgStepKey, 'subkeys'>;

interface RsaParams {
  n: Uint8Array;
  e: Uint8Array;
}
interface DsaParams {
  p: Uint8Array;
  q: Uint8Array;
  g: Uint8Array;
  y: Uint8Array;
}
interface EddsaParams {
  oid: { getName(): string };
  Q: Uint8Array;
}

/** One key packet as securesystemslib keeps it, or null for an algorithm in-toto does not read. */
function keyPart(packet: KeyPacket, validitySeconds: number | null): GpgKeyPart | null {
  const common = {
    hashes: ['pgp+SHA2'],
    creation_time: Math.floor(packet.created.getTime() / 1000),
    keyid: packet.getFingerprint().toLowerCase(),
    ...(validitySeconds ? { validity_period: validitySeconds } : {}),
  };
  const hex = (bytes: Uint8Array) => bytesToHex(bytes);
  if (packet.algorithm === Algorithm.rsaEncryptSign) {
    const { n, e } = packet.publicParams as unknown as RsaParams;
    return {
      ...common,
      type: 'rsa',
      method: 'pgp+rsa-pkcsv1.5',
      keyval: { private: '', public: { e: hex(e), n: hex(n) } },
    };
  }
  if (packet.algorithm === Algorithm.dsa) {
    const { p, q, g, y } = packet.publicParams as unknown as DsaParams;
    return {
      ...common,
      type: 'dsa',
      method: 'pgp+dsa-fips-180-2',
      keyval: { private: '', public: { y: hex(y), p: hex(p), q: hex(q), g: hex(g) } },
    };
  }
  if (packet.algorithm === Algorithm.eddsaLegacy) {
    const { oid, Q } = packet.publicParams as unknown as EddsaParams;
    // The MPI is 0x40 then the 32-byte key; securesystemslib keeps the key alone.
    if (oid.getName() !== 'ed25519Legacy' || Q.length !== 33 || Q[0] !== 0x40) return null;
    return {
      ...common,
      type: 'eddsa',
      method: 'pgp+eddsa-ed25519',
      keyval: { private: '', public: { q: hex(Q.subarray(1)) } },
    };
  }
  // RSA sign-only and encrypt-only, ECDH, NIST ECDSA, v6 algorithms: securesystemslib reads none.
  return null;
}

async function isRevokedNow(subkey: openpgp.Subkey, now: Date): Promise<boolean> {
  try {
    await subkey.verify(now);
    return false;
  } catch (error) {
    return error instanceof Error && /revoked/i.test(error.message);
  }
}

const clockLine = (now: Date) => `it is ${now.toISOString().slice(0, 19)}Z here`;

/** Seconds from creation to expiry a self-signature states, or null when it states none. */
const validityOf = (signature: openpgp.SignaturePacket): number | null =>
  signature.keyNeverExpires === false && signature.keyExpirationTime
    ? signature.keyExpirationTime
    : null;

/**
 * The step key of an armored OpenPGP public key, its primary verified at `now` (not revoked, not
 * expired, a valid self-certified user ID). Subkeys whose binding does not verify, and those of
 * algorithms in-toto does not read (ECDH, NIST ECDSA), are left out as securesystemslib leaves
 * them out; a primary key in-toto cannot check is refused.
 */
export async function gpgStepKey(armored: string, name: string, now: Date): Promise<GpgStepKey> {
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: armored });
  } catch (error) {
    throw new InTotoLayoutError(
      `${name} is not an armored OpenPGP public key (${error instanceof Error ? error.message : 'unreadable'})`,
    );
  }
  if (key.isPrivate())
    throw new InTotoLayoutError(`${name} holds a secret key: give the public key only`);
  let primaryUser;
  try {
    await key.verifyPrimaryKey(now);
    primaryUser = await key.getPrimaryUser(now);
  } catch (error) {
    const why = error instanceof Error ? error.message : 'unverified';
    throw new InTotoLayoutError(
      /in the future/.test(why)
        ? `${name}: the OpenPGP key was made after this computer's time (${clockLine(now)}): check the computer's clock`
        : `${name}: the OpenPGP key is not valid now (${why}): ask the functionary for a current key`,
    );
  }
  const primary = keyPart(key.keyPacket, validityOf(primaryUser.selfCertification));
  if (primary === null)
    throw new InTotoLayoutError(
      `${name}: in-toto 1.3.1 checks OpenPGP signatures from RSA, DSA and Ed25519 keys only, and this key's primary is ${key.getAlgorithmInfo().algorithm}: ask the functionary for such a key`,
    );
  const subkeys: Record<string, GpgKeyPart> = {};
  for (const subkey of key.subkeys) {
    const binding = subkey.bindingSignatures.at(-1);
    if (!binding) continue;
    try {
      // At the binding's own time: an expired subkey stays, and in-toto refuses its late links.
      await subkey.verify(binding.created ?? now);
    } catch {
      continue;
    }
    if (subkey.revocationSignatures.length > 0 && (await isRevokedNow(subkey, now))) continue;
    const part = keyPart(subkey.keyPacket, validityOf(binding));
    if (part) subkeys[part.keyid] = part;
  }
  return Object.keys(subkeys).length > 0 ? { ...primary, subkeys } : primary;
}
