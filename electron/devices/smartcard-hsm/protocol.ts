// SmartCard-HSM / Nitrokey HSM 2 facts that a ceremony enforces (pkcs11-notes §7).
import type { DeviceErrorCode } from '../../../shared/contract/error-codes.ts';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { KindedError } from '../../base/errors.ts';
import { checkTypedTwice } from '../../base/pin-policy.ts';

export const FACTORY_SO_PIN = '3537363231383830';
export const FACTORY_USER_PIN = '648219';

/** Its kind is already the contract's device code, so a handler passes it on unchanged. */
export class PinRuleError extends KindedError<
  Extract<DeviceErrorCode, 'pin-format' | 'pin-mismatch' | 'default-pin-refused'>
> {
  readonly name = 'PinRuleError';
}

const decoder = new TextDecoder();

function matches(pin: SecretBytes, pattern: RegExp): boolean {
  return pin.use((bytes) => pattern.test(decoder.decode(bytes)));
}

// The formats are written once in shared/model/credential-fields.ts (credentialFormats.pkcs11),
// where the window reads its hints; these checks are the token family's word on the same rules.

/** The SO-PIN is exactly 16 hex characters (8 bytes); OpenSC refuses anything else. */
export function checkSoPinFormat(pin: SecretBytes, which: string): void {
  if (!matches(pin, /^[0-9A-Fa-f]{16}$/)) {
    throw new PinRuleError('pin-format', `${which} must be exactly 16 hexadecimal characters`);
  }
}

/** User PIN: 6 to 15 characters (the SmartCard-HSM's range), printable ASCII. */
export function checkUserPinFormat(pin: SecretBytes): void {
  if (!matches(pin, /^[\x21-\x7e]{6,15}$/)) {
    throw new PinRuleError('pin-format', 'the user PIN must be 6 to 15 printable characters');
  }
}

export interface NewPins {
  currentSoPin: SecretBytes;
  newSoPin: SecretBytes;
  newSoPinRepeat: SecretBytes;
  newUserPin: SecretBytes;
  newUserPinRepeat: SecretBytes;
}

/** A factory PIN kept as the new one: the rules that are meaning, not format. */
export interface FactoryPinProblem {
  field: 'newSoPin' | 'newUserPin';
  sentence: string;
}

export function factoryPinProblems(pins: {
  newSoPin?: SecretBytes | undefined;
  newUserPin?: SecretBytes | undefined;
}): FactoryPinProblem[] {
  const problems: FactoryPinProblem[] = [];
  if (
    pins.newSoPin &&
    (pins.newSoPin.equalsText(FACTORY_SO_PIN) ||
      pins.newSoPin.equalsText(FACTORY_SO_PIN.toLowerCase()))
  ) {
    problems.push({
      field: 'newSoPin',
      sentence: 'the factory SO-PIN cannot be the new SO-PIN: choose another',
    });
  }
  if (pins.newUserPin?.equalsText(FACTORY_USER_PIN)) {
    problems.push({
      field: 'newUserPin',
      sentence: 'the factory user PIN cannot be the new user PIN: choose another',
    });
  }
  return problems;
}

/**
 * Checks every rule before the device is touched, so a typo never costs a PIN try; one refusal
 * names every rule broken (its kind is the first one's).
 */
export function checkNewPins(pins: NewPins): void {
  const broken: PinRuleError[] = [];
  const collect = (check: () => void) => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof PinRuleError)) throw error;
      broken.push(error);
    }
  };
  collect(() => checkSoPinFormat(pins.currentSoPin, 'the current SO-PIN'));
  collect(() => checkSoPinFormat(pins.newSoPin, 'the new SO-PIN'));
  collect(() =>
    checkTypedTwice(
      pins.newSoPin,
      pins.newSoPinRepeat,
      () => new PinRuleError('pin-mismatch', 'the two new SO-PIN entries differ'),
    ),
  );
  collect(() => checkUserPinFormat(pins.newUserPin));
  collect(() =>
    checkTypedTwice(
      pins.newUserPin,
      pins.newUserPinRepeat,
      () => new PinRuleError('pin-mismatch', 'the two new user PIN entries differ'),
    ),
  );
  for (const problem of factoryPinProblems(pins)) {
    broken.push(new PinRuleError('default-pin-refused', problem.sentence));
  }
  const [first] = broken;
  if (first === undefined) return;
  throw new PinRuleError(first.kind, broken.map((e) => e.message).join('; '));
}

/** OpenSC reports SmartCard-HSM tokens with this manufacturer (CardContact makes the chip). */
export function isSmartCardHsmToken(manufacturer: string, model: string): boolean {
  return /cardcontact/i.test(manufacturer) || /smartcard-hsm/i.test(model);
}
