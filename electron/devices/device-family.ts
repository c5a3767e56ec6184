// What every device family provides. PKCS#11 token families (SmartCard-HSM, SoftHSM2 rehearsal)
// share the pkcs11/ session layer; later families (YubiHSM 2, PIV, NetHSM) plug in beside them.
import type { DeviceFamilyId } from '../../shared/model/device.ts';
import type { ModuleName } from './pkcs11/module-catalog.ts';
import type { NewPins } from './smartcard-hsm/protocol.ts';
import type { TokenInfo } from './pkcs11/transport.ts';

export interface TokenFamily {
  readonly id: DeviceFamilyId;
  readonly displayName: string;
  /** Rehearsal is a property of the device family, never a UI flag. */
  readonly isRehearsal: boolean;
  /** Does this family own a token seen through this module? */
  claims(moduleName: ModuleName, token: TokenInfo): boolean;
  /** The label written at re-initialisation. */
  readonly ceremonyLabel: string;
  /** Checks new PINs against the family's rules before the device is touched. */
  checkNewPins(pins: NewPins): void;
}
