// YubiHSM 2 native command protocol: frames, command payloads, error codes, capability and domain
// masks. Pure functions only; the session crypto is in secure-channel.ts, I/O in transport.ts.
// Layouts follow ../shared/reference/yubihsm2-protocol.md (§2–§9); integers are big-endian.
import { KindedError } from '../../base/errors.ts';
import { concatBytes } from '../../formats/der.ts';

export const YUBIHSM_VENDOR_ID = 0x1050;
export const YUBIHSM_PRODUCT_ID = 0x0030;
/** Whole frame incl. header: 2048 bytes before firmware 2.4.0, 3136 from 2.4.0. */
export const MAX_FRAME_LEGACY = 2048;
export const MAX_FRAME_2_4 = 3136;
export const LABEL_LENGTH = 40;
export const DEFAULT_AUTH_KEY_ID = 1;
export const DEFAULT_PASSWORD = 'password';
/** The device drops a session after 30 s without a command. */
export const SESSION_IDLE_MS = 30_000;

export const CommandCode = {
  echo: 0x01,
  createSession: 0x03,
  authenticateSession: 0x04,
  sessionMessage: 0x05,
  getDeviceInfo: 0x06,
  resetDevice: 0x08,
  getDevicePublicKey: 0x0a,
  closeSession: 0x40,
  getStorageInfo: 0x41,
  putOpaque: 0x42,
  getOpaque: 0x43,
  putAuthenticationKey: 0x44,
  generateAsymmetricKey: 0x46,
  signPkcs1: 0x47,
  listObjects: 0x48,
  getLogEntries: 0x4d,
  getObjectInfo: 0x4e,
  getOption: 0x50,
  getPseudoRandom: 0x51,
  signHmac: 0x53,
  getPublicKey: 0x54,
  signPss: 0x55,
  signEcdsa: 0x56,
  deleteObject: 0x58,
  generateHmacKey: 0x5a,
  generateWrapKey: 0x5b,
  verifyHmac: 0x5c,
  signAttestationCertificate: 0x64,
  setLogIndex: 0x67,
  signEddsa: 0x6a,
  blinkDevice: 0x6b,
  changeAuthenticationKey: 0x6c,
  error: 0x7f,
} as const;
export type CommandName = keyof typeof CommandCode;

export const commandNames: ReadonlyMap<number, CommandName> = new Map(
  Object.entries(CommandCode).map(([name, code]) => [code, name as CommandName]),
);

export const deviceErrors = {
  0x00: 'ok',
  0x01: 'invalid-command',
  0x02: 'invalid-data',
  0x03: 'invalid-session',
  0x04: 'authentication-failed',
  0x05: 'sessions-full',
  0x06: 'session-failed',
  0x07: 'storage-failed',
  0x08: 'wrong-length',
  0x09: 'insufficient-permissions',
  0x0a: 'log-full',
  0x0b: 'object-not-found',
  0x0c: 'invalid-id',
  0x0e: 'ssh-ca-constraint-violation',
  0x0f: 'invalid-otp',
  0x10: 'demo-mode',
  0x11: 'object-exists',
  0x12: 'algorithm-disabled',
  0xff: 'command-unexecuted',
} as const satisfies Record<number, string>;
export type DeviceErrorName = (typeof deviceErrors)[keyof typeof deviceErrors] | 'unknown';

export function deviceErrorName(code: number): DeviceErrorName {
  return (deviceErrors as Record<number, DeviceErrorName>)[code] ?? 'unknown';
}

export function deviceErrorCode(name: Exclude<DeviceErrorName, 'unknown'>): number {
  for (const [code, n] of Object.entries(deviceErrors)) if (n === name) return Number(code);
  throw new Error(`no device error named ${name}`);
}

/**
 * An error frame (7F 00 01 code) from the device, outer or inside a session: `kind` names the
 * code, `deviceCode` keeps the device's own byte.
 */
export class YubiHsmDeviceError extends KindedError<DeviceErrorName> {
  readonly name = 'YubiHsmDeviceError';
  constructor(
    readonly deviceCode: number,
    readonly command: number,
  ) {
    const kind = deviceErrorName(deviceCode);
    super(
      kind,
      `YubiHSM refused ${commandNames.get(command) ?? `command 0x${command.toString(16)}`}: ${kind}`,
    );
  }
}

