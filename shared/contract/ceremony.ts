import { call, event, NoArgs, secret, z } from './schema-kit.ts';
import { CeremonyState } from '../model/ceremony.ts';
import { DeviceFamilyId, KeyCurve } from '../model/device.ts';

// Length bounds only; the PIN rules (hex SO-PIN, defaults refused) are meaning, checked in main.
const PinField = z.string().min(1).max(64);

export const ceremony = {
  state: call({ request: NoArgs, response: CeremonyState, errors: ['journal-corrupt'] }),
  selectDevice: call({
    request: z.strictObject({ family: DeviceFamilyId }),
    response: CeremonyState,
    errors: [
      'wrong-step',
      'action-interrupted',
      'no-device',
      'several-devices',
      'device-in-deadly-state',
      'module-unavailable',
    ],
  }),
  reinitialise: call({
    request: z.strictObject({
      currentSoPin: secret(PinField),
      newSoPin: secret(PinField),
      newSoPinRepeat: secret(PinField),
      newUserPin: secret(PinField),
      newUserPinRepeat: secret(PinField),
    }),
    response: CeremonyState,
    errors: [
      'wrong-step',
      'action-interrupted',
      'device-gone',
      'device-in-deadly-state',
      'final-try-refused',
      'pin-incorrect',
      'pin-locked',
      'pin-format',
      'pin-mismatch',
      'default-pin-refused',
      'device-error',
    ],
  }),
  generateKeys: call({
    request: z.strictObject({ curve: KeyCurve, userPin: secret(PinField) }),
    response: CeremonyState,
    errors: [
      'wrong-step',
      'action-interrupted',
      'device-gone',
      'curve-not-supported',
      'final-try-refused',
      'pin-incorrect',
      'pin-locked',
      'device-error',
    ],
  }),
  confirmFingerprints: call({
    request: NoArgs,
    response: CeremonyState,
    errors: ['wrong-step', 'action-interrupted'],
  }),
  finish: call({
    request: NoArgs,
    response: CeremonyState,
    errors: ['wrong-step', 'action-interrupted'],
  }),
  /** The operator has seen that a device action was cut off and decides to go on. */
  acknowledgeInterruption: call({
    request: NoArgs,
    response: CeremonyState,
    errors: ['wrong-step'],
  }),
  /** Starts over; the journal keeps everything that happened. */
  restart: call({ request: NoArgs, response: CeremonyState, errors: [] }),
  stepChanged: event({ payload: CeremonyState }),
};
