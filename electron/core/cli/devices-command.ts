// `vigil devices`: the device registry over the data folder's rehearsal store, not a whole
// VigilCore: a listing must not start a ceremony in the journal, nor open (and on a torn tail,
// truncate) a journal that a running Vigil window is appending to.
import { DeviceList } from '../../../shared/model/device.ts';
import { DeviceRegistry } from '../../devices/registry.ts';
import { useRehearsalStore } from '../../devices/softhsm/transport.ts';
import { PcscContext } from '../../devices/smartcard/transport.ts';
import { findYubiKeys } from '../../devices/yubikey-piv/index.ts';
import { RehearsalYubiKeyRack } from '../../devices/yubikey-piv/rehearsal-rack.ts';
import { defaultDataDir } from '../data-dir.ts';
import { formatTable } from '../../formats/text-table.ts';

export function formatDevices(list: DeviceList): string {
  const modules = formatTable([
    ['MODULE', 'STATE', 'PATH'],
    ...list.modules.map((m) => [
      m.name,
      m.isLoaded ? 'loaded' : `not loaded${m.problem ? `: ${m.problem}` : ''}`,
      m.path,
    ]),
  ]);
  if (list.devices.length === 0) return `${modules}\n\nno token attached`;
  const devices = formatTable([
    ['KIND', 'FAMILY', 'SERIAL', 'LABEL', 'MODEL', 'USER PIN', 'SO-PIN', 'STATE'],
    ...list.devices.map((d) => [
      d.isRehearsal ? 'REHEARSAL' : 'device',
      d.familyName,
      d.serial,
      d.label,
      `${d.manufacturer} ${d.model}`,
      d.userPin,
      d.soPin,
      d.isDeadly ? `REFUSED: ${d.deadlyReason ?? ''}` : 'usable',
    ]),
  ]);
  return `${modules}\n\n${devices}`;
}

export async function listDevices(): Promise<DeviceList> {
  useRehearsalStore(defaultDataDir());
  const registry = DeviceRegistry.open();
  // YubiKeys in PC/SC readers too (rehearsal YubiKeys live inside a running Vigil, not here).
  const yubikeys = { pcsc: () => PcscContext.open(), rehearsal: new RehearsalYubiKeyRack(null) };
  registry.addSource(async () => (await findYubiKeys(yubikeys)).map((f) => f.summary));
  try {
    // The same shape the dispatcher would let out for devices.list.
    return DeviceList.parse(await registry.list());
  } finally {
    registry.close();
  }
}