/** A frame or payload that does not have the documented shape. */
export class YubiHsmProtocolError extends KindedError<'frame-malformed'> {
  readonly name = 'YubiHsmProtocolError';
  constructor(message: string) {
    super('frame-malformed', message);
  }
}

// ---- frames ----------------------------------------------------------------------------------

export interface Frame {
  command: number;
  payload: Uint8Array;
}

export function encodeFrame(command: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (payload.length > 0xffff) throw new YubiHsmProtocolError('payload longer than 65535 bytes');
  const out = new Uint8Array(3 + payload.length);
  out[0] = command;
  out[1] = payload.length >> 8;
  out[2] = payload.length & 0xff;
  out.set(payload, 3);
  return out;
}

/** Reads one frame; bytes after its declared length (CBC padding inside a session) are ignored. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < 3) throw new YubiHsmProtocolError('frame shorter than its 3-byte header');
  const length = ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
  if (bytes.length < 3 + length) throw new YubiHsmProtocolError('frame shorter than its length');
  return { command: bytes[0] ?? 0, payload: bytes.slice(3, 3 + length) };
}

export function errorFrame(code: number): Uint8Array {
  return encodeFrame(CommandCode.error, Uint8Array.of(code));
}

/** The payload of a response to `command`, or the device's error as a YubiHsmDeviceError. */
export function responsePayload(command: number, response: Uint8Array): Uint8Array {
  const frame = decodeFrame(response);
  if (frame.command === CommandCode.error) {
    if (frame.payload.length !== 1) throw new YubiHsmProtocolError('error frame without one code');
    throw new YubiHsmDeviceError(frame.payload[0] ?? 0, command);
  }
  if (frame.command !== (command | 0x80)) {
    throw new YubiHsmProtocolError(
      `response 0x${frame.command.toString(16)} does not answer command 0x${command.toString(16)}`,
    );
  }
  return frame.payload;
}

// ---- field codecs ------------------------------------------------------------------------------

export function u16(value: number): Uint8Array {
  return Uint8Array.of((value >> 8) & 0xff, value & 0xff);
}

export function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

