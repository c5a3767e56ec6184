// Rehearsal devices "plugged into" this app, for every family that keeps one device per state
// file: with a folder, each device is saved there as `<serial>.json` (folder 0700; the device
// writes its own file, 0600, through base/saved-files.ts) and plugged in again after a restart.
// Without a folder the devices live in memory only.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { isErrno } from '../base/durable-files.ts';
import { KindedError } from '../base/errors.ts';
import { SavedFileError } from '../base/saved-files.ts';

export type RehearsalRackFailure = 'already-connected' | 'bad-serial' | 'not-put-away';

/** Where a rack keeps the devices put away between items: beside, never among, the plugged-in ones. */
const PUT_AWAY_FOLDER = 'put-away';

export class RehearsalRackError extends KindedError<RehearsalRackFailure> {
  readonly name = 'RehearsalRackError';
}

/** How one family makes, connects and disconnects its rehearsal devices. */
export interface RackFamily<Slot, Options> {
  /** For messages, e.g. 'rehearsal YubiHSM'. */
  readonly deviceName: string;
  /** A serial for a device plugged in without one. */
  newSerial(): number;
  /**
   * Makes a device with this serial, or loads the one saved in `stateFile` (a SavedFileError when
   * that file is damaged), and connects it.
   */
  connect(serial: number, stateFile: string | null, options: Options): Promise<Slot>;
  serialOf(slot: Slot): number;
  disconnect(slot: Slot): Promise<void>;
}

/** Only `<serial>.json` with the serial written plainly: `0012.json` is not device 12's file. */
const STATE_FILE_NAME = /^([1-9]\d{0,14})\.json$/;

function isRackSerial(serial: number): boolean {
  return Number.isSafeInteger(serial) && serial > 0;
}

/** Makes the rack folder, owner only, or checks that the one there is a folder and not a link. */
export function prepareRackFolder(folder: string): void {
  try {
    // SECURITY: the devices' (rehearsal) keys and PINs are saved here: owner-only folder (0700).
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
  }
  checkIsFolder(folder, lstatSync(folder));
}

function checkIsFolder(folder: string, stat: Stats): void {
  // A link would move the devices' files to wherever it points.
  if (!stat.isDirectory()) throw new SavedFileError('not-a-folder', `${folder} is not a folder`);
}

/**
 * Runs `restoreOne` for every item: a damaged saved file (SavedFileError) is reported once all the
 * others are back, and deletes nothing; any other failure stops the restore at once.
 */
export async function restoreEach<Item>(
  items: readonly Item[],
  restoreOne: (item: Item) => Promise<unknown>,
): Promise<void> {
  const failures: SavedFileError[] = [];
  for (const item of items) {
    try {
      await restoreOne(item);
    } catch (error) {
      if (!(error instanceof SavedFileError)) throw error;
      failures.push(error);
    }
  }
  const [first] = failures;
  if (first === undefined) return;
  if (failures.length === 1) throw first;
  throw new SavedFileError(first.kind, failures.map((f) => f.message).join('; '), {
    cause: new AggregateError(failures),
  });
}

/** A rack of one family's rehearsal devices, each found again by its serial. */
export class RehearsalRack<Slot, Options> {
  readonly #slots: Slot[] = [];
  /** Serials being plugged in now, so that two plugIns of one serial at once cannot both connect. */
  readonly #connecting = new Set<number>();
  readonly #family: RackFamily<Slot, Options>;

  constructor(
    readonly folder: string | null,
    family: RackFamily<Slot, Options>,
  ) {
    this.#family = family;
  }

