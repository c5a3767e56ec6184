// Builds v4 self-signatures (certifications, bindings, revocations) with exact key flags.
// openpgp.js's own generateKey always marks the primary certify+sign and has no
// authentication subkeys, so Vigil signs these packets itself.
import * as openpgp from 'openpgp';
import { OpenPgpError } from './errors.ts';

export type AnySecretKeyPacket = openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket;

/** What the signature covers: a User ID on the primary, a subkey bound to it, or the primary alone. */
export type SignedData =
  | { userID: openpgp.UserIDPacket; key: openpgp.AnyKeyPacket }
  | { key: openpgp.AnyKeyPacket; bind: openpgp.AnyKeyPacket }
  | { key: openpgp.AnyKeyPacket };

// At run time SignaturePacket.sign takes the data object and a full config
// (it reads config.nonDeterministicSignaturesViaNotation); the published types
// declare only a byte array and four parameters.
type RuntimeSign = (
  key: AnySecretKeyPacket,
  data: SignedData,
  date: Date,
  detached: boolean,
  config: openpgp.Config,
) => Promise<void>;

/** RFC 9580 §5.2.3.7 subpacket types a verifier may read by their type byte alone. */
const CREATION_TIME = 2;
const KEY_EXPIRATION_TIME = 9;

/**
 * A signature packet whose creation time and key expiration time are not marked critical.
 * openpgp.js 6 marks them critical, which RFC 9580 allows, but securesystemslib (and so in-toto
 * 1.3.1) reads a subpacket's type with the critical bit still set: it finds no creation time,
 * drops every subkey bound that way, and cannot verify a signature by a signing subkey.
 * GnuPG writes both without the bit; so does Vigil.
 */
export class PortableSignaturePacket extends openpgp.SignaturePacket {
  writeHashedSubPackets(): Uint8Array {
    const write = (
      openpgp.SignaturePacket.prototype as unknown as { writeHashedSubPackets: () => Uint8Array }
    ).writeHashedSubPackets;
    const bytes = write.call(this).slice();
    // v4: a two-byte length, then subpackets of length ‖ type ‖ body.
    let at = 2;
    while (at < bytes.length) {
      const first = bytes[at] ?? 0;
      const [length, header] =
        first < 192
          ? [first, 1]
          : first < 255
            ? [((first - 192) << 8) + (bytes[at + 1] ?? 0) + 192, 2]
            : [new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0), 5];
      const typeAt = at + header;
      const type = (bytes[typeAt] ?? 0) & 0x7f;
      if (type === CREATION_TIME || type === KEY_EXPIRATION_TIME) bytes[typeAt] = type;
      at = typeAt + length;
    }
    return bytes;
  }
}

export const KEY_FLAGS = {
  certify: openpgp.enums.keyFlags.certifyKeys,
  sign: openpgp.enums.keyFlags.signData,
  encrypt: openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage,
  authenticate: openpgp.enums.keyFlags.authentication,
} as const;

/** Features subpacket bit 0x01 (SEIPD v1); openpgp.js's enum for it is not in its types. */
const FEATURE_MODIFICATION_DETECTION = 0x01;

export interface SignatureFields {
  keyFlags?: number | undefined;
  /** Seconds after the signed key's creation; omitted or 0 means no expiry. */
  keyExpirationTime?: number | undefined;
  primaryUserId?: boolean | undefined;
  preferences?: boolean | undefined;
  embeddedSignature?: openpgp.SignaturePacket | undefined;
  reason?: { flag: openpgp.enums.reasonForRevocation; text: string } | undefined;
}

export async function makeSignature(
  signer: AnySecretKeyPacket,
  signatureType: openpgp.enums.signature,
  data: SignedData,
  date: Date,
  fields: SignatureFields,
): Promise<openpgp.SignaturePacket> {
  if (!signer.isDecrypted()) throw new OpenPgpError('key-stub', 'the signing key must be unlocked');
  const sig = new PortableSignaturePacket();
  sig.signatureType = signatureType;
  sig.publicKeyAlgorithm = signer.algorithm;
  sig.hashAlgorithm = openpgp.enums.hash.sha512;
  if (fields.keyFlags !== undefined) sig.keyFlags = new Uint8Array([fields.keyFlags]);
  if (fields.keyExpirationTime !== undefined && fields.keyExpirationTime > 0) {
    sig.keyExpirationTime = fields.keyExpirationTime;
    sig.keyNeverExpires = false;
  }
  if (fields.primaryUserId === true) sig.isPrimaryUserID = true;
  if (fields.preferences === true) {
    const { symmetric, hash, compression } = openpgp.enums;
    sig.preferredSymmetricAlgorithms = [symmetric.aes256, symmetric.aes128];
    sig.preferredHashAlgorithms = [hash.sha512, hash.sha256];
    sig.preferredCompressionAlgorithms = [compression.uncompressed, compression.zlib];
    sig.features = new Uint8Array([FEATURE_MODIFICATION_DETECTION]);
  }
  if (fields.embeddedSignature !== undefined) sig.embeddedSignature = fields.embeddedSignature;
  if (fields.reason !== undefined) {
    sig.reasonForRevocationFlag = fields.reason.flag;
    sig.reasonForRevocationString = fields.reason.text;
  }
  const sign = sig.sign.bind(sig) as unknown as RuntimeSign;
  await sign(signer, data, date, false, { ...openpgp.config });
  return sig;
}

/** Subkey binding signature; signing-capable subkeys also get the primary-key binding back-signature. */
export async function bindingSignature(
  primary: openpgp.SecretKeyPacket,
  subkey: openpgp.SecretSubkeyPacket | openpgp.PublicSubkeyPacket,
  keyFlags: number,
  expiresAt: Date | null,
  date: Date,
): Promise<openpgp.SignaturePacket> {
  const data = { key: primary, bind: subkey };
  let embeddedSignature: openpgp.SignaturePacket | undefined;
  if ((keyFlags & KEY_FLAGS.sign) !== 0) {
    // Only a signing subkey signs anything here: the 0x19 back-signature proves it agrees.
    if (!(subkey instanceof openpgp.SecretSubkeyPacket) || subkey.isDummy()) {
      throw new OpenPgpError(
        'key-stub',
        'a signing subkey needs its secret for the back-signature',
      );
    }
    embeddedSignature = await makeSignature(
      subkey,
      openpgp.enums.signature.keyBinding,
      data,
      date,
      {},
    );
  }
  return makeSignature(primary, openpgp.enums.signature.subkeyBinding, data, date, {
    keyFlags,
    keyExpirationTime: secondsAfterCreation(subkey, expiresAt),
    embeddedSignature,
  });
}

export function secondsAfterCreation(
  packet: { created: Date },
  expiresAt: Date | null,
): number | undefined {
  if (expiresAt === null) return undefined;
  const seconds = Math.floor((expiresAt.getTime() - packet.created.getTime()) / 1000);
  if (seconds <= 0) {
    throw new OpenPgpError('expiry-invalid', 'an expiry must be after the key creation time');
  }
  return seconds;
}

export function latest(signatures: openpgp.SignaturePacket[]): openpgp.SignaturePacket | undefined {
  return signatures.reduce<openpgp.SignaturePacket | undefined>(
    (best, sig) =>
      best === undefined || (sig.created?.getTime() ?? 0) >= (best.created?.getTime() ?? 0)
        ? sig
        : best,
    undefined,
  );
}
