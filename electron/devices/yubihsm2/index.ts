// The YubiHSM 2 family: where YubiHSMs are found (USB, a yubihsm-connector the user configured,
// rehearsal devices plugged into this app) and how each appears in the device list. A YubiHSM is
// always found again by serial, never by position.
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceFamilyId, DeviceSummary, KeyCurve } from '../../../shared/model/device.ts';
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

/**
 * Rehearsal YubiHSMs "plugged into" this app, each behind its own loopback connector. With a
 * folder, each device is saved there (`<serial>.json`) and plugged in again after a restart.
 */
export class RehearsalYubiHsmRack {
  readonly #slots: { device: RehearsalYubiHsm; connector: RehearsalConnector }[] = [];

  constructor(readonly folder: string | null = null) {}

  #stateFile(serial: number): string | undefined {
    return this.folder === null ? undefined : join(this.folder, `${serial}.json`);
  }

  async plugIn(options: RehearsalYubiHsmOptions = {}): Promise<RehearsalYubiHsm> {
    const serial = options.serial ?? 10_000_000 + randomInt(16_000_000);
    if (this.#slots.some((s) => s.device.serial === serial)) {
      throw new Error(`rehearsal YubiHSM ${serial} is already connected`);
    }
    if (this.folder !== null) mkdirSync(this.folder, { recursive: true, mode: 0o700 });
    const stateFile = this.#stateFile(serial);
    const device = await RehearsalYubiHsm.create({
      ...options,
      serial,
      ...(stateFile === undefined ? {} : { stateFile }),
    });
    const connector = new RehearsalConnector(device);
    await connector.start();
    this.#slots.push({ device, connector });
    return device;
  }

  /** Plugs in every saved rehearsal device that is not connected yet. */
  async restore(
    options: Omit<RehearsalYubiHsmOptions, 'serial' | 'stateFile'> = {},
  ): Promise<void> {
    if (this.folder === null || !existsSync(this.folder)) return;
    for (const name of readdirSync(this.folder).sort()) {
      const serial = /^(\d+)\.json$/.exec(name)?.[1];
      if (serial === undefined || this.#slots.some((s) => s.device.serial === Number(serial))) {
        continue;
      }
      await this.plugIn({ ...options, serial: Number(serial) });
    }
  }

  /** Disconnects a rehearsal device and discards it. */
  async unplug(serial: number): Promise<void> {
    const index = this.#slots.findIndex((s) => s.device.serial === serial);
    const [slot] = index >= 0 ? this.#slots.splice(index, 1) : [];
    await slot?.connector.stop();
    const stateFile = this.#stateFile(serial);
    if (stateFile !== undefined) rmSync(stateFile, { force: true });
  }

  get connectors(): readonly RehearsalConnector[] {
    return this.#slots.map((s) => s.connector);
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.splice(0).map((s) => s.connector.stop()));
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
