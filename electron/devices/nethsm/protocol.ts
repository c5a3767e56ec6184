// The NetHSM REST API (v4.0) as Vigil speaks it: zod schemas for the JSON it sends and reads, the
// error mapping, and the byte formats around signing (DigestInfo, ECDSA DER ↔ r‖s, multipart).
// Pure: no sockets, no clocks. Schemas are tied to the generated api-types so drift fails typecheck.
import { z } from 'zod';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { KindedError } from '../../base/errors.ts';
import {
  DerTag,
  concatBytes,
  encodeTlv,
  encodeUnsignedInteger,
  hexToBytes,
  readSingleTlv,
  readTlv,
} from '../../formats/der.ts';
import {
  decryptModeValues,
  encryptModeValues,
  keyMechanismValues,
  keyTypeValues,
  logLevelValues,
  signModeValues,
  switchValues,
  systemStateValues,
  userRoleValues,
  type components,
} from './api-types.ts';

type Schemas = components['schemas'];

export const API_PREFIX = '/api/v1';

// ---- identifiers -------------------------------------------------------------------------------

const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const USER_ID_PATTERN = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*~)?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const BASE64_PATTERN = /^[a-zA-Z0-9+/]+={0,3}$/;

/** Key ids, tags and namespaces share one pattern, 1–128 characters. */
export const Id = z.string().min(1).max(128).regex(ID_PATTERN);
/** `name` or `namespace~name`. */
export const UserId = z.string().min(1).max(128).regex(USER_ID_PATTERN);
export const Base64 = z.string().regex(BASE64_PATTERN);

export function isId(text: string): boolean {
  return Id.safeParse(text).success;
}

export function isUserId(text: string): boolean {
  return UserId.safeParse(text).success;
}

/** The namespace a user lives in, or null for a system-wide user. */
export function namespaceOf(userId: string): string | null {
  const at = userId.indexOf('~');
  return at < 0 ? null : userId.slice(0, at);
}

/** The user's name without its namespace. */
export function userNameOf(userId: string): string {
  return userId.slice(userId.indexOf('~') + 1);
}

export function namespacedUserId(namespace: string | null, name: string): string {
  const userId = namespace === null ? name : `${namespace}~${name}`;
  if (!isUserId(userId)) throw new NetHsmInputError('bad-user-id', `not a NetHSM user id`);
  return userId;
}

export type NetHsmInputReason = 'bad-id' | 'bad-user-id' | 'short-passphrase' | 'bad-value';

/** Vigil refused to send something the device would reject (or that could escape the path). */
export class NetHsmInputError extends KindedError<NetHsmInputReason> {
  readonly name = 'NetHsmInputError';
}

/** One path segment holding a key id, tag or namespace: validated, so no '/', '..' or '?'. */
export function idSegment(id: string): string {
  if (!isId(id)) throw new NetHsmInputError('bad-id', `"${id.slice(0, 40)}" is not a NetHSM id`);
  return id;
}

export function userIdSegment(userId: string): string {
  if (!isUserId(userId)) {
    throw new NetHsmInputError('bad-user-id', `"${userId.slice(0, 40)}" is not a NetHSM user id`);
  }
  return userId;
}

// ---- enums -------------------------------------------------------------------------------------

export const KeyType = z.enum(keyTypeValues);
export type KeyType = z.infer<typeof KeyType>;

export const TlsKeyType = KeyType.exclude(['EC_P256K1', 'Generic']);
export type TlsKeyType = z.infer<typeof TlsKeyType>;

export const KeyMechanism = z.enum(keyMechanismValues);
export type KeyMechanism = z.infer<typeof KeyMechanism>;

export const SignMode = z.enum(signModeValues);
export type SignMode = z.infer<typeof SignMode>;

export const DecryptMode = z.enum(decryptModeValues);
export type DecryptMode = z.infer<typeof DecryptMode>;

export const EncryptMode = z.enum(encryptModeValues);
export type EncryptMode = z.infer<typeof EncryptMode>;

