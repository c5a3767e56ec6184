// The device families plugged into the ceremony engine: one line each (see README, "Adding a
// device family"). The engine itself names none of them.
import type { CeremonyFamily } from './core/runbook/ceremony-family.ts';
import type { DeviceEnvironment } from './devices/device-environment.ts';
import { openPgpCeremonyFamily } from './core/openpgp/ceremony/index.ts';
import { tufCeremonyFamily } from './core/tuf/ceremony/index.ts';
import { inTotoCeremonyFamily } from './core/in-toto/ceremony/index.ts';
import { netHsmCeremonyFamily } from './devices/nethsm/ceremony/index.ts';
import { pkcs11CeremonyFamily } from './devices/pkcs11/ceremony/index.ts';
import { yubiHsmCeremonyFamily } from './devices/yubihsm2/ceremony/index.ts';
import { yubiKeyOpenPgpCeremonyFamily } from './devices/yubikey-openpgp/ceremony/index.ts';
import { yubiKeyPivCeremonyFamily } from './devices/yubikey-piv/ceremony/index.ts';

// The order is the products' precedence: the first family that built products for a ceremony
// names them.
export const ceremonyFamilies: readonly CeremonyFamily[] = [
  netHsmCeremonyFamily,
  openPgpCeremonyFamily,
  yubiKeyOpenPgpCeremonyFamily,
  yubiKeyPivCeremonyFamily,
  yubiHsmCeremonyFamily,
  pkcs11CeremonyFamily,
  tufCeremonyFamily,
  inTotoCeremonyFamily,
];

/** The family whose action this is (`<family>.<operation>`), if it is plugged in. */
export function familyOfAction(action: string): CeremonyFamily | null {
  const dot = action.indexOf('.');
  if (dot < 0) return null;
  const prefix = action.slice(0, dot);
  return ceremonyFamilies.find((family) => family.id === prefix) ?? null;
}

/** The family whose keys are on a device of this device family. */
export function familyOfDevice(deviceFamily: string): CeremonyFamily | null {
  return ceremonyFamilies.find((family) => family.deviceFamilies?.includes(deviceFamily)) ?? null;
}

/** The family that journals results of this kind, if it is plugged in. */
export function familyOfResult(kind: string): CeremonyFamily | null {
  return ceremonyFamilies.find((family) => family.resultKinds.includes(kind)) ?? null;
}

/** Every family's sources, opened once for one core, by family id. */
export function openFamilySources(env: DeviceEnvironment): Record<string, unknown> {
  return Object.fromEntries(ceremonyFamilies.map((family) => [family.id, family.openSources(env)]));
}
