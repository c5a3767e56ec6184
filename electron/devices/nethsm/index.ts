// The NetHSM family: a production NetHSM is the one address the ceremony was given (typed from the
// ceremony sheet, journalled), reached over HTTPS pinned to the certificate the witness compared;
// rehearsal NetHSMs are emulated appliances this app starts on loopback ports. A ceremony never
// mixes the two.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { DeviceFamilyId, DeviceSummary } from '../../../shared/model/device.ts';
import { readSavedJson, saveJson } from '../../base/saved-files.ts';
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

/**
 * Rehearsal NetHSMs started by this app. With a folder, each keeps its state there and comes back
 * on the same port after a restart, so a resumed ceremony finds it at the journalled address.
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
    if (file === null) return [];
    return readSavedJson(file, RackEntries, MAX_RACK_FILE_BYTES) ?? [];
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
    mkdirSync(this.folder, { recursive: true, mode: 0o700 });
    const saved = this.#saved();
    const stateFile = join(this.folder, `nethsm-${Date.now()}-${saved.length}.json`);
    const device = await this.#start({ ...options, stateFile });
    this.#save([...saved, { stateFile, port: device.port }]);
    return device;
  }

  /** Starts every saved rehearsal NetHSM that is not running yet. */
  async restore(): Promise<void> {
    for (const entry of this.#saved()) {
      if (this.#devices.some((d) => d.port === entry.port)) continue;
      if (!existsSync(entry.stateFile)) continue;
      await this.#start(entry);
    }
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
}