class PayloadReader {
  #offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}
  take(length: number): Uint8Array {
    if (this.#offset + length > this.bytes.length) {
      throw new YubiHsmProtocolError(`${this.what}: payload truncated`);
    }
    const part = this.bytes.slice(this.#offset, this.#offset + length);
    this.#offset += length;
    return part;
  }
  u8(): number {
    return this.take(1)[0] ?? 0;
  }
  u16(): number {
    const b = this.take(2);
    return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  }
  u32(): number {
    return new DataView(this.take(4).buffer).getUint32(0);
  }
  u64(): bigint {
    return new DataView(this.take(8).buffer).getBigUint64(0);
  }
  get remaining(): number {
    return this.bytes.length - this.#offset;
  }
  rest(): Uint8Array {
    return this.take(this.bytes.length - this.#offset);
  }
  end(): void {
    if (this.#offset !== this.bytes.length) {
      throw new YubiHsmProtocolError(`${this.what}: unexpected trailing bytes`);
    }
  }
}

/** Labels are 40 bytes of UTF-8, zero-padded; longer labels are refused, never cut. */
export function encodeLabel(label: string): Uint8Array {
  const utf8 = new TextEncoder().encode(label);
  if (utf8.length > LABEL_LENGTH) {
    throw new YubiHsmProtocolError(`label "${label}" is longer than ${LABEL_LENGTH} bytes`);
  }
  const out = new Uint8Array(LABEL_LENGTH);
  out.set(utf8);
  return out;
}

export function decodeLabel(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

// ---- capabilities, domains, object types, algorithms -------------------------------------------

/** yubihsm-shell spellings; index = bit number in the 64-bit mask. */
export const capabilityNames = [
  'get-opaque',
  'put-opaque',
  'put-authentication-key',
  'put-asymmetric-key',
  'generate-asymmetric-key',
  'sign-pkcs',
  'sign-pss',
  'sign-ecdsa',
  'sign-eddsa',
  'decrypt-pkcs',
  'decrypt-oaep',
  'derive-ecdh',
  'export-wrapped',
  'import-wrapped',
  'put-wrap-key',
  'generate-wrap-key',
  'exportable-under-wrap',
  'set-option',
  'get-option',
  'get-pseudo-random',
  'put-mac-key',
  'generate-hmac-key',
  'sign-hmac',
  'verify-hmac',
  'get-log-entries',
  'sign-ssh-certificate',
  'get-template',
  'put-template',
  'reset-device',
  'decrypt-otp',
  'create-otp-aead',
  'randomize-otp-aead',
  'rewrap-from-otp-aead-key',
  'rewrap-to-otp-aead-key',
  'sign-attestation-certificate',
  'put-otp-aead-key',
  'generate-otp-aead-key',
  'wrap-data',
  'unwrap-data',
  'delete-opaque',
  'delete-authentication-key',
  'delete-asymmetric-key',
  'delete-wrap-key',
  'delete-hmac-key',
  'delete-template',
  'delete-otp-aead-key',
  'change-authentication-key',
  'put-symmetric-key',
  'generate-symmetric-key',
  'delete-symmetric-key',
  'decrypt-ecb',
  'encrypt-ecb',
  'decrypt-cbc',
  'encrypt-cbc',
  'put-public-wrap-key',
  'delete-public-wrap-key',
] as const;
export type Capability = (typeof capabilityNames)[number];

export function isCapability(name: string): name is Capability {
  return (capabilityNames as readonly string[]).includes(name);
}

export function capabilityMask(capabilities: readonly Capability[]): bigint {
  let mask = 0n;
  for (const name of capabilities) mask |= 1n << BigInt(capabilityNames.indexOf(name));
  return mask;
}

/** Names of the set bits; bits with no known name come back as `bit-<n>`. */
export function capabilitiesOf(mask: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) names.push(capabilityNames[bit] ?? `bit-${bit}`);
  }
  return names;
}

export const ALL_CAPABILITIES = (1n << BigInt(capabilityNames.length)) - 1n;
export const ALL_DOMAINS = 0xffff;

/** Domains 1–16 ↔ bits 0–15. */
export function domainMask(domains: readonly number[]): number {
  let mask = 0;
  for (const domain of domains) {
    if (!Number.isInteger(domain) || domain < 1 || domain > 16) {
      throw new YubiHsmProtocolError(`domain ${domain} is not in 1–16`);
    }
    mask |= 1 << (domain - 1);
  }
  return mask;
}

export function domainsOf(mask: number): number[] {
  const domains: number[] = [];
  for (let bit = 0; bit < 16; bit++) if (mask & (1 << bit)) domains.push(bit + 1);
  return domains;
}

export const ObjectType = {
  opaque: 0x01,
  authenticationKey: 0x02,
  asymmetricKey: 0x03,
  wrapKey: 0x04,
  hmacKey: 0x05,
  template: 0x06,
  otpAeadKey: 0x07,
  symmetricKey: 0x08,
  publicWrapKey: 0x09,
} as const;
export type ObjectTypeName = keyof typeof ObjectType;

export const Algorithm = {
  rsaPkcs1Sha1: 1,
  rsaPkcs1Sha256: 2,
  rsaPkcs1Sha384: 3,
  rsaPkcs1Sha512: 4,
  rsaPssSha1: 5,
  rsaPssSha256: 6,
  rsaPssSha384: 7,
  rsaPssSha512: 8,
  rsa2048: 9,
  rsa3072: 10,
  rsa4096: 11,
  ecp256: 12,
  ecp384: 13,
  ecp521: 14,
  eck256: 15,
  hmacSha1: 19,
  hmacSha256: 20,
  hmacSha384: 21,
  hmacSha512: 22,
  aes128CcmWrap: 29,
  opaqueData: 30,
  opaqueX509Certificate: 31,
  mgf1Sha1: 32,
  mgf1Sha256: 33,
  mgf1Sha384: 34,
  mgf1Sha512: 35,
  aes128YubicoAuthentication: 38,
  aes192CcmWrap: 41,
  aes256CcmWrap: 42,
  ed25519: 46,
  ecp256YubicoAuthentication: 49,
} as const;

/** Key algorithms a ceremony generates, by the curve names the rest of Vigil uses. */
export const keyAlgorithmOfCurve = {
  'P-256': Algorithm.ecp256,
  'P-384': Algorithm.ecp384,
  Ed25519: Algorithm.ed25519,
} as const;
export type CeremonyCurve = keyof typeof keyAlgorithmOfCurve;

export function curveOfAlgorithm(algorithm: number): CeremonyCurve | null {
  for (const [curve, code] of Object.entries(keyAlgorithmOfCurve)) {
    if (code === algorithm) return curve as CeremonyCurve;
  }
  return null;
}

/** Raw public key lengths in GET_PUBLIC_KEY (X‖Y without 04 for EC). */
export const publicKeyLength: Record<CeremonyCurve, number> = {
  'P-256': 64,
  'P-384': 96,
  Ed25519: 32,
};

/** RSA key sizes by algorithm: the device keeps 65537 as every RSA key's public exponent. */
export const rsaBitsOfAlgorithm: Readonly<Record<number, number>> = {
  [Algorithm.rsa2048]: 2048,
  [Algorithm.rsa3072]: 3072,
  [Algorithm.rsa4096]: 4096,
};

export function rsaBitsOf(algorithm: number): number | null {
  return rsaBitsOfAlgorithm[algorithm] ?? null;
}

export const Origin = { generated: 0x01, imported: 0x02, importedWrapped: 0x10 } as const;

export function originNames(origin: number): string[] {
  const names: string[] = [];
  if (origin & Origin.generated) names.push('generated');
  if (origin & Origin.imported) names.push('imported');
  if (origin & Origin.importedWrapped) names.push('imported-wrapped');
  return names;
}

// ---- device-level answers: info pages, device public key, storage, options ----------------------

/** GET_DEVICE_INFO pages: no page byte or 0 is the info above; 1 (firmware 2.4+) the part number. */
export const DeviceInfoPage = { info: 0, partNumber: 1 } as const;

/** The page a GET_DEVICE_INFO request asks for: older clients send no page byte at all. */
export function deviceInfoPageOf(request: Uint8Array): number {
  if (request.length > 1) throw new YubiHsmProtocolError('device info: more than one page byte');
  return request[0] ?? DeviceInfoPage.info;
}

/**
 * Page 1 is the chip's part number as plain ASCII text, no length byte and no terminator:
 * libyubihsm refuses fewer than 12 bytes, python-yubihsm decodes it as UTF-8.
 */
export function encodePartNumber(partNumber: string): Uint8Array {
  if (!/^[\x21-\x7e]{12,64}$/.test(partNumber)) {
    throw new YubiHsmProtocolError('part number must be 12–64 printable ASCII characters');
  }
  return new TextEncoder().encode(partNumber);
}

export function decodePartNumber(payload: Uint8Array): string {
  const text = new TextDecoder('ascii').decode(payload);
  if (payload.length < 12 || !/^[\x21-\x7e]+$/.test(text)) {
    throw new YubiHsmProtocolError('part number is not 12 or more printable ASCII characters');
  }
  return text;
}

/** GET_DEVICE_PUBLIC_KEY: the device's P-256 key for asymmetric sessions, X‖Y without the 04. */
export function encodeDevicePublicKey(point: Uint8Array): Uint8Array {
  if (point.length !== 64)
    throw new YubiHsmProtocolError('device public key must be X‖Y, 64 bytes');
  return concatBytes(Uint8Array.of(Algorithm.ecp256YubicoAuthentication), point);
}

export function decodeDevicePublicKey(payload: Uint8Array): Uint8Array {
  if (payload.length !== 65 || payload[0] !== Algorithm.ecp256YubicoAuthentication) {
    throw new YubiHsmProtocolError('device public key is not algorithm 49 with a 64-byte point');
  }
  return payload.slice(1);
}

/** GET_STORAGE_INFO: each object takes one record and as many pages as its size needs. */
export interface StorageInfo {
  totalRecords: number;
  freeRecords: number;
  totalPages: number;
  freePages: number;
  pageSize: number;
}

export function encodeStorageInfo(info: StorageInfo): Uint8Array {
  return concatBytes(
    u16(info.totalRecords),
    u16(info.freeRecords),
    u16(info.totalPages),
    u16(info.freePages),
    u16(info.pageSize),
  );
}

export function decodeStorageInfo(payload: Uint8Array): StorageInfo {
  const reader = new PayloadReader(payload, 'storage info');
  const info = {
    totalRecords: reader.u16(),
    freeRecords: reader.u16(),
    totalPages: reader.u16(),
    freePages: reader.u16(),
    pageSize: reader.u16(),
  };
  reader.end();
  return info;
}

/** Device-global options, by the tag GET_OPTION and SET_OPTION name them with. */
export const DeviceOption = {
  forceAudit: 0x01,
  commandAudit: 0x03,
  algorithmToggle: 0x04,
  fipsMode: 0x05,
} as const;

export const AuditSetting = { off: 0x00, on: 0x01, fixed: 0x02 } as const;

/** COMMAND_AUDIT and ALGORITHM_TOGGLE values: one (command or algorithm, setting) pair each. */
export function encodeOptionPairs(pairs: readonly (readonly [number, number])[]): Uint8Array {
  return Uint8Array.from(pairs.flatMap(([code, setting]) => [code, setting]));
}

export function decodeOptionPairs(payload: Uint8Array): [number, number][] {
  if (payload.length % 2 !== 0) throw new YubiHsmProtocolError('option pairs: odd length');
  const pairs: [number, number][] = [];
  for (let i = 0; i < payload.length; i += 2) pairs.push([payload[i] ?? 0, payload[i + 1] ?? 0]);
  return pairs;
}

// ---- commands ---------------------------------------------------------------------------------

/** One command: its code and how its request and response payloads look. */
export interface CommandSpec<Request, Response> {
  readonly code: number;
  encode(request: Request): Uint8Array;
  decode(payload: Uint8Array): Response;
}

const empty = new Uint8Array(0);

function expectEmpty(what: string): (payload: Uint8Array) => void {
  return (payload) => {
    if (payload.length !== 0) throw new YubiHsmProtocolError(`${what}: expected an empty response`);
  };
}

function objectIdResponse(what: string): (payload: Uint8Array) => number {
  return (payload) => {
    const reader = new PayloadReader(payload, what);
    const id = reader.u16();
    reader.end();
    return id;
  };
}

export interface DeviceInfo {
  version: { major: number; minor: number; patch: number };
  serial: number;
  logTotal: number;
  logUsed: number;
  algorithms: number[];
}

export function firmwareText(info: Pick<DeviceInfo, 'version'>): string {
  return `${info.version.major}.${info.version.minor}.${info.version.patch}`;
}

/** Serials are shown and filed as PSF does: zero-padded to 10 digits. */
export function serialText(serial: number): string {
  return String(serial).padStart(10, '0');
}

export function maxFrameFor(info: Pick<DeviceInfo, 'version'>): number {
  const { major, minor } = info.version;
  return major > 2 || (major === 2 && minor >= 4) ? MAX_FRAME_2_4 : MAX_FRAME_LEGACY;
}

/**
 * The longest message SIGN_EDDSA takes in a session: EdDSA signs the message itself, not a
 * digest, so it must fit one frame with the session's header, padding and MAC (a TUF root of
 * several keys may not: then the key must be ECDSA).
 */
export function maxEddsaMessage(info: Pick<DeviceInfo, 'version'>): number {
  // frame = header 3 + session id 1 + inner padded to 16 + MAC 8; inner = header 3 + key id 2 + message + 0x80.
  const inner = Math.floor((maxFrameFor(info) - 1 - 3 - 1 - 8) / 16) * 16;
  return inner - 1 - 3 - 2;
}

export interface ObjectInfo {
  capabilities: bigint;
  id: number;
  size: number;
  domains: number;
  type: number;
  algorithm: number;
  sequence: number;
  origin: number;
  label: string;
  delegatedCapabilities: bigint;
}

export interface ObjectEntry {
  id: number;
  type: number;
  sequence: number;
}

export type ObjectFilter =
  | { by: 'id'; id: number }
  | { by: 'type'; type: number }
  | { by: 'domains'; domains: number }
  | { by: 'capabilities'; capabilities: bigint }
  | { by: 'algorithm'; algorithm: number }
  | { by: 'label'; label: string };

export interface LogEntry {
  number: number;
  command: number;
  length: number;
  sessionKey: number;
  targetKey: number;
  secondKey: number;
  result: number;
  systick: number;
  digest: Uint8Array;
}

export interface LogEntries {
  unloggedBoots: number;
  unloggedAuthentications: number;
  entries: LogEntry[];
}

export const LOG_ENTRY_LENGTH = 32;

export interface NewAuthenticationKey {
  id: number;
  label: string;
  domains: number;
  capabilities: bigint;
  delegatedCapabilities: bigint;
  encryptionKey: Uint8Array;
  macKey: Uint8Array;
}

export interface NewAsymmetricKey {
  id: number;
  label: string;
  domains: number;
  capabilities: bigint;
  algorithm: number;
}

export interface ObjectRef {
  id: number;
  type: number;
}

export interface PublicKey {
  algorithm: number;
  key: Uint8Array;
}

function checkAesKey(key: Uint8Array, what: string): void {
  if (key.length !== 16) throw new YubiHsmProtocolError(`${what} must be 16 bytes`);
}

export function decodeDeviceInfo(payload: Uint8Array): DeviceInfo {
  const reader = new PayloadReader(payload, 'device info');
  const version = { major: reader.u8(), minor: reader.u8(), patch: reader.u8() };
  return {
    version,
    serial: reader.u32(),
    logTotal: reader.u8(),
    logUsed: reader.u8(),
    algorithms: Array.from(reader.rest()),
  };
}

export function encodeDeviceInfo(info: DeviceInfo): Uint8Array {
  const serial = new Uint8Array(4);
  new DataView(serial.buffer).setUint32(0, info.serial);
  return concatBytes(
    Uint8Array.of(info.version.major, info.version.minor, info.version.patch),
    serial,
    Uint8Array.of(info.logTotal, info.logUsed),
    Uint8Array.from(info.algorithms),
  );
}

export const OBJECT_INFO_LENGTH = 66;

export function decodeObjectInfo(payload: Uint8Array): ObjectInfo {
  const reader = new PayloadReader(payload, 'object info');
  const info: ObjectInfo = {
    capabilities: reader.u64(),
    id: reader.u16(),
    size: reader.u16(),
    domains: reader.u16(),
    type: reader.u8(),
    algorithm: reader.u8(),
    sequence: reader.u8(),
    origin: reader.u8(),
    label: decodeLabel(reader.take(LABEL_LENGTH)),
    delegatedCapabilities: reader.u64(),
  };
  reader.end();
  return info;
}

export function encodeObjectInfo(info: ObjectInfo): Uint8Array {
  return concatBytes(
    u64(info.capabilities),
    u16(info.id),
    u16(info.size),
    u16(info.domains),
    Uint8Array.of(info.type, info.algorithm, info.sequence, info.origin),
    encodeLabel(info.label),
    u64(info.delegatedCapabilities),
  );
}

export function encodeObjectFilters(filters: readonly ObjectFilter[]): Uint8Array {
  return concatBytes(
    ...filters.map((filter) => {
      switch (filter.by) {
        case 'id':
          return concatBytes(Uint8Array.of(0x01), u16(filter.id));
        case 'type':
          return Uint8Array.of(0x02, filter.type);
        case 'domains':
          return concatBytes(Uint8Array.of(0x03), u16(filter.domains));
        case 'capabilities':
          return concatBytes(Uint8Array.of(0x04), u64(filter.capabilities));
        case 'algorithm':
          return Uint8Array.of(0x05, filter.algorithm);
        case 'label':
          return concatBytes(Uint8Array.of(0x06), encodeLabel(filter.label));
      }
    }),
  );
}

export function decodeObjectFilters(payload: Uint8Array): ObjectFilter[] {
  const reader = new PayloadReader(payload, 'object filters');
  const filters: ObjectFilter[] = [];
  while (reader.remaining > 0) {
    const tag = reader.u8();
    switch (tag) {
      case 0x01:
        filters.push({ by: 'id', id: reader.u16() });
        break;
      case 0x02:
        filters.push({ by: 'type', type: reader.u8() });
        break;
      case 0x03:
        filters.push({ by: 'domains', domains: reader.u16() });
        break;
      case 0x04:
        filters.push({ by: 'capabilities', capabilities: reader.u64() });
        break;
      case 0x05:
        filters.push({ by: 'algorithm', algorithm: reader.u8() });
        break;
      case 0x06:
        filters.push({ by: 'label', label: decodeLabel(reader.take(LABEL_LENGTH)) });
        break;
      default:
        throw new YubiHsmProtocolError(`object filter tag 0x${tag.toString(16)} unknown`);
    }
  }
  return filters;
}

export function encodeLogEntry(entry: LogEntry): Uint8Array {
  return concatBytes(logEntryBody(entry), entry.digest);
}

/** The first 16 bytes of an entry: everything the digest covers. */
export function logEntryBody(entry: Omit<LogEntry, 'digest'>): Uint8Array {
  const systick = new Uint8Array(4);
  new DataView(systick.buffer).setUint32(0, entry.systick);
  return concatBytes(
    u16(entry.number),
    Uint8Array.of(entry.command),
    u16(entry.length),
    u16(entry.sessionKey),
    u16(entry.targetKey),
    u16(entry.secondKey),
    Uint8Array.of(entry.result),
    systick,
  );
}

export function decodeLogEntries(payload: Uint8Array): LogEntries {
  const reader = new PayloadReader(payload, 'log entries');
  const unloggedBoots = reader.u16();
  const unloggedAuthentications = reader.u16();
  const count = reader.u8();
  const entries: LogEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      number: reader.u16(),
      command: reader.u8(),
      length: reader.u16(),
      sessionKey: reader.u16(),
      targetKey: reader.u16(),
      secondKey: reader.u16(),
      result: reader.u8(),
      systick: reader.u32(),
      digest: reader.take(16),
    });
  }
  reader.end();
  return { unloggedBoots, unloggedAuthentications, entries };
}

