// The OpenPGP card application (spec 3.4, as the YubiKey OpenPGP applet implements it): its AID,
// instructions, data objects and key slots; command encoders and decoders of the card's answers
// (application related data 6E, cardholder data 65, PW status C4, algorithm attributes, public
// keys) and the extended-header-list key import. Pure: the driver and the rehearsal card both
// read and write with it.
import { KindedError } from '../../base/errors.ts';
import { bytesToHex } from '../../formats/der.ts';
import { pkcs1DigestInfo } from '../../formats/openpgp-packet-builder.ts';
import type { CommandApdu } from '../smartcard/apdu.ts';
import { concat, encodeBerLength, readTlvs, tagBytes, tlv } from '../yubikey-piv/tlv.ts';

/** A card answer that is not what the OpenPGP card specification (v3.4) says it is. */
export class OpenPgpCardFormatError extends KindedError<'openpgp-card-malformed'> {
  readonly name = 'OpenPgpCardFormatError';
  constructor(message: string) {
    super('openpgp-card-malformed', message);
  }
}

/** The application's registered identifier (RID D2 76 00 01 24, application 01). */
export const OPENPGP_AID = Uint8Array.of(0xd2, 0x76, 0x00, 0x01, 0x24, 0x01);
/** Manufacturer id in the full AID: Yubico. */
export const YUBICO_MANUFACTURER = 0x0006;

export const DEFAULT_USER_PIN = '123456';
export const DEFAULT_ADMIN_PIN = '12345678';
export const MIN_USER_PIN_LENGTH = 6;
export const MIN_ADMIN_PIN_LENGTH = 8;
/** PW1, RC and PW3 max lengths as a YubiKey 5 reports them in C4. */
export const MAX_PIN_LENGTH = 127;

export const OpenPgpIns = {
  select: 0xa4,
  getData: 0xca,
  putData: 0xda,
  putDataOdd: 0xdb,
  verify: 0x20,
  changeReference: 0x24,
  resetRetryCounter: 0x2c,
  generateKeyPair: 0x47,
  performSecurityOperation: 0x2a,
  internalAuthenticate: 0x88,
  getChallenge: 0x84,
  getResponse: 0xc0,
  terminate: 0xe6,
  activate: 0x44,
  /** Card spec 3.4 §7.2.5: which occurrence of a DO (7F21) GET/PUT DATA address next. */
  selectData: 0xa5,
  /** Yubico extensions. */
  getVersion: 0xf1,
  setPinRetries: 0xf2,
  /** CLA 80: attest the key in P1's slot (1 SIG, 2 DEC, 3 AUT) into that slot's 7F21 (FW ≥ 5.2). */
  getAttestation: 0xfb,
} as const;

/** Data objects (tags) the ceremony reads or writes. */
export const OpenPgpDo = {
  aid: 0x4f,
  name: 0x5b,
  loginData: 0x5e,
  language: 0x5f2d,
  sex: 0x5f35,
  url: 0x5f50,
  historicalBytes: 0x5f52,
  cardholder: 0x65,
  applicationRelated: 0x6e,
  discretionary: 0x73,
  securitySupport: 0x7a,
  signatureCounter: 0x93,
  extendedLengthInfo: 0x7f66,
  generalFeatures: 0x7f74,
  extendedCapabilities: 0xc0,
  pwStatus: 0xc4,
  fingerprints: 0xc5,
  caFingerprints: 0xc6,
  generationTimes: 0xcd,
  resettingCode: 0xd3,
  keyInformation: 0xde,
  kdf: 0xf9,
  /** One per key slot, chosen with SELECT DATA (occurrence 0 AUT, 1 DEC, 2 SIG). */
  cardholderCertificate: 0x7f21,
  /** Yubico: the card's attestation certificate (the ATT key's), issuer of slot attestations. */
  attestationCertificate: 0xfc,
} as const;

export type CardSlot = 'sign' | 'encrypt' | 'authenticate';
export const cardSlotNames: readonly CardSlot[] = ['sign', 'encrypt', 'authenticate'];

export interface CardSlotFacts {
  /** Control reference template tag that names the slot in GENERATE and key import. */
  crt: number;
  keyRef: number;
  attributesDo: number;
  fingerprintDo: number;
  generationTimeDo: number;
  touchDo: number;
}

export const cardSlots: Record<CardSlot, CardSlotFacts> = {
  sign: {
    crt: 0xb6,
    keyRef: 1,
    attributesDo: 0xc1,
    fingerprintDo: 0xc7,
    generationTimeDo: 0xce,
    touchDo: 0xd6,
  },
  encrypt: {
    crt: 0xb8,
    keyRef: 2,
    attributesDo: 0xc2,
    fingerprintDo: 0xc8,
    generationTimeDo: 0xcf,
    touchDo: 0xd7,
  },
  authenticate: {
    crt: 0xa4,
    keyRef: 3,
    attributesDo: 0xc3,
    fingerprintDo: 0xc9,
    generationTimeDo: 0xd0,
    touchDo: 0xd8,
  },
};

