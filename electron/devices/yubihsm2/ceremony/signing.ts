// Signing with a key the ceremony generated on a YubiHSM 2 — the ceremony record's designated key,
// and TUF metadata — in a session under the keyholder's authentication key (which has the sign
// capabilities: provisioning.ts). The device that holds the key is found by its serial; ECDSA
// signs the SHA-256 or SHA-384 digest and the device answers DER, Ed25519 signs the message.
import { ecdsaDigest } from '../../../formats/ec-point.ts';
import { VigilError } from '../../../base/errors.ts';
import { maxEddsaMessage } from '../protocol.ts';
import { deviceHoldingKey } from '../../../base/device-presence.ts';
import type { CeremonyFamily } from '../../../core/runbook/ceremony-family.ts';
import { checkCredentials } from '../../../core/runbook/credentials.ts';
import type { CredentialRequest } from '../../../../shared/model/runbook.ts';
import { findYubiHsms, type YubiHsmSources } from '../index.ts';
import { YUBIHSM_CEREMONY_FAMILY, mapped, passwordKeys } from './actions.ts';
import { CEREMONY_AUTH_KEY_ID, roleObject } from './provisioning.ts';

const signingCredentials: readonly CredentialRequest[] = [
  { id: 'authPassword', label: 'YubiHSM password', repeat: false },
];

export const yubiHsmSigning: NonNullable<CeremonyFamily['recordSigning']> = {
  keyActions: ['yubihsm2.generateKey'],
  credentials: signingCredentials,
  async sign(key, credentials, sources, message) {
    checkCredentials(YUBIHSM_CEREMONY_FAMILY, signingCredentials, credentials);
    const found = deviceHoldingKey(await findYubiHsms(sources as YubiHsmSources), key, 'YubiHSM 2');
    const authKeys = passwordKeys(credentials, 'authPassword');
    const objectId = key.attestation?.objectId ?? roleObject[key.role].id;
    return mapped(async () => {
      const driver = await found.open();
      const limit = maxEddsaMessage(await driver.deviceInfo());
      if (key.curve === 'Ed25519' && message.length > limit) {
        throw new VigilError(
          'curve-not-supported',
          `This YubiHSM 2 signs at most ${limit} bytes with Ed25519 (EdDSA signs the whole message, not a digest) and the message is ${message.length} bytes. Sign it with a P-256 or P-384 key, as the PSF YubiHSMs do.`,
        );
      }
      return driver.withSession(CEREMONY_AUTH_KEY_ID, authKeys, (session) => {
        if (key.curve === 'Ed25519') return session.signEddsa(objectId, message);
        return session.signEcdsa(objectId, ecdsaDigest(key.curve, message));
      });
    });
  },
};
