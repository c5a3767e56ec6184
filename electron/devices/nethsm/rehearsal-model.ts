// The rehearsal NetHSM's model, shared by the device and its route sections: the persistent
// state, the request schemas, the route table and its matching, response helpers, multipart
// bodies, passphrase hashing and the device's TLS identity. No I/O.
import { X509Certificate, randomBytes, scryptSync, webcrypto } from 'node:crypto';
import { z } from 'zod';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { KindedError } from '../../base/errors.ts';
import { decodePem } from '../../formats/pem.ts';
import { x509 } from '../../formats/x509.ts';
import { type NetHsmBackupEntry, type NetHsmBackupKey } from './backup.ts';
import {
  NETHSM_DECRYPT_MODES,
  NETHSM_ENCRYPT_MODES,
  NETHSM_KEY_MECHANISMS,
  NETHSM_KEY_TYPES,
  NETHSM_SIGN_MODES,
  generateKeyMaterial,
  parseIpAddress,
  privateKeyObject,
  subjectPublicKeyInfo,
  type NetHsmKeyMechanism,
  type NetHsmKeyType,
  type RehearsalKeyMaterial,
} from './rehearsal-crypto.ts';
import { TlsKeyType } from './protocol.ts';

export const NETHSM_API_PREFIX = '/api/v1';

export type NetHsmSystemState = 'Unprovisioned' | 'Locked' | 'Operational';
export type NetHsmUserRole = 'Administrator' | 'Operator' | 'Metrics' | 'Backup';

export interface NetHsmHttpRequest {
  readonly method: string;
  /** As on the wire: '/api/v1/...' with the query string. */
  readonly path: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface NetHsmHttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

export interface RehearsalOutcome {
  readonly response: NetHsmHttpResponse;
  /** The persistent state changed: save it. */
  readonly changed: boolean;
  /** POST /system/shutdown succeeded: stop serving after answering. */
  readonly shutdown: boolean;
}

export type NetHsmRefusalKind =
  | 'bad-request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'not-acceptable'
  | 'conflict'
  | 'too-large'
  | 'wrong-state'
  | 'unsupported-media-type';

export const REFUSAL_STATUS: Record<NetHsmRefusalKind, number> = {
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  conflict: 409,
  'too-large': 413,
  'wrong-state': 412,
  'unsupported-media-type': 415,
};

/** A refusal the device answers with its status and a JSON `{message}`. */
export class NetHsmRefusal extends KindedError<NetHsmRefusalKind> {
  readonly name = 'NetHsmRefusal';

  get status(): number {
    return REFUSAL_STATUS[this.kind];
  }
}

// ---------------------------------------------------------------------------------------------
// Persistent state

export interface PassphraseHash {
  readonly salt: string;
  readonly hash: string;
}

export interface UserRecord {
  realName: string;
  role: NetHsmUserRole;
  passphrase: PassphraseHash;
  tags: string[];
}

export interface KeyRecord {
  type: NetHsmKeyType;
  mechanisms: NetHsmKeyMechanism[];
  tags: string[];
  secret: string;
  operations: number;
  certificate?: string;
}

export interface NetworkConfig {
  ipAddress: string;
  netmask: string;
  gateway: string;
  ipv6?: { cidr?: string | undefined; gateway?: string | undefined };
}

export interface LoggingConfig {
  ipAddress: string;
  port: number;
  logLevel: 'debug' | 'info' | 'warning' | 'error';
}

export interface TlsIdentity {
  type: NetHsmKeyType;
  secret: string;
  certificate: string;
}

/** Everything a restarted rehearsal device needs; saved as JSON in the state file. */
export interface RehearsalNetHsmState {
  version: 1;
  serial: string;
  state: NetHsmSystemState;
  unlockPassphrase?: PassphraseHash;
  /**
   * The backup key derived when the backup passphrase was set (salt and key, base64), as the real
   * device keeps them: the passphrase itself is never stored.
   */
  backupKey?: { salt: string; key: string };
  unattendedBoot: boolean;
  clockOffsetMs: number;
  network: NetworkConfig;
  logging: LoggingConfig;
  tls: TlsIdentity;
  clusterCa?: string;
  clusterPeerUrls?: string[];
  attestationKeys: { P256: string; P384: string };
  users: Record<string, UserRecord>;
  namespaces: string[];
  /** Keyed by `<namespace>/<id>`, namespace '' for system-wide keys. */
  keys: Record<string, KeyRecord>;
}

export const DEFAULT_NETWORK: NetworkConfig = {
  ipAddress: '192.168.1.1',
  netmask: '255.255.255.0',
  gateway: '0.0.0.0',
};
export const DEFAULT_LOGGING: LoggingConfig = { ipAddress: '0.0.0.0', port: 514, logLevel: 'info' };
export const CERTIFICATE_LIMIT_BYTES = 1024 * 1024;
export const SCRYPT = { N: 1 << 14, r: 8, p: 1 } as const;

// ---------------------------------------------------------------------------------------------
// Request schemas (strict: unknown properties are a 400, as on the device)

export const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const USER_ID_PATTERN = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*~)?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const BASE64_PATTERN = /^[a-zA-Z0-9+/]+={0,3}$/;