/** Yubico's attestation key (ATT): CRT `B6 {84 81}`, key ref 81, and its own DOs. */
export const attestationSlot = {
  keyRef: 0x81,
  attributesDo: 0xda,
  fingerprintDo: 0xdb,
  generationTimeDo: 0xdd,
  touchDo: 0xd9,
} as const;

/** SELECT DATA's P1 for a slot's cardholder certificate: the occurrence, AUT first (§7.2.5). */
export const certificateOccurrence: Record<CardSlot, number> = {
  authenticate: 0,
  encrypt: 1,
  sign: 2,
};

/**
 * Extensions of a Yubico OpenPGP key attestation (Yubico's OpenPGP attestation OID arc, values
 * DER-encoded): .1 UTF8String, .2 INTEGER (1 generated, 0 imported), .3 OCTET STRING (3 bytes),
 * .4 OCTET STRING (20), .5 OCTET STRING (4, Unix time), .6 and .7 INTEGER, .8 OCTET STRING
 * (the slot's UIF), .9 OCTET STRING (1, as PIV's .3.9).
 */
export const OpenPgpAttestationOid = {
  cardholderName: '1.3.6.1.4.1.41482.5.1',
  keySource: '1.3.6.1.4.1.41482.5.2',
  firmware: '1.3.6.1.4.1.41482.5.3',
  fingerprint: '1.3.6.1.4.1.41482.5.4',
  generationDate: '1.3.6.1.4.1.41482.5.5',
  signatureCounter: '1.3.6.1.4.1.41482.5.6',
  serial: '1.3.6.1.4.1.41482.5.7',
  touchPolicy: '1.3.6.1.4.1.41482.5.8',
  formFactor: '1.3.6.1.4.1.41482.5.9',
} as const;

/** The attestation certificate's subject suffix per slot ("YubiKey OPGP Attestation SIG"). */
export const attestationSlotNames: Record<CardSlot, string> = {
  sign: 'SIG',
  encrypt: 'DEC',
  authenticate: 'AUT',
};

export function cardSlotOfKeyRef(keyRef: number): CardSlot | null {
  return cardSlotNames.find((slot) => cardSlots[slot].keyRef === keyRef) ?? null;
}

export function cardSlotOfCrt(crt: number): CardSlot | null {
  return cardSlotNames.find((slot) => cardSlots[slot].crt === crt) ?? null;
}

/** VERIFY references: PW1 for signing (81), PW1 for everything else (82), PW3 (83). */
export const PinRef = { userForSigning: 0x81, user: 0x82, admin: 0x83 } as const;
export type PinRefCode = (typeof PinRef)[keyof typeof PinRef];

// --- Algorithm attributes -------------------------------------------------------------------

export const AlgorithmId = { rsa: 0x01, ecdh: 0x12, ecdsa: 0x13, eddsa: 0x16 } as const;

export type EccCardAlgorithm =
  'ed25519' | 'x25519' | 'ecdsa-p256' | 'ecdsa-p384' | 'ecdh-p256' | 'ecdh-p384';
/** RSA with e = 65537 in the card spec's standard import format (e, p, q), as a YubiKey 5 takes. */
export type RsaCardAlgorithm = 'rsa2048' | 'rsa3072' | 'rsa4096';
export type CardAlgorithm = EccCardAlgorithm | RsaCardAlgorithm;

export interface CardAlgorithmFacts {
  id: number;
  /** Curve OID bytes, without the DER 06/length. */
  oid: Uint8Array;
  slots: readonly CardSlot[];
  /** Private key length: Ed25519 seed, X25519 scalar, EC scalar. */
  privateLength: number;
  /** Public key as the card answers it: 32 raw bytes, or an uncompressed 04‖X‖Y point. */
  publicLength: number;
}

const OID_ED25519 = Uint8Array.of(0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01);
const OID_X25519 = Uint8Array.of(0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01);
const OID_P256 = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
const OID_P384 = Uint8Array.of(0x2b, 0x81, 0x04, 0x00, 0x22);