export const UserRole = z.enum(userRoleValues);
export type UserRole = z.infer<typeof UserRole>;

export const SystemState = z.enum(systemStateValues);
export type SystemState = z.infer<typeof SystemState>;

export const Switch = z.enum(switchValues);
export type Switch = z.infer<typeof Switch>;

export const LogLevel = z.enum(logLevelValues);
export type LogLevel = z.infer<typeof LogLevel>;

// ---- bodies Vigil sends ------------------------------------------------------------------------

// Unknown properties make the device answer 400, so requests are strict objects.
export const KeyRestrictions = z.strictObject({ tags: z.array(Id).exactOptional() });

export const KeyGenerateRequestData = z.strictObject({
  mechanisms: z.array(KeyMechanism),
  type: KeyType,
  length: z.int().min(128).max(8192).exactOptional(),
  id: Id.exactOptional(),
  restrictions: KeyRestrictions.exactOptional(),
});
export type KeyGenerateRequestData = z.infer<typeof KeyGenerateRequestData>;

export const KeyPrivateData = z.strictObject({
  primeP: Base64.exactOptional(),
  primeQ: Base64.exactOptional(),
  publicExponent: Base64.exactOptional(),
  data: Base64.exactOptional(),
});

export const PrivateKey = z.strictObject({
  mechanisms: z.array(KeyMechanism),
  type: KeyType,
  private: KeyPrivateData,
  restrictions: KeyRestrictions.exactOptional(),
});
export type PrivateKey = z.infer<typeof PrivateKey>;

/** The `arguments` part of a PEM key import. */
export const PrivateKeyPemArguments = z.strictObject({
  mechanisms: z.array(KeyMechanism).exactOptional(),
  restrictions: KeyRestrictions.exactOptional(),
});
export type PrivateKeyPemArguments = z.infer<typeof PrivateKeyPemArguments>;

export const SignRequestData = z.strictObject({ mode: SignMode, message: Base64 });
export const DecryptRequestData = z.strictObject({
  mode: DecryptMode,
  encrypted: Base64,
  iv: Base64.exactOptional(),
});
export const EncryptRequestData = z.strictObject({
  mode: EncryptMode,
  message: Base64,
  iv: Base64.exactOptional(),
});
export const RandomRequestData = z.strictObject({ length: z.int().min(1).max(1024) });
export const MoveKeyRequest = z.strictObject({ newId: Id });
export const UnattendedBootConfig = z.strictObject({ status: Switch });
export const TimeConfig = z.strictObject({ time: z.iso.datetime({ offset: true }) });
export const TlsKeyGenerateRequestData = z.strictObject({
  type: TlsKeyType,
  length: z.int().min(128).max(8192).exactOptional(),
});
export const DistinguishedName = z.strictObject({
  countryName: z.string().exactOptional(),
  stateOrProvinceName: z.string().exactOptional(),
  localityName: z.string().exactOptional(),
  organizationName: z.string().exactOptional(),
  organizationalUnitName: z.string().exactOptional(),
  commonName: z.string(),
  emailAddress: z.string().exactOptional(),
  subjectAltNames: z.array(z.string()).exactOptional(),
});
export type DistinguishedName = z.infer<typeof DistinguishedName>;

// The bodies below carry passphrases. They exist for the judge and the drift check; the driver
// builds their bytes with encodeSecretJson so the passphrase never becomes a JS string there.
export const Passphrase = z.string().min(10);
export const ProvisionRequestData = z.strictObject({
  unlockPassphrase: Passphrase,
  adminPassphrase: Passphrase,
  systemTime: z.iso.datetime({ offset: true }),
});
export const UnlockRequestData = z.strictObject({ passphrase: Passphrase });
export const UserPostData = z.strictObject({
  realName: z.string(),
  role: UserRole,
  passphrase: Passphrase,
});
export const UserPassphrasePostData = z.strictObject({ passphrase: Passphrase });
export const UnlockPassphraseConfig = z.strictObject({
  newPassphrase: Passphrase,
  currentPassphrase: z.string(),
});
export const BackupPassphraseConfig = z.strictObject({
  newPassphrase: Passphrase,
  currentPassphrase: z.string(),
});
export const RestoreArguments = z.strictObject({
  backupPassphrase: Passphrase.exactOptional(),
  systemTime: z.iso.datetime({ offset: true }).exactOptional(),
});