export const Id = z.string().min(1).max(128).regex(ID_PATTERN);
// The firmware takes 10 to 200 characters (keyfender json.ml `valid_passphrase`); the spec
// documents only the minimum.
export const Passphrase = z.string().min(10).max(200);
export const Base64 = z.string().regex(BASE64_PATTERN);
// RFC 3339 in UTC only: the firmware (json.ml `decode_time`) refuses any other offset with 400,
// although the spec's `format: date-time` admits one. '+00:00' and fractions are accepted.
export const DateTime = z.iso
  .datetime({ offset: true })
  .refine((text) => /(?:Z|[+-]00:00)$/i.test(text), 'the time must be in UTC');
/** Any JSON integer: where the firmware ignores a field's range, so does the rehearsal. */
export const AnyInteger = z.number().int();
export const Mechanisms = z.array(z.enum(NETHSM_KEY_MECHANISMS));
export const Restrictions = z.strictObject({ tags: z.array(Id).optional() });
export const Role = z.enum(['Administrator', 'Operator', 'Metrics', 'Backup']);

export const ProvisionRequest = z.strictObject({
  unlockPassphrase: Passphrase,
  adminPassphrase: Passphrase,
  systemTime: DateTime,
});
export const UnlockRequest = z.strictObject({ passphrase: Passphrase });
export const RandomRequest = z.strictObject({ length: z.number().int().min(1).max(1024) });
export const PrivateKeyRequest = z.strictObject({
  mechanisms: Mechanisms,
  type: z.enum(NETHSM_KEY_TYPES),
  private: z.strictObject({
    primeP: Base64.optional(),
    primeQ: Base64.optional(),
    publicExponent: Base64.optional(),
    data: Base64.optional(),
  }),
  restrictions: Restrictions.optional(),
});
/** The multipart import's `arguments` part (json.ml `private_key_multipart_req`). */
export const PemKeyArguments = z.strictObject({
  mechanisms: Mechanisms,
  restrictions: Restrictions.optional(),
});
// `length` is any integer here: the firmware checks it per type after decoding (RSA 1024..8192,
// Generic 128..8192) and ignores it for the fixed-size types, which Nitrokey's Python SDK relies
// on (it always sends a length).
export const KeyGenerateRequest = z.strictObject({
  mechanisms: Mechanisms,
  type: z.enum(NETHSM_KEY_TYPES),
  length: AnyInteger.optional(),
  id: Id.optional(),
  restrictions: Restrictions.optional(),
});
export const SignRequest = z.strictObject({ mode: z.enum(NETHSM_SIGN_MODES), message: Base64 });
export const DecryptRequest = z.strictObject({
  mode: z.enum(NETHSM_DECRYPT_MODES),
  encrypted: Base64,
  iv: Base64.optional(),
});
export const EncryptRequest = z.strictObject({
  mode: z.enum(NETHSM_ENCRYPT_MODES),
  message: Base64,
  iv: Base64.optional(),
});
export const MoveRequest = z.strictObject({ newId: Id });
export const DistinguishedName = z.strictObject({
  countryName: z.string().optional(),
  stateOrProvinceName: z.string().optional(),
  localityName: z.string().optional(),
  organizationName: z.string().optional(),
  organizationalUnitName: z.string().optional(),
  // json.ml `decode_subject`: an empty commonName is a 400.
  commonName: z.string().min(1),
  emailAddress: z.string().optional(),
  subjectAltNames: z.array(z.string()).optional(),
});
export const UserPostRequest = z.strictObject({
  realName: z.string(),
  role: Role,
  passphrase: Passphrase,
});
export const UserPassphraseRequest = z.strictObject({ passphrase: Passphrase });
export const PassphraseChangeRequest = z.strictObject({
  newPassphrase: Passphrase,
  currentPassphrase: z.string(),
});
export const UnattendedBootRequest = z.strictObject({ status: z.enum(['on', 'off']) });
/** The byte length of an IPv4 (4) or IPv6 (16) address in text form; 0 when it is neither. */
function ipBytes(text: string): number {
  try {
    return parseIpAddress(text).length;
  } catch {
    return 0;
  }
}
export const Ipv4 = z.string().refine((text) => ipBytes(text) === 4, 'not an IPv4 address');
/** A contiguous IPv4 netmask (the firmware builds a prefix from it: Ipaddr.V4.Prefix.of_netmask). */
export const Netmask = Ipv4.refine((text) => {
  const bits = text
    .split('.')
    .map((octet) => Number(octet).toString(2).padStart(8, '0'))
    .join('');
  return /^1*0*$/.test(bits);
}, 'not a netmask');
const Ipv6 = z.string().refine((text) => ipBytes(text) === 16, 'not an IPv6 address');
const Ipv6Cidr = z.string().refine((text) => {
  const [address = '', prefix, ...rest] = text.split('/');
  return (
    rest.length === 0 &&
    ipBytes(address) === 16 &&
    prefix !== undefined &&
    /^\d{1,3}$/.test(prefix) &&
    Number(prefix) <= 128
  );
}, 'not an IPv6 CIDR');
// json.ml `network_api`: the gateway is required (the spec marks it optional; '0.0.0.0' means
// none), and an ipv6 object needs its cidr, its gateway present (null for none).
export const NetworkRequest = z.strictObject({
  ipAddress: Ipv4,
  netmask: Netmask,
  gateway: Ipv4,
  ipv6: z.strictObject({ cidr: Ipv6Cidr, gateway: Ipv6.nullable() }).nullable().optional(),
});
// json.ml `log`: any IPv4 or IPv6 address, any integer port (the firmware checks no range).
export const LoggingRequest = z.strictObject({
  ipAddress: z.string().refine((text) => ipBytes(text) !== 0, 'not an IP address'),
  port: AnyInteger,
  logLevel: z.enum(['debug', 'info', 'warning', 'error']),
});
export const TimeRequest = z.strictObject({ time: DateTime });
// As for keys: RSA takes 1024..8192 bits, the other types ignore `length`.
export const TlsGenerateRequest = z.strictObject({
  type: TlsKeyType,
  length: AnyInteger.optional(),
});
// json.ml `restore_req`: both optional. Without a passphrase the firmware uses its own backup
// key (when the backup's salt is its own); any string may be tried as the passphrase.
export const RestoreArguments = z.strictObject({
  backupPassphrase: z.string().optional(),
  systemTime: DateTime.optional(),
});