export const cardAlgorithms: Record<EccCardAlgorithm, CardAlgorithmFacts> = {
  ed25519: {
    id: AlgorithmId.eddsa,
    oid: OID_ED25519,
    slots: ['sign', 'authenticate'],
    privateLength: 32,
    publicLength: 32,
  },
  x25519: {
    id: AlgorithmId.ecdh,
    oid: OID_X25519,
    slots: ['encrypt'],
    privateLength: 32,
    publicLength: 32,
  },
  'ecdsa-p256': {
    id: AlgorithmId.ecdsa,
    oid: OID_P256,
    slots: ['sign', 'authenticate'],
    privateLength: 32,
    publicLength: 65,
  },
  'ecdsa-p384': {
    id: AlgorithmId.ecdsa,
    oid: OID_P384,
    slots: ['sign', 'authenticate'],
    privateLength: 48,
    publicLength: 97,
  },
  'ecdh-p256': {
    id: AlgorithmId.ecdh,
    oid: OID_P256,
    slots: ['encrypt'],
    privateLength: 32,
    publicLength: 65,
  },
  'ecdh-p384': {
    id: AlgorithmId.ecdh,
    oid: OID_P384,
    slots: ['encrypt'],
    privateLength: 48,
    publicLength: 97,
  },
};

export const eccAlgorithmNames = Object.keys(cardAlgorithms) as EccCardAlgorithm[];

/** Modulus sizes a YubiKey 5 (firmware 4+, non-FIPS) takes; any slot may hold RSA. */
export const rsaAlgorithmBits: Record<RsaCardAlgorithm, number> = {
  rsa2048: 2048,
  rsa3072: 3072,
  rsa4096: 4096,
};

export const rsaAlgorithmNames = Object.keys(rsaAlgorithmBits) as RsaCardAlgorithm[];
export const cardAlgorithmNames: CardAlgorithm[] = [...eccAlgorithmNames, ...rsaAlgorithmNames];

export function isRsaAlgorithm(algorithm: CardAlgorithm): algorithm is RsaCardAlgorithm {
  return algorithm in rsaAlgorithmBits;
}

export function rsaAlgorithmOfBits(bits: number): RsaCardAlgorithm | null {
  return rsaAlgorithmNames.find((name) => rsaAlgorithmBits[name] === bits) ?? null;
}

/** The slots an algorithm may go in: EdDSA/ECDSA sign and authenticate, ECDH decrypts, RSA all. */
export function algorithmSlots(algorithm: CardAlgorithm): readonly CardSlot[] {
  return isRsaAlgorithm(algorithm) ? cardSlotNames : cardAlgorithms[algorithm].slots;
}

/**
 * Algorithm attributes for C1–C3: ECC `id ‖ OID`, plus FF when the import carries the public
 * key; RSA as encodeRsaAttributes writes it.
 */
export function encodeAlgorithmAttributes(
  algorithm: CardAlgorithm,
  withPublicKey = false,
): Uint8Array {
  if (isRsaAlgorithm(algorithm)) return encodeRsaAttributes(rsaAlgorithmBits[algorithm]);
  const facts = cardAlgorithms[algorithm];
  return concat(
    Uint8Array.of(facts.id),
    facts.oid,
    withPublicKey ? Uint8Array.of(0xff) : new Uint8Array(0),
  );
}

/** RSA import formats (card spec 3.4 §4.4.3.10): e,p,q; with n; CRT; CRT with n. */
export const RsaImportFormat = { standard: 0, standardWithModulus: 1, crt: 2, crtWithModulus: 3 };

/**
 * The length of e in bits a YubiKey's RSA attributes carry: 17 (65537). A YubiKey refuses 32,
 * which other cards use (OpenSC issue 1949); ykman writes 17 too.
 */
export const RSA_E_BITS = 17;

/** RSA attributes `01 ‖ n bits ‖ e bits ‖ import format`; a YubiKey's factory default is 2048. */
export function encodeRsaAttributes(
  bits: number,
  importFormat: number = RsaImportFormat.standard,
  eBits = RSA_E_BITS,
): Uint8Array {
  return Uint8Array.of(0x01, bits >> 8, bits & 0xff, eBits >> 8, eBits & 0xff, importFormat);
}

export type AlgorithmAttributes =
  | { kind: 'ecc'; algorithm: EccCardAlgorithm; withPublicKey: boolean }
  | { kind: 'rsa'; bits: number; eBits: number; importFormat: number }
  | { kind: 'unknown'; hex: string };

export function decodeAlgorithmAttributes(bytes: Uint8Array): AlgorithmAttributes {
  const id = bytes[0];
  if (id === AlgorithmId.rsa && bytes.length >= 5) {
    return {
      kind: 'rsa',
      bits: ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0),
      eBits: ((bytes[3] ?? 0) << 8) | (bytes[4] ?? 0),
      importFormat: bytes[5] ?? 0,
    };
  }
  const withPublicKey = bytes.at(-1) === 0xff;
  const oid = bytes.subarray(1, withPublicKey ? -1 : undefined);
  const algorithm = eccAlgorithmNames.find((name) => {
    const facts = cardAlgorithms[name];
    return facts.id === id && bytesToHex(facts.oid) === bytesToHex(oid);
  });
  if (algorithm === undefined) return { kind: 'unknown', hex: bytesToHex(bytes) };
  return { kind: 'ecc', algorithm, withPublicKey };
}

