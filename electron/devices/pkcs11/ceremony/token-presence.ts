// "Exactly one device present" and "still the same device": the checks every PKCS#11 ceremony
// step makes before it touches a token (PSF runbook).
import type { DeviceFamilyId } from '../../../../shared/model/device.ts';
import type { DeviceRegistry, LocatedToken } from '../../registry.ts';
import { VigilError } from '../../../base/errors.ts';
import { onlyDevice } from '../../../base/device-presence.ts';
import { sameSerial } from '../../../base/serial.ts';

/** Exactly one token of the family present, and not in a deadly state. */
export async function exactlyOneToken(
  registry: DeviceRegistry,
  family: DeviceFamilyId,
): Promise<LocatedToken> {
  const { located } = await registry.scan();
  const presence = onlyDevice(located.filter((l) => l.summary.family === family));
  if (presence.kind === 'none') {
    throw new VigilError('no-device', 'No matching device is present. Connect exactly one.');
  }
  if (presence.kind === 'several') {
    throw new VigilError(
      'several-devices',
      `${presence.count} matching devices are present. Remove all but the one for this ceremony.`,
    );
  }
  const only = presence.device;
  if (only.summary.isDeadly) {
    throw new VigilError(
      'device-in-deadly-state',
      `Refusing this device: ${only.summary.deadlyReason ?? ''}.`,
    );
  }
  return only;
}

/** The token chosen earlier in the ceremony, still the only one present. */
export async function sameToken(
  registry: DeviceRegistry,
  family: DeviceFamilyId,
  serial: string,
): Promise<LocatedToken> {
  let located: LocatedToken;
  try {
    located = await exactlyOneToken(registry, family);
  } catch (error) {
    if (error instanceof VigilError && error.code === 'no-device') {
      throw new VigilError('device-gone', 'The selected device is no longer present.');
    }
    throw error;
  }
  if (!sameSerial(located.summary.serial, serial)) {
    throw new VigilError('device-gone', 'A different device is attached than the one selected.');
  }
  return located;
}
