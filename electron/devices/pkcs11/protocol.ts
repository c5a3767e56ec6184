// PKCS#11 as data: constants, templates, token-info decoding and CKR → typed error mapping.
// Values per PKCS#11 2.40/3.0 (pkcs11-notes §4, §8, §9). Pure: no module is loaded here.
import type { DeviceErrorCode } from '../../../shared/contract/error-codes.ts';
import type { KeyCurve, PinState } from '../../../shared/model/device.ts';
import { curveFacts } from '../../formats/ec-point.ts';

export const CKA = {
  CLASS: 0x000,
  TOKEN: 0x001,
  PRIVATE: 0x002,
  LABEL: 0x003,
  KEY_TYPE: 0x100,
  ID: 0x102,
  SENSITIVE: 0x103,
  SIGN: 0x108,
  VERIFY: 0x10a,
  EXTRACTABLE: 0x162,
  LOCAL: 0x163,
  NEVER_EXTRACTABLE: 0x164,
  ALWAYS_SENSITIVE: 0x165,
  EC_PARAMS: 0x180,
  EC_POINT: 0x181,
} as const;

export const CKO = { PUBLIC_KEY: 2, PRIVATE_KEY: 3 } as const;
export const CKU = { SO: 0, USER: 1 } as const;
export const CKM = {
  EC_KEY_PAIR_GEN: 0x1040,
  ECDSA: 0x1041,
  EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  EDDSA: 0x1057,
} as const;
export const CKS_FLAGS = { RW_SESSION: 0x2, SERIAL_SESSION: 0x4 } as const;

export const CKF = {
  RNG: 0x1,
  WRITE_PROTECTED: 0x2,
  LOGIN_REQUIRED: 0x4,
  USER_PIN_INITIALIZED: 0x8,
  PROTECTED_AUTHENTICATION_PATH: 0x100,
  TOKEN_INITIALIZED: 0x400,
  USER_PIN_COUNT_LOW: 0x10000,
  USER_PIN_FINAL_TRY: 0x20000,
  USER_PIN_LOCKED: 0x40000,
  USER_PIN_TO_BE_CHANGED: 0x80000,
  SO_PIN_COUNT_LOW: 0x100000,
  SO_PIN_FINAL_TRY: 0x200000,
  SO_PIN_LOCKED: 0x400000,
  SO_PIN_TO_BE_CHANGED: 0x800000,
  ERROR_STATE: 0x1000000,
} as const;

export const CKF_SLOT = { TOKEN_PRESENT: 0x1, REMOVABLE_DEVICE: 0x2, HW_SLOT: 0x4 } as const;

export function tokenFlagNames(flags: number): string[] {
  return Object.entries(CKF)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
}

export interface PinStates {
  user: PinState;
  so: PinState;
}

export function pinStates(flags: number): PinStates {
  const user: PinState =
    flags & CKF.USER_PIN_LOCKED
      ? 'locked'
      : flags & CKF.USER_PIN_FINAL_TRY
        ? 'final-try'
        : flags & CKF.USER_PIN_COUNT_LOW
          ? 'count-low'
          : !(flags & CKF.USER_PIN_INITIALIZED)
            ? 'not-set'
            : flags & CKF.USER_PIN_TO_BE_CHANGED
              ? 'to-be-changed'
              : 'ok';
  const so: PinState =
    flags & CKF.SO_PIN_LOCKED
      ? 'locked'
      : flags & CKF.SO_PIN_FINAL_TRY
        ? 'final-try'
        : flags & CKF.SO_PIN_COUNT_LOW
          ? 'count-low'
          : flags & CKF.SO_PIN_TO_BE_CHANGED
            ? 'to-be-changed'
            : 'ok';
  return { user, so };
}

/**
 * A token is in a "deadly state" when acting on it could brick it: the SO-PIN of a SmartCard-HSM
 * cannot be unblocked, so its final try or lock ends the device's life (pkcs11-notes §7).
 */
export function deadlyReason(flags: number): string | null {
  if (flags & CKF.ERROR_STATE) return 'the token reports an error state';
  if (flags & CKF.SO_PIN_LOCKED) return 'the SO-PIN is locked';
  if (flags & CKF.SO_PIN_FINAL_TRY) return 'the SO-PIN is on its final try';
  if (flags & CKF.USER_PIN_LOCKED) return 'the user PIN is locked';
  if (flags & CKF.USER_PIN_FINAL_TRY) return 'the user PIN is on its final try';
  return null;
}

/** What the operator reads before typing a PIN; PKCS#11 gives flags, not counts. */
export function triesLeftHint(state: PinState, who: 'user PIN' | 'SO-PIN'): string {
  switch (state) {
    case 'locked':
      return `The ${who} is locked: no tries left.`;
    case 'final-try':
      return `The ${who} is on its final try: Vigil will not use it.`;
    case 'count-low':
      return `A wrong ${who} was entered since the last success: tries left are fewer than the maximum.`;
    case 'to-be-changed':
    case 'ok':
    case 'not-set':
      return `The device reports no failed ${who} attempt: all tries are left.`;
  }
}