export function attributesText(attributes: AlgorithmAttributes): string {
  switch (attributes.kind) {
    case 'ecc':
      return attributes.algorithm;
    case 'rsa':
      return `rsa${attributes.bits}`;
    case 'unknown':
      return `unknown (${attributes.hex})`;
  }
}

// --- Commands ---------------------------------------------------------------------------------

const ALL = 256;

function command(ins: number, p1: number, p2: number, data?: Uint8Array, ne?: number): CommandApdu {
  return {
    cla: 0x00,
    ins,
    p1,
    p2,
    ...(data === undefined ? {} : { data }),
    ...(ne === undefined ? {} : { ne }),
  };
}

export const selectOpenPgpCommand = (): CommandApdu =>
  command(OpenPgpIns.select, 0x04, 0x00, OPENPGP_AID, ALL);

export const getDataCommand = (tag: number): CommandApdu =>
  command(OpenPgpIns.getData, tag >> 8, tag & 0xff, undefined, ALL);

export const putDataCommand = (tag: number, value: Uint8Array): CommandApdu =>
  command(OpenPgpIns.putData, tag >> 8, tag & 0xff, value);

export const verifyCommand = (ref: PinRefCode, pin: Uint8Array): CommandApdu =>
  command(OpenPgpIns.verify, 0x00, ref, pin);

/** CHANGE REFERENCE DATA for PW1 (81) or PW3 (83): the current value, then the new one. */
export const changeReferenceCommand = (
  ref: typeof PinRef.userForSigning | typeof PinRef.admin,
  current: Uint8Array,
  next: Uint8Array,
): CommandApdu => command(OpenPgpIns.changeReference, 0x00, ref, concat(current, next));

/** RESET RETRY COUNTER of PW1: with the resetting code (P1 00), or after PW3 (P1 02). */
export const resetRetryCounterCommand = (
  newUserPin: Uint8Array,
  resettingCode?: Uint8Array,
): CommandApdu =>
  resettingCode === undefined
    ? command(OpenPgpIns.resetRetryCounter, 0x02, 0x81, newUserPin)
    : command(OpenPgpIns.resetRetryCounter, 0x00, 0x81, concat(resettingCode, newUserPin));

/** The slot's control reference template, empty, as GENERATE and key import name a key. */
export const crtOf = (slot: CardSlot): Uint8Array => tlv(cardSlots[slot].crt);

/** GENERATE ASYMMETRIC KEY PAIR, P1 81: reads the slot's public key without touching it. */
export const readPublicKeyCommand = (slot: CardSlot): CommandApdu =>
  command(OpenPgpIns.generateKeyPair, 0x81, 0x00, crtOf(slot), ALL);

/** GENERATE ASYMMETRIC KEY PAIR, P1 80: a new key on the card (PW3 verified). */
export const generateKeyCommand = (slot: CardSlot): CommandApdu =>
  command(OpenPgpIns.generateKeyPair, 0x80, 0x00, crtOf(slot), ALL);

/** PSO: COMPUTE DIGITAL SIGNATURE: EdDSA gets the data, ECDSA the hash, RSA a DigestInfo. */
export const signCommand = (input: Uint8Array): CommandApdu =>
  command(OpenPgpIns.performSecurityOperation, 0x9e, 0x9a, input, ALL);

export const internalAuthenticateCommand = (input: Uint8Array): CommandApdu =>
  command(OpenPgpIns.internalAuthenticate, 0x00, 0x00, input, ALL);

/** PSO: DECIPHER for ECDH: `A6 { 7F49 { 86 <peer public key> } }`; the answer is the secret. */
export const decipherCommand = (peerPublicKey: Uint8Array): CommandApdu =>
  command(
    OpenPgpIns.performSecurityOperation,
    0x80,
    0x86,
    tlv(0xa6, tlv(0x7f49, tlv(0x86, peerPublicKey))),
    ALL,
  );

/** PSO: DECIPHER for RSA: padding indicator 00, then the ciphertext; the answer is the message. */
export const rsaDecipherCommand = (ciphertext: Uint8Array): CommandApdu =>
  command(
    OpenPgpIns.performSecurityOperation,
    0x80,
    0x86,
    concat(Uint8Array.of(0), ciphertext),
    ALL,
  );

/** Yubico GET VERSION: three firmware bytes. */
export const getVersionCommand = (): CommandApdu =>
  command(OpenPgpIns.getVersion, 0x00, 0x00, undefined, ALL);

/** Yubico SET PIN RETRIES (PW3 verified): PW1, RC and PW3 try counts. */
export const setPinRetriesCommand = (user: number, reset: number, admin: number): CommandApdu =>
  command(OpenPgpIns.setPinRetries, 0x00, 0x00, Uint8Array.of(user, reset, admin));

