// Creates rehearsal tokens: SoftHSM2 tokens in a Nitrokey HSM 2's factory state (default SO-PIN
// and user PIN), so the real ceremony's steps, PIN rules included, can be practised on them.
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../base/errors.ts';
import { CKF, CKU, padTokenLabel } from '../pkcs11/protocol.ts';
import { Pkcs11CallError, type Pkcs11Module } from '../pkcs11/transport.ts';
import { FACTORY_SO_PIN, FACTORY_USER_PIN } from '../smartcard-hsm/protocol.ts';

export async function createRehearsalToken(
  module: Pkcs11Module,
  label: string,
): Promise<{ serial: string }> {
  return module.exclusive(async () => {
    module.reinitialise();
    const blank = module
      .slots(true)
      .find((slot) => !(module.tokenInfo(slot).flags & CKF.TOKEN_INITIALIZED));
    if (!blank) throw new VigilError('device-error', 'SoftHSM2 offers no blank slot');
    // Factory defaults are public constants, not secrets typed by anyone.
    const soPin = SecretBytes.fromText(FACTORY_SO_PIN);
    const userPin = SecretBytes.fromText(FACTORY_USER_PIN);
    try {
      module.initToken(blank, soPin, padTokenLabel(label));
      const serial = module.tokenInfo(blank).serial;
      await module.withSession(blank, true, (session) => {
        module.login(session, CKU.SO, soPin);
        module.initPin(session, userPin);
        module.logout(session);
      });
      return { serial };
    } catch (error) {
      if (error instanceof Pkcs11CallError) throw new VigilError('device-error', error.message);
      throw error;
    } finally {
      soPin.wipe();
      userPin.wipe();
    }
  });
}
