// A maintainer's OpenPGP signature over a layout (issue 21): the key's signing subkey — in memory,
// or on an OpenPGP card — signs the canonical bytes with SHA-256, in securesystemslib's GnuPG
// form; refused before the key is unlocked when in-toto 1.3.1 could not check it (a NIST-curve
// key, or an Ed25519 key whose short packets securesystemslib misreads).
import * as openpgp from 'openpgp';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import {
  InTotoLayoutError,
  gpgSignatureFromPacket,
  refuseOpenPgpAlgorithm,
  refuseShortOpenPgpKeys,
  type GpgSignature,
} from '../../formats/in-toto-layout.ts';
import {
  PublicKeyAlgorithm,
  SignatureType,
  digestOf,
  documentHashInput,
  pkcs1DigestInfo,
  signatureHashedPart,
  signatureMpis,
  signaturePacket,
  subpacket,
  type OpenPgpKeyMaterial,
} from '../../formats/openpgp-packet-builder.ts';
import { readPackets } from '../../formats/openpgp-packets.ts';
import { signBinaryWithSha256, signingSubkey } from '../openpgp/message-signing.ts';
import { gpgStepKey } from './openpgp-step-key.ts';

export async function openPgpLayoutSignature(
  key: openpgp.PrivateKey,
  passphrase: SecretBytes,
  bytes: Uint8Array,
  now: Date,
): Promise<GpgSignature> {
  const subkey = await signingSubkey(key, now);
  refuseOpenPgpAlgorithm(subkey.keyPacket.algorithm);
  const publicKey = key.toPublic();
  const publicSubkey = publicKey.subkeys.find((s) => s.getKeyID().equals(subkey.getKeyID()));
  refuseShortOpenPgpKeys(
    publicKey.keyPacket.write().length,
    publicSubkey?.keyPacket.write().length ?? 0,
  );
  return gpgSignatureFromPacket(await signBinaryWithSha256(key, passphrase, bytes, now));
}

/** What an OpenPGP card's signing key signed, and whose key it is. */
export interface CardLayoutSignature {
  signature: GpgSignature;
  /** The primary key's fingerprint, lower-case hex. */
  fingerprint: string;
  userId: string | null;
}

/**
 * A layout signature by the signing key on an OpenPGP card (a YubiKey): the maintainer's public
 * key names the card's key as its primary or a validly bound signing subkey; keys in-toto 1.3.1
 * cannot check are refused before `sign` — which verifies the PIN and asks the card — is called.
 * The card gets a PKCS#1 DigestInfo (RSA) or the digest (EdDSA) of the v4 signature's SHA-256.
 */
export async function cardLayoutSignature(request: {
  armored: string;
  name: string;
  cardFingerprint: string;
  message: Uint8Array;
  now: Date;
  sign: (input: Uint8Array) => Promise<Uint8Array>;
}): Promise<CardLayoutSignature> {
  const wanted = request.cardFingerprint.toLowerCase();
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: request.armored });
  } catch {
    throw new InTotoLayoutError(`${request.name} is not an armored OpenPGP public key`);
  }
  // The bindings verified as for a step key: a subkey grafted onto the key is not the card's.
  const stepKey = await gpgStepKey(request.armored, request.name, request.now);
  const known = [stepKey.keyid, ...Object.keys(stepKey.subkeys ?? {})];
  const cardKey = [key, ...key.subkeys].find((k) => k.getFingerprint() === wanted);
  if (!cardKey || !known.includes(wanted))
    throw new InTotoLayoutError(
      `the card's signing key ${wanted.toUpperCase()} is not a valid key of ${request.name}: is it this maintainer's YubiKey and key?`,
    );
  const algorithm = cardKey.keyPacket.algorithm;
  refuseOpenPgpAlgorithm(algorithm);
  refuseShortOpenPgpKeys(key.keyPacket.write().length, cardKey.keyPacket.write().length);
  const material: OpenPgpKeyMaterial['algorithm'] =
    algorithm === openpgp.enums.publicKey.eddsaLegacy ? 'eddsa-legacy' : 'rsa';
  const hashedPart = signatureHashedPart({
    type: SignatureType.binaryDocument,
    publicKeyAlgorithm:
      material === 'rsa' ? PublicKeyAlgorithm.rsa : PublicKeyAlgorithm.eddsaLegacy,
    hash: 'sha256',
    hashedSubpackets: [subpacket.creationTime(request.now), subpacket.issuerFingerprint(wanted)],
  });
  const digest = digestOf('sha256', documentHashInput(request.message, hashedPart));
  const raw = await request.sign(material === 'rsa' ? pkcs1DigestInfo('sha256', digest) : digest);
  const packet = signaturePacket(
    hashedPart,
    [subpacket.issuerKeyId(wanted)],
    digest,
    signatureMpis(material, raw),
  );
  const body = readPackets(packet)[0]?.body ?? new Uint8Array();
  return {
    signature: gpgSignatureFromPacket(body),
    fingerprint: key.getFingerprint(),
    userId: key.getUserIDs()[0] ?? null,
  };
}