/** SELECT DATA for the slot's 7F21 (`60 {5C 7F21}`; ykman prefixes a length byte up to 5.4.3). */
export const selectCertificateCommand = (slot: CardSlot): CommandApdu =>
  command(
    OpenPgpIns.selectData,
    certificateOccurrence[slot],
    0x04,
    tlv(0x60, tlv(0x5c, Uint8Array.of(0x7f, 0x21))),
  );

/** Yubico GET ATTESTATION (CLA 80): needs PW1; the certificate then sits in the slot's 7F21. */
export const attestKeyCommand = (slot: CardSlot): CommandApdu => ({
  ...command(OpenPgpIns.getAttestation, cardSlots[slot].keyRef, 0x00),
  cla: 0x80,
});

export const terminateCommand = (): CommandApdu => command(OpenPgpIns.terminate, 0x00, 0x00);
export const activateCommand = (): CommandApdu => command(OpenPgpIns.activate, 0x00, 0x00);

// --- Touch policy (Yubico UIF data objects D6/D7/D8) ----------------------------------------

export type TouchPolicyName = 'off' | 'on' | 'fixed' | 'cached' | 'cached-fixed';

export const touchPolicyCodes: Record<TouchPolicyName, number> = {
  off: 0x00,
  on: 0x01,
  fixed: 0x02,
  cached: 0x03,
  'cached-fixed': 0x04,
};

/** The second UIF byte: the general feature "button" (7F74 bit 0x20). */
export const UIF_BUTTON = 0x20;

export function touchPolicyOf(code: number): TouchPolicyName | null {
  const names = Object.keys(touchPolicyCodes) as TouchPolicyName[];
  return names.find((name) => touchPolicyCodes[name] === code) ?? null;
}

export const setTouchPolicyCommand = (slot: CardSlot, policy: TouchPolicyName): CommandApdu =>
  putDataCommand(cardSlots[slot].touchDo, Uint8Array.of(touchPolicyCodes[policy], UIF_BUTTON));

// --- Key import (extended header list) --------------------------------------------------------

/**
 * Private key template tags: RSA 91 e, 92 p, 93 q (then 94–97 for CRT and n, which the standard
 * format leaves out); ECC 92 private scalar, 99 public key.
 */
export const KeyPart = {
  rsaE: 0x91,
  rsaP: 0x92,
  rsaQ: 0x93,
  eccPrivate: 0x92,
  eccPublic: 0x99,
} as const;

export interface KeyPartValue {
  tag: number;
  value: Uint8Array;
}

/** Big-endian bytes without leading zeros (an MPI's magnitude). */
export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/**
 * The standard-format RSA import parts: e right-justified to the attributes' e length (as GnuPG
 * sends it), p and q each exactly half the modulus. Throws a RangeError when a part does not fit.
 */
export function rsaImportParts(
  bits: number,
  eBits: number,
  e: Uint8Array,
  p: Uint8Array,
  q: Uint8Array,
): KeyPartValue[] {
  const eLength = Math.ceil(eBits / 8);
  const exponent = stripLeadingZeros(e);
  if (exponent.length === 0 || exponent.length > eLength)
    throw new RangeError(`e does not fit in ${eBits} bits`);
  const half = bits / 16;
  if (p.length !== half || q.length !== half || !p[0] || !q[0] || p[0] < 0x80 || q[0] < 0x80)
    throw new RangeError(`p and q are ${bits / 2}-bit primes`);
  return [
    { tag: KeyPart.rsaE, value: concat(new Uint8Array(eLength - exponent.length), exponent) },
    { tag: KeyPart.rsaP, value: p },
    { tag: KeyPart.rsaQ, value: q },
  ];
}

/**
 * PUT DATA (odd) 3FFF's body: `4D { CRT, 7F48 { tag‖length … }, 5F48 { values … } }`. The
 * 7F48 list holds only tags and lengths; the values follow concatenated in 5F48.
 */
export function encodeKeyImport(slot: CardSlot, parts: readonly KeyPartValue[]): Uint8Array {
  const headers = concat(
    ...parts.map((p) => Uint8Array.from([...tagBytes(p.tag), ...encodeBerLength(p.value.length)])),
  );
  const values = concat(...parts.map((p) => p.value));
  return tlv(0x4d, concat(crtOf(slot), tlv(0x7f48, headers), tlv(0x5f48, values)));
}

export const importKeyCommand = (slot: CardSlot, parts: readonly KeyPartValue[]): CommandApdu =>
  command(OpenPgpIns.putDataOdd, 0x3f, 0xff, encodeKeyImport(slot, parts));

