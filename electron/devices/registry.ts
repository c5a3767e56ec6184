// Detection: loads the configured PKCS#11 modules, lists their tokens as DeviceSummary, finds a
// token again by family and serial (slot ids are not stable), and polls for changes.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { readSavedJson, saveJson } from '../base/saved-files.ts';
import type { DeviceList, DeviceSummary, ModuleStatus } from '../../shared/model/device.ts';
import type { TokenFamily } from './device-family.ts';
import {
  defaultModuleCatalog,
  resolveModulePath,
  type ModuleCatalog,
  type ModuleName,
} from './pkcs11/module-catalog.ts';
import {
  CKF,
  deadlyReason,
  pinStates,
  supportedCurves,
  tokenFlagNames,
} from './pkcs11/protocol.ts';
import {
  Pkcs11CallError,
  Pkcs11Module,
  type SlotHandle,
  type TokenInfo,
} from './pkcs11/transport.ts';
import { smartCardHsmFamily } from './smartcard-hsm/index.ts';
import { softHsmRehearsalFamily } from './softhsm/index.ts';

export const tokenFamilies: readonly TokenFamily[] = [smartCardHsmFamily, softHsmRehearsalFamily];

export interface LoadedModule {
  name: ModuleName;
  path: string;
  module: Pkcs11Module | null;
  problem: string | null;
}

export interface LocatedToken {
  family: TokenFamily | null;
  moduleName: ModuleName;
  module: Pkcs11Module;
  slot: SlotHandle;
  token: TokenInfo;
  summary: DeviceSummary;
}

const moduleDisplayNames: Record<ModuleName, string> = { softhsm2: 'SoftHSM2', opensc: 'OpenSC' };

export function deviceIdFor(familyId: string, serial: string): string {
  return `${familyId}:${serial.replace(/[^A-Za-z0-9._-]/g, '_') || 'no-serial'}`;
}

const PutAwaySerials = z.array(z.string().regex(/^[0-9a-f]{1,32}$/i)).max(256);

export class DeviceRegistry {
  readonly #modules: LoadedModule[];
  readonly #otherSources: (() => Promise<DeviceSummary[]>)[] = [];
  /** SoftHSM2 rehearsal tokens put away (in their keyholder's bag): kept, but not listed. */
  /** Without a store file (tests of the registry alone): kept in memory. */
  readonly #putAway = new Set<string>();
  #putAwayFile: string | null = null;

  constructor(modules: LoadedModule[]) {
    this.#modules = modules;
  }

  /** Loads every module of the catalog that exists; a missing one is reported, not fatal. */
  static open(catalog: ModuleCatalog = defaultModuleCatalog()): DeviceRegistry {
    const modules = catalog.modules.map((entry): LoadedModule => {
      const path = resolveModulePath(entry.candidates, existsSync);
      if (path === null) {
        return {
          name: entry.name,
          path: entry.candidates[0] ?? '',
          module: null,
          problem: 'module not installed',
        };
      }
      const module = new Pkcs11Module(path);
      try {
        module.load();
        return { name: entry.name, path, module, problem: null };
      } catch (error) {
        const problem = error instanceof Error ? error.message : 'module failed to load';
        return { name: entry.name, path, module: null, problem };
      }
    });
    return new DeviceRegistry(modules);
  }

  /**
   * Where the put-away rehearsal tokens are kept (the rehearsal store). The file is read each time:
   * the store is the truth, also when another run (vigil run --devices) bagged a token in it.
   */
  keepPutAwayIn(file: string): void {
    this.#putAwayFile = file;
  }