// ---- bodies Vigil reads ------------------------------------------------------------------------

// Responses are read leniently (unknown fields dropped): newer firmware adds fields (key labels).
const idItem = z.object({ id: Id });
export const KeyList = z.array(idItem);
export const NamespaceList = z.array(idItem);
export const UserList = z.array(z.object({ user: UserId }));
export const TagList = z.array(Id);
export const CreateResourceId = z.object({ id: z.string() });
export const InfoData = z.object({ vendor: z.string(), product: z.string() });
export type InfoData = z.infer<typeof InfoData>;
export const HealthStateData = z.object({ state: SystemState });
export const UserData = z.object({ realName: z.string(), role: UserRole });
export type UserData = z.infer<typeof UserData>;
export const KeyPublicData = z.object({
  modulus: Base64.exactOptional(),
  publicExponent: Base64.exactOptional(),
  data: Base64.exactOptional(),
});
export const PublicKey = z.object({
  mechanisms: z.array(KeyMechanism),
  type: KeyType,
  restrictions: z.object({ tags: z.array(Id).exactOptional() }),
  // Generic (AES) keys have no public part: the device sends null or leaves it out.
  public: KeyPublicData.nullable().exactOptional(),
  operations: z.int().nonnegative(),
});
export type PublicKey = z.infer<typeof PublicKey>;
export const SignData = z.object({ signature: Base64 });
export const DecryptData = z.object({ decrypted: Base64 });
export const EncryptData = z.object({ encrypted: Base64, iv: Base64 });
export const RandomData = z.object({ random: Base64 });
export const UnattendedBootState = z.object({ status: Switch });
export const TimeState = z.object({ time: z.string() });
export const Ipv6Config = z.object({
  cidr: z.string().exactOptional(),
  gateway: z.string().exactOptional(),
});
export const NetworkConfigOutput = z.object({
  ipAddress: z.string(),
  netmask: z.string(),
  gateway: z.string(),
  ipv6: Ipv6Config.exactOptional(),
});
export type NetworkConfig = z.infer<typeof NetworkConfigOutput>;
export const LoggingConfig = z.object({ ipAddress: z.string(), port: z.int(), logLevel: LogLevel });
export type LoggingConfig = z.infer<typeof LoggingConfig>;
export const SystemInfo = z.object({
  softwareVersion: z.string(),
  softwareBuild: z.string(),
  firmwareVersion: z.string(),
  hardwareVersion: z.string(),
  deviceId: z.string(),
  akPub: z.object({ P256: z.string().exactOptional(), P384: z.string().exactOptional() }),
  pcr: z.record(z.string(), z.string()),
});
export type SystemInfo = z.infer<typeof SystemInfo>;
/** The spec leaves metrics open: name → number. */
export const MetricsData = z.record(z.string(), z.unknown());
export const ErrorResponse = z.object({ message: z.string() });

// ---- drift check against the generated types ---------------------------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** What Vigil sends is what the spec accepts. */
type Sends<Mine, Spec> = [Mine] extends [Spec] ? true : false;
/** Everything the spec allows the device to answer parses. */
type Reads<Mine, Spec> = [Spec] extends [Mine] ? true : false;
type Holds<T extends true> = T;

