import type { TokenFamily } from '../device-family.ts';
import { checkNewPins, isSmartCardHsmToken } from './protocol.ts';

/** Nitrokey HSM 2 and other SmartCard-HSMs, reached through OpenSC's PKCS#11 module. */
export const smartCardHsmFamily: TokenFamily = {
  id: 'smartcard-hsm',
  displayName: 'Nitrokey HSM 2 / SmartCard-HSM',
  isRehearsal: false,
  claims: (moduleName, token) =>
    moduleName === 'opensc' && isSmartCardHsmToken(token.manufacturer, token.model),
  ceremonyLabel: 'VIGIL',
  checkNewPins,
};
