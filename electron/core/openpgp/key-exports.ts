// The three ways a key leaves the ceremony (minimal public key, subkeys-only secret, full
// backup) and the way a backup comes back in.
import * as openpgp from 'openpgp';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { OpenPgpError } from './errors.ts';
import { fingerprintHex, secretPrimary } from './key-material.ts';
import { lockPacket, unlockKey } from './passphrase.ts';
import { latest } from './self-signature.ts';

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
  passphrase: SecretBytes,
): Promise<string> {
  const unlocked = await unlockKey(key, passphrase);
  secretPrimary(unlocked).makeDummy();
  for (const subkey of unlocked.subkeys) {
    const packet = subkey.keyPacket;
    if (!(packet instanceof openpgp.SecretSubkeyPacket)) {
      throw new OpenPgpError('key-stub', 'a subkey has no secret', {
        fingerprint: fingerprintHex(subkey),
      });
    }
    if (packet.isDecrypted()) await lockPacket(packet, passphrase);
  }
  return unlocked.armor();
}

/** The full secret key, armored; refuses a key with any unprotected or stubbed secret. */
export function encryptedBackup(key: openpgp.PrivateKey): string {
  refuseIncompleteBackup(key);
  return key.armor();
}

/**
 * Reads an armored full backup back in: exactly one key, every secret present and
 * passphrase-protected. A public key, a subkeys-only export (`sec#`) or an unencrypted key
 * is not a backup and is refused.
 */
export async function readKeyBackup(armored: string): Promise<openpgp.PrivateKey> {
  let keys: openpgp.Key[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: armored });
  } catch {
    throw new OpenPgpError('key-unreadable', 'not an armored OpenPGP key');
  }
  const [key, ...others] = keys;
  if (key === undefined || others.length > 0) {
    throw new OpenPgpError('key-count-not-one', 'a backup holds exactly one key', {
      count: keys.length,
    });
  }
  if (!key.isPrivate()) {
    throw new OpenPgpError('key-public-only', 'this is a public key, not a backup', {
      fingerprint: fingerprintHex(key),
    });
  }
  refuseIncompleteBackup(key);
  return key;
}

function refuseIncompleteBackup(key: openpgp.PrivateKey): void {
  for (const part of key.getKeys()) {
    const packet = part.keyPacket;
    const context = { fingerprint: fingerprintHex(part) };
    if (!(
      packet instanceof openpgp.SecretKeyPacket || packet instanceof openpgp.SecretSubkeyPacket
    )) {
      throw new OpenPgpError('key-stub', 'a backup needs every secret key', context);
    }
    if (packet.isDummy() || packet.isMissingSecretKeyMaterial()) {
      throw new OpenPgpError('key-stub', 'a backup needs every secret key, not a stub', context);
    }
    if (packet.isDecrypted()) {
      throw new OpenPgpError(
        'key-unprotected',
        'a backup needs a passphrase-protected key',
        context,
      );
    }
  }
}