// ---------------------------------------------------------------------------------------------
// Routes

export type Media = 'json' | 'pem' | 'octet';
export type RequestMedia = 'json' | 'json-or-multipart' | 'multipart' | 'octet' | 'pem' | 'none';
export type Access = 'public' | 'basic' | 'basic-when-operational';

export interface Caller {
  readonly id: string;
  readonly namespace: string;
  readonly user: UserRecord;
}

export interface Context {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly request: NetHsmHttpRequest;
  readonly caller: Caller | undefined;
}

export interface Route {
  readonly method: string;
  readonly template: string;
  readonly states: readonly NetHsmSystemState[];
  readonly access: Access;
  readonly roles: readonly NetHsmUserRole[];
  readonly rootOnly: boolean;
  readonly requestMedia: RequestMedia;
  readonly responseMedia: Media;
  readonly handle: (context: Context) => NetHsmHttpResponse | Promise<NetHsmHttpResponse>;
}

export const O: readonly NetHsmSystemState[] = ['Operational'];
export const ALL_STATES: readonly NetHsmSystemState[] = ['Unprovisioned', 'Locked', 'Operational'];

/** Splits a template like '/keys/{KeyID}/sign' into literal and parameter segments. */
export function matchTemplate(
  template: string,
  segments: readonly string[],
): Record<string, string> | null {
  const parts = template.split('/').slice(1);
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    const segment = segments[i] ?? '';
    const parameter = /^\{(\w+)\}(\*?)$/.exec(part);
    if (!parameter) {
      if (part !== segment) return null;
      continue;
    }
    if (parameter[2]) {
      if (!segment.endsWith('*')) return null;
      params[parameter[1] ?? ''] = segment.slice(0, -1);
    } else {
      if (segment === '' || (segment.endsWith('*') && template.startsWith('/keys/'))) return null;
      params[parameter[1] ?? ''] = segment;
    }
  }
  return params;
}