  #putAwaySerials(): Set<string> {
    if (this.#putAwayFile === null) return this.#putAway;
    return new Set(readSavedJson(this.#putAwayFile, PutAwaySerials, 64 * 1024) ?? []);
  }

  #savePutAway(serials: Set<string>): void {
    if (this.#putAwayFile === null) return;
    saveJson(this.#putAwayFile, [...serials].sort());
  }

  /** A SoftHSM2 rehearsal token leaves the listing, keys kept, until taken out again. */
  putAwayRehearsalToken(serial: string): void {
    const serials = this.#putAwaySerials();
    serials.add(serial);
    this.#savePutAway(serials);
  }

  /** True when the token was put away (it is listed again now). */
  takeOutRehearsalToken(serial: string): boolean {
    const serials = this.#putAwaySerials();
    const wasAway = serials.delete(serial);
    this.#savePutAway(serials);
    return wasAway;
  }

  putAwayRehearsalTokens(): string[] {
    return [...this.#putAwaySerials()].sort();
  }

  moduleNamed(name: ModuleName): Pkcs11Module | null {
    return this.#modules.find((m) => m.name === name)?.module ?? null;
  }

  async scan(): Promise<{ list: DeviceList; located: LocatedToken[] }> {
    const located: LocatedToken[] = [];
    const statuses: ModuleStatus[] = [];
    for (const entry of this.#modules) {
      const status: ModuleStatus = {
        name: moduleDisplayNames[entry.name],
        path: entry.path,
        isLoaded: entry.module !== null,
        problem: entry.problem,
      };
      statuses.push(status);
      const module = entry.module;
      if (module === null) continue;
      try {
        located.push(...(await module.exclusive(() => this.#scanModule(entry.name, module))));
      } catch (error) {
        status.problem = error instanceof Error ? error.message : 'scan failed';
      }
    }
    return { list: { devices: located.map((l) => l.summary), modules: statuses }, located };
  }

  /** Devices outside PKCS#11 (YubiHSM 2) that the device list shows beside the tokens. */
  addSource(source: () => Promise<DeviceSummary[]>): void {
    this.#otherSources.push(source);
  }

  async list(): Promise<DeviceList> {
    const { list } = await this.scan();
    for (const source of this.#otherSources) list.devices.push(...(await source()));
    return list;
  }

  async locate(deviceId: string): Promise<LocatedToken | null> {
    return (await this.scan()).located.find((l) => l.summary.id === deviceId) ?? null;
  }

  #scanModule(moduleName: ModuleName, module: Pkcs11Module): LocatedToken[] {
    // SoftHSM2 reads its store at C_Initialize only; re-initialise when no session is open.
    if (moduleName === 'softhsm2') module.reinitialise();
    const found: LocatedToken[] = [];
    const putAway = moduleName === 'softhsm2' ? this.#putAwaySerials() : new Set<string>();
    for (const slot of module.slots(true)) {
      let token: TokenInfo;
      try {
        token = module.tokenInfo(slot);
      } catch (error) {
        if (error instanceof Pkcs11CallError) continue; // removed between list and read
        throw error;
      }
      const isInitialized = (token.flags & CKF.TOKEN_INITIALIZED) !== 0;
      // SoftHSM2 always offers one blank slot for a new token; it is not a device.
      if (moduleName === 'softhsm2' && !isInitialized) continue;
      if (putAway.has(token.serial)) continue;
      const family = tokenFamilies.find((f) => f.claims(moduleName, token)) ?? null;
      const slotInfo = module.slotInfo(slot);
      const pins = pinStates(token.flags);
      const reason = deadlyReason(token.flags);
      const familyId = family?.id ?? 'pkcs11-other';
      found.push({
        family,
        moduleName,
        module,
        slot,
        token,
        summary: {
          id: deviceIdFor(familyId, token.serial),
          family: familyId,
          familyName: family?.displayName ?? 'Other PKCS#11 token',
          isRehearsal: family?.isRehearsal ?? false,
          moduleName: moduleDisplayNames[moduleName],
          slotDescription: slotInfo.description,
          manufacturer: token.manufacturer,
          model: token.model,
          serial: token.serial,
          label: token.label,
          flags: tokenFlagNames(token.flags),
          userPin: pins.user,
          soPin: pins.so,
          isInitialized,
          isDeadly: reason !== null,
          deadlyReason: reason,
          curves: supportedCurves(module.mechanisms(slot)),
        },
      });
    }
    return found;
  }

  /** Polls and reports only real changes; returns a stop function. */
  watch(intervalMs: number, onChange: (list: DeviceList) => void): () => void {
    let last = '';
    let isStopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async (): Promise<void> => {
      try {
        const list = await this.list();
        const key = JSON.stringify(list);
        if (key !== last) {
          last = key;
          onChange(list);
        }
      } finally {
        if (!isStopped) timer = setTimeout(() => void tick(), intervalMs);
      }
    };
    void tick();
    return () => {
      isStopped = true;
      if (timer) clearTimeout(timer);
    };
  }

  close(): void {
    for (const entry of this.#modules) entry.module?.close();
  }
}
