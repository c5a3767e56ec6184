// Signing with the keyholder's slot key (9c) — the ceremony record's designated key, and TUF
// metadata: the YubiKey that holds it is found by serial, the PIN is verified (tries left read
// first, a PIN in its final try refused: driver.ts), and the card signs the SHA-256/384 digest
// (ECDSA, answered DER) or the message (Ed25519). A slot whose touch policy asks for a touch is
// said so before the keyholder types (touchWords), since the card waits for it while signing.
import { ecdsaDigest } from '../../../formats/ec-point.ts';
import { deviceHoldingKey } from '../../../base/device-presence.ts';
import type { CeremonyFamily } from '../../../core/runbook/ceremony-family.ts';
import { checkCredentials, needCredential } from '../../../core/runbook/credentials.ts';
import type { CredentialRequest } from '../../../../shared/model/runbook.ts';
import { findYubiKeys, withYubiKey, type YubiKeySources } from '../index.ts';
import { PIV_CEREMONY_FAMILY, algorithmOfCurve } from './actions.ts';
import { KEYHOLDER_SLOT } from './keyholder.ts';

const signingCredentials: readonly CredentialRequest[] = [
  { id: 'userPin', label: 'PIN', repeat: false },
];

export const pivSigning: NonNullable<CeremonyFamily['recordSigning']> = {
  keyActions: ['yubikeyPiv.generateKey'],
  credentials: signingCredentials,
  async sign(key, credentials, sources, message) {
    checkCredentials(PIV_CEREMONY_FAMILY, signingCredentials, credentials);
    const pin = needCredential(credentials, 'userPin', 'PIN');
    const found = deviceHoldingKey(await findYubiKeys(sources as YubiKeySources), key, 'YubiKey');
    const algorithm = algorithmOfCurve[key.curve];
    const slot = key.attestation?.objectId ?? KEYHOLDER_SLOT;
    return withYubiKey(found, async (session) => {
      await session.verifyPin(pin);
      if (key.curve === 'Ed25519') return session.sign(slot, algorithm, message);
      return session.sign(slot, algorithm, ecdsaDigest(key.curve, message));
    });
  },
};
