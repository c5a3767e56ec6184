// Creates rehearsal tokens: SoftHSM2 tokens in a Nitrokey HSM 2's factory state (default SO-PIN
// and user PIN), so the real ceremony's steps, PIN rules included, can be practised on them; and
// deletes them again with SoftHSM2's own tool (PKCS#11 has no call that deletes a token).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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

const run = promisify(execFile);

/**
 * Deletes the rehearsal token with this serial from Vigil's store (SOFTHSM2_CONF names it, see
 * transport.ts), keys included, then has the module read its slots again.
 */
export async function deleteRehearsalToken(module: Pkcs11Module, serial: string): Promise<void> {
  if (!/^[0-9a-f]{1,32}$/i.test(serial)) {
    throw new VigilError('device-error', `${serial} is not a SoftHSM2 serial`);
  }
  await module.exclusive(async () => {
    try {
      await run('softhsm2-util', ['--delete-token', '--serial', serial], { timeout: 30_000 });
    } catch (error) {
      const said = (error as { stderr?: string }).stderr?.trim();
      throw new VigilError(
        'device-error',
        `SoftHSM2 could not delete rehearsal token ${serial}${said ? `: ${said}` : ''}`,
      );
    } finally {
      module.reinitialise();
    }
  });
}