  #stateFile(serial: number): string | null {
    return this.folder === null ? null : join(this.folder, `${serial}.json`);
  }

  #isConnected(serial: number): boolean {
    return (
      this.#connecting.has(serial) || this.#slots.some((s) => this.#family.serialOf(s) === serial)
    );
  }

  /** Connects the device saved under `serial`, or a new one (with a new serial when none). */
  async plugIn(serial: number | undefined, options: Options): Promise<Slot> {
    const { deviceName } = this.#family;
    const wanted = serial ?? this.#family.newSerial();
    if (!isRackSerial(wanted)) {
      throw new RehearsalRackError('bad-serial', `${wanted} is not a ${deviceName} serial`);
    }
    // Two devices with one serial would make "the device with this serial" ambiguous.
    if (this.#isConnected(wanted)) {
      throw new RehearsalRackError(
        'already-connected',
        `${deviceName} ${wanted} is already connected`,
      );
    }
    this.#connecting.add(wanted);
    try {
      if (this.folder !== null) prepareRackFolder(this.folder);
      const stateFile = this.#stateFile(wanted);
      const slot = await this.#family.connect(wanted, stateFile, options);
      const found = this.#family.serialOf(slot);
      if (found !== wanted) {
        // A file copied or planted under another serial: unplug would delete the wrong file.
        await this.#family.disconnect(slot);
        throw new SavedFileError(
          'unexpected-form',
          `${stateFile} holds ${deviceName} ${found}, not ${wanted}`,
        );
      }
      this.#slots.push(slot);
      return slot;
    } finally {
      this.#connecting.delete(wanted);
    }
  }

  /**
   * Plugs in every saved device that is not connected yet, in serial order. A damaged state file
   * is a SavedFileError after every other device is back; the file itself is left in place.
   */
  async restore(options: Options): Promise<void> {
    if (this.folder === null) return;
    let stat: Stats;
    try {
      stat = lstatSync(this.folder);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    checkIsFolder(this.folder, stat);
    const serials = readdirSync(this.folder)
      .map((name) => Number(STATE_FILE_NAME.exec(name)?.[1]))
      .filter((serial) => isRackSerial(serial) && !this.#isConnected(serial))
      .sort((a, b) => a - b);
    await restoreEach(serials, (serial) => this.plugIn(serial, options));
  }

  /** Disconnects a device and discards it, its state file included. */
  async unplug(serial: number): Promise<void> {
    const index = this.#slots.findIndex((s) => this.#family.serialOf(s) === serial);
    const [slot] = index >= 0 ? this.#slots.splice(index, 1) : [];
    if (slot !== undefined) await this.#family.disconnect(slot);
    const stateFile = isRackSerial(serial) ? this.#stateFile(serial) : null;
    if (stateFile !== null) rmSync(stateFile, { force: true });
  }

  /**
   * Disconnects a device and keeps it, keys and PINs included, as a keyholder puts a device back
   * in its bag: its state file moves to `put-away/` (a restart does not plug it in) until
   * `takeOut`. Only a rack with a folder can keep one.
   */
  async putAway(serial: number): Promise<void> {
    const stateFile = isRackSerial(serial) ? this.#stateFile(serial) : null;
    if (this.folder === null || stateFile === null) {
      throw new RehearsalRackError(
        'bad-serial',
        `${this.#family.deviceName} ${serial} cannot be kept`,
      );
    }
    const index = this.#slots.findIndex((s) => this.#family.serialOf(s) === serial);
    const [slot] = index >= 0 ? this.#slots.splice(index, 1) : [];
    // Disconnected first: the device writes its own file, and must not write it after the move.
    if (slot !== undefined) await this.#family.disconnect(slot);
    const away = join(this.folder, PUT_AWAY_FOLDER);
    prepareRackFolder(away);
    if (existsSync(stateFile)) renameSync(stateFile, join(away, `${serial}.json`));
  }

  /** Plugs in again a device put away earlier (already plugged in: nothing to do). */
  async takeOut(serial: number, options: Options): Promise<Slot> {
    const plugged = this.#slots.find((s) => this.#family.serialOf(s) === serial);
    if (plugged !== undefined) return plugged;
    const stateFile = isRackSerial(serial) ? this.#stateFile(serial) : null;
    const kept = this.folder === null ? null : join(this.folder, PUT_AWAY_FOLDER, `${serial}.json`);
    if (stateFile === null || kept === null || (!existsSync(kept) && !existsSync(stateFile))) {
      throw new RehearsalRackError(
        'not-put-away',
        `${this.#family.deviceName} ${serial} was not put away here: its keys are gone`,
      );
    }
    // A crash between the move and the plug-in leaves the file in place: the next restore has it.
    if (existsSync(kept)) renameSync(kept, stateFile);
    return this.plugIn(serial, options);
  }

  /** The serials of the devices put away here, waiting in their bags. */
  putAwaySerials(): number[] {
    if (this.folder === null) return [];
    const away = join(this.folder, PUT_AWAY_FOLDER);
    if (!existsSync(away)) return [];
    return readdirSync(away)
      .map((name) => Number(STATE_FILE_NAME.exec(name)?.[1]))
      .filter((serial) => isRackSerial(serial))
      .sort((a, b) => a - b);
  }

  get slots(): readonly Slot[] {
    return this.#slots;
  }

  /** Disconnects every device; their state files stay for the next restore. */
  async close(): Promise<void> {
    await Promise.all(this.#slots.splice(0).map((s) => this.#family.disconnect(s)));
  }
}
