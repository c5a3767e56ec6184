// The PIV applet (NIST SP 800-73) with Yubico's extensions: instruction codes, slots, data
// objects, algorithms, policies and the TLV shapes of each command and answer. Pure: commands
// are built as CommandApdu values and answers decoded from bytes; the driver sends them.
// See ../shared/reference/piv-attestation.md for the sources.
import { KindedError } from '../../base/errors.ts';
import { hexToBytes } from '../../formats/der.ts';
import type { CommandApdu } from '../smartcard/apdu.ts';
import { concat, tlv, tlvMap, unwrapTlv } from './tlv.ts';

/** PIV application identifier (the first 9 bytes select any version). */
export const PIV_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x03, 0x08);
/** Yubico management application: device serial, version, form factor. */
export const MANAGEMENT_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17);
/** Yubico OTP application: older tools read the serial from here. */
export const OTP_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01);

export const PivIns = {
  select: 0xa4,
  getData: 0xcb,
  putData: 0xdb,
  verify: 0x20,
  changeReference: 0x24,
  resetRetryCounter: 0x2c,
  generateAsymmetric: 0x47,
  generalAuthenticate: 0x87,
  getResponse: 0xc0,
  // Yubico extensions
  setManagementKey: 0xff,
  importKey: 0xfe,
  getVersion: 0xfd,
  reset: 0xfb,
  setPinRetries: 0xfa,
  attest: 0xf9,
  getSerial: 0xf8,
  getMetadata: 0xf7,
  moveKey: 0xf6,
} as const;

/** Key references: P2 of VERIFY / CHANGE REFERENCE, and P2 of GENERAL AUTHENTICATE etc. */
export const PivKeyRef = { pin: 0x80, puk: 0x81, managementKey: 0x9b } as const;

export const PivSlot = {
  authentication: 0x9a,
  signature: 0x9c,
  keyManagement: 0x9d,
  cardAuthentication: 0x9e,
  attestation: 0xf9,
} as const;
export type PivSlotNumber = number;

/** Certificate data objects of the key slots; retired slots 82–95 map to 5FC10D–5FC120. */
export function certificateObjectOf(slot: PivSlotNumber): number {
  if (slot === PivSlot.authentication) return 0x5fc105;
  if (slot === PivSlot.signature) return 0x5fc10a;
  if (slot === PivSlot.keyManagement) return 0x5fc10b;
  if (slot === PivSlot.cardAuthentication) return 0x5fc101;
  if (slot === PivSlot.attestation) return 0x5fff01;
  if (slot >= 0x82 && slot <= 0x95) return 0x5fc10d + (slot - 0x82);
  throw new RangeError(`slot ${slot.toString(16)} has no certificate object`);
}

export const PivObject = {
  chuid: 0x5fc102,
  ccc: 0x5fc107,
  securityObject: 0x5fc106,
  /** Printed information: Yubico tools keep the PIN-protected management key here. */
  printed: 0x5fc109,
  discovery: 0x7e,
  keyHistory: 0x5fc10c,
  /** Yubico's admin data: flags saying the management key is PIN-protected, PUK blocked. */
  adminData: 0x5fff00,
  attestationCertificate: 0x5fff01,
} as const;

/** Algorithm identifiers (GENERATE `80`, metadata `01`, GENERAL AUTHENTICATE P1). */
export const PivAlgorithm = {
  tdes: 0x03,
  aes128: 0x08,
  aes192: 0x0a,
  aes256: 0x0c,
  rsa1024: 0x06,
  rsa2048: 0x07,
  rsa3072: 0x05,
  rsa4096: 0x16,
  eccP256: 0x11,
  eccP384: 0x14,
  ed25519: 0xe0,
  x25519: 0xe1,
} as const;

export type ManagementKeyAlgorithm = 'TDES' | 'AES128' | 'AES192' | 'AES256';
export const managementKeyAlgorithms: Record<
  ManagementKeyAlgorithm,
  { code: number; keyLength: number; blockLength: number }
> = {
  TDES: { code: PivAlgorithm.tdes, keyLength: 24, blockLength: 8 },
  AES128: { code: PivAlgorithm.aes128, keyLength: 16, blockLength: 16 },
  AES192: { code: PivAlgorithm.aes192, keyLength: 24, blockLength: 16 },
  AES256: { code: PivAlgorithm.aes256, keyLength: 32, blockLength: 16 },
};

