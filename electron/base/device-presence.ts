// "Which device present is the ceremony's": the only one of its family, or the one with the
// serial written down. Each family phrases the refusals in its own words and codes.
import { VigilError } from './errors.ts';
import { sameSerial } from './serial.ts';

interface Serialled {
  summary: { serial: string };
}

export type DevicePresence<T> =
  | { kind: 'found'; device: T }
  /** No device of the family is present. */
  | { kind: 'none' }
  /** More than one candidate: devices present, or devices with the serial asked for. */
  | { kind: 'several'; count: number }
  /** Devices are present, none with the serial asked for: theirs, to name them. */
  | { kind: 'other-serials'; serials: string[] };

/** The only device present (already narrowed to one family): a second one is refused. */
export function onlyDevice<T extends Serialled>(
  present: readonly T[],
): Exclude<DevicePresence<T>, { kind: 'other-serials' }> {
  const [first] = present;
  if (first === undefined) return { kind: 'none' };
  if (present.length > 1) return { kind: 'several', count: present.length };
  return { kind: 'found', device: first };
}

/**
 * The one device with `serial` among those present (of one family); others may be plugged in
 * beside it, but two answering to the same serial leave the choice ambiguous and are refused.
 */
export function deviceWithSerial<T extends Serialled>(
  present: readonly T[],
  serial: string,
): DevicePresence<T> {
  if (present.length === 0) return { kind: 'none' };
  const matching = present.filter((d) => sameSerial(d.summary.serial, serial));
  if (matching.length === 0)
    return { kind: 'other-serials', serials: present.map((d) => d.summary.serial) };
  return onlyDevice(matching);
}

/**
 * The device that holds a key the ceremony generated: the one present of the key's device family
 * and serial (a signer is found by serial, never by label). None, or two answering to it, is
 * `device-gone`, naming the key and the serial (`noun`: "YubiKey", "YubiHSM 2").
 */
export function deviceHoldingKey<T extends { summary: { serial: string; family: string } }>(
  present: readonly T[],
  key: { role: string; device: { family: string; serial: string } },
  noun: string,
): T {
  const holding = present.filter(
    (d) =>
      d.summary.family === key.device.family && sameSerial(d.summary.serial, key.device.serial),
  );
  const [found] = holding;
  if (!found || holding.length > 1)
    throw new VigilError(
      'device-gone',
      `The ${noun} that holds the ${key.role} key (serial ${key.device.serial}) is not connected.`,
    );
  return found;
}
