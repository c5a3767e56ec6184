// What the rehearsal YubiKey keeps: identity, PIN/PUK counters, management key, slot keys and
// data objects (the F9 key and certificate among them), its factory defaults, and the JSON it is
// saved as. The volatile session (verified PIN, management-key authentication) is not here.
import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { bytesToHex, hexToBytes } from '../../formats/der.ts';
import {
  DEFAULT_MANAGEMENT_KEY,
  DEFAULT_PIN,
  DEFAULT_PUK,
  PivAlgorithm,
  PivObject,
  PivSlot,
} from './protocol.ts';
import {
  isSlotAlgorithm,
  slotKeyFrom,
  type KeyOriginCode,
  type ManagementKey,
  type SlotKey,
} from './rehearsal-keys.ts';
import {
  SavedCredential,
  credentialFromJson,
  credentialToJson,
  digestCredential,
  factoryCredential,
  type CredentialDigest,
} from './rehearsal-credential.ts';
import {
  SavedOpenPgpState,
  hasPlainPins,
  openPgpStateFromJson,
  openPgpStateToJson,
  type OpenPgpAppletState,
} from '../yubikey-openpgp/rehearsal-openpgp-state.ts';

export type Firmware = readonly [number, number, number];

export type FormFactorName =
  | 'usb-a-keychain'
  | 'usb-a-nano'
  | 'usb-c-keychain'
  | 'usb-c-nano'
  | 'usb-c-lightning'
  | 'usb-a-bio'
  | 'usb-c-bio';

/** Device-info and attestation (.3.9) form-factor codes (yubikit management.py). */
export const formFactorCodes: Record<FormFactorName, number> = {
  'usb-a-keychain': 0x01,
  'usb-a-nano': 0x02,
  'usb-c-keychain': 0x03,
  'usb-c-nano': 0x04,
  'usb-c-lightning': 0x05,
  'usb-a-bio': 0x06,
  'usb-c-bio': 0x07,
};

export interface PinCounter {
  /**
   * A salted digest of the value padded with 0xFF to 8 bytes, as VERIFY carries it; never the
   * value itself (rehearsal-credential.ts).
   */
  credential: CredentialDigest;
  total: number;
  remaining: number;
}

export interface PivCardState {
  serial: number;
  firmware: Firmware;
  formFactor: FormFactorName;
  pin: PinCounter;
  puk: PinCounter;
  managementKey: ManagementKey;
  keys: Map<number, SlotKey>;
  /** Data objects by id, each the value inside its `53` wrapper. */
  objects: Map<number, Uint8Array>;
  /** The OpenPGP applet; absent in cards saved before it existed, made at its first SELECT. */
  openpgp?: OpenPgpAppletState;
}

export const PIN_BLOCK_LENGTH = 8;

export function padPin(text: string): Uint8Array {
  const out = new Uint8Array(PIN_BLOCK_LENGTH).fill(0xff);
  out.set(new TextEncoder().encode(text).subarray(0, PIN_BLOCK_LENGTH));
  return out;
}

export function isFirmwareAtLeast(firmware: Firmware, wanted: Firmware): boolean {
  for (let i = 0; i < 3; i++) {
    const have = firmware[i] ?? 0;
    const want = wanted[i] ?? 0;
    if (have !== want) return have > want;
  }
  return true;
}

/** 3DES before firmware 5.7, AES-192 from 5.7 on; the same 24-byte default value either way. */
export function defaultManagementKey(firmware: Firmware): ManagementKey {
  const algorithm = isFirmwareAtLeast(firmware, [5, 7, 0])
    ? PivAlgorithm.aes192
    : PivAlgorithm.tdes;
  return { algorithm, key: DEFAULT_MANAGEMENT_KEY.slice(), requiresTouch: false };
}

export function defaultCounter(text: string, total = 3): PinCounter {
  return { credential: factoryCredential(padPin(text)), total, remaining: total };
}

/** The digest of a new PIN or PUK (a padded block); `factory` is its default, for GET METADATA. */
export function pinCredential(block: Uint8Array, factory: string): CredentialDigest {
  return digestCredential(block, padPin(factory));
}

/** The applet as it leaves a PIV reset: defaults, no keys or objects except the F9 pair. */
export function resetPivState(state: PivCardState): void {
  const f9Key = state.keys.get(PivSlot.attestation);
  const f9Certificate = state.objects.get(PivObject.attestationCertificate);
  state.pin = defaultCounter(DEFAULT_PIN);
  state.puk = defaultCounter(DEFAULT_PUK);
  state.managementKey = defaultManagementKey(state.firmware);
  state.keys = new Map(f9Key ? [[PivSlot.attestation, f9Key]] : []);
  state.objects = new Map(f9Certificate ? [[PivObject.attestationCertificate, f9Certificate]] : []);
}