/** Reads a key import body back: the slot and its parts; null when it is not one. */
export function decodeKeyImport(
  body: Uint8Array,
): { slot: CardSlot; parts: KeyPartValue[] } | null {
  const [outer] = readTlvs(body);
  if (outer?.tag !== 0x4d) return null;
  const inner = readTlvs(outer.value);
  const crt = inner[0];
  const slot = crt ? cardSlotOfCrt(crt.tag) : null;
  const list = inner.find((t) => t.tag === 0x7f48)?.value;
  const values = inner.find((t) => t.tag === 0x5f48)?.value;
  if (slot === null || !list || !values) return null;
  const parts: KeyPartValue[] = [];
  let offset = 0;
  let valueOffset = 0;
  while (offset < list.length) {
    let tag = list[offset++] ?? 0;
    if ((tag & 0x1f) === 0x1f) tag = (tag << 8) | (list[offset++] ?? 0);
    let length = list[offset++] ?? 0;
    if (length === 0x81) length = list[offset++] ?? 0;
    else if (length === 0x82) {
      length = ((list[offset] ?? 0) << 8) | (list[offset + 1] ?? 0);
      offset += 2;
    }
    if (valueOffset + length > values.length) return null;
    parts.push({ tag, value: values.slice(valueOffset, valueOffset + length) });
    valueOffset += length;
  }
  return valueOffset === values.length ? { slot, parts } : null;
}

// --- Decoders ---------------------------------------------------------------------------------

export interface ApplicationIdentifier {
  hex: string;
  version: [number, number];
  manufacturer: number;
  /** The 4 serial bytes; YubiKeys write the decimal serial there as BCD digits. */
  serialHex: string;
  /** The serial as a number when the bytes are BCD (every YubiKey), else the binary value. */
  serial: number;
}

export function decodeApplicationIdentifier(aid: Uint8Array): ApplicationIdentifier {
  if (aid.length !== 16 || bytesToHex(aid.subarray(0, 6)) !== bytesToHex(OPENPGP_AID))
    throw new OpenPgpCardFormatError('not an OpenPGP application identifier');
  const serialBytes = aid.subarray(10, 14);
  const serialHex = bytesToHex(serialBytes);
  const serial = /^\d+$/.test(serialHex)
    ? Number(serialHex)
    : Buffer.from(serialBytes).readUInt32BE(0);
  return {
    hex: bytesToHex(aid).toUpperCase(),
    version: [aid[6] ?? 0, aid[7] ?? 0],
    manufacturer: ((aid[8] ?? 0) << 8) | (aid[9] ?? 0),
    serialHex,
    serial,
  };
}

/** The full AID a card with `serial` reports: decimal serial digits as BCD, as Yubico does. */
export function encodeApplicationIdentifier(
  serial: number,
  version: [number, number] = [3, 4],
  manufacturer = YUBICO_MANUFACTURER,
): Uint8Array {
  const digits = String(serial).padStart(8, '0');
  if (!/^\d{8}$/.test(digits)) throw new RangeError('serial must have at most 8 digits');
  return concat(
    OPENPGP_AID,
    Uint8Array.of(version[0], version[1], manufacturer >> 8, manufacturer & 0xff),
    Uint8Array.from(Buffer.from(digits, 'hex')),
    Uint8Array.of(0, 0),
  );
}

export interface PwStatus {
  /** C4 byte 0: PW1 stays valid for several signatures (01) or for one (00). */
  userPinValidForSeveralSignatures: boolean;
  maxLength: { user: number; reset: number; admin: number };
  tries: { user: number; reset: number; admin: number };
}

export function decodePwStatus(bytes: Uint8Array): PwStatus {
  if (bytes.length < 7) throw new OpenPgpCardFormatError('PW status is 7 bytes');
  const at = (i: number) => bytes[i] ?? 0;
  return {
    userPinValidForSeveralSignatures: at(0) === 0x01,
    maxLength: { user: at(1) & 0x7f, reset: at(2), admin: at(3) },
    tries: { user: at(4), reset: at(5), admin: at(6) },
  };
}

export function encodePwStatus(status: PwStatus): Uint8Array {
  return Uint8Array.of(
    status.userPinValidForSeveralSignatures ? 0x01 : 0x00,
    status.maxLength.user,
    status.maxLength.reset,
    status.maxLength.admin,
    status.tries.user,
    status.tries.reset,
    status.tries.admin,
  );
}

export type KeyStatus = 'none' | 'generated' | 'imported';
const keyStatusCodes: Record<KeyStatus, number> = { none: 0, generated: 1, imported: 2 };

export function keyStatusCode(status: KeyStatus): number {
  return keyStatusCodes[status];
}

export function keyStatusOf(code: number): KeyStatus {
  if (code === 1) return 'generated';
  if (code === 2) return 'imported';
  return 'none';
}

export interface ExtendedCapabilities {
  flags: number;
  canChangeAttributes: boolean;
  canImportKeys: boolean;
  canChangePwStatus: boolean;
  hasKdf: boolean;
}

