// Composition root of the main process's logic, in plain Node: the Electron shell, the CLI and the
// test bridge all open one of these and talk to it through the dispatcher.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DeviceList, PutAwayDevice } from '../../shared/model/device.ts';
import { defaultModuleCatalog, type ModuleCatalog } from '../devices/pkcs11/module-catalog.ts';
import { DeviceRegistry } from '../devices/registry.ts';
import type { DeviceEnvironment, RehearsalBench } from '../devices/device-environment.ts';
import type { RehearsalYubiHsmRack, YubiHsmSources } from '../devices/yubihsm2/index.ts';
import { YUBIHSM_CEREMONY_FAMILY } from '../devices/yubihsm2/ceremony/actions.ts';
import type { NetHsmSources, RehearsalNetHsmRack } from '../devices/nethsm/index.ts';
import { NETHSM_SLICE } from '../devices/nethsm/ceremony/record.ts';
import { useRehearsalStore } from '../devices/softhsm/transport.ts';
import type { YubiKeySources } from '../devices/yubikey-piv/index.ts';
import type { RehearsalYubiKeyRack } from '../devices/yubikey-piv/rehearsal-rack.ts';
import { PIV_CEREMONY_FAMILY } from '../devices/yubikey-piv/ceremony/actions.ts';
import { ceremonyFamilies, openFamilySources } from '../ceremony-families.ts';
import { createDispatcher, type Dispatcher, type Handlers } from './dispatcher.ts';
import { EventHub } from './event-hub.ts';
import { deviceHandlers } from './handlers/device-handlers.ts';
import { journalHandlers, summariseEntry } from './handlers/journal-handlers.ts';
import { startupHandlers } from './handlers/startup-handlers.ts';
import { mediaHandlers } from './handlers/media-handlers.ts';
import { runbookHandlers } from './handlers/runbook-handlers.ts';
import { shareHandlers } from './handlers/share-handlers.ts';
import { verificationHandlers, type VerificationTuning } from './handlers/verification-handlers.ts';
import { ExportTargets } from './media/export-targets.ts';
import { ShareDesk } from './shares/share-desk.ts';
import { VigilError } from '../base/errors.ts';
import { RunbookEngine } from './runbook/runbook-engine.ts';
import { defaultRunbooksDir, RunbookLibrary } from './runbook/runbook-library.ts';
import type { RunbookProgress } from './runbook/runbook-progress.ts';
import { printTranscriptPdf, type TranscriptPrinter } from './transcript/transcript-pdf.ts';
import { Journal } from './journal/journal.ts';
import { DataFolderLock } from './journal/data-folder-lock.ts';
import { fileLog, type VigilLog } from './log.ts';
import { systemLsblk, type LsblkSource } from './media/removable-drives.ts';

export interface CoreOptions {
  dataDir: string;
  catalog?: ModuleCatalog;
  lsblk?: LsblkSource;
  /** Main-owned folder picker (Electron dialog; tests supply a path). */
  pickFolder?: () => Promise<string | null>;
  /** Main-owned file picker, like pickFolder: null when the person cancels. */
  pickFiles?: (request: FilePickRequest) => Promise<string[] | null>;
  log?: VigilLog;
  /** resources/runbooks by default; null for none (`vigil run` lists no bundled runbook). */
  runbooksDir?: string | null;
  /** HTML → PDF for transcripts: Chromium here; the Electron shell may hand in printToPDF. */
  printTranscript?: TranscriptPrinter;
  /** A yubihsm-connector the user runs; default $VIGIL_YUBIHSM_CONNECTOR, else none. */
  yubihsmConnectorUrl?: string | null;
  /** Look for YubiHSMs on USB (default true). */
  useUsbYubiHsm?: boolean;
  /** Look for YubiKeys in PC/SC readers (default true; pcscd not running means none). */
  usePcsc?: boolean;
  /** A headless `vigil run`: rehearsal devices come back from a reset sooner. */
  isHeadlessRehearsal?: boolean;
  /** Where rehearsal devices are saved; the data folder unless a headless run keeps them apart. */
  rehearsalDevicesDir?: string;
  /** Verifying folders: tighter limits, or (tests) slowed down to watch progress and cancel. */
  verification?: VerificationTuning;
  /**
   * The data folder's lock, already held by the caller (the app's start-up, `vigil run`), who
   * releases it. Without it the core takes the lock itself and releases it on close().
   */
  folderLock?: DataFolderLock;
  /** What the lock file says this process runs (default: its command line). */
  holderCommand?: string;
  /** Events go here (the start-up's hub, which outlives a core that failed to open). */
  events?: EventHub;
}