const ckrNames = {
  0x05: 'CKR_GENERAL_ERROR',
  0x06: 'CKR_FUNCTION_FAILED',
  0x07: 'CKR_ARGUMENTS_BAD',
  0x30: 'CKR_DEVICE_ERROR',
  0x31: 'CKR_DEVICE_MEMORY',
  0x32: 'CKR_DEVICE_REMOVED',
  0x03: 'CKR_SLOT_ID_INVALID',
  0x70: 'CKR_MECHANISM_INVALID',
  0xa0: 'CKR_PIN_INCORRECT',
  0xa1: 'CKR_PIN_INVALID',
  0xa2: 'CKR_PIN_LEN_RANGE',
  0xa4: 'CKR_PIN_LOCKED',
  0xb3: 'CKR_SESSION_HANDLE_INVALID',
  0xb6: 'CKR_SESSION_EXISTS',
  0xe0: 'CKR_TOKEN_NOT_PRESENT',
  0xe1: 'CKR_TOKEN_NOT_RECOGNIZED',
  0x130: 'CKR_DOMAIN_PARAMS_INVALID',
  0x140: 'CKR_CURVE_NOT_SUPPORTED',
} as const;
export type CkrName = (typeof ckrNames)[keyof typeof ckrNames];
export const CKR_NAMES: Readonly<Record<number, CkrName>> = ckrNames;

/** A CK_RV's name, as an error's kind; a value this table does not name is 'unknown'. */
export function ckrName(ckr: number): CkrName | 'unknown' {
  return CKR_NAMES[ckr] ?? 'unknown';
}

/** Maps a CKR value to the contract's device error code. */
export function deviceErrorForCkr(ckr: number): DeviceErrorCode {
  switch (ckr) {
    case 0xa0:
      return 'pin-incorrect';
    case 0xa1:
    case 0xa2:
      return 'pin-format';
    case 0xa4:
      return 'pin-locked';
    case 0x03:
    case 0x32:
    case 0xb3:
    case 0xe0:
      return 'device-gone';
    case 0x70:
    case 0x130:
    case 0x140:
      return 'curve-not-supported';
    default:
      return 'device-error';
  }
}

export function keyPairMechanism(curve: KeyCurve): number {
  return curve === 'Ed25519' ? CKM.EC_EDWARDS_KEY_PAIR_GEN : CKM.EC_KEY_PAIR_GEN;
}

/** Curves this token can generate, from its mechanism list. */
export function supportedCurves(mechanisms: readonly number[]): KeyCurve[] {
  const curves: KeyCurve[] = [];
  if (mechanisms.includes(CKM.EC_KEY_PAIR_GEN)) curves.push('P-256', 'P-384');
  if (mechanisms.includes(CKM.EC_EDWARDS_KEY_PAIR_GEN) && mechanisms.includes(CKM.EDDSA)) {
    curves.push('Ed25519');
  }
  return curves;
}

export interface AttributeSpec {
  type: number;
  value: boolean | number | Buffer;
}

/** Templates for an on-device, never-extractable signing key pair (pkcs11-notes §4). */
export function keyPairTemplates(
  curve: KeyCurve,
  label: string,
  id: Uint8Array,
): { publicKey: AttributeSpec[]; privateKey: AttributeSpec[] } {
  const labelBytes = Buffer.from(label, 'utf8');
  const idBytes = Buffer.from(id);
  return {
    publicKey: [
      { type: CKA.CLASS, value: CKO.PUBLIC_KEY },
      { type: CKA.TOKEN, value: true },
      { type: CKA.VERIFY, value: true },
      { type: CKA.EC_PARAMS, value: Buffer.from(curveFacts[curve].ecParams) },
      { type: CKA.LABEL, value: labelBytes },
      { type: CKA.ID, value: idBytes },
    ],
    privateKey: [
      { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
      { type: CKA.TOKEN, value: true },
      { type: CKA.PRIVATE, value: true },
      { type: CKA.SENSITIVE, value: true },
      { type: CKA.EXTRACTABLE, value: false },
      { type: CKA.SIGN, value: true },
      { type: CKA.LABEL, value: labelBytes },
      { type: CKA.ID, value: idBytes },
    ],
  };
}

/** Labels are 32 bytes, blank-padded; pkcs11js pads with NUL, so pad ourselves. */
export function padTokenLabel(label: string): string {
  if (Buffer.byteLength(label, 'utf8') > 32)
    throw new RangeError('token label longer than 32 bytes');
  return label + ' '.repeat(32 - Buffer.byteLength(label, 'utf8'));
}

export function trimPkcs11Text(text: string): string {
  return text.replace(/[\0 ]+$/, '');
}

/** CK_BBOOL attribute value as returned by pkcs11js. */
export function readBool(value: Buffer | undefined): boolean {
  return value !== undefined && value.length > 0 && value[0] === 1;
}