export type PivKeyAlgorithm = 'ECCP256' | 'ECCP384' | 'ED25519';
export const pivKeyAlgorithms: Record<
  PivKeyAlgorithm,
  { code: number; curve: 'P-256' | 'P-384' | 'Ed25519'; minFirmware: [number, number, number] }
> = {
  ECCP256: { code: PivAlgorithm.eccP256, curve: 'P-256', minFirmware: [4, 0, 0] },
  ECCP384: { code: PivAlgorithm.eccP384, curve: 'P-384', minFirmware: [4, 0, 0] },
  ED25519: { code: PivAlgorithm.ed25519, curve: 'Ed25519', minFirmware: [5, 7, 0] },
};

export const PinPolicy = {
  default: 0,
  never: 1,
  once: 2,
  always: 3,
  matchOnce: 4,
  matchAlways: 5,
} as const;
export type PinPolicyName = keyof typeof PinPolicy;

export const TouchPolicy = { default: 0, never: 1, always: 2, cached: 3 } as const;
export type TouchPolicyName = keyof typeof TouchPolicy;

export function policyName<T extends Record<string, number>>(
  table: T,
  code: number,
): keyof T | undefined {
  return (Object.keys(table) as (keyof T)[]).find((k) => table[k] === code);
}

export const DEFAULT_PIN = '123456';
export const DEFAULT_PUK = '12345678';
export const DEFAULT_MANAGEMENT_KEY = hexToBytes(
  '010203040506070801020304050607080102030405060708',
);

/** GET METADATA answer tags (firmware 5.3+). */
export const MetadataTag = {
  algorithm: 0x01,
  policy: 0x02,
  origin: 0x03,
  publicKey: 0x04,
  isDefault: 0x05,
  retries: 0x06,
} as const;

/** Yubico PIV attestation certificate extensions (arc 1.3.6.1.4.1.41482.3). */
export const PivAttestationOid = {
  firmware: '1.3.6.1.4.1.41482.3.3',
  serial: '1.3.6.1.4.1.41482.3.7',
  policy: '1.3.6.1.4.1.41482.3.8',
  formFactor: '1.3.6.1.4.1.41482.3.9',
  fips: '1.3.6.1.4.1.41482.3.10',
  cspn: '1.3.6.1.4.1.41482.3.11',
} as const;

// ---- Commands (host side) ----

export class PivFormatError extends KindedError<'piv-malformed'> {
  readonly name = 'PivFormatError';
  constructor(message: string) {
    super('piv-malformed', message);
  }
}

const ALL = 256;
const pivCommand = (ins: number, p1: number, p2: number, data?: Uint8Array, ne = 0): CommandApdu =>
  data === undefined ? { cla: 0, ins, p1, p2, ne } : { cla: 0, ins, p1, p2, data, ne };

export const selectApplication = (aid: Uint8Array): CommandApdu =>
  pivCommand(PivIns.select, 0x04, 0x00, aid, ALL);

export const getVersionCommand = (): CommandApdu =>
  pivCommand(PivIns.getVersion, 0, 0, undefined, ALL);
export const getSerialCommand = (): CommandApdu =>
  pivCommand(PivIns.getSerial, 0, 0, undefined, ALL);
export const getMetadataCommand = (slot: number): CommandApdu =>
  pivCommand(PivIns.getMetadata, 0, slot, undefined, ALL);

export function decodeVersion(data: Uint8Array): [number, number, number] {
  if (data.length !== 3) throw new PivFormatError('version answer is not 3 bytes');
  return [data[0] ?? 0, data[1] ?? 0, data[2] ?? 0];
}

export function decodeSerial(data: Uint8Array): number {
  if (data.length !== 4) throw new PivFormatError('serial answer is not 4 bytes');
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
}

