// Yearly-cycle key rotation after the OpenStack release-key procedure: the old cycle key
// certifies the new one, and a statement signed by both announces the change.
import type * as openpgp from 'openpgp';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { certificationSignature, type CertificationLevel } from './certification.ts';
import { OpenPgpError } from './errors.ts';
import { createPrimaryKey, type CreatePrimaryKeyOptions } from './key-lifecycle.ts';
import { secretPrimary } from './key-material.ts';
import { clearsignByAll, refuseInvalidKey } from './message-signing.ts';
import { unlockKey } from './passphrase.ts';

export interface CycleKeyOptions extends CreatePrimaryKeyOptions {
  /** Unlocks the old cycle key, which certifies the new one. */
  oldPassphrase: SecretBytes;
  /** Default 0x10, what `gpg --sign-key` writes in the OpenStack procedure. */
  certificationLevel?: CertificationLevel;
}

/**
 * The next cycle's primary key (as createPrimaryKey makes it) whose User ID carries a
 * third-party certification by the old cycle key's primary.
 */
export async function createCycleKey(
  oldKey: openpgp.PrivateKey,
  options: CycleKeyOptions,
): Promise<openpgp.PrivateKey> {
  // Check the old key first: no new key is made if the old one cannot vouch for it.
  await refuseInvalidKey(oldKey, options.now);
  const oldUnlocked = await unlockKey(oldKey, options.oldPassphrase);
  const certifier = secretPrimary(oldUnlocked);
  const newKey = await createPrimaryKey(options);
  const user = newKey.users[0];
  if (user?.userID == null) throw new OpenPgpError('user-id-not-found', 'new key has no User ID');
  user.otherCertifications.push(
    await certificationSignature(
      certifier,
      user.userID,
      newKey.keyPacket,
      options.certificationLevel ?? 0x10,
      options.now,
    ),
  );
  return newKey;
}

export interface TransitionStatementOptions {
  text: string;
  oldPassphrase: SecretBytes;
  newPassphrase: SecretBytes;
  now: Date;
}

/** The clearsigned announcement, one signature by each cycle key's signing subkey. */
export function transitionStatement(
  oldKey: openpgp.PrivateKey,
  newKey: openpgp.PrivateKey,
  options: TransitionStatementOptions,
): Promise<string> {
  return clearsignByAll(
    [
      { key: oldKey, passphrase: options.oldPassphrase },
      { key: newKey, passphrase: options.newPassphrase },
    ],
    options.text,
    options.now,
  );
}
