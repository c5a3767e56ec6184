// What a device family is given to open its devices in one Vigil core: the data folder its
// rehearsal devices are saved in, the device list to appear in, the user's device settings, and
// one place for what two families share (the YubiKey PIV and OpenPGP families share the cards).
import type { DeviceRegistry } from './registry.ts';

export interface DeviceSettings {
  /** A yubihsm-connector the user runs; none unless configured. */
  yubihsmConnectorUrl: string | null;
  /** Look for YubiHSMs on USB. */
  useUsbYubiHsm: boolean;
  /** Look for YubiKeys in PC/SC readers (pcscd not running means none). */
  usePcsc: boolean;
  /** A headless `vigil run`: rehearsal devices come back from a reset sooner. */
  isHeadless: boolean;
}

export interface DeviceEnvironment {
  dataDir: string;
  /** Where rehearsal devices are saved: the data folder, or one kept across headless runs. */
  rehearsalDir: string;
  registry: DeviceRegistry;
  settings: DeviceSettings;
  /** The one `make()` for `key` in this core, made on first use. */
  shared<T>(key: string, make: () => T): T;
}

/** Rehearsal devices of a family: brought back after a restart, one made for a headless run. */
export interface RehearsalBench {
  restore(sources: unknown): Promise<void>;
  /**
   * Makes one rehearsal device unless the family has one: a line for the run's log, and what to
   * journal when a person doing it in the window would have been journalled too.
   */
  ensureOne(
    sources: unknown,
  ): Promise<{ line: string; journal?: { kind: string; detail: Record<string, unknown> } } | null>;
  /** What a rehearsal answers file's `fromDevice` reads off the one rehearsal device. */
  sheet?(sources: unknown, field: 'serial' | 'address'): string | null;
  /**
   * Takes the rehearsal device listed as `device` out and deletes it, its keys and PINs with it;
   * false when the device is not one of this family's.
   */
  remove?(sources: unknown, device: { family: string; serial: string }): Promise<boolean>;
  /**
   * Takes the rehearsal device out and keeps it, keys and PINs included, as a keyholder bags a
   * device between items; false when it is not one of this family's.
   */
  putAway?(sources: unknown, device: { family: string; serial: string }): Promise<boolean>;
  /** The devices put away, waiting in their bags. */
  putAwayDevices?(sources: unknown): { family: string; familyName: string; serial: string }[];
  /** Connects again a device put away earlier; false when the family is not its. */
  takeOut?(sources: unknown, device: { family: string; serial: string }): Promise<boolean>;
  close?(sources: unknown): Promise<void>;
}