export function firmwareAtLeast(
  firmware: readonly [number, number, number],
  minimum: readonly [number, number, number],
): boolean {
  for (let i = 0; i < 3; i++) {
    const a = firmware[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

export interface SlotMetadata {
  algorithm: number;
  pinPolicy?: number;
  touchPolicy?: number;
  /** 1 generated on the device, 2 imported. */
  origin?: number;
  publicKey?: Uint8Array;
  isDefault?: boolean;
  retries?: { total: number; remaining: number };
}

export function decodeMetadata(data: Uint8Array): SlotMetadata {
  const fields = tlvMap(data);
  const algorithm = fields.get(MetadataTag.algorithm)?.[0];
  if (algorithm === undefined) throw new PivFormatError('metadata without an algorithm');
  const metadata: SlotMetadata = { algorithm };
  const policy = fields.get(MetadataTag.policy);
  if (policy && policy.length === 2) {
    metadata.pinPolicy = policy[0] ?? 0;
    metadata.touchPolicy = policy[1] ?? 0;
  }
  const origin = fields.get(MetadataTag.origin);
  if (origin?.length === 1) metadata.origin = origin[0] ?? 0;
  const publicKey = fields.get(MetadataTag.publicKey);
  if (publicKey) metadata.publicKey = publicKey;
  const isDefault = fields.get(MetadataTag.isDefault);
  if (isDefault?.length === 1) metadata.isDefault = isDefault[0] === 1;
  const retries = fields.get(MetadataTag.retries);
  if (retries?.length === 2)
    metadata.retries = { total: retries[0] ?? 0, remaining: retries[1] ?? 0 };
  return metadata;
}

/** PINs and PUKs are 6–8 ASCII characters, padded with FF to 8 bytes on the wire. */
export function padPin(pin: Uint8Array): Uint8Array {
  if (pin.length < 6 || pin.length > 8)
    throw new PivFormatError('a PIN or PUK has 6 to 8 characters');
  if (pin.some((b) => b < 0x20 || b > 0x7e))
    throw new PivFormatError('a PIN or PUK is printable ASCII');
  const out = new Uint8Array(8).fill(0xff);
  out.set(pin);
  return out;
}

/** VERIFY with no data asks for the tries left without spending one. */
export const pinTriesQueryCommand = (): CommandApdu => pivCommand(PivIns.verify, 0, PivKeyRef.pin);
export const verifyPinCommand = (pin: Uint8Array): CommandApdu =>
  pivCommand(PivIns.verify, 0, PivKeyRef.pin, padPin(pin));
export const changeReferenceCommand = (
  reference: typeof PivKeyRef.pin | typeof PivKeyRef.puk,
  current: Uint8Array,
  next: Uint8Array,
): CommandApdu =>
  pivCommand(PivIns.changeReference, 0, reference, concat(padPin(current), padPin(next)));
export const unblockPinCommand = (puk: Uint8Array, newPin: Uint8Array): CommandApdu =>
  pivCommand(PivIns.resetRetryCounter, 0, PivKeyRef.pin, concat(padPin(puk), padPin(newPin)));
export const setPinRetriesCommand = (pinTries: number, pukTries: number): CommandApdu =>
  pivCommand(PivIns.setPinRetries, pinTries, pukTries);
export const resetCommand = (): CommandApdu => pivCommand(PivIns.reset, 0, 0);

// GENERAL AUTHENTICATE's dynamic authentication template and its parts.
export const DynAuth = { template: 0x7c, witness: 0x80, challenge: 0x81, response: 0x82 } as const;

/** Step 1 of management-key authentication: ask the card for an encrypted witness. */
export const witnessRequestCommand = (algorithm: number): CommandApdu =>
  pivCommand(
    PivIns.generalAuthenticate,
    algorithm,
    PivKeyRef.managementKey,
    tlv(DynAuth.template, tlv(DynAuth.witness)),
    ALL,
  );

/** Step 2: the decrypted witness proves we hold the key; our challenge asks the card to. */
export const mutualAuthCommand = (
  algorithm: number,
  decryptedWitness: Uint8Array,
  challenge: Uint8Array,
): CommandApdu =>
  pivCommand(
    PivIns.generalAuthenticate,
    algorithm,
    PivKeyRef.managementKey,
    tlv(
      DynAuth.template,
      concat(tlv(DynAuth.witness, decryptedWitness), tlv(DynAuth.challenge, challenge)),
    ),
    ALL,
  );

/** The value under 7C → `tag` in a GENERAL AUTHENTICATE answer. */
export function dynAuthField(data: Uint8Array, tag: number): Uint8Array {
  const field = tlvMap(unwrapTlv(data, DynAuth.template)).get(tag);
  if (!field)
    throw new PivFormatError(`GENERAL AUTHENTICATE answer without tag ${tag.toString(16)}`);
  return field;
}

/** Signs `message` (a digest for EC, the whole message for Ed25519) with the key in `slot`. */
export const signCommand = (algorithm: number, slot: number, message: Uint8Array): CommandApdu =>
  pivCommand(
    PivIns.generalAuthenticate,
    algorithm,
    slot,
    tlv(DynAuth.template, concat(tlv(DynAuth.response), tlv(DynAuth.challenge, message))),
    ALL,
  );

export const setManagementKeyCommand = (
  algorithm: ManagementKeyAlgorithm,
  key: Uint8Array,
  requireTouch: boolean,
): CommandApdu => {
  const facts = managementKeyAlgorithms[algorithm];
  if (key.length !== facts.keyLength)
    throw new PivFormatError(`${algorithm} keys are ${facts.keyLength} bytes`);
  return pivCommand(
    PivIns.setManagementKey,
    0xff,
    requireTouch ? 0xfe : 0xff,
    concat(Uint8Array.of(facts.code, PivKeyRef.managementKey, key.length), key),
  );
};

export const generateKeyCommand = (
  slot: number,
  algorithm: PivKeyAlgorithm,
  pinPolicy: PinPolicyName,
  touchPolicy: TouchPolicyName,
): CommandApdu => {
  const template = [tlv(0x80, Uint8Array.of(pivKeyAlgorithms[algorithm].code))];
  if (pinPolicy !== 'default') template.push(tlv(0xaa, Uint8Array.of(PinPolicy[pinPolicy])));
  if (touchPolicy !== 'default') template.push(tlv(0xab, Uint8Array.of(TouchPolicy[touchPolicy])));
  return pivCommand(PivIns.generateAsymmetric, 0, slot, tlv(0xac, concat(...template)), ALL);
};

/** The public key from GENERATE: an uncompressed EC point, or 32 raw bytes for Ed25519. */
export function decodeGeneratedPublicKey(data: Uint8Array): Uint8Array {
  const point = tlvMap(unwrapTlv(data, 0x7f49)).get(0x86);
  if (!point) throw new PivFormatError('GENERATE answer without an EC point');
  return point;
}

const objectIdBytes = (objectId: number): Uint8Array =>
  objectId > 0xffff
    ? Uint8Array.of(objectId >> 16, (objectId >> 8) & 0xff, objectId & 0xff)
    : objectId > 0xff
      ? Uint8Array.of(objectId >> 8, objectId & 0xff)
      : Uint8Array.of(objectId);

export const getDataCommand = (objectId: number): CommandApdu =>
  pivCommand(PivIns.getData, 0x3f, 0xff, tlv(0x5c, objectIdBytes(objectId)), ALL);

/** PUT DATA of one object; `contents` goes inside the 53 wrapper. */
export const putDataCommand = (objectId: number, contents: Uint8Array): CommandApdu =>
  pivCommand(
    PivIns.putData,
    0x3f,
    0xff,
    concat(tlv(0x5c, objectIdBytes(objectId)), tlv(0x53, contents)),
  );

/** A certificate object's contents: 70 certificate, 71 info (0 = not compressed), FE LRC. */
export function certificateObject(der: Uint8Array): Uint8Array {
  return concat(tlv(0x70, der), tlv(0x71, Uint8Array.of(0)), tlv(0xfe));
}

export function decodeCertificateObject(data: Uint8Array): Uint8Array {
  const fields = tlvMap(unwrapTlv(data, 0x53));
  const certificate = fields.get(0x70);
  if (!certificate) throw new PivFormatError('certificate object without a certificate');
  if ((fields.get(0x71)?.[0] ?? 0) !== 0)
    throw new PivFormatError('compressed certificates are not supported');
  return certificate;
}

export const attestCommand = (slot: number): CommandApdu =>
  pivCommand(PivIns.attest, slot, 0, undefined, ALL);

// Yubico's "PIN-protected management key", as ykman and yubico-piv-tool keep it: a flag in the
// admin data object (5FFF00: 80{81 flags}) and the key in the printed object (5FC109: 88{89 key}).
export const ADMIN_FLAG_PUK_BLOCKED = 0x01;
export const ADMIN_FLAG_MANAGEMENT_KEY_PROTECTED = 0x02;

export function adminDataContents(flags: number): Uint8Array {
  return tlv(0x80, tlv(0x81, Uint8Array.of(flags)));
}

export function decodeAdminFlags(data: Uint8Array): number {
  const inner = tlvMap(unwrapTlv(data, 0x53)).get(0x80);
  if (!inner) return 0;
  return tlvMap(inner).get(0x81)?.[0] ?? 0;
}

export function protectedManagementKeyContents(key: Uint8Array): Uint8Array {
  return tlv(0x88, tlv(0x89, key));
}

export function decodeProtectedManagementKey(data: Uint8Array): Uint8Array | null {
  const inner = tlvMap(unwrapTlv(data, 0x53)).get(0x88);
  if (!inner) return null;
  return tlvMap(inner).get(0x89) ?? null;
}