export type SchemaAgreement = [
  Holds<Same<KeyType, Schemas['KeyType']>>,
  Holds<Same<TlsKeyType, Schemas['TlsKeyType']>>,
  Holds<Same<KeyMechanism, Schemas['KeyMechanism']>>,
  Holds<Same<SignMode, Schemas['SignMode']>>,
  Holds<Same<DecryptMode, Schemas['DecryptMode']>>,
  Holds<Same<EncryptMode, Schemas['EncryptMode']>>,
  Holds<Same<UserRole, Schemas['UserRole']>>,
  Holds<Same<SystemState, Schemas['SystemState']>>,
  Holds<Same<Switch, Schemas['Switch']>>,
  Holds<Same<LogLevel, Schemas['LogLevel']>>,
  Holds<Sends<KeyGenerateRequestData, Schemas['KeyGenerateRequestData']>>,
  Holds<Sends<PrivateKey, Schemas['PrivateKey']>>,
  Holds<Sends<z.infer<typeof SignRequestData>, Schemas['SignRequestData']>>,
  Holds<Sends<z.infer<typeof DecryptRequestData>, Schemas['DecryptRequestData']>>,
  Holds<Sends<z.infer<typeof EncryptRequestData>, Schemas['EncryptRequestData']>>,
  Holds<Sends<z.infer<typeof RandomRequestData>, Schemas['RandomRequestData']>>,
  Holds<Sends<z.infer<typeof MoveKeyRequest>, Schemas['MoveKeyRequest']>>,
  Holds<Sends<z.infer<typeof UnattendedBootConfig>, Schemas['UnattendedBootConfig']>>,
  Holds<Sends<z.infer<typeof TimeConfig>, Schemas['TimeConfig']>>,
  Holds<Sends<z.infer<typeof TlsKeyGenerateRequestData>, Schemas['TlsKeyGenerateRequestData']>>,
  Holds<Sends<DistinguishedName, Schemas['DistinguishedName']>>,
  Holds<Sends<z.infer<typeof ProvisionRequestData>, Schemas['ProvisionRequestData']>>,
  Holds<Sends<z.infer<typeof UnlockRequestData>, Schemas['UnlockRequestData']>>,
  Holds<Sends<z.infer<typeof UserPostData>, Schemas['UserPostData']>>,
  Holds<Sends<z.infer<typeof UserPassphrasePostData>, Schemas['UserPassphrasePostData']>>,
  Holds<Sends<z.infer<typeof UnlockPassphraseConfig>, Schemas['UnlockPassphraseConfig']>>,
  Holds<Sends<z.infer<typeof BackupPassphraseConfig>, Schemas['BackupPassphraseConfig']>>,
  Holds<Reads<z.input<typeof KeyList>, Schemas['KeyList']>>,
  Holds<Reads<z.input<typeof NamespaceList>, Schemas['NamespaceList']>>,
  Holds<Reads<z.input<typeof UserList>, Schemas['UserList']>>,
  Holds<Reads<z.input<typeof TagList>, Schemas['TagList']>>,
  Holds<Reads<z.input<typeof CreateResourceId>, Schemas['CreateResourceId']>>,
  Holds<Reads<z.input<typeof InfoData>, Schemas['InfoData']>>,
  Holds<Reads<z.input<typeof HealthStateData>, Schemas['HealthStateData']>>,
  Holds<Reads<z.input<typeof UserData>, Schemas['UserData']>>,
  Holds<Reads<z.input<typeof PublicKey>, Schemas['PublicKey']>>,
  Holds<Reads<z.input<typeof SignData>, Schemas['SignData']>>,
  Holds<Reads<z.input<typeof DecryptData>, Schemas['DecryptData']>>,
  Holds<Reads<z.input<typeof EncryptData>, Schemas['EncryptData']>>,
  Holds<Reads<z.input<typeof RandomData>, Schemas['RandomData']>>,
  Holds<Reads<z.input<typeof UnattendedBootState>, Schemas['UnattendedBootConfig']>>,
  Holds<Reads<z.input<typeof TimeState>, Schemas['TimeConfig']>>,
  Holds<Reads<z.input<typeof NetworkConfigOutput>, Schemas['NetworkConfigOutput']>>,
  Holds<Reads<z.input<typeof LoggingConfig>, Schemas['LoggingConfig']>>,
  Holds<Reads<z.input<typeof SystemInfo>, Schemas['SystemInfo']>>,
  Holds<Reads<z.input<typeof ErrorResponse>, Required<Schemas['ErrorResponse']>>>,
];