/** What main's file dialog asks for: its title, the file types offered, one file or several. */
export interface FilePickRequest {
  title: string;
  filters: { name: string; extensions: string[] }[];
  isMultiple: boolean;
}

export interface ResolvedCoreOptions {
  dataDir: string;
  lsblk: LsblkSource;
  pickFolder: () => Promise<string | null>;
  pickFiles: (request: FilePickRequest) => Promise<string[] | null>;
}

/**
 * v2: a device used for an item of a list whose procedure is done (the ceremony is past it) may be
 * put away, as the PSF keyholder disconnects each HSM before the next; never a device whose key
 * signs the record.
 */
function isPutAway(p: RunbookProgress, deviceId: string): boolean {
  const item = p.deviceItems[deviceId];
  if (item === undefined || p.runbook.signing.key === 'device') return false;
  const now =
    p.next.kind === 'step' ? p.runbook.sections[p.next.position.section]?.item : undefined;
  return now?.id !== item;
}

export class VigilCore {
  readonly options: ResolvedCoreOptions;
  readonly journal: Journal;
  readonly registry: DeviceRegistry;
  readonly exportTargets: ExportTargets;
  readonly runbooks: RunbookEngine;
  /** The bundled runbooks the engine starts from; the start screen previews them. */
  readonly runbookLibrary: RunbookLibrary;
  /** Where each plugged-in family finds its devices, by family id (opened by the family). */
  readonly familySources: Readonly<Record<string, unknown>>;
  /** Where an action handing out or collecting credential shares meets the shareholders. */
  readonly shareDesk: ShareDesk;
  readonly events: EventHub;
  readonly log: VigilLog;
  readonly handlers: Handlers;
  /** The data folder's lock; released by close() only when this core took it. */
  readonly folderLock: DataFolderLock;
  readonly #ownsLock: boolean;
  #stopWatching: (() => void) | null = null;