export const ExtendedCapabilityFlag = {
  kdf: 0x01,
  aes: 0x02,
  attributesChangeable: 0x04,
  privateUseDos: 0x08,
  pwStatusChangeable: 0x10,
  keyImport: 0x20,
  getChallenge: 0x40,
  secureMessaging: 0x80,
} as const;

export function decodeExtendedCapabilities(bytes: Uint8Array): ExtendedCapabilities {
  const flags = bytes[0] ?? 0;
  return {
    flags,
    canChangeAttributes: (flags & ExtendedCapabilityFlag.attributesChangeable) !== 0,
    canImportKeys: (flags & ExtendedCapabilityFlag.keyImport) !== 0,
    canChangePwStatus: (flags & ExtendedCapabilityFlag.pwStatusChangeable) !== 0,
    hasKdf: (flags & ExtendedCapabilityFlag.kdf) !== 0,
  };
}

export interface ApplicationRelatedData {
  aid: ApplicationIdentifier;
  historicalBytes: Uint8Array | null;
  extendedCapabilities: ExtendedCapabilities;
  attributes: Record<CardSlot, AlgorithmAttributes>;
  pwStatus: PwStatus;
  /** 20-byte v4 fingerprints as hex, null for an all-zero (empty) entry. */
  fingerprints: Record<CardSlot, string | null>;
  /** Unix seconds, null for zero. */
  generationTimes: Record<CardSlot, number | null>;
  keyStatus: Record<CardSlot, KeyStatus>;
  /** UIF DOs when the card lists them in 6E (YubiKey 5), else null. */
  touchPolicies: Record<CardSlot, TouchPolicyName | null> | null;
}

/** 6E holds 73; nothing a card answers nests deeper. Deeper is a hostile answer, refused. */
const MAX_DATA_OBJECT_DEPTH = 4;

/** Every primitive TLV inside a constructed one, descending into 6E, 73, 65 and 7A. */
export function flattenDataObjects(bytes: Uint8Array): Map<number, Uint8Array> {
  const map = new Map<number, Uint8Array>();
  const walk = (value: Uint8Array, depth: number) => {
    if (depth > MAX_DATA_OBJECT_DEPTH) {
      throw new OpenPgpCardFormatError('data objects nested deeper than a card nests them');
    }
    for (const t of readTlvs(value)) {
      if (
        t.tag === OpenPgpDo.applicationRelated ||
        t.tag === OpenPgpDo.discretionary ||
        t.tag === OpenPgpDo.cardholder ||
        t.tag === OpenPgpDo.securitySupport
      )
        walk(t.value, depth + 1);
      else if (!map.has(t.tag)) map.set(t.tag, t.value);
    }
  };
  walk(bytes, 0);
  return map;
}

function required(map: Map<number, Uint8Array>, tag: number): Uint8Array {
  const value = map.get(tag);
  if (value === undefined)
    throw new OpenPgpCardFormatError(`data object ${tag.toString(16)} missing`);
  return value;
}

function perSlot<T>(read: (slot: CardSlot, index: number) => T): Record<CardSlot, T> {
  return {
    sign: read('sign', 0),
    encrypt: read('encrypt', 1),
    authenticate: read('authenticate', 2),
  };
}

/** GET DATA 6E's answer (with or without its 6E wrapper). */
export function decodeApplicationRelated(bytes: Uint8Array): ApplicationRelatedData {
  const map = flattenDataObjects(bytes);
  const fingerprints = required(map, OpenPgpDo.fingerprints);
  const times = required(map, OpenPgpDo.generationTimes);
  const keyInformation = map.get(OpenPgpDo.keyInformation) ?? new Uint8Array(0);
  const keyStatusByRef = new Map<number, number>();
  for (let i = 0; i + 1 < keyInformation.length; i += 2)
    keyStatusByRef.set(keyInformation[i] ?? 0, keyInformation[i + 1] ?? 0);
  const hasTouch = [0xd6, 0xd7, 0xd8].every((tag) => map.has(tag));
  return {
    aid: decodeApplicationIdentifier(required(map, OpenPgpDo.aid)),
    historicalBytes: map.get(OpenPgpDo.historicalBytes) ?? null,
    extendedCapabilities: decodeExtendedCapabilities(required(map, OpenPgpDo.extendedCapabilities)),
    attributes: perSlot((slot) =>
      decodeAlgorithmAttributes(required(map, cardSlots[slot].attributesDo)),
    ),
    pwStatus: decodePwStatus(required(map, OpenPgpDo.pwStatus)),
    fingerprints: perSlot((_, i) => {
      const fpr = fingerprints.subarray(i * 20, i * 20 + 20);
      return fpr.length === 20 && fpr.some((b) => b !== 0) ? bytesToHex(fpr) : null;
    }),
    generationTimes: perSlot((_, i) => {
      const t = times.subarray(i * 4, i * 4 + 4);
      const value = t.length === 4 ? Buffer.from(t).readUInt32BE(0) : 0;
      return value === 0 ? null : value;
    }),
    keyStatus: perSlot((slot) => keyStatusOf(keyStatusByRef.get(cardSlots[slot].keyRef) ?? 0)),
    touchPolicies: hasTouch
      ? perSlot((slot) => touchPolicyOf(map.get(cardSlots[slot].touchDo)?.[0] ?? 0xff))
      : null,
  };
}