// ---- errors ------------------------------------------------------------------------------------

export type NetHsmErrorKind =
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'not-acceptable'
  | 'conflict'
  /** 412: the device is not in the state the operation needs (e.g. Locked). */
  | 'wrong-state'
  | 'unsupported-media-type'
  | 'too-many-requests'
  | 'server-error'
  /** A status or body the spec does not describe. */
  | 'unexpected-response';

export class NetHsmError extends KindedError<NetHsmErrorKind> {
  readonly name = 'NetHsmError';
  constructor(
    kind: NetHsmErrorKind,
    readonly operation: string,
    /** The HTTP status, 0 when a success status carried a malformed body. */
    readonly status: number,
    /** The device's own words, sanitised; null when it sent none. */
    readonly serverMessage: string | null,
  ) {
    super(
      kind,
      `NetHSM ${operation}: ${kind}${status ? ` (HTTP ${status})` : ''}` +
        (serverMessage ? `: ${serverMessage}` : ''),
    );
  }
}

export function errorKindForStatus(status: number): NetHsmErrorKind {
  switch (status) {
    case 400:
      return 'bad-request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 406:
      return 'not-acceptable';
    case 409:
      return 'conflict';
    case 412:
      return 'wrong-state';
    case 415:
      return 'unsupported-media-type';
    case 429:
      return 'too-many-requests';
    default:
      return status >= 500 && status <= 599 ? 'server-error' : 'unexpected-response';
  }
}

export const MAX_SERVER_MESSAGE = 300;

/** Device text reaches the operator's screen and the journal: printable, one line, bounded. */
export function sanitiseServerMessage(text: string): string {
  const printable = text.replace(/\p{C}/gu, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(printable);
  return chars.length > MAX_SERVER_MESSAGE
    ? `${chars.slice(0, MAX_SERVER_MESSAGE - 1).join('')}…`
    : printable;
}

/** Maps a non-success response to a NetHsmError, keeping `{"message"}` when the body has one. */
export function errorFromResponse(
  operation: string,
  status: number,
  body: Uint8Array,
): NetHsmError {
  let message: string | null = null;
  if (body.length > 0 && body.length <= 64 * 1024) {
    try {
      const parsed = ErrorResponse.safeParse(JSON.parse(new TextDecoder().decode(body)));
      if (parsed.success) message = sanitiseServerMessage(parsed.data.message) || null;
    } catch {
      // Not JSON: the status alone says what happened.
    }
  }
  return new NetHsmError(errorKindForStatus(status), operation, status, message);
}

// ---- base64 ------------------------------------------------------------------------------------

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

/** Strict RFC 4648 §4 decoding: Buffer alone would skip junk silently. */
export function fromBase64(text: string): Uint8Array {
  if (text === '') return new Uint8Array(0);
  if (!BASE64_PATTERN.test(text) || text.length % 4 !== 0) {
    throw new NetHsmInputError('bad-value', 'not canonical base64');
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (toBase64(bytes) !== text) throw new NetHsmInputError('bad-value', 'not canonical base64');
  return bytes;
}

// ---- JSON with secrets -------------------------------------------------------------------------

/**
 * JSON for a flat object whose secret fields are copied byte-for-byte from SecretBytes: only `"`,
 * `\` and control bytes need escaping in UTF-8 JSON, so the passphrase never becomes a string.
 * The compromise: the device wants it in the body, so the returned bytes hold it; wipe them.
 */
export function encodeSecretJson(
  fields: Record<string, string | number | boolean | SecretBytes | object | null>,
): Uint8Array {
  const encoder = new TextEncoder();
  const parts: number[] = [0x7b];
  let first = true;
  for (const [name, value] of Object.entries(fields)) {
    if (!first) parts.push(0x2c);
    first = false;
    parts.push(...encoder.encode(`${JSON.stringify(name)}:`));
    if (isSecret(value)) {
      parts.push(0x22);
      value.use((bytes) => {
        for (const b of bytes) {
          if (b === 0x22 || b === 0x5c) parts.push(0x5c, b);
          else if (b < 0x20) parts.push(...encoder.encode(controlEscape(b)));
          else parts.push(b);
        }
      });
      parts.push(0x22);
    } else {
      parts.push(...encoder.encode(JSON.stringify(value)));
    }
  }
  parts.push(0x7d);
  const out = Uint8Array.from(parts);
  parts.fill(0);
  return out;
}

// The escapes JSON.stringify uses, so both encoders give the same bytes.
const shortEscapes: Readonly<Record<number, string>> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
};

function controlEscape(b: number): string {
  return shortEscapes[b] ?? `\\u${b.toString(16).padStart(4, '0')}`;
}

function isSecret(value: unknown): value is SecretBytes {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { use?: unknown }).use === 'function' &&
    typeof (value as { wipe?: unknown }).wipe === 'function'
  );
}

