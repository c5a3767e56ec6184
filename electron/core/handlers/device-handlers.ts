import type { Handlers } from '../dispatcher.ts';
import { VigilError } from '../../base/errors.ts';
import type { VigilCore } from '../vigil-core.ts';
import { createRehearsalToken } from '../../devices/softhsm/rehearsal.ts';
import { serialText } from '../../devices/yubihsm2/protocol.ts';

export function deviceHandlers(
  core: VigilCore,
): Pick<
  Handlers,
  | 'devices.list'
  | 'devices.createRehearsalToken'
  | 'devices.connectRehearsalYubiHsm'
  | 'devices.connectRehearsalYubiKey'
  | 'devices.connectRehearsalNetHsm'
  | 'devices.removeRehearsal'
  | 'devices.putAwayRehearsal'
  | 'devices.takeOutRehearsal'
> {
  return {
    'devices.list': () => core.listDevices(),
    'devices.createRehearsalToken': async ({ label }) => {
      const module = core.registry.moduleNamed('softhsm2');
      if (!module)
        throw new VigilError(
          'module-unavailable',
          'SoftHSM2 is not installed (apt-get install softhsm2)',
        );
      const created = await createRehearsalToken(module, label);
      core.journal.append('device.rehearsalTokenCreated', { serial: created.serial, label });
      void core.refreshDevices();
      return created;
    },
    'devices.connectRehearsalYubiHsm': async () => {
      const device = await core.rehearsalYubiHsms.plugIn();
      const serial = serialText(device.serial);
      core.journal.append('device.rehearsalYubiHsmConnected', { serial });
      void core.refreshDevices();
      return { serial };
    },
    'devices.connectRehearsalNetHsm': async () => {
      const device = await core.rehearsalNetHsms.plugIn();
      const address = `${device.host}:${device.port}`;
      core.journal.append('device.rehearsalNetHsmConnected', { serial: device.serial, address });
      void core.refreshDevices();
      return { serial: device.serial, address };
    },
    'devices.removeRehearsal': ({ deviceId }) => core.removeRehearsalDevice(deviceId),
    'devices.putAwayRehearsal': ({ deviceId }) => core.putAwayRehearsalDevice(deviceId),
    'devices.takeOutRehearsal': async (device) => {
      await core.takeOutRehearsalDevice(device);
      return { family: device.family, serial: device.serial };
    },
    'devices.connectRehearsalYubiKey': async () => {
      const card = await core.rehearsalYubiKeys.plugIn();
      const serial = String(card.serial);
      core.journal.append('device.rehearsalYubiKeyConnected', { serial });
      void core.refreshDevices();
      return { serial };
    },
  };
}