const Hex = z.string().regex(/^(?:[0-9a-f]{2})*$/);
const Tries = {
  total: z.number().int().min(1).max(255),
  remaining: z.number().int().min(0).max(255),
};
/** Cards saved before finding 10 kept PIN and PUK themselves, in hex: read, then saved digested. */
const Counter = z.union([
  z.strictObject({ credential: SavedCredential, ...Tries }),
  z.strictObject({ value: Hex, ...Tries }),
]);
const SavedState = z.strictObject({
  v: z.literal(1),
  rehearsal: z.literal(true),
  serial: z.number().int().positive(),
  firmware: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  formFactor: z.enum(Object.keys(formFactorCodes) as [FormFactorName, ...FormFactorName[]]),
  pin: Counter,
  puk: Counter,
  managementKey: z.strictObject({
    algorithm: z.number().int(),
    key: Hex,
    requiresTouch: z.boolean(),
  }),
  keys: z.array(
    z.strictObject({
      slot: z.number().int(),
      algorithm: z.number().int(),
      pkcs8: z.string(),
      pinPolicy: z.number().int(),
      touchPolicy: z.number().int(),
      origin: z.union([z.literal(1), z.literal(2)]),
    }),
  ),
  objects: z.array(z.strictObject({ id: z.number().int(), value: Hex })),
  openpgp: SavedOpenPgpState.optional(),
});
type SavedState = z.infer<typeof SavedState>;

function counterToJson(counter: PinCounter): SavedState['pin'] {
  return {
    credential: credentialToJson(counter.credential),
    total: counter.total,
    remaining: counter.remaining,
  };
}

function counterFromJson(saved: SavedState['pin'], factory: string): PinCounter {
  const tries = { total: saved.total, remaining: saved.remaining };
  if ('credential' in saved) return { credential: credentialFromJson(saved.credential), ...tries };
  return { credential: digestCredential(hexToBytes(saved.value), padPin(factory)), ...tries };
}

/**
 * Whether a saved card (its JSON, as read) holds PIN, PUK or an OpenPGP PIN in plain hex, as cards
 * saved before finding 10 did: the card saves itself again at once, digested.
 */
export function hasPlainCredentials(value: unknown): boolean {
  const saved = SavedState.safeParse(value);
  if (!saved.success) return false;
  const { pin, puk, openpgp } = saved.data;
  return 'value' in pin || 'value' in puk || (openpgp !== undefined && hasPlainPins(openpgp));
}

/**
 * The saved form. Keys are PKCS#8 (base64): a rehearsal card's secrets are rehearsal secrets,
 * and the file is written 0600 by the card. PINs and PUK are salted digests only.
 */
export function encodeSavedState(state: PivCardState): string {
  const saved: SavedState = {
    v: 1,
    rehearsal: true,
    serial: state.serial,
    firmware: [...state.firmware],
    formFactor: state.formFactor,
    pin: counterToJson(state.pin),
    puk: counterToJson(state.puk),
    managementKey: {
      algorithm: state.managementKey.algorithm,
      key: bytesToHex(state.managementKey.key),
      requiresTouch: state.managementKey.requiresTouch,
    },
    keys: [...state.keys].map(([slot, key]) => ({
      slot,
      algorithm: key.algorithm,
      pkcs8: key.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
      pinPolicy: key.pinPolicy,
      touchPolicy: key.touchPolicy,
      origin: key.origin,
    })),
    objects: [...state.objects].map(([id, value]) => ({ id, value: bytesToHex(value) })),
    ...(state.openpgp ? { openpgp: openPgpStateToJson(state.openpgp) } : {}),
  };
  return JSON.stringify(saved);
}

export function decodeSavedState(text: string): PivCardState {
  const saved = SavedState.parse(JSON.parse(text));
  const keys = new Map<number, SlotKey>();
  for (const entry of saved.keys) {
    if (!isSlotAlgorithm(entry.algorithm)) throw new Error('saved key has an unknown algorithm');
    const privateKey = createPrivateKey({
      key: Buffer.from(entry.pkcs8, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    const origin: KeyOriginCode = entry.origin;
    keys.set(
      entry.slot,
      slotKeyFrom(entry.algorithm, privateKey, {
        pinPolicy: entry.pinPolicy,
        touchPolicy: entry.touchPolicy,
        origin,
      }),
    );
  }
  return {
    serial: saved.serial,
    firmware: saved.firmware,
    formFactor: saved.formFactor,
    pin: counterFromJson(saved.pin, DEFAULT_PIN),
    puk: counterFromJson(saved.puk, DEFAULT_PUK),
    managementKey: {
      algorithm: saved.managementKey.algorithm,
      key: hexToBytes(saved.managementKey.key),
      requiresTouch: saved.managementKey.requiresTouch,
    },
    keys,
    objects: new Map(saved.objects.map((o) => [o.id, hexToBytes(o.value)])),
    ...(saved.openpgp ? { openpgp: openPgpStateFromJson(saved.openpgp) } : {}),
  };
}