export interface CardholderData {
  name: string;
  language: string;
  sex: number | null;
}

export function decodeCardholder(bytes: Uint8Array): CardholderData {
  const map = flattenDataObjects(bytes);
  const text = (tag: number) => new TextDecoder().decode(map.get(tag) ?? new Uint8Array(0));
  const sex = map.get(OpenPgpDo.sex);
  return {
    name: text(OpenPgpDo.name),
    language: text(OpenPgpDo.language),
    sex: sex && sex.length > 0 ? (sex[0] ?? null) : null,
  };
}

/** The 3-byte signature counter from the security support template 7A. */
export function decodeSignatureCounter(bytes: Uint8Array): number {
  const counter = required(flattenDataObjects(bytes), OpenPgpDo.signatureCounter);
  return counter.reduce((n, b) => n * 256 + b, 0);
}

/** The public key in GENERATE's answer, `7F49 { 86 <key> }` (ECC only). */
export function decodePublicKey(bytes: Uint8Array): Uint8Array {
  const key = decodeCardPublicKey(bytes);
  if (key.kind !== 'ecc') throw new OpenPgpCardFormatError('public key has no 86 (ECC point)');
  return key.point;
}

/** A slot's public key: an ECC point (raw 25519 or 04‖X‖Y), or an RSA modulus and exponent. */
export type CardPublicKey =
  { kind: 'ecc'; point: Uint8Array } | { kind: 'rsa'; modulus: Uint8Array; exponent: Uint8Array };

/** GENERATE's answer: `7F49 { 86 point }` (ECC) or `7F49 { 81 n, 82 e }` (RSA). */
export function decodeCardPublicKey(bytes: Uint8Array): CardPublicKey {
  const [outer] = readTlvs(bytes);
  if (outer?.tag !== 0x7f49) throw new OpenPgpCardFormatError('public key template 7F49 missing');
  const inner = readTlvs(outer.value);
  const point = inner.find((t) => t.tag === 0x86)?.value;
  if (point) return { kind: 'ecc', point };
  const modulus = inner.find((t) => t.tag === 0x81)?.value;
  const exponent = inner.find((t) => t.tag === 0x82)?.value;
  if (!modulus || !exponent)
    throw new OpenPgpCardFormatError('public key has neither 86 (ECC) nor 81 and 82 (RSA)');
  return { kind: 'rsa', modulus, exponent };
}

/** The RSA public key template `7F49 { 81 n, 82 e }` a card answers GENERATE with. */
export function encodeRsaPublicKey(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  return tlv(0x7f49, concat(tlv(0x81, modulus), tlv(0x82, exponent)));
}

/**
 * The longest PSO:CDS / INTERNAL AUTHENTICATE input an RSA key takes: 40% of the modulus
 * (card spec 3.4 §7.2.10), room for a DigestInfo and the PKCS#1 padding.
 */
export function maxRsaSignInput(bits: number): number {
  return Math.floor((bits / 8) * 0.4);
}

export type DigestInfoHash = 'sha256' | 'sha384' | 'sha512';

const DIGEST_LENGTH: Record<DigestInfoHash, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** The PKCS#1 v1.5 DigestInfo an RSA card signs: the hash's DER prefix, then the digest. */
export function digestInfo(hash: DigestInfoHash, digest: Uint8Array): Uint8Array {
  const length = DIGEST_LENGTH[hash];
  if (digest.length !== length) throw new RangeError(`a ${hash} digest is ${length} bytes`);
  return pkcs1DigestInfo(hash, digest);
}

/** Yubico GET VERSION's three bytes. */
export function decodeVersion(bytes: Uint8Array): [number, number, number] {
  if (bytes.length < 3) throw new OpenPgpCardFormatError('version is three bytes');
  return [bytes[0] ?? 0, bytes[1] ?? 0, bytes[2] ?? 0];
}

/** A generation time as the card keeps it: 4 bytes big-endian Unix seconds. */
export function encodeGenerationTime(seconds: number): Uint8Array {
  const out = new Uint8Array(4);
  Buffer.from(out.buffer).writeUInt32BE(seconds >>> 0, 0);
  return out;
}