/** Characters, not bytes: the spec's minLength counts code points (UTF-8 lead bytes). */
export function passphraseLength(secret: SecretBytes): number {
  return secret.use((bytes) => bytes.reduce((n, b) => n + ((b & 0xc0) === 0x80 ? 0 : 1), 0));
}

export const MIN_PASSPHRASE_LENGTH = 10;

export function assertPassphrase(secret: SecretBytes, what: string): void {
  if (passphraseLength(secret) < MIN_PASSPHRASE_LENGTH) {
    throw new NetHsmInputError(
      'short-passphrase',
      `the ${what} needs at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  }
}

/** RFC 3339 in UTC without milliseconds, the form the device's examples use. */
export function systemTimeText(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- signing inputs ----------------------------------------------------------------------------

export type HashName = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export const digestLength: Readonly<Record<HashName, number>> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

// RFC 8017 §9.2 note 1: DER of DigestInfo{AlgorithmIdentifier{oid, NULL}, OCTET STRING} up to the digest.
const digestInfoPrefixHex: Readonly<Record<HashName, string>> = {
  md5: '3020300c06082a864886f70d020505000410',
  sha1: '3021300906052b0e03021a05000414',
  sha224: '302d300d06096086480165030402040500041c',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

export function digestInfoPrefix(hash: HashName): Uint8Array {
  return hexToBytes(digestInfoPrefixHex[hash]);
}

/** What PKCS1 mode signs: the device pads, the caller names the hash. */
export function digestInfo(hash: HashName, digest: Uint8Array): Uint8Array {
  if (digest.length !== digestLength[hash]) {
    throw new NetHsmInputError('bad-value', `a ${hash} digest has ${digestLength[hash]} bytes`);
  }
  return concatBytes(digestInfoPrefix(hash), digest);
}

/**
 * The hash a mode's `message` must be, when the mode fixes it. PKCS1 (DigestInfo says it) and
 * ECDSA (the caller's choice) sign a caller-chosen hash; EdDSA and BIP340 sign the message.
 */
export function hashForMode(mode: SignMode): HashName | null {
  switch (mode) {
    case 'PSS_MD5':
      return 'md5';
    case 'PSS_SHA1':
      return 'sha1';
    case 'PSS_SHA224':
      return 'sha224';
    case 'PSS_SHA256':
      return 'sha256';
    case 'PSS_SHA384':
      return 'sha384';
    case 'PSS_SHA512':
      return 'sha512';
    case 'PKCS1':
    case 'ECDSA':
    case 'EdDSA':
    case 'BIP340':
      return null;
  }
}

/** The signing mechanism a key needs for a mode. */
export function mechanismForSignMode(mode: SignMode): KeyMechanism {
  switch (mode) {
    case 'PKCS1':
      return 'RSA_Signature_PKCS1';
    case 'PSS_MD5':
    case 'PSS_SHA1':
    case 'PSS_SHA224':
    case 'PSS_SHA256':
    case 'PSS_SHA384':
    case 'PSS_SHA512':
      return `RSA_Signature_${mode}`;
    case 'EdDSA':
      return 'EdDSA_Signature';
    case 'ECDSA':
      return 'ECDSA_Signature';
    case 'BIP340':
      return 'BIP340_Signature';
  }
}

/** Bytes of one coordinate (and of r and s) for the EC key types; null for the others. */
export function ecScalarLength(type: KeyType): number | null {
  switch (type) {
    case 'EC_P256':
    case 'EC_P256K1':
    case 'BrainpoolP256':
      return 32;
    case 'EC_P384':
    case 'BrainpoolP384':
      return 48;
    case 'BrainpoolP512':
      return 64;
    case 'EC_P521':
      return 66;
    case 'RSA':
    case 'Curve25519':
    case 'Generic':
      return null;
  }
}

/** ECDSA answers are DER SEQUENCE{r, s}; OpenPGP, JOSE and noble want fixed-width r‖s. */
export function ecdsaDerToRaw(der: Uint8Array, scalarLength: number): Uint8Array {
  const body = readSingleTlv(der, DerTag.sequence);
  const r = readTlv(body, 0);
  const s = readTlv(body, r.end);
  if (r.tag !== DerTag.integer || s.tag !== DerTag.integer || s.end !== body.length) {
    throw new NetHsmInputError('bad-value', 'not an ECDSA signature SEQUENCE{r, s}');
  }
  return concatBytes(fixedWidth(r.value, scalarLength), fixedWidth(s.value, scalarLength));
}

export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new NetHsmInputError('bad-value', 'r‖s has an even, non-zero length');
  }
  const half = raw.length / 2;
  return encodeTlv(
    DerTag.sequence,
    concatBytes(
      encodeUnsignedInteger(raw.subarray(0, half)),
      encodeUnsignedInteger(raw.subarray(half)),
    ),
  );
}

function fixedWidth(integer: Uint8Array, width: number): Uint8Array {
  if ((integer[0] ?? 0) & 0x80) throw new NetHsmInputError('bad-value', 'negative ECDSA integer');
  let start = 0;
  while (start < integer.length - 1 && integer[start] === 0) start++;
  const magnitude = integer.subarray(start);
  if (magnitude.length > width) {
    throw new NetHsmInputError('bad-value', `ECDSA integer wider than ${width} bytes`);
  }
  const out = new Uint8Array(width);
  out.set(magnitude, width - magnitude.length);
  return out;
}

// ---- multipart/form-data -----------------------------------------------------------------------

export interface FormPart {
  name: string;
  contentType: string;
  body: Uint8Array;
  /** File parts (backup_file, key_file) carry a filename, as browsers and curl send them. */
  filename?: string;
}

/** RFC 7578 body; the boundary is the caller's (random in the driver, fixed in tests). */
export function encodeMultipart(
  parts: readonly FormPart[],
  boundary: string,
): { body: Uint8Array; contentType: string } {
  if (!/^[0-9A-Za-z'()+_,.-]{1,70}$/.test(boundary)) {
    throw new NetHsmInputError('bad-value', 'multipart boundary has forbidden characters');
  }
  const encoder = new TextEncoder();
  const delimiter = encoder.encode(`--${boundary}`);
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    if (!/^[A-Za-z0-9_.-]+$/.test(part.name) || !/^[\x21-\x7e ]+$/.test(part.contentType)) {
      throw new NetHsmInputError('bad-value', 'multipart part name or type not plain ASCII');
    }
    if (part.filename !== undefined && !/^[A-Za-z0-9_.-]+$/.test(part.filename)) {
      throw new NetHsmInputError('bad-value', 'multipart file name not plain ASCII');
    }
    if (contains(part.body, delimiter)) {
      throw new NetHsmInputError('bad-value', 'a part contains the multipart boundary');
    }
    const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
    chunks.push(
      encoder.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${filename}\r\n` +
          `Content-Type: ${part.contentType}\r\n\r\n`,
      ),
      part.body,
      encoder.encode('\r\n'),
    );
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  return { body: concatBytes(...chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
