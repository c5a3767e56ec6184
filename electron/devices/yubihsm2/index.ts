// The YubiHSM 2 family: where YubiHSMs are found (USB, a yubihsm-connector the user configured,
// rehearsal devices plugged into this app) and how each appears in the device list. A YubiHSM is
// always found again by serial, never by position.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { DeviceFamilyId, DeviceSummary, KeyCurve } from '../../../shared/model/device.ts';
import type { DeviceEnvironment, RehearsalBench } from '../device-environment.ts';
import { RehearsalRack, type RackFamily } from '../rehearsal-rack.ts';
import { YubiHsmDriver } from './driver.ts';
import { Algorithm, firmwareText, serialText, type DeviceInfo } from './protocol.ts';
import { RehearsalConnector } from './rehearsal-server.ts';
import { RehearsalYubiHsm, type RehearsalYubiHsmOptions } from './rehearsal.ts';
import {
  ConnectorTransport,
  UsbTransport,
  YubiHsmTransportError,
  listUsbYubiHsms,
  type YubiHsmTransport,
} from './transport.ts';

export const YUBIHSM_FAMILY: DeviceFamilyId = 'yubihsm2';
export const YUBIHSM_REHEARSAL_FAMILY: DeviceFamilyId = 'yubihsm2-rehearsal';

/**
 * The curves a ceremony can generate and attest on this device. Ed25519 only from firmware 2.4.0:
 * attested Ed25519 keys are known from that firmware on (dark.bio's ceremony); older devices are
 * not offered a key whose attestation is unproven.
 */
export function curvesOf(info: DeviceInfo): KeyCurve[] {
  const curves: KeyCurve[] = [];
  if (info.algorithms.includes(Algorithm.ecp256)) curves.push('P-256');
  if (info.algorithms.includes(Algorithm.ecp384)) curves.push('P-384');
  const { major, minor } = info.version;
  const attestsEd25519 = major > 2 || (major === 2 && minor >= 4);
  if (info.algorithms.includes(Algorithm.ed25519) && attestsEd25519) curves.push('Ed25519');
  return curves;
}

export function yubiHsmSummary(
  info: DeviceInfo,
  isRehearsal: boolean,
  transport: string,
): DeviceSummary {
  const family = isRehearsal ? YUBIHSM_REHEARSAL_FAMILY : YUBIHSM_FAMILY;
  const serial = serialText(info.serial);
  return {
    id: `${family}:${serial}`,
    family,
    familyName: isRehearsal ? 'Rehearsal YubiHSM 2' : 'YubiHSM 2',
    isRehearsal,
    moduleName: transport,
    slotDescription: `firmware ${firmwareText(info)}`,
    manufacturer: 'Yubico',
    model: isRehearsal ? 'YubiHSM 2 (REHEARSAL)' : 'YubiHSM 2',
    serial,
    label: '',
    flags: [],
    // A YubiHSM authenticates with passwords that have no retry counter: nothing to lock.
    userPin: 'ok',
    soPin: 'not-set',
    isInitialized: true,
    isDeadly: false,
    deadlyReason: null,
    curves: curvesOf(info),
  };
}

/** A YubiHSM that can be talked to, and how to open it again after it re-enumerates. */
export interface FoundYubiHsm {
  summary: DeviceSummary;
  open(): Promise<YubiHsmDriver>;
}

type RackedYubiHsm = { device: RehearsalYubiHsm; connector: RehearsalConnector };
type RackedYubiHsmOptions = Omit<RehearsalYubiHsmOptions, 'serial' | 'stateFile'>;

const yubiHsmRackFamily: RackFamily<RackedYubiHsm, RackedYubiHsmOptions> = {
  deviceName: 'rehearsal YubiHSM',
  newSerial: () => 10_000_000 + randomInt(16_000_000),
  async connect(serial, stateFile, options) {
    const device = await RehearsalYubiHsm.create({
      ...options,
      serial,
      ...(stateFile === null ? {} : { stateFile }),
    });
    const connector = new RehearsalConnector(device);
    await connector.start();
    return { device, connector };
  },
  serialOf: (slot) => slot.device.serial,
  disconnect: (slot) => slot.connector.stop(),
};

