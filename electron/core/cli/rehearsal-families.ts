// The rehearsal devices `vigil rehearsal` serves, and the serials each may carry: kept apart from
// the devices themselves so parsing the command line loads no device family.
import { UsageError } from './usage-error.ts';

export const REHEARSAL_FAMILIES = ['yubihsm2', 'yubikey', 'nethsm'] as const;
export type RehearsalFamily = (typeof REHEARSAL_FAMILIES)[number];

/** A YubiHSM 2 serial has at most 8 decimal digits; a YubiKey's fits 32 bits. */
export function checkRehearsalSerial(family: RehearsalFamily, serial: number): void {
  if (family === 'nethsm')
    throw new UsageError(
      'a rehearsal NetHSM names itself REHEARSAL-<hex>: give --state <file> to keep the same one',
    );
  const max = family === 'yubihsm2' ? 99_999_999 : 0xffffffff;
  if (!Number.isSafeInteger(serial) || serial < 1 || serial > max)
    throw new UsageError(`--serial for ${family} takes a number from 1 to ${max}`);
}
