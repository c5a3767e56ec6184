// A maintainer's OpenPGP signature over a layout (issue 21): the key's signing subkey signs the
// canonical bytes with SHA-256, in securesystemslib's GnuPG form — refused before the key is
// unlocked when in-toto 1.3.1 could not check it (a NIST-curve key, or an Ed25519 key whose short
// packets securesystemslib misreads).
import type * as openpgp from 'openpgp';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import {
  gpgSignatureFromPacket,
  refuseOpenPgpAlgorithm,
  refuseShortOpenPgpKeys,
  type GpgSignature,
} from '../../formats/in-toto-layout.ts';
import { signBinaryWithSha256, signingSubkey } from '../openpgp/message-signing.ts';

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
