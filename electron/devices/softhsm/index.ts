import type { TokenFamily } from '../device-family.ts';
import { checkNewPins } from '../smartcard-hsm/protocol.ts';

/**
 * SoftHSM2 tokens are rehearsal devices: they stand in for a Nitrokey HSM 2 (same PIN rules,
 * same factory PINs) so keyholders can practise. Everything they yield is marked rehearsal.
 */
export const softHsmRehearsalFamily: TokenFamily = {
  id: 'softhsm-rehearsal',
  displayName: 'Rehearsal token (SoftHSM2)',
  isRehearsal: true,
  claims: (moduleName) => moduleName === 'softhsm2',
  ceremonyLabel: 'VIGIL REHEARSAL',
  checkNewPins,
};
