// The three ways a key leaves the ceremony: minimal public key, subkeys-only secret, full backup.
import * as openpgp from 'openpgp';
import { latest } from './self-signature.ts';
import { secretPrimary } from './key-lifecycle.ts';

/**
 * Armored public key with only the latest self-certification per User ID, the latest
 * binding per subkey and any revocations; third-party certifications are dropped.
 */
export function minimalPublicKey(key: openpgp.Key): string {
  const pub = key.toPublic();
  for (const user of pub.users) {
    const self = latest(user.selfCertifications);
    user.selfCertifications = self === undefined ? [] : [self];
    user.otherCertifications = [];
  }
  for (const subkey of pub.subkeys) {
    const binding = latest(subkey.bindingSignatures);
    subkey.bindingSignatures = binding === undefined ? [] : [binding];
  }
  return pub.armor();
}

/**
 * Armored secret key whose primary is a GNU dummy stub (gpg shows `sec#`): the subkeys
 * only, protected by `passphrase`, which must also unlock them today.
 */
export async function secretSubkeysOnly(
  key: openpgp.PrivateKey,
  passphrase: string,
): Promise<string> {
  const unlocked = key.isDecrypted()
    ? await openpgp.readPrivateKey({ binaryKey: key.write() })
    : await openpgp.decryptKey({ privateKey: key, passphrase });
  secretPrimary(unlocked).makeDummy();
  for (const subkey of unlocked.subkeys) {
    const packet = subkey.keyPacket;
    if (!(packet instanceof openpgp.SecretSubkeyPacket)) throw new Error('subkey has no secret');
    if (packet.isDecrypted()) await packet.encrypt(passphrase);
  }
  return unlocked.armor();
}

/** The full secret key, armored; refuses a key with any unprotected or stubbed secret. */
export function encryptedBackup(key: openpgp.PrivateKey): string {
  for (const part of key.getKeys()) {
    const packet = part.keyPacket;
    if (!(
      packet instanceof openpgp.SecretKeyPacket || packet instanceof openpgp.SecretSubkeyPacket
    )) {
      throw new Error('backup needs every secret key');
    }
    if (packet.isDummy()) throw new Error('backup needs every secret key, not a stub');
    if (packet.isDecrypted()) throw new Error('backup needs a passphrase-protected key');
  }
  return key.armor();
}