/**
 * Rehearsal YubiHSMs "plugged into" this app, each behind its own loopback connector. With a
 * folder, each device is saved there (`<serial>.json`) and plugged in again after a restart.
 */
export class RehearsalYubiHsmRack {
  readonly #rack: RehearsalRack<RackedYubiHsm, RackedYubiHsmOptions>;

  /** `defaults` apply to every device plugged in or restored (a headless run's shorter reboot). */
  constructor(
    readonly folder: string | null = null,
    readonly defaults: RackedYubiHsmOptions = {},
  ) {
    this.#rack = new RehearsalRack(folder, yubiHsmRackFamily);
  }

  async plugIn(
    options: Omit<RehearsalYubiHsmOptions, 'stateFile'> = {},
  ): Promise<RehearsalYubiHsm> {
    const { serial, ...rest } = options;
    return (await this.#rack.plugIn(serial, { ...this.defaults, ...rest })).device;
  }

  /** Plugs in every saved rehearsal device that is not connected yet. */
  restore(options: RackedYubiHsmOptions = {}): Promise<void> {
    return this.#rack.restore({ ...this.defaults, ...options });
  }

  /** Disconnects a rehearsal device and discards it. */
  unplug(serial: number): Promise<void> {
    return this.#rack.unplug(serial);
  }

  /** Disconnects a rehearsal device and keeps it for `takeOut` (a keyholder's bag). */
  putAway(serial: number): Promise<void> {
    return this.#rack.putAway(serial);
  }

  putAwaySerials(): number[] {
    return this.#rack.putAwaySerials();
  }

  async takeOut(serial: number): Promise<RehearsalYubiHsm> {
    return (await this.#rack.takeOut(serial, this.defaults)).device;
  }

  get serials(): readonly number[] {
    return this.#rack.slots.map((s) => s.device.serial);
  }

  get connectors(): readonly RehearsalConnector[] {
    return this.#rack.slots.map((s) => s.connector);
  }

  close(): Promise<void> {
    return this.#rack.close();
  }
}

export interface YubiHsmSources {
  /** A yubihsm-connector the user configured (e.g. http://127.0.0.1:12345); none by default. */
  connectorUrl: string | null;
  /** Look on the USB bus (production). */
  useUsb: boolean;
  rehearsal: RehearsalYubiHsmRack;
}

const PROBE_TIMEOUT_MS = 3000;

async function probe(transport: YubiHsmTransport): Promise<DeviceInfo | null> {
  try {
    return await new YubiHsmDriver(transport, { timeoutMs: PROBE_TIMEOUT_MS }).deviceInfo();
  } catch (error) {
    if (error instanceof YubiHsmTransportError) return null;
    throw error;
  }
}

/** Every YubiHSM reachable now: rehearsal devices, the configured connector, USB. */
/** Headless rehearsals still see the device vanish after a reset, for one second, not three. */
const HEADLESS_REBOOT_MS = 1000;

/** The YubiHSMs of one core: its rehearsal rack, the configured connector, USB; listed as devices. */
export function openYubiHsmSources(env: DeviceEnvironment): YubiHsmSources {
  const sources: YubiHsmSources = {
    connectorUrl: env.settings.yubihsmConnectorUrl,
    useUsb: env.settings.useUsbYubiHsm,
    rehearsal: new RehearsalYubiHsmRack(
      join(env.rehearsalDir, 'rehearsal-yubihsm'),
      env.settings.isHeadless ? { rebootMs: HEADLESS_REBOOT_MS } : {},
    ),
  };
  env.registry.addSource(async () => (await findYubiHsms(sources)).map((found) => found.summary));
  return sources;
}

export const yubiHsmRehearsalBench: RehearsalBench = {
  restore: (sources) => (sources as YubiHsmSources).rehearsal.restore(),
  async ensureOne(sources) {
    const rack = (sources as YubiHsmSources).rehearsal;
    await rack.restore();
    if (rack.connectors.length > 0) return null;
    const device = await rack.plugIn();
    return { line: `rehearsal YubiHSM 2 ${device.serial} connected` };
  },
  async remove(sources, device) {
    const rack = (sources as YubiHsmSources).rehearsal;
    const serial = Number(device.serial);
    if (device.family !== 'yubihsm2-rehearsal' || !rack.serials.includes(serial)) return false;
    await rack.unplug(serial);
    return true;
  },
  async putAway(sources, device) {
    const rack = (sources as YubiHsmSources).rehearsal;
    const serial = Number(device.serial);
    if (device.family !== 'yubihsm2-rehearsal' || !rack.serials.includes(serial)) return false;
    await rack.putAway(serial);
    return true;
  },
  putAwayDevices: (sources) =>
    (sources as YubiHsmSources).rehearsal.putAwaySerials().map((serial) => ({
      family: 'yubihsm2-rehearsal',
      familyName: 'Rehearsal YubiHSM 2',
      serial: String(serial).padStart(10, '0'),
    })),
  async takeOut(sources, device) {
    if (device.family !== 'yubihsm2-rehearsal') return false;
    await (sources as YubiHsmSources).rehearsal.takeOut(Number(device.serial));
    return true;
  },
  close: (sources) => (sources as YubiHsmSources).rehearsal.close(),
};

export async function findYubiHsms(sources: YubiHsmSources): Promise<FoundYubiHsm[]> {
  const found: FoundYubiHsm[] = [];
  for (const connector of sources.rehearsal.connectors) {
    const url = connector.url;
    const info = await probe(new ConnectorTransport(url));
    if (info === null) continue;
    found.push({
      summary: yubiHsmSummary(info, true, 'rehearsal connector'),
      open: () => Promise.resolve(new YubiHsmDriver(new ConnectorTransport(url))),
    });
  }
  if (sources.connectorUrl !== null) {
    const url = sources.connectorUrl;
    const info = await probe(new ConnectorTransport(url));
    if (info !== null) {
      found.push({
        summary: yubiHsmSummary(info, false, 'yubihsm-connector'),
        open: () => Promise.resolve(new YubiHsmDriver(new ConnectorTransport(url))),
      });
    }
  }
  if (sources.useUsb) {
    let devices: Awaited<ReturnType<typeof listUsbYubiHsms>> = [];
    try {
      devices = await listUsbYubiHsms();
    } catch {
      // No libusb access (permissions, no bus): nothing found on USB.
    }
    for (const device of devices) {
      const serial = Number(device.serialNumber ?? NaN);
      if (!Number.isInteger(serial)) continue;
      const reopen = async (): Promise<YubiHsmTransport> => {
        // After a reset the device re-enumerates: find it again by serial.
        const again = (await listUsbYubiHsms()).find((d) => Number(d.serialNumber) === serial);
        if (!again)
          throw new YubiHsmTransportError('device-gone', `YubiHSM ${serial} is not on USB`);
        return UsbTransport.open(again);
      };
      // Listed from the USB descriptors alone: opening would collide with a session in use.
      const info: DeviceInfo = {
        version: {
          major: device.deviceVersionMajor ?? 0,
          minor: device.deviceVersionMinor ?? 0,
          patch: device.deviceVersionSubminor ?? 0,
        },
        serial,
        logTotal: 0,
        logUsed: 0,
        algorithms: [Algorithm.ecp256, Algorithm.ecp384, Algorithm.ed25519],
      };
      found.push({
        summary: yubiHsmSummary(info, false, 'USB'),
        open: async () => new YubiHsmDriver(await reopen(), { reconnect: reopen }),
      });
    }
  }
  return found;
}
