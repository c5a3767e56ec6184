// Where a passphrase meets openpgp.js. The ceremony holds passphrases as SecretBytes; openpgp.js
// wants a JS string, which cannot be wiped, so the string is made here only, at the call.
import * as openpgp from 'openpgp';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { OpenPgpError } from './errors.ts';

/** The caller keeps ownership of `passphrase` and wipes it; nothing here stores it. */
export function refuseEmptyPassphrase(passphrase: SecretBytes): void {
  if (passphrase.length === 0)
    throw new OpenPgpError('passphrase-empty', 'a passphrase is required');
}

// The only SecretBytes → string conversion in the OpenPGP code; keep it the only one.
function passphraseText(passphrase: SecretBytes): string {
  refuseEmptyPassphrase(passphrase);
  return passphrase.use((bytes) => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new OpenPgpError('passphrase-not-utf8', 'the passphrase is not valid UTF-8 text');
    }
  });
}

/** A decrypted copy of `key`; the input stays encrypted. */
export async function unlockKey(
  key: openpgp.PrivateKey,
  passphrase: SecretBytes | undefined,
): Promise<openpgp.PrivateKey> {
  if (key.isDecrypted()) return openpgp.readPrivateKey({ binaryKey: key.write() });
  if (passphrase === undefined) {
    throw new OpenPgpError('passphrase-required', 'the key is passphrase-protected', {
      fingerprint: key.getFingerprint().toUpperCase(),
    });
  }
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase: passphraseText(passphrase) });
  } catch (error) {
    if (error instanceof OpenPgpError) throw error;
    throw new OpenPgpError('passphrase-wrong', 'the passphrase does not unlock this key', {
      fingerprint: key.getFingerprint().toUpperCase(),
    });
  }
}

/** Encrypts every secret (sub)key of an unlocked key under `passphrase`. */
export function lockKey(
  key: openpgp.PrivateKey,
  passphrase: SecretBytes,
): Promise<openpgp.PrivateKey> {
  return openpgp.encryptKey({ privateKey: key, passphrase: passphraseText(passphrase) });
}

/** Encrypts one decrypted secret packet in place (the subkeys-only export). */
export async function lockPacket(
  packet: openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket,
  passphrase: SecretBytes,
): Promise<void> {
  await packet.encrypt(passphraseText(passphrase));
}
