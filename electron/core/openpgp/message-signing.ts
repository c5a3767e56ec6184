// Signatures over the ceremony's messages (the test message, the transition statement), always
// made by signing subkeys: the certify-only primary stays for certifications.
import * as openpgp from 'openpgp';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { OpenPgpError } from './errors.ts';
import { fingerprintHex } from './key-material.ts';
import { unlockKey } from './passphrase.ts';
import { PortableSignaturePacket } from './self-signature.ts';

/** The subkey `key` signs messages with at `now`; refuses a key that would sign with its primary. */
export async function signingSubkey(key: openpgp.Key, now: Date): Promise<openpgp.Subkey> {
  await refuseInvalidKey(key, now);
  let signing: openpgp.Key | openpgp.Subkey;
  try {
    signing = await key.getSigningKey(undefined, now);
  } catch {
    throw new OpenPgpError('signing-subkey-missing', 'no valid signing subkey', {
      fingerprint: fingerprintHex(key),
    });
  }
  if (!(signing instanceof openpgp.Subkey)) {
    throw new OpenPgpError('signing-subkey-missing', 'only the primary key could sign', {
      fingerprint: fingerprintHex(key),
    });
  }
  return signing;
}

/** Refuses a primary key that is revoked, expired or without a valid self-signature at `now`. */
export async function refuseInvalidKey(key: openpgp.Key, now: Date): Promise<void> {
  try {
    await key.verifyPrimaryKey(now);
  } catch (error) {
    throw new OpenPgpError('key-not-valid', 'the key is not valid at this time', {
      fingerprint: fingerprintHex(key),
      why: error instanceof Error ? error.message : 'unknown',
    });
  }
}

/** An armored detached signature over the exact bytes of `message` (UTF-8 for text). */
export async function signDetached(
  key: openpgp.PrivateKey,
  passphrase: SecretBytes,
  message: string | Uint8Array,
  now: Date,
): Promise<string> {
  const subkey = await signingSubkey(key, now);
  const unlocked = await unlockKey(key, passphrase);
  const binary = typeof message === 'string' ? new TextEncoder().encode(message) : message;
  // A binary (0x00) signature: verifiers check the file's bytes as they are, line endings too.
  // Signature.armor() keeps the CRC24 line for v4 signatures, which GnuPG 2.2 needs.
  // openpgp.js types this result by stream kind, which resolves to `any` without DOM typings.
  const armored: unknown = await openpgp.sign({
    message: await openpgp.createMessage({ binary }),
    signingKeys: [unlocked],
    signingKeyIDs: [subkey.getKeyID()],
    detached: true,
    date: now,
    format: 'armored',
  });
  if (typeof armored !== 'string') throw new Error('openpgp.js returned no armored signature');
  return armored;
}

/** A cleartext-signed message (`-----BEGIN PGP SIGNED MESSAGE-----`) by `key`'s signing subkey. */
export function clearsign(
  key: openpgp.PrivateKey,
  passphrase: SecretBytes,
  text: string,
  now: Date,
): Promise<string> {
  return clearsignByAll([{ key, passphrase }], text, now);
}

export interface Signer {
  key: openpgp.PrivateKey;
  passphrase: SecretBytes;
}

/** One cleartext message carrying one signature per signer, as `gpg --clearsign -u A -u B` makes. */
export async function clearsignByAll(
  signers: readonly Signer[],
  text: string,
  now: Date,
): Promise<string> {
  const subkeys: openpgp.Subkey[] = [];
  for (const signer of signers) subkeys.push(await signingSubkey(signer.key, now));
  const unlocked: openpgp.PrivateKey[] = [];
  for (const signer of signers) unlocked.push(await unlockKey(signer.key, signer.passphrase));
  // CleartextMessage.armor() writes the Hash header and the CRC24 line for v4 signatures.
  return openpgp.sign({
    message: await openpgp.createCleartextMessage({ text }),
    signingKeys: unlocked,
    signingKeyIDs: subkeys.map((subkey) => subkey.getKeyID()),
    date: now,
    format: 'armored',
  });
}

/**
 * A binary-document signature over `bytes` by `key`'s signing subkey with SHA-256, as the v4
 * packet body: what securesystemslib (and so in-toto 1.3.1) verifies, which reads SHA-256 only
 * — openpgp.js would otherwise pick the key's preferred hash (SHA-512 for Vigil's keys).
 */
export async function signBinaryWithSha256(
  key: openpgp.PrivateKey,
  passphrase: SecretBytes,
  bytes: Uint8Array,
  now: Date,
): Promise<Uint8Array> {
  const subkey = await signingSubkey(key, now);
  const unlocked = await unlockKey(key, passphrase);
  const signer = unlocked.subkeys.find((s) => s.getKeyID().equals(subkey.getKeyID()));
  if (!signer) throw new Error('the unlocked key lost its signing subkey');
  const message = await openpgp.createMessage({ binary: bytes, format: 'binary' });
  const literal = message.packets.findPacket(openpgp.enums.packet.literalData);
  if (!(literal instanceof openpgp.LiteralDataPacket)) throw new Error('no literal data packet');
  const sig = new PortableSignaturePacket();
  sig.signatureType = openpgp.enums.signature.binary;
  sig.publicKeyAlgorithm = signer.keyPacket.algorithm;
  sig.hashAlgorithm = openpgp.enums.hash.sha256;
  // Deterministic: no salt notation, which securesystemslib has no use for.
  const sign = sig.sign.bind(sig) as unknown as (
    key: openpgp.SecretSubkeyPacket,
    data: openpgp.LiteralDataPacket,
    date: Date,
    detached: boolean,
    config: openpgp.Config,
  ) => Promise<void>;
  await sign(signer.keyPacket as openpgp.SecretSubkeyPacket, literal, now, true, {
    ...openpgp.config,
    nonDeterministicSignaturesViaNotation: false,
  });
  return sig.write();
}
