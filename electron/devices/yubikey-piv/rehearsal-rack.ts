// Rehearsal YubiKeys "plugged into" this app. With a folder, each card is saved there
// (`<serial>.json`, mode 0600) and plugged in again after a restart, keys and PINs included.
import { randomInt } from 'node:crypto';
import { RehearsalRack, type RackFamily } from '../rehearsal-rack.ts';
import { RehearsalYubiKey, type RehearsalYubiKeyOptions } from './rehearsal.ts';

type RackedYubiKeyOptions = Omit<RehearsalYubiKeyOptions, 'serial' | 'stateFile'>;

const yubiKeyRackFamily: RackFamily<RehearsalYubiKey, RackedYubiKeyOptions> = {
  deviceName: 'rehearsal YubiKey',
  // Rehearsal serials start at 9: no YubiKey 5 serial is that high yet, so a sheet mix-up shows.
  newSerial: () => 90_000_000 + randomInt(9_000_000),
  connect: (serial, stateFile, options) =>
    RehearsalYubiKey.create({ ...options, serial, ...(stateFile === null ? {} : { stateFile }) }),
  serialOf: (card) => card.serial,
  // A card held in this process has no listener to stop: findYubiKeys lists `cards` each time.
  disconnect: () => Promise.resolve(),
};

export class RehearsalYubiKeyRack {
  readonly #rack: RehearsalRack<RehearsalYubiKey, RackedYubiKeyOptions>;

  constructor(readonly folder: string | null = null) {
    this.#rack = new RehearsalRack(folder, yubiKeyRackFamily);
  }

  plugIn(
    options: Partial<Omit<RehearsalYubiKeyOptions, 'stateFile'>> = {},
  ): Promise<RehearsalYubiKey> {
    const { serial, ...rest } = options;
    return this.#rack.plugIn(serial, rest);
  }

  /** Plugs in every saved rehearsal YubiKey that is not connected yet. */
  restore(): Promise<void> {
    return this.#rack.restore({});
  }

  /** Takes a rehearsal YubiKey out and discards it. */
  unplug(serial: number): Promise<void> {
    return this.#rack.unplug(serial);
  }

  /** Takes a rehearsal YubiKey out and keeps it for `takeOut` (a keyholder's bag). */
  putAway(serial: number): Promise<void> {
    return this.#rack.putAway(serial);
  }

  putAwaySerials(): number[] {
    return this.#rack.putAwaySerials();
  }

  takeOut(serial: number): Promise<RehearsalYubiKey> {
    return this.#rack.takeOut(serial, {});
  }

  get cards(): readonly RehearsalYubiKey[] {
    return this.#rack.slots;
  }

  close(): Promise<void> {
    return this.#rack.close();
  }
}
