// What the rehearsal YubiKey's OpenPGP applet keeps: PW1/RC/PW3 counters, slot keys (raw bytes:
// Ed25519 seed, X25519 scalar in native little-endian order, EC scalar; RSA keys as PKCS#8 DER),
// the DOs GnuPG and ykman write, the cardholder certificates (7F21) per slot, the signature
// counter, Yubico's attestation key and certificate (made at the factory, kept across a reset),
// and its factory defaults; plus the JSON part it is saved as inside the card's saved state.
// Security status per connection is not here.
import { z } from 'zod';
import { bytesToHex, hexToBytes } from '../../formats/der.ts';
import {
  SavedCredential,
  credentialFromJson,
  credentialToJson,
  digestCredential,
  factoryCredential,
  type CredentialDigest,
} from '../yubikey-piv/rehearsal-credential.ts';
import {
  DEFAULT_ADMIN_PIN,
  DEFAULT_USER_PIN,
  cardAlgorithmNames,
  cardSlotNames,
  encodeRsaAttributes,
  type CardAlgorithm,
  type CardSlot,
} from './protocol.ts';

export interface OpenPgpPinCounter {
  /** A salted digest, never the PIN (rehearsal-credential.ts); null: not set (a new card's RC). */
  credential: CredentialDigest | null;
  total: number;
  remaining: number;
}

export interface OpenPgpSlotKey {
  algorithm: CardAlgorithm;
  /** ECC: the raw secret as above; RSA: the private key as PKCS#8 DER. */
  secret: Uint8Array;
  origin: 'generated' | 'imported';
}

/** Yubico's attestation key (ATT, key ref 81): a P-256 scalar and its certificate (DO FC). */
export interface OpenPgpAttestationKey {
  secret: Uint8Array;
  certificate: Uint8Array;
}

export interface OpenPgpAppletState {
  userPin: OpenPgpPinCounter;
  resettingCode: OpenPgpPinCounter;
  adminPin: OpenPgpPinCounter;
  userPinValidForSeveralSignatures: boolean;
  /** C1–C3 values as written. */
  attributes: Record<CardSlot, Uint8Array>;
  keys: Partial<Record<CardSlot, OpenPgpSlotKey>>;
  fingerprints: Record<CardSlot, Uint8Array>;
  caFingerprints: Record<CardSlot, Uint8Array>;
  generationTimes: Record<CardSlot, number>;
  /** UIF first byte per slot (00 off … 04 cached-fixed). */
  touch: Record<CardSlot, number>;
  /** Cardholder certificates (7F21) per slot; empty when none. */
  certificates: Record<CardSlot, Uint8Array>;
  /** Null on a card made without one (the fuzz and unit applets): nothing to attest with. */
  attestation: OpenPgpAttestationKey | null;
  /** UIF first byte of the attestation key (D9). */
  attestationTouch: number;
  signatureCounter: number;
  name: Uint8Array;
  language: Uint8Array;
  sex: number;
  url: Uint8Array;
  loginData: Uint8Array;
  isTerminated: boolean;
}

const encoder = new TextEncoder();

function perSlot<T>(make: (slot: CardSlot) => T): Record<CardSlot, T> {
  return { sign: make('sign'), encrypt: make('encrypt'), authenticate: make('authenticate') };
}

/**
 * A YubiKey 5's applet after reset: RSA-2048 attributes (e in 17 bits, standard import format),
 * no keys, PINs 123456/12345678.
 */
export function defaultOpenPgpState(): OpenPgpAppletState {
  return {
    userPin: {
      credential: factoryCredential(encoder.encode(DEFAULT_USER_PIN)),
      total: 3,
      remaining: 3,
    },
    resettingCode: { credential: null, total: 3, remaining: 0 },
    adminPin: {
      credential: factoryCredential(encoder.encode(DEFAULT_ADMIN_PIN)),
      total: 3,
      remaining: 3,
    },
    userPinValidForSeveralSignatures: false,
    attributes: perSlot(() => encodeRsaAttributes(2048)),
    keys: {},
    fingerprints: perSlot(() => new Uint8Array(20)),
    caFingerprints: perSlot(() => new Uint8Array(20)),
    generationTimes: perSlot(() => 0),
    touch: perSlot(() => 0),
    certificates: perSlot(() => new Uint8Array(0)),
    attestation: null,
    attestationTouch: 0,
    signatureCounter: 0,
    name: new Uint8Array(0),
    language: new Uint8Array(0),
    sex: 0x39, // "not announced" (ISO 5218 '9')
    url: new Uint8Array(0),
    loginData: new Uint8Array(0),
    isTerminated: false,
  };
}

const Hex = z.string().regex(/^(?:[0-9a-f]{2})*$/);
const Tries = {
  total: z.number().int().min(0).max(255),
  remaining: z.number().int().min(0).max(255),
};
/** Cards saved before finding 10 kept the PIN itself, in hex: read once, saved again digested. */
const PlainCounter = z.strictObject({ value: Hex.nullable(), ...Tries });
const Counter = z.union([
  z.strictObject({ credential: SavedCredential.nullable(), ...Tries }),
  PlainCounter,
]);
const PerSlotHex = z.strictObject({ sign: Hex, encrypt: Hex, authenticate: Hex });
const PerSlotNumber = z.strictObject({
  sign: z.number().int(),
  encrypt: z.number().int(),
  authenticate: z.number().int(),
});
const SlotKey = z.strictObject({
  slot: z.enum(cardSlotNames as [CardSlot, ...CardSlot[]]),
  algorithm: z.enum(cardAlgorithmNames as [CardAlgorithm, ...CardAlgorithm[]]),
  secret: Hex,
  origin: z.enum(['generated', 'imported']),
});