  /**
   * Opens the data folder: takes its lock (`data-folder-in-use` names the holder), then the
   * journal (`journal-corrupt`, `journal-truncated`). On any failure the lock it took is released.
   */
  constructor(options: CoreOptions) {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    this.events = options.events ?? new EventHub();
    this.#ownsLock = options.folderLock === undefined;
    this.folderLock =
      options.folderLock ??
      DataFolderLock.acquire(
        options.dataDir,
        options.holderCommand === undefined ? {} : { command: options.holderCommand },
      );
    let journal: Journal | null = null;
    try {
      this.#assertLockCovers(options.dataDir);
      journal = Journal.open(
        join(options.dataDir, 'journal', 'journal.jsonl'),
        () => new Date(),
        // SECURITY: no entry is written once another process could be writing too (issue 18).
        { beforeAppend: () => this.folderLock.assertHeld() },
      );
      this.journal = journal;
      this.options = {
        dataDir: options.dataDir,
        lsblk: options.lsblk ?? systemLsblk,
        pickFolder: options.pickFolder ?? (() => Promise.resolve(null)),
        pickFiles: options.pickFiles ?? (() => Promise.resolve(null)),
      };
      this.log = options.log ?? fileLog(join(options.dataDir, 'vigil.log'));
      this.journal.onAppend((entry) => this.events.emit('journal.appended', summariseEntry(entry)));
      // SoftHSM2 reads SOFTHSM2_CONF when the module initialises: point it at our rehearsal store first.
      const rehearsalDir = options.rehearsalDevicesDir ?? options.dataDir;
      const softHsmConf = useRehearsalStore(rehearsalDir);
      this.registry = DeviceRegistry.open(options.catalog ?? defaultModuleCatalog());
      this.registry.keepPutAwayIn(join(dirname(softHsmConf), 'put-away.json'));
      this.exportTargets = new ExportTargets({
        lsblk: this.options.lsblk,
        pickFolder: this.options.pickFolder,
        journal: this.journal,
        log: this.log,
      });
      const shared = new Map<string, unknown>();
      const env: DeviceEnvironment = {
        dataDir: options.dataDir,
        rehearsalDir,
        registry: this.registry,
        settings: {
          yubihsmConnectorUrl:
            options.yubihsmConnectorUrl ?? process.env.VIGIL_YUBIHSM_CONNECTOR ?? null,
          useUsbYubiHsm: options.useUsbYubiHsm ?? true,
          usePcsc: options.usePcsc ?? true,
          isHeadless: options.isHeadlessRehearsal ?? false,
        },
        shared<T>(key: string, make: () => T): T {
          if (!shared.has(key)) shared.set(key, make());
          return shared.get(key) as T;
        },
      };
      this.familySources = openFamilySources(env);
      this.runbookLibrary = new RunbookLibrary(
        options.runbooksDir === undefined ? defaultRunbooksDir() : options.runbooksDir,
        this.log,
      );
      this.shareDesk = new ShareDesk((view) => this.events.emit('shares.deskChanged', { view }));
      this.runbooks = new RunbookEngine({
        journal: this.journal,
        shareDesk: this.shareDesk,
        familySources: this.familySources,
        targets: this.exportTargets,
        library: this.runbookLibrary,
        recordsDir: join(options.dataDir, 'records'),
        printTranscript: options.printTranscript ?? ((html) => printTranscriptPdf(html)),
        onStateChanged: (state) => this.events.emit('runbook.stepChanged', state),
      });
      this.handlers = {
        ...runbookHandlers(this),
        ...deviceHandlers(this),
        ...mediaHandlers(this),
        ...journalHandlers(this),
        ...verificationHandlers(this, options.verification),
        ...shareHandlers(this),
        ...startupHandlers(null),
      };
    } catch (error) {
      journal?.close();
      if (this.#ownsLock) this.folderLock.release();
      throw error;
    }
  }

  /** The YubiHSMs this core reaches; the devices panel's rehearsal button plugs in here. */
  get yubihsms(): YubiHsmSources {
    return this.familySources[YUBIHSM_CEREMONY_FAMILY] as YubiHsmSources;
  }
  /** Rehearsal YubiHSMs plugged into this app (each behind a loopback connector). */
  get rehearsalYubiHsms(): RehearsalYubiHsmRack {
    return this.yubihsms.rehearsal;
  }
  /** The YubiKeys this core reaches (one set for the PIV and the OpenPGP family). */
  get yubikeys(): YubiKeySources {
    return this.familySources[PIV_CEREMONY_FAMILY] as YubiKeySources;
  }
  /** Rehearsal YubiKeys held in this app (saved in the data folder, like a card in a drawer). */
  get rehearsalYubiKeys(): RehearsalYubiKeyRack {
    return this.yubikeys.rehearsal;
  }
  /** Rehearsal NetHSMs this app runs on loopback ports (state saved in the data folder). */
  get rehearsalNetHsms(): RehearsalNetHsmRack {
    return (this.familySources[NETHSM_SLICE] as NetHsmSources).rehearsal;
  }

  /** Brings back every family's saved rehearsal devices, as devices come back after a restart. */
  async restoreRehearsalDevices(): Promise<void> {
    for (const family of ceremonyFamilies)
      await family.rehearsal?.restore(this.familySources[family.id]);
  }

  /**
   * Takes the rehearsal device listed as `deviceId` out and deletes it (keys, PINs, saved state),
   * journalled. Refused for a production device and for one a ceremony under way has used.
   */
  async removeRehearsalDevice(deviceId: string): Promise<{ family: string; serial: string }> {
    const device = (await this.registry.list()).devices.find((d) => d.id === deviceId);
    if (!device?.isRehearsal) {
      throw new VigilError(
        'no-device',
        device
          ? `${device.familyName} ${device.serial} is not a rehearsal device: Vigil deletes only its own rehearsal devices.`
          : 'That rehearsal device is no longer attached. Look at the devices list again.',
      );
    }
    const ceremony = this.runbooks.progress();
    if (
      ceremony?.finishedAt === null &&
      [...ceremony.devices, ceremony.device].some((d) => d?.id === deviceId) &&
      !isPutAway(ceremony, deviceId)
    ) {
      throw new VigilError(
        'device-in-use',
        `The ceremony under way uses ${device.familyName} ${device.serial}. Finish or abandon the ceremony first.`,
      );
    }
    const wanted = { family: device.family, serial: device.serial };
    let isRemoved = false;
    for (const family of ceremonyFamilies) {
      isRemoved =
        (await family.rehearsal?.remove?.(this.familySources[family.id], wanted)) ?? false;
      if (isRemoved) break;
    }
    if (!isRemoved) {
      throw new VigilError(
        'device-error',
        `Vigil could not remove ${device.familyName} ${device.serial}.`,
      );
    }
    this.journal.append('device.rehearsalRemoved', wanted);
    await this.refreshDevices();
    return wanted;
  }

  /**
   * v2, between items: a rehearsal device whose keys a later item signs with is put away, keys
   * and PINs kept (a keyholder's bag), rather than deleted; journalled.
   */
  async putAwayRehearsalDevice(deviceId: string): Promise<{ family: string; serial: string }> {
    const device = (await this.registry.list()).devices.find((d) => d.id === deviceId);
    if (!device?.isRehearsal) {
      throw new VigilError('no-device', 'That rehearsal device is no longer attached.');
    }
    const wanted = { family: device.family, serial: device.serial };
    if (!(await this.#onBench((bench, sources) => bench.putAway?.(sources, wanted)))) {
      throw new VigilError(
        'device-error',
        `Vigil cannot put ${device.familyName} ${device.serial} away.`,
      );
    }
    this.journal.append('device.rehearsalPutAway', wanted);
    await this.refreshDevices();
    return wanted;
  }

  /** Connects again a rehearsal device put away earlier (`putAwayRehearsalDevice`); journalled. */
  async takeOutRehearsalDevice(device: { family: string; serial: string }): Promise<void> {
    const wanted = { family: device.family, serial: device.serial };
    if (
      !this.putAwayRehearsalDevices().some(
        (d) => d.family === wanted.family && d.serial === wanted.serial,
      )
    )
      throw new VigilError(
        'no-device',
        `No rehearsal device ${device.serial} is put away: look at the devices list again.`,
      );
    if (!(await this.#onBench((bench, sources) => bench.takeOut?.(sources, wanted)))) {
      throw new VigilError('no-device', `No family keeps rehearsal ${device.family} devices.`);
    }
    this.journal.append('device.rehearsalTakenOut', wanted);
    await this.refreshDevices();
  }

  /** The rehearsal devices put away, waiting in their bags, of every family. */
  putAwayRehearsalDevices(): PutAwayDevice[] {
    return ceremonyFamilies.flatMap(
      (family) => family.rehearsal?.putAwayDevices?.(this.familySources[family.id]) ?? [],
    );
  }

  /** The first family's bench that does it (true). */
  async #onBench(
    act: (bench: RehearsalBench, sources: unknown) => Promise<boolean> | undefined,
  ): Promise<boolean> {
    for (const family of ceremonyFamilies) {
      const bench = family.rehearsal;
      if (bench && (await act(bench, this.familySources[family.id]))) return true;
    }
    return false;
  }

  /** Resumes a runbook ceremony found in the journal (new signing key, unfinished END). */
  async resumeRunbook(): Promise<void> {
    await this.restoreRehearsalDevices();
    await this.runbooks.resume();
  }

  dispatcher<Sender>(isTrustedSender: (sender: Sender) => boolean): Dispatcher<Sender> {
    return createDispatcher({ handlers: this.handlers, isTrustedSender, log: this.log });
  }

  /** Emits devices.changed whenever the set of tokens or their state changes. */
  watchDevices(intervalMs = 1000): void {
    this.#stopWatching ??= this.registry.watch(intervalMs, (list: DeviceList) =>
      this.events.emit('devices.changed', { ...list, putAway: this.putAwayRehearsalDevices() }),
    );
  }

  /** The devices attached, the modules loaded, and the rehearsal devices put away. */
  async listDevices(): Promise<DeviceList> {
    return { ...(await this.registry.list()), putAway: this.putAwayRehearsalDevices() };
  }

  async refreshDevices(): Promise<void> {
    this.events.emit('devices.changed', await this.listDevices());
  }

  close(): void {
    this.#stopWatching?.();
    this.#stopWatching = null;
    this.registry.close();
    for (const family of ceremonyFamilies)
      void family.rehearsal?.close?.(this.familySources[family.id]);
    this.journal.close();
    if (this.#ownsLock) this.folderLock.release();
  }

  #assertLockCovers(dataDir: string): void {
    if (resolve(this.folderLock.folder) !== resolve(dataDir)) {
      throw new VigilError(
        'internal-error',
        `The lock handed to the core is on ${this.folderLock.folder}, not on ${dataDir}.`,
      );
    }
    this.folderLock.assertHeld();
  }
}

export { defaultDataDir } from './data-dir.ts';
