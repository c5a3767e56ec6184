// The NetHSM family: a production NetHSM is the one address the ceremony was given (typed from the
// ceremony sheet, journalled), reached over HTTPS pinned to the certificate the witness compared;
// rehearsal NetHSMs are emulated appliances this app starts on loopback ports. A ceremony never
// mixes the two.
import type { HeldCredentials } from './ceremony/shared-credentials.ts';
import { existsSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { DeviceFamilyId, DeviceSummary } from '../../../shared/model/device.ts';
import { SavedFileError, readSavedJson, saveJson } from '../../base/saved-files.ts';
import type { DeviceEnvironment, RehearsalBench } from '../device-environment.ts';
import { prepareRackFolder, restoreEach } from '../rehearsal-rack.ts';
import { NetHsmClient } from './driver.ts';
import {
  startRehearsalNetHsm,
  type NetHsmExchange,
  type RehearsalNetHsm,
} from './rehearsal-server.ts';
import { PinnedTransport, endpointText, parseEndpoint } from './transport.ts';

export const NETHSM_FAMILY: DeviceFamilyId = 'nethsm';
export const NETHSM_REHEARSAL_FAMILY: DeviceFamilyId = 'nethsm-rehearsal';

/** A client pinned to one address and certificate; close it when the step is done. */
export function openNetHsm(
  address: string,
  pinnedFingerprint: string,
): { client: NetHsmClient; close: () => void } {
  const transport = new PinnedTransport(parseEndpoint(address), pinnedFingerprint);
  return { client: new NetHsmClient(transport), close: () => transport.close() };
}

/** A rehearsal NetHSM in the device list: no network probe, the rack knows where it listens. */
export function rehearsalNetHsmSummary(device: RehearsalNetHsm): DeviceSummary {
  const address = `${device.host}:${device.port}`;
  return {
    id: `${NETHSM_REHEARSAL_FAMILY}:${device.serial}`,
    family: NETHSM_REHEARSAL_FAMILY,
    familyName: 'Rehearsal NetHSM',
    isRehearsal: true,
    moduleName: `https://${address}`,
    slotDescription: `address ${address}`,
    manufacturer: 'Nitrokey GmbH',
    model: 'NetHSM (REHEARSAL)',
    serial: device.serial,
    label: address,
    flags: [],
    userPin: 'ok',
    soPin: 'ok',
    isInitialized: true,
    isDeadly: false,
    deadlyReason: null,
    curves: [],
  };
}

const RackEntries = z.array(
  z.strictObject({ stateFile: z.string().min(1), port: z.number().int().min(1).max(65535) }),
);
type RackEntry = z.infer<typeof RackEntries>[number];
/** A rack lists a few devices: anything larger is not a rack file Vigil wrote. */
const MAX_RACK_FILE_BYTES = 64 * 1024;
const STATE_FILE_NAME = /^nethsm-\d+-\d+\.json$/;

/**
 * Rehearsal NetHSMs started by this app. With a folder, each keeps its state there and comes back
 * on the same port after a restart, so a resumed ceremony finds it at the journalled address.
 * Not a RehearsalRack: a NetHSM makes its own string serial and must keep its port, so the rack
 * lists them in `rack.json`; the folder, the saved-file reads and the restore policy are shared.
 */
export class RehearsalNetHsmRack {
  readonly #devices: RehearsalNetHsm[] = [];
  /** Tests attach the OpenAPI judge here; every exchange of every rehearsal NetHSM goes to it. */
  onExchange: ((exchange: NetHsmExchange) => void) | null = null;

  constructor(readonly folder: string | null = null) {}

  #rackFile(): string | null {
    return this.folder === null ? null : join(this.folder, 'rack.json');
  }

  #saved(): RackEntry[] {
    const file = this.#rackFile();
    if (file === null || this.folder === null) return [];
    const entries = readSavedJson(file, RackEntries, MAX_RACK_FILE_BYTES) ?? [];
    for (const { stateFile } of entries) {
      const name = basename(stateFile);
      // SECURITY: restore reads and rewrites, and discard deletes, each listed file: only this
      // rack's own state files, never a path planted in rack.json.
      if (!STATE_FILE_NAME.test(name) || stateFile !== join(this.folder, name)) {
        throw new SavedFileError('unexpected-form', `${file} lists ${stateFile}, not its own`);
      }
    }
    return entries;
  }

  #save(entries: RackEntry[]): void {
    const file = this.#rackFile();
    if (file === null) return;
    saveJson(file, entries);
  }

  async #start(entry: Partial<RackEntry>): Promise<RehearsalNetHsm> {
    const device = await startRehearsalNetHsm({
      ...(entry.stateFile === undefined ? {} : { stateFile: entry.stateFile }),
      ...(entry.port === undefined ? {} : { port: entry.port }),
      onExchange: (exchange) => this.onExchange?.(exchange),
    });
    this.#devices.push(device);
    return device;
  }

  /** A new rehearsal NetHSM in factory state (Unprovisioned), on `port` if given. */
  async plugIn(options: { port?: number } = {}): Promise<RehearsalNetHsm> {
    if (this.folder === null) return this.#start(options);
    prepareRackFolder(this.folder);
    const saved = this.#saved();
    const stateFile = join(this.folder, `nethsm-${Date.now()}-${saved.length}.json`);
    const device = await this.#start({ ...options, stateFile });
    this.#save([...saved, { stateFile, port: device.port }]);
    return device;
  }

  /**
   * Starts every saved rehearsal NetHSM that is not running yet; a damaged state file is a
   * SavedFileError after the others are started.
   */
  async restore(): Promise<void> {
    await restoreEach(this.#saved(), async (entry) => {
      if (this.#devices.some((d) => d.port === entry.port)) return;
      if (!existsSync(entry.stateFile)) return;
      await this.#start(entry);
    });
  }

  get devices(): readonly RehearsalNetHsm[] {
    return this.#devices;
  }

  /** The rehearsal NetHSM listening at this address, if any. */
  find(address: string): RehearsalNetHsm | null {
    let wanted: string;
    try {
      wanted = endpointText(parseEndpoint(address));
    } catch {
      return null;
    }
    return (
      this.#devices.find((d) => endpointText({ host: d.host, port: d.port }) === wanted) ?? null
    );
  }

  /** Stops the rehearsal NetHSM with this serial and deletes its state; false when none has it. */
  async unplug(serial: string): Promise<boolean> {
    const index = this.#devices.findIndex((d) => d.serial === serial);
    const [device] = index >= 0 ? this.#devices.splice(index, 1) : [];
    if (device === undefined) return false;
    await device.close();
    if (this.folder !== null) {
      const saved = this.#saved();
      const gone = saved.filter((e) => e.port === device.port);
      for (const entry of gone) rmSync(entry.stateFile, { force: true });
      this.#save(saved.filter((e) => e.port !== device.port));
    }
    return true;
  }

  /** Stops and forgets every rehearsal NetHSM. */
  async discard(): Promise<void> {
    await this.close();
    for (const entry of this.#saved()) rmSync(entry.stateFile, { force: true });
    this.#save([]);
  }

  async close(): Promise<void> {
    await Promise.all(this.#devices.splice(0).map((d) => d.close()));
  }
}

export interface NetHsmSources {
  rehearsal: RehearsalNetHsmRack;
  /**
   * The administrative credentials a ceremony's shares opened (or made), by ceremony id: in this
   * process's memory only, wiped at the ceremony's END.
   */
  sharedCredentials: Map<string, HeldCredentials>;
}

/**
 * The NetHSMs of one core: its rehearsal NetHSMs on loopback ports, listed as devices. A real
 * NetHSM is reached only at the address typed in the ceremony: it is never probed for.
 */
export function openNetHsmSources(env: DeviceEnvironment): NetHsmSources {
  const rehearsal = new RehearsalNetHsmRack(join(env.rehearsalDir, 'rehearsal-nethsm'));
  env.registry.addSource(() =>
    Promise.resolve(rehearsal.devices.map((d) => rehearsalNetHsmSummary(d))),
  );
  return { rehearsal, sharedCredentials: new Map() };
}

export const netHsmRehearsalBench: RehearsalBench = {
  restore: (sources) => (sources as NetHsmSources).rehearsal.restore(),
  async ensureOne(sources) {
    const rack = (sources as NetHsmSources).rehearsal;
    await rack.restore();
    if (rack.devices.length > 0) return null;
    const device = await rack.plugIn();
    return {
      line: `rehearsal NetHSM ${device.serial} listening on ${device.host}:${device.port}`,
    };
  },
  /** "The address on the sheet": the one rehearsal NetHSM's loopback address. */
  sheet(sources, field) {
    if (field !== 'address') return null;
    const [device, ...others] = (sources as NetHsmSources).rehearsal.devices;
    return device && others.length === 0 ? `${device.host}:${device.port}` : null;
  },
  async remove(sources, device) {
    if (device.family !== NETHSM_REHEARSAL_FAMILY) return false;
    return (sources as NetHsmSources).rehearsal.unplug(device.serial);
  },
  close: (sources) => (sources as NetHsmSources).rehearsal.close(),
};