export const SavedOpenPgpState = z.strictObject({
  userPin: Counter,
  resettingCode: Counter,
  adminPin: Counter,
  userPinValidForSeveralSignatures: z.boolean(),
  attributes: PerSlotHex,
  keys: z.array(SlotKey),
  fingerprints: PerSlotHex,
  caFingerprints: PerSlotHex,
  generationTimes: PerSlotNumber,
  touch: PerSlotNumber,
  /** Absent in cards saved before ykman's certificate and attestation commands were answered. */
  certificates: PerSlotHex.optional(),
  attestation: z.strictObject({ secret: Hex, certificate: Hex }).nullable().optional(),
  attestationTouch: z.number().int().min(0).max(4).optional(),
  signatureCounter: z.number().int().min(0),
  name: Hex,
  language: Hex,
  sex: z.number().int(),
  url: Hex,
  loginData: Hex,
  isTerminated: z.boolean(),
});
export type SavedOpenPgpState = z.infer<typeof SavedOpenPgpState>;

const counterToJson = (c: OpenPgpPinCounter) => ({
  credential: c.credential === null ? null : credentialToJson(c.credential),
  total: c.total,
  remaining: c.remaining,
});

function counterFromJson(c: SavedOpenPgpState['userPin'], factory?: string): OpenPgpPinCounter {
  const tries = { total: c.total, remaining: c.remaining };
  if ('credential' in c) {
    return {
      credential: c.credential === null ? null : credentialFromJson(c.credential),
      ...tries,
    };
  }
  const value = c.value === null ? null : hexToBytes(c.value);
  const factoryValue = factory === undefined ? undefined : encoder.encode(factory);
  return { credential: value === null ? null : digestCredential(value, factoryValue), ...tries };
}

/** Whether a saved applet holds a PIN in plain hex (saved before finding 10). */
export function hasPlainPins(saved: SavedOpenPgpState): boolean {
  return [saved.userPin, saved.resettingCode, saved.adminPin].some((c) => 'value' in c);
}

/** The saved form; a rehearsal card's secrets are rehearsal secrets, in a 0600 file. */
export function openPgpStateToJson(state: OpenPgpAppletState): SavedOpenPgpState {
  return {
    userPin: counterToJson(state.userPin),
    resettingCode: counterToJson(state.resettingCode),
    adminPin: counterToJson(state.adminPin),
    userPinValidForSeveralSignatures: state.userPinValidForSeveralSignatures,
    attributes: perSlot((s) => bytesToHex(state.attributes[s])),
    keys: cardSlotNames.flatMap((slot) => {
      const key = state.keys[slot];
      return key
        ? [{ slot, algorithm: key.algorithm, secret: bytesToHex(key.secret), origin: key.origin }]
        : [];
    }),
    fingerprints: perSlot((s) => bytesToHex(state.fingerprints[s])),
    caFingerprints: perSlot((s) => bytesToHex(state.caFingerprints[s])),
    generationTimes: { ...state.generationTimes },
    touch: { ...state.touch },
    certificates: perSlot((s) => bytesToHex(state.certificates[s])),
    attestation:
      state.attestation === null
        ? null
        : {
            secret: bytesToHex(state.attestation.secret),
            certificate: bytesToHex(state.attestation.certificate),
          },
    attestationTouch: state.attestationTouch,
    signatureCounter: state.signatureCounter,
    name: bytesToHex(state.name),
    language: bytesToHex(state.language),
    sex: state.sex,
    url: bytesToHex(state.url),
    loginData: bytesToHex(state.loginData),
    isTerminated: state.isTerminated,
  };
}

export function openPgpStateFromJson(value: unknown): OpenPgpAppletState {
  const saved = SavedOpenPgpState.parse(value);
  const keys: Partial<Record<CardSlot, OpenPgpSlotKey>> = {};
  for (const key of saved.keys) {
    keys[key.slot] = {
      algorithm: key.algorithm,
      secret: hexToBytes(key.secret),
      origin: key.origin,
    };
  }
  return {
    userPin: counterFromJson(saved.userPin, DEFAULT_USER_PIN),
    resettingCode: counterFromJson(saved.resettingCode),
    adminPin: counterFromJson(saved.adminPin, DEFAULT_ADMIN_PIN),
    userPinValidForSeveralSignatures: saved.userPinValidForSeveralSignatures,
    attributes: perSlot((s) => hexToBytes(saved.attributes[s])),
    keys,
    fingerprints: perSlot((s) => hexToBytes(saved.fingerprints[s])),
    caFingerprints: perSlot((s) => hexToBytes(saved.caFingerprints[s])),
    generationTimes: { ...saved.generationTimes },
    touch: { ...saved.touch },
    certificates: perSlot((s) => hexToBytes(saved.certificates?.[s] ?? '')),
    attestation: saved.attestation
      ? {
          secret: hexToBytes(saved.attestation.secret),
          certificate: hexToBytes(saved.attestation.certificate),
        }
      : null,
    attestationTouch: saved.attestationTouch ?? 0,
    signatureCounter: saved.signatureCounter,
    name: hexToBytes(saved.name),
    language: hexToBytes(saved.language),
    sex: saved.sex,
    url: hexToBytes(saved.url),
    loginData: hexToBytes(saved.loginData),
    isTerminated: saved.isTerminated,
  };
}
