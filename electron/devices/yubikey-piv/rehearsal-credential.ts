// A PIN, PUK or admin PIN as the rehearsal YubiKey keeps it (issue 18, finding 10): a real card
// never reveals its PINs, so neither does the rehearsal card's state file. It holds a salted
// scrypt digest of each, a fresh random salt whenever a value is set, and checks a try against it
// in constant time. The retry counters stay beside it as before. PINs are short: the digest makes
// the file useless to a casual reader, not to a patient one (the file is 0600 in the data folder).
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { bytesToHex, hexToBytes } from '../../formats/der.ts';

/** scrypt's cost: about 10 ms a try on a laptop, paid at VERIFY and CHANGE REFERENCE only. */
const SCRYPT = { N: 4096, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const DIGEST_BYTES = 32;

export interface CredentialDigest {
  salt: Uint8Array;
  digest: Uint8Array;
  /** Bytes in the value: the OpenPGP applet splits CHANGE REFERENCE's data by it, as a card does. */
  length: number;
  /** The factory value (GET METADATA says so), decided when the value was set. */
  isDefault: boolean;
}

function scrypt(value: Uint8Array, salt: Uint8Array): Uint8Array {
  return new Uint8Array(scryptSync(value, salt, DIGEST_BYTES, SCRYPT));
}

/** The digest of a new value; `factoryValue` is what a reset sets, for `isDefault`. */
export function digestCredential(value: Uint8Array, factoryValue?: Uint8Array): CredentialDigest {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  return {
    salt,
    digest: scrypt(value, salt),
    length: value.length,
    isDefault:
      factoryValue !== undefined &&
      factoryValue.length === value.length &&
      timingSafeEqual(factoryValue, value),
  };
}

const factoryDigests = new Map<string, CredentialDigest>();

/**
 * A factory value's digest, made once a process: every reset sets one, and the value is public
 * (123456), so one salt for it across cards costs nothing.
 */
export function factoryCredential(value: Uint8Array): CredentialDigest {
  const key = bytesToHex(value);
  let digest = factoryDigests.get(key);
  if (!digest) {
    digest = digestCredential(value, value);
    factoryDigests.set(key, digest);
  }
  return digest;
}

/** Whether `offered` is the value, in constant time for a value of the digest's length. */
export function credentialMatches(stored: CredentialDigest, offered: Uint8Array): boolean {
  if (offered.length !== stored.length) return false;
  return timingSafeEqual(scrypt(offered, stored.salt), stored.digest);
}

/** The saved form: hex salt and digest; never the value, nor its hex. */
export const SavedCredential = z.strictObject({
  salt: z.string().regex(/^[0-9a-f]{32}$/),
  scrypt: z.string().regex(/^[0-9a-f]{64}$/),
  length: z.number().int().min(0).max(255),
  isDefault: z.boolean(),
});
export type SavedCredential = z.infer<typeof SavedCredential>;

export function credentialToJson(c: CredentialDigest): SavedCredential {
  return {
    salt: bytesToHex(c.salt),
    scrypt: bytesToHex(c.digest),
    length: c.length,
    isDefault: c.isDefault,
  };
}

export function credentialFromJson(saved: SavedCredential): CredentialDigest {
  return {
    salt: hexToBytes(saved.salt),
    digest: hexToBytes(saved.scrypt),
    length: saved.length,
    isDefault: saved.isDefault,
  };
}