export function splitPath(path: string): { segments: string[]; query: URLSearchParams } | null {
  const [pathname = '', search = ''] = path.split('?', 2);
  if (!pathname.startsWith(`${NETHSM_API_PREFIX}/`)) return null;
  try {
    const segments = pathname
      .slice(NETHSM_API_PREFIX.length)
      .split('/')
      .slice(1)
      .map((s) => decodeURIComponent(s));
    return { segments, query: new URLSearchParams(search) };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Response helpers

export const encoder = new TextEncoder();

export function json(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): NetHsmHttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: encoder.encode(JSON.stringify(value)),
  };
}

export function empty(status: number, headers: Record<string, string> = {}): NetHsmHttpResponse {
  return { status, headers, body: new Uint8Array() };
}

export function pemResponse(text: string): NetHsmHttpResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/x-pem-file' },
    body: encoder.encode(text),
  };
}

export function octets(body: Uint8Array): NetHsmHttpResponse {
  return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body };
}

export function refusalResponse(refusal: NetHsmRefusal): NetHsmHttpResponse {
  const headers: Record<string, string> =
    refusal.kind === 'unauthenticated' ? { 'www-authenticate': 'Basic realm="NetHSM"' } : {};
  return json(refusal.status, { message: refusal.message }, headers);
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

export function unb64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function randomId(): string {
  return randomBytes(10).toString('hex');
}

export function parseBody<T>(schema: z.ZodType<T>, body: Uint8Array): T {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new NetHsmRefusal('bad-request', 'the request body is not JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    // Paths only: values may be passphrases.
    const where = result.error.issues
      .map((issue) => {
        const at = issue.path.join('.') || '(body)';
        // Unknown property names are the client's field names, never values.
        return issue.code === 'unrecognized_keys' ? `${at}: unknown ${issue.keys.join(', ')}` : at;
      })
      .join('; ');
    throw new NetHsmRefusal('bad-request', `invalid request data at: ${where}`);
  }
  return result.data;
}

export function mediaTypeOf(headers: Readonly<Record<string, string>>): string {
  return (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export const RESPONSE_MEDIA_TYPE: Record<Media, string> = {
  json: 'application/json',
  pem: 'application/x-pem-file',
  octet: 'application/octet-stream',
};

export function accepts(accept: string | undefined, media: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const [major] = media.split('/');
  return accept.split(',').some((entry) => {
    const type = entry.split(';')[0]?.trim().toLowerCase() ?? '';
    return type === '*/*' || type === media || type === `${major}/*`;
  });
}

export interface MultipartPart {
  readonly name: string;
  readonly contentType: string;
  readonly body: Uint8Array;
}

/** multipart/form-data (RFC 7578) as curl and form libraries send it. */
export function parseMultipart(contentType: string, body: Uint8Array): Map<string, MultipartPart> {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new NetHsmRefusal('bad-request', 'multipart body without boundary');
  const data = Buffer.from(body);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts = new Map<string, MultipartPart>();
  let at = data.indexOf(delimiter);
  if (at < 0) throw new NetHsmRefusal('bad-request', 'malformed multipart body');
  for (;;) {
    at += delimiter.length;
    if (data.subarray(at, at + 2).toString() === '--') break;
    if (data.subarray(at, at + 2).toString() === '\r\n') at += 2;
    const next = data.indexOf(delimiter, at);
    if (next < 0) throw new NetHsmRefusal('bad-request', 'malformed multipart body');
    const part = data.subarray(at, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) throw new NetHsmRefusal('bad-request', 'malformed multipart part');
    const headerText = part.subarray(0, headerEnd).toString('utf8');
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headerText)?.[1];
    const partType = /content-type:\s*([^\r\n;]+)/i.exec(headerText)?.[1]?.trim() ?? '';
    if (name === undefined) throw new NetHsmRefusal('bad-request', 'multipart part without name');
    parts.set(name, {
      name,
      contentType: partType.toLowerCase(),
      body: new Uint8Array(part.subarray(headerEnd + 4)),
    });
    at = next;
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Passphrases

export function hashPassphrase(secret: SecretBytes): PassphraseHash {
  const salt = randomBytes(16);
  const hash = secret.use((bytes) => scryptSync(bytes, salt, 32, SCRYPT));
  return { salt: salt.toString('base64'), hash: hash.toString('base64') };
}

export function storedBackupKey(key: NetHsmBackupKey): { salt: string; key: string } {
  return { salt: b64(key.salt), key: b64(key.key) };
}

export function backupKeyOf(stored: { salt: string; key: string }): NetHsmBackupKey {
  return { salt: unb64(stored.salt), key: unb64(stored.key) };
}

export function secretOf(text: string): SecretBytes {
  return SecretBytes.fromText(text);
}

export function splitUserId(userId: string): { namespace: string; name: string } {
  const tilde = userId.indexOf('~');
  return tilde < 0
    ? { namespace: '', name: userId }
    : { namespace: userId.slice(0, tilde), name: userId.slice(tilde + 1) };
}

export function keyStoreId(namespace: string, id: string): string {
  return `${namespace}/${id}`;
}

export function timeText(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function checkId(raw: string | undefined, what: string): string {
  if (raw === undefined || raw.length > 128 || !ID_PATTERN.test(raw))
    throw new NetHsmRefusal('bad-request', `invalid ${what}`);
  return raw;
}

export function checkUserId(raw: string | undefined): string {
  if (raw === undefined || raw.length > 128 || !USER_ID_PATTERN.test(raw))
    throw new NetHsmRefusal('bad-request', 'invalid UserID');
  return raw;
}

export function materialOf(key: KeyRecord): RehearsalKeyMaterial {
  return { type: key.type, secret: unb64(key.secret) };
}

export function tlsMaterial(tls: TlsIdentity): RehearsalKeyMaterial {
  return { type: tls.type, secret: unb64(tls.secret) };
}

export function parseCertificatePem(body: Uint8Array): Uint8Array {
  try {
    const der = decodePem(new TextDecoder().decode(body), 'CERTIFICATE');
    new X509Certificate(der);
    return der;
  } catch {
    throw new NetHsmRefusal('bad-request', 'not a PEM certificate');
  }
}

export const TLS_WEBCRYPTO: Partial<
  Record<
    NetHsmKeyType,
    {
      importAlgorithm:
        webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm;
      signing: webcrypto.Algorithm | webcrypto.EcdsaParams;
    }
  >
> = {
  EC_P256: {
    importAlgorithm: { name: 'ECDSA', namedCurve: 'P-256' },
    signing: { name: 'ECDSA', hash: 'SHA-256' },
  },
  EC_P384: {
    importAlgorithm: { name: 'ECDSA', namedCurve: 'P-384' },
    signing: { name: 'ECDSA', hash: 'SHA-384' },
  },
  EC_P521: {
    importAlgorithm: { name: 'ECDSA', namedCurve: 'P-521' },
    signing: { name: 'ECDSA', hash: 'SHA-512' },
  },
  RSA: {
    importAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    signing: { name: 'RSASSA-PKCS1-v1_5' },
  },
};

/**
 * A fresh self-signed TLS identity for 127.0.0.1. Curve25519 and Brainpool TLS keys are refused:
 * Node's TLS stack and clients would not reliably negotiate them in a rehearsal.
 */
export async function createTlsIdentity(
  type: NetHsmKeyType,
  lengthBits: number | undefined,
  serial: string,
): Promise<TlsIdentity> {
  const algorithms = TLS_WEBCRYPTO[type];
  if (!algorithms)
    throw new NetHsmRefusal(
      'bad-request',
      `the rehearsal NetHSM cannot serve TLS with ${type} keys`,
    );
  const material = generateKeyMaterial(type, lengthBits);
  const pkcs8 = privateKeyObject(material).export({ format: 'der', type: 'pkcs8' });
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    pkcs8,
    algorithms.importAlgorithm,
    false,
    ['sign'],
  );
  const publicKey = await webcrypto.subtle.importKey(
    'spki',
    subjectPublicKeyInfo(material),
    algorithms.importAlgorithm,
    true,
    ['verify'],
  );
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8)
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${serial} NetHSM REHEARSAL, O=Vigil rehearsal`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * 365 * 24 * 3600 * 1000),
    signingAlgorithm: algorithms.signing,
    keys: { privateKey, publicKey },
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
      new x509.BasicConstraintsExtension(false, undefined, true),
    ],
  });
  return {
    type,
    secret: b64(material.secret),
    certificate: b64(new Uint8Array(certificate.rawData)),
  };
}

// ---------------------------------------------------------------------------------------------
// Route sections

/** What a section of routes reaches of the device: its state and the operations routes share. */
export interface DeviceInternals {
  state(): RehearsalNetHsmState;
  requests(): number;
  hash(text: string): PassphraseHash;
  checkPassphrase(text: string, stored: PassphraseHash | undefined): boolean;
  setTime(text: string): void;
  markChanged(): void;
  now(): number;
  key(caller: Caller, rawId: string | undefined): KeyRecord;
  mayUse(caller: Caller, key: KeyRecord): boolean;
  usableKey(caller: Caller, rawId: string | undefined, mechanism: NetHsmKeyMechanism): KeyRecord;
  storeNewKey(
    caller: Caller,
    id: string,
    material: RehearsalKeyMaterial,
    mechanisms: NetHsmKeyMechanism[],
    tags: string[] | undefined,
  ): void;
  importKey(caller: Caller, request: NetHsmHttpRequest, id: string): void;
  listKeys(caller: Caller, prefix: string, query: URLSearchParams): NetHsmHttpResponse;
  publicKeyJson(key: KeyRecord): Record<string, unknown>;
  user(rawId: string | undefined): { id: string; user: UserRecord };
  sameNamespace(caller: Caller, id: string): void;
  createUser(caller: Caller, id: string, body: Uint8Array): void;
  backupEntries(): NetHsmBackupEntry[];
  restore(entries: readonly NetHsmBackupEntry[], full: boolean, backupKey: NetHsmBackupKey): void;
  /** Verified credentials are remembered per process; a passphrase change forgets them. */
  forgetVerified(): void;
  shutDown(): void;
}

type AddRoute = (
  method: string,
  template: string,
  options: Partial<Omit<Route, 'method' | 'template' | 'handle'>>,
  handle: Route['handle'],
) => void;

/** A section's tools: `add` a route, `need` an authenticated caller, `s` the state, `d` the device. */
export interface RouteKit {
  add: AddRoute;
  need: (caller: Caller | undefined) => Caller;
  s: () => RehearsalNetHsmState;
  d: DeviceInternals;
}

export const admin = { roles: ['Administrator'] as const };
export const rootAdmin = { roles: ['Administrator'] as const, rootOnly: true };
export const adminOrOperator = { roles: ['Administrator', 'Operator'] as const };
export const operator = { roles: ['Operator'] as const };
export const jsonBody = { requestMedia: 'json' as const };
export const publicRoute = { access: 'public' as const, roles: [] };

/** The route table: each section adds its routes, in the order given. */
export function routeTable(d: DeviceInternals, sections: readonly ((kit: RouteKit) => void)[]) {
  const routes: Route[] = [];
  const add: AddRoute = (method, template, options, handle) => {
    routes.push({
      method,
      template,
      states: O,
      access: 'basic',
      roles: ['Administrator'],
      rootOnly: false,
      requestMedia: 'none',
      responseMedia: 'json',
      ...options,
      handle,
    });
  };
  const need = (caller: Caller | undefined): Caller => {
    if (!caller) throw new NetHsmRefusal('unauthenticated', 'authentication required');
    return caller;
  };
  for (const section of sections) section({ add, need, s: () => d.state(), d });
  return routes;
}