export function encodeLogEntries(log: LogEntries): Uint8Array {
  return concatBytes(
    u16(log.unloggedBoots),
    u16(log.unloggedAuthentications),
    Uint8Array.of(log.entries.length),
    ...log.entries.map(encodeLogEntry),
  );
}

/** The command table Vigil uses; each entry knows its request and response shapes. */
export const commands = {
  echo: {
    code: CommandCode.echo,
    encode: (data: Uint8Array) => data,
    decode: (payload: Uint8Array) => payload,
  },
  getDeviceInfo: {
    code: CommandCode.getDeviceInfo,
    encode: () => empty,
    decode: decodeDeviceInfo,
  },
  getPartNumber: {
    code: CommandCode.getDeviceInfo,
    encode: () => Uint8Array.of(DeviceInfoPage.partNumber),
    decode: decodePartNumber,
  },
  getDevicePublicKey: {
    code: CommandCode.getDevicePublicKey,
    encode: () => empty,
    decode: decodeDevicePublicKey,
  },
  getStorageInfo: {
    code: CommandCode.getStorageInfo,
    encode: () => empty,
    decode: decodeStorageInfo,
  },
  getOption: {
    code: CommandCode.getOption,
    encode: (option: number) => Uint8Array.of(option),
    decode: (payload: Uint8Array) => payload,
  },
  resetDevice: {
    code: CommandCode.resetDevice,
    encode: () => empty,
    decode: expectEmpty('reset device'),
  },
  closeSession: {
    code: CommandCode.closeSession,
    encode: () => empty,
    decode: expectEmpty('close session'),
  },
  getOpaque: {
    code: CommandCode.getOpaque,
    encode: (id: number) => u16(id),
    decode: (payload: Uint8Array) => payload,
  },
  putAuthenticationKey: {
    code: CommandCode.putAuthenticationKey,
    encode: (key: NewAuthenticationKey) => {
      checkAesKey(key.encryptionKey, 'encryption key');
      checkAesKey(key.macKey, 'MAC key');
      return concatBytes(
        u16(key.id),
        encodeLabel(key.label),
        u16(key.domains),
        u64(key.capabilities),
        Uint8Array.of(Algorithm.aes128YubicoAuthentication),
        u64(key.delegatedCapabilities),
        key.encryptionKey,
        key.macKey,
      );
    },
    decode: objectIdResponse('put authentication key'),
  },
  changeAuthenticationKey: {
    code: CommandCode.changeAuthenticationKey,
    encode: (key: { id: number; encryptionKey: Uint8Array; macKey: Uint8Array }) => {
      checkAesKey(key.encryptionKey, 'encryption key');
      checkAesKey(key.macKey, 'MAC key');
      return concatBytes(
        u16(key.id),
        Uint8Array.of(Algorithm.aes128YubicoAuthentication),
        key.encryptionKey,
        key.macKey,
      );
    },
    decode: objectIdResponse('change authentication key'),
  },
  generateAsymmetricKey: {
    code: CommandCode.generateAsymmetricKey,
    encode: (key: NewAsymmetricKey) =>
      concatBytes(
        u16(key.id),
        encodeLabel(key.label),
        u16(key.domains),
        u64(key.capabilities),
        Uint8Array.of(key.algorithm),
      ),
    decode: objectIdResponse('generate asymmetric key'),
  },
  listObjects: {
    code: CommandCode.listObjects,
    encode: (filters: readonly ObjectFilter[]) => encodeObjectFilters(filters),
    decode: (payload: Uint8Array): ObjectEntry[] => {
      if (payload.length % 4 !== 0) throw new YubiHsmProtocolError('list objects: ragged list');
      const entries: ObjectEntry[] = [];
      for (let i = 0; i < payload.length; i += 4) {
        entries.push({
          id: ((payload[i] ?? 0) << 8) | (payload[i + 1] ?? 0),
          type: payload[i + 2] ?? 0,
          sequence: payload[i + 3] ?? 0,
        });
      }
      return entries;
    },
  },
  getObjectInfo: {
    code: CommandCode.getObjectInfo,
    encode: (object: ObjectRef) => concatBytes(u16(object.id), Uint8Array.of(object.type)),
    decode: decodeObjectInfo,
  },
  deleteObject: {
    code: CommandCode.deleteObject,
    encode: (object: ObjectRef) => concatBytes(u16(object.id), Uint8Array.of(object.type)),
    decode: expectEmpty('delete object'),
  },
  getPublicKey: {
    code: CommandCode.getPublicKey,
    encode: (id: number) => u16(id),
    decode: (payload: Uint8Array): PublicKey => {
      if (payload.length < 2) throw new YubiHsmProtocolError('public key: payload truncated');
      return { algorithm: payload[0] ?? 0, key: payload.slice(1) };
    },
  },
  signAttestationCertificate: {
    code: CommandCode.signAttestationCertificate,
    encode: (request: { keyId: number; attestingKeyId: number }) =>
      concatBytes(u16(request.keyId), u16(request.attestingKeyId)),
    decode: (payload: Uint8Array) => payload,
  },
  signEcdsa: {
    code: CommandCode.signEcdsa,
    encode: (request: { keyId: number; digest: Uint8Array }) =>
      concatBytes(u16(request.keyId), request.digest),
    decode: (payload: Uint8Array) => payload,
  },
  signEddsa: {
    code: CommandCode.signEddsa,
    encode: (request: { keyId: number; message: Uint8Array }) =>
      concatBytes(u16(request.keyId), request.message),
    decode: (payload: Uint8Array) => {
      if (payload.length !== 64) throw new YubiHsmProtocolError('EdDSA signature is not 64 bytes');
      return payload;
    },
  },
  getLogEntries: {
    code: CommandCode.getLogEntries,
    encode: () => empty,
    decode: decodeLogEntries,
  },
  setLogIndex: {
    code: CommandCode.setLogIndex,
    encode: (index: number) => u16(index),
    decode: expectEmpty('set log index'),
  },
  getPseudoRandom: {
    code: CommandCode.getPseudoRandom,
    encode: (length: number) => u16(length),
    decode: (payload: Uint8Array) => payload,
  },
  blinkDevice: {
    code: CommandCode.blinkDevice,
    encode: (seconds: number) => Uint8Array.of(Math.max(0, Math.min(255, seconds))),
    decode: expectEmpty('blink device'),
  },
} as const satisfies Record<string, CommandSpec<never, unknown>>;

export type Commands = typeof commands;
