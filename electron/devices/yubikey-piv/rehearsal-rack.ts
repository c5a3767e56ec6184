// Rehearsal YubiKeys "plugged into" this app. With a folder, each card is saved there
// (`<serial>.json`, mode 0600) and plugged in again after a restart, keys and PINs included.
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RehearsalYubiKey, type RehearsalYubiKeyOptions } from './rehearsal.ts';

export class RehearsalYubiKeyRack {
  readonly #cards: RehearsalYubiKey[] = [];

  constructor(readonly folder: string | null = null) {}

  #stateFile(serial: number): string | undefined {
    return this.folder === null ? undefined : join(this.folder, `${serial}.json`);
  }

  async plugIn(options: Partial<RehearsalYubiKeyOptions> = {}): Promise<RehearsalYubiKey> {
    // Rehearsal serials start at 9: no YubiKey 5 serial is that high yet, so a sheet mix-up shows.
    const serial = options.serial ?? 90_000_000 + randomInt(9_000_000);
    if (this.#cards.some((c) => c.serial === serial)) {
      throw new Error(`rehearsal YubiKey ${serial} is already connected`);
    }
    if (this.folder !== null) mkdirSync(this.folder, { recursive: true, mode: 0o700 });
    const stateFile = this.#stateFile(serial);
    const card = await RehearsalYubiKey.create({
      ...options,
      serial,
      ...(stateFile === undefined ? {} : { stateFile }),
    });
    this.#cards.push(card);
    return card;
  }

  /** Plugs in every saved rehearsal YubiKey that is not connected yet. */
  async restore(): Promise<void> {
    if (this.folder === null || !existsSync(this.folder)) return;
    for (const name of readdirSync(this.folder).sort()) {
      const serial = /^(\d+)\.json$/.exec(name)?.[1];
      if (serial === undefined || this.#cards.some((c) => c.serial === Number(serial))) continue;
      await this.plugIn({ serial: Number(serial) });
    }
  }

  /** Takes a rehearsal YubiKey out and discards it. */
  unplug(serial: number): void {
    const index = this.#cards.findIndex((c) => c.serial === serial);
    if (index >= 0) this.#cards.splice(index, 1);
    const stateFile = this.#stateFile(serial);
    if (stateFile !== undefined) rmSync(stateFile, { force: true });
  }

  get cards(): readonly RehearsalYubiKey[] {
    return this.#cards;
  }
}
