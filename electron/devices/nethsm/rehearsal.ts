// The rehearsal NetHSM: an emulated Nitrokey NetHSM (REST API v4.0) without sockets. It holds the
// device state (system state, users, roles, namespaces, keys, tags, configuration) and answers one
// HTTP exchange at a time exactly as the OpenAPI document describes: status codes, media types,
// JSON shapes and refusals. rehearsal-server.ts puts it behind HTTPS on 127.0.0.1.
import {
  X509Certificate,
  createHash,
  createHmac,
  randomBytes,
  scryptSync,
  timingSafeEqual,
  webcrypto,
} from 'node:crypto';
import { z } from 'zod';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { decodePem, encodePem } from '../../formats/pem.ts';
import { x509 } from '../../formats/x509.ts';
import {
  BackupHeaderPath,
  NetHsmBackupError,
  backupKeyMatches,
  deriveNetHsmBackupKey,
  readBackup,
  writeBackupWithKey,
  type NetHsmBackupEntry,
  type NetHsmBackupKey,
} from './backup.ts';
import {
  NETHSM_DECRYPT_MODES,
  NETHSM_ENCRYPT_MODES,
  NETHSM_KEY_MECHANISMS,
  NETHSM_KEY_TYPES,
  NETHSM_SIGN_MODES,
  RehearsalCryptoError,
  certificationRequest,
  decryptModeMechanism,
  decryptWith,
  encryptModeMechanism,
  encryptWith,
  generateKeyMaterial,
  importKeyMaterial,
  importPemKeyMaterial,
  mechanismFitsType,
  privateKeyObject,
  publicKeyData,
  signModeMechanism,
  signWith,
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

const REFUSAL_STATUS: Record<NetHsmRefusalKind, number> = {
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
export class NetHsmRefusal extends Error {
  constructor(
    readonly kind: NetHsmRefusalKind,
    message: string,
  ) {
    super(message);
    this.name = 'NetHsmRefusal';
  }

  get status(): number {
    return REFUSAL_STATUS[this.kind];
  }
}

// ---------------------------------------------------------------------------------------------
// Persistent state

interface PassphraseHash {
  readonly salt: string;
  readonly hash: string;
}

interface UserRecord {
  realName: string;
  role: NetHsmUserRole;
  passphrase: PassphraseHash;
  tags: string[];
}

interface KeyRecord {
  type: NetHsmKeyType;
  mechanisms: NetHsmKeyMechanism[];
  tags: string[];
  secret: string;
  operations: number;
  certificate?: string;
}

interface NetworkConfig {
  ipAddress: string;
  netmask: string;
  gateway: string;
  ipv6?: { cidr?: string | undefined; gateway?: string | undefined };
}

interface LoggingConfig {
  ipAddress: string;
  port: number;
  logLevel: 'debug' | 'info' | 'warning' | 'error';
}

interface TlsIdentity {
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

const DEFAULT_NETWORK: NetworkConfig = {
  ipAddress: '192.168.1.1',
  netmask: '255.255.255.0',
  gateway: '0.0.0.0',
};
const DEFAULT_LOGGING: LoggingConfig = { ipAddress: '0.0.0.0', port: 514, logLevel: 'info' };
const CERTIFICATE_LIMIT_BYTES = 1024 * 1024;
const SCRYPT = { N: 1 << 14, r: 8, p: 1 } as const;

// ---------------------------------------------------------------------------------------------
// Request schemas (strict: unknown properties are a 400, as on the device)

const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const USER_ID_PATTERN = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*~)?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const BASE64_PATTERN = /^[a-zA-Z0-9+/]+={0,3}$/;

const Id = z.string().min(1).max(128).regex(ID_PATTERN);
const Passphrase = z.string().min(10);
const Base64 = z.string().regex(BASE64_PATTERN);
const DateTime = z.iso.datetime({ offset: true });
const Mechanisms = z.array(z.enum(NETHSM_KEY_MECHANISMS));
const Restrictions = z.strictObject({ tags: z.array(Id).optional() });
const Role = z.enum(['Administrator', 'Operator', 'Metrics', 'Backup']);

const ProvisionRequest = z.strictObject({
  unlockPassphrase: Passphrase,
  adminPassphrase: Passphrase,
  systemTime: DateTime,
});
const UnlockRequest = z.strictObject({ passphrase: Passphrase });
const RandomRequest = z.strictObject({ length: z.number().int().min(1).max(1024) });
const PrivateKeyRequest = z.strictObject({
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
const PemKeyArguments = z.strictObject({
  mechanisms: Mechanisms,
  restrictions: Restrictions.optional(),
});
const KeyGenerateRequest = z.strictObject({
  mechanisms: Mechanisms,
  type: z.enum(NETHSM_KEY_TYPES),
  length: z.number().int().min(128).max(8192).optional(),
  id: Id.optional(),
  restrictions: Restrictions.optional(),
});
const SignRequest = z.strictObject({ mode: z.enum(NETHSM_SIGN_MODES), message: Base64 });
const DecryptRequest = z.strictObject({
  mode: z.enum(NETHSM_DECRYPT_MODES),
  encrypted: Base64,
  iv: Base64.optional(),
});
const EncryptRequest = z.strictObject({
  mode: z.enum(NETHSM_ENCRYPT_MODES),
  message: Base64,
  iv: Base64.optional(),
});
const MoveRequest = z.strictObject({ newId: Id });
const DistinguishedName = z.strictObject({
  countryName: z.string().optional(),
  stateOrProvinceName: z.string().optional(),
  localityName: z.string().optional(),
  organizationName: z.string().optional(),
  organizationalUnitName: z.string().optional(),
  commonName: z.string(),
  emailAddress: z.string().optional(),
  subjectAltNames: z.array(z.string()).optional(),
});
const UserPostRequest = z.strictObject({
  realName: z.string(),
  role: Role,
  passphrase: Passphrase,
});
const UserPassphraseRequest = z.strictObject({ passphrase: Passphrase });
const PassphraseChangeRequest = z.strictObject({
  newPassphrase: Passphrase,
  currentPassphrase: z.string(),
});
const UnattendedBootRequest = z.strictObject({ status: z.enum(['on', 'off']) });
const Ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/);
const NetworkRequest = z.strictObject({
  ipAddress: Ipv4,
  netmask: Ipv4,
  gateway: Ipv4.optional(),
  ipv6: z
    .strictObject({ cidr: z.string().optional(), gateway: z.string().optional() })
    .nullable()
    .optional(),
});
const LoggingRequest = z.strictObject({
  ipAddress: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  logLevel: z.enum(['debug', 'info', 'warning', 'error']),
});
const TimeRequest = z.strictObject({ time: DateTime });
const TlsGenerateRequest = z.strictObject({
  type: TlsKeyType,
  length: z.number().int().min(128).max(8192).optional(),
});
const RestoreArguments = z.strictObject({
  backupPassphrase: Passphrase,
  systemTime: DateTime.optional(),
});

// ---------------------------------------------------------------------------------------------
// Routes

type Media = 'json' | 'pem' | 'octet';
type RequestMedia = 'json' | 'json-or-multipart' | 'multipart' | 'octet' | 'pem' | 'none';
type Access = 'public' | 'basic' | 'basic-when-operational';

interface Caller {
  readonly id: string;
  readonly namespace: string;
  readonly user: UserRecord;
}

interface Context {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly request: NetHsmHttpRequest;
  readonly caller: Caller | undefined;
}

interface Route {
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

const O: readonly NetHsmSystemState[] = ['Operational'];
const ALL_STATES: readonly NetHsmSystemState[] = ['Unprovisioned', 'Locked', 'Operational'];

/** Splits a template like '/keys/{KeyID}/sign' into literal and parameter segments. */
function matchTemplate(
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

function splitPath(path: string): { segments: string[]; query: URLSearchParams } | null {
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

const encoder = new TextEncoder();

function json(
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

function empty(status: number, headers: Record<string, string> = {}): NetHsmHttpResponse {
  return { status, headers, body: new Uint8Array() };
}

function pemResponse(text: string): NetHsmHttpResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/x-pem-file' },
    body: encoder.encode(text),
  };
}

function octets(body: Uint8Array): NetHsmHttpResponse {
  return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body };
}

export function refusalResponse(refusal: NetHsmRefusal): NetHsmHttpResponse {
  const headers: Record<string, string> =
    refusal.kind === 'unauthenticated' ? { 'www-authenticate': 'Basic realm="NetHSM"' } : {};
  return json(refusal.status, { message: refusal.message }, headers);
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function unb64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function randomId(): string {
  return randomBytes(10).toString('hex');
}

function parseBody<T>(schema: z.ZodType<T>, body: Uint8Array): T {
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

function mediaTypeOf(headers: Readonly<Record<string, string>>): string {
  return (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

const RESPONSE_MEDIA_TYPE: Record<Media, string> = {
  json: 'application/json',
  pem: 'application/x-pem-file',
  octet: 'application/octet-stream',
};

function accepts(accept: string | undefined, media: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const [major] = media.split('/');
  return accept.split(',').some((entry) => {
    const type = entry.split(';')[0]?.trim().toLowerCase() ?? '';
    return type === '*/*' || type === media || type === `${major}/*`;
  });
}

interface MultipartPart {
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

function hashPassphrase(secret: SecretBytes): PassphraseHash {
  const salt = randomBytes(16);
  const hash = secret.use((bytes) => scryptSync(bytes, salt, 32, SCRYPT));
  return { salt: salt.toString('base64'), hash: hash.toString('base64') };
}

function storedBackupKey(key: NetHsmBackupKey): { salt: string; key: string } {
  return { salt: b64(key.salt), key: b64(key.key) };
}

function backupKeyOf(stored: { salt: string; key: string }): NetHsmBackupKey {
  return { salt: unb64(stored.salt), key: unb64(stored.key) };
}

function secretOf(text: string): SecretBytes {
  return SecretBytes.fromText(text);
}

function splitUserId(userId: string): { namespace: string; name: string } {
  const tilde = userId.indexOf('~');
  return tilde < 0
    ? { namespace: '', name: userId }
    : { namespace: userId.slice(0, tilde), name: userId.slice(tilde + 1) };
}

function keyStoreId(namespace: string, id: string): string {
  return `${namespace}/${id}`;
}

function timeText(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// The device

export interface RehearsalNetHsmDeviceOptions {
  /** A saved state to continue from; a fresh factory-new device otherwise. */
  readonly state?: RehearsalNetHsmState;
}

export class RehearsalNetHsmDevice {
  #state: RehearsalNetHsmState;
  readonly #routes: readonly Route[];
  // Verified credentials, keyed by an HMAC under a per-process key, so each request does not
  // pay a scrypt; the stored salt is part of the input, so a passphrase change invalidates it.
  readonly #verified = new Set<string>();
  readonly #cacheKey = randomBytes(32);
  #changed = false;
  #shutdown = false;
  #requests = 0;

  private constructor(state: RehearsalNetHsmState) {
    this.#state = state;
    this.#routes = this.#buildRoutes();
  }

  static async create(options: RehearsalNetHsmDeviceOptions = {}): Promise<RehearsalNetHsmDevice> {
    if (options.state) return new RehearsalNetHsmDevice(structuredClone(options.state));
    const serial = `REHEARSAL-${randomBytes(4).toString('hex').toUpperCase()}`;
    const tls = await createTlsIdentity('EC_P256', undefined, serial);
    return new RehearsalNetHsmDevice({
      version: 1,
      serial,
      state: 'Unprovisioned',
      unattendedBoot: false,
      clockOffsetMs: 0,
      network: { ...DEFAULT_NETWORK },
      logging: { ...DEFAULT_LOGGING },
      tls,
      attestationKeys: {
        P256: b64(subjectPublicKeyInfo(generateKeyMaterial('EC_P256'))),
        P384: b64(subjectPublicKeyInfo(generateKeyMaterial('EC_P384'))),
      },
      users: {},
      namespaces: [],
      keys: {},
    });
  }

  get serial(): string {
    return this.#state.serial;
  }

  get systemState(): NetHsmSystemState {
    return this.#state.state;
  }

  /** The TLS identity the server presents: private key (PKCS#8 PEM) and certificate (DER). */
  get tlsIdentity(): { privateKeyPem: string; certificateDer: Uint8Array } {
    const key = privateKeyObject(tlsMaterial(this.#state.tls));
    return {
      privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
      certificateDer: unb64(this.#state.tls.certificate),
    };
  }

  /** A deep copy of the state, for the state file. */
  snapshot(): RehearsalNetHsmState {
    return structuredClone(this.#state);
  }

  /** The route template a request path matches (e.g. '/api/v1/keys/{KeyID}/sign'). */
  templateOf(method: string, path: string): string | undefined {
    const split = splitPath(path);
    if (!split) return undefined;
    const route = this.#routes.find(
      (r) => r.method === method.toUpperCase() && matchTemplate(r.template, split.segments),
    );
    return route ? `${NETHSM_API_PREFIX}${route.template}` : undefined;
  }

  async handle(request: NetHsmHttpRequest): Promise<RehearsalOutcome> {
    this.#changed = false;
    this.#shutdown = false;
    this.#requests++;
    let response: NetHsmHttpResponse;
    try {
      response = await this.#dispatch(request);
    } catch (error) {
      if (error instanceof NetHsmRefusal) response = refusalResponse(error);
      else if (error instanceof RehearsalCryptoError)
        response = refusalResponse(new NetHsmRefusal('bad-request', error.message));
      else {
        // A rehearsal bug must still answer, as the appliance's web server would.
        response = json(500, { message: 'internal error in the rehearsal NetHSM' });
      }
    }
    return { response, changed: this.#changed, shutdown: this.#shutdown };
  }

  async #dispatch(request: NetHsmHttpRequest): Promise<NetHsmHttpResponse> {
    const split = splitPath(request.path);
    if (!split) throw new NetHsmRefusal('not-found', 'no such resource');
    const candidates = this.#routes
      .map((route) => ({ route, params: matchTemplate(route.template, split.segments) }))
      .filter((c): c is { route: Route; params: Record<string, string> } => c.params !== null);
    if (candidates.length === 0) throw new NetHsmRefusal('not-found', 'no such resource');
    const match = candidates.find((c) => c.route.method === request.method.toUpperCase());
    if (!match) throw new NetHsmRefusal('method-not-allowed', 'method not allowed');
    const { route, params } = match;
    const state = this.#state.state;
    if (!route.states.includes(state))
      throw new NetHsmRefusal('wrong-state', `the NetHSM is ${state}`);
    const needsAuth =
      route.access === 'basic' ||
      (route.access === 'basic-when-operational' && state === 'Operational');
    const caller = needsAuth ? this.#authenticate(request.headers.authorization) : undefined;
    if (caller) {
      if (!route.roles.includes(caller.user.role))
        throw new NetHsmRefusal('forbidden', `the ${caller.user.role} role may not do this`);
      if (route.rootOnly && caller.namespace !== '')
        throw new NetHsmRefusal('forbidden', 'only system-wide users may do this');
    }
    this.#checkRequestMedia(route.requestMedia, request);
    if (!accepts(request.headers.accept, RESPONSE_MEDIA_TYPE[route.responseMedia]))
      throw new NetHsmRefusal('not-acceptable', 'the Accept header excludes the response type');
    return route.handle({ params, query: split.query, request, caller });
  }

  #checkRequestMedia(media: RequestMedia, request: NetHsmHttpRequest): void {
    const type = mediaTypeOf(request.headers);
    const allowed: Record<RequestMedia, readonly string[]> = {
      json: ['application/json'],
      'json-or-multipart': ['application/json', 'multipart/form-data'],
      multipart: ['multipart/form-data'],
      octet: ['application/octet-stream'],
      pem: ['application/x-pem-file'],
      none: [],
    };
    if (media === 'none') return;
    if (!allowed[media].includes(type))
      throw new NetHsmRefusal('unsupported-media-type', `expected ${allowed[media].join(' or ')}`);
  }

  #authenticate(authorization: string | undefined): Caller {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new NetHsmRefusal('unauthenticated', 'authentication required');
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new NetHsmRefusal('unauthenticated', 'authentication required');
    const id = decoded.slice(0, colon);
    const secret = secretOf(decoded.slice(colon + 1));
    try {
      const user = Object.hasOwn(this.#state.users, id) ? this.#state.users[id] : undefined;
      // Compare even for unknown users, so timing does not reveal which users exist.
      const stored = user?.passphrase ?? { salt: '', hash: b64(new Uint8Array(32)) };
      if (!this.#verify(id, secret, stored) || !user)
        throw new NetHsmRefusal('unauthenticated', 'invalid credentials');
      const { namespace } = splitUserId(id);
      if (namespace !== '' && !this.#state.namespaces.includes(namespace))
        throw new NetHsmRefusal('forbidden', `namespace ${namespace} does not exist yet`);
      return { id, namespace, user };
    } finally {
      secret.wipe();
    }
  }

  #verify(id: string, secret: SecretBytes, stored: PassphraseHash): boolean {
    const cacheEntry = secret.use((bytes) =>
      createHmac('sha256', this.#cacheKey)
        .update(`${id}\u0000${stored.salt}\u0000${stored.hash}\u0000`)
        .update(bytes)
        .digest('hex'),
    );
    if (this.#verified.has(cacheEntry)) return true;
    const expected = unb64(stored.hash);
    const actual = secret.use((bytes) => scryptSync(bytes, unb64(stored.salt), 32, SCRYPT));
    const ok = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (ok) this.#verified.add(cacheEntry);
    return ok;
  }

  #checkPassphrase(text: string, stored: PassphraseHash | undefined): boolean {
    if (!stored) return false;
    const secret = secretOf(text);
    try {
      const actual = secret.use((bytes) => scryptSync(bytes, unb64(stored.salt), 32, SCRYPT));
      return timingSafeEqual(unb64(stored.hash), actual);
    } finally {
      secret.wipe();
    }
  }

  #hash(text: string): PassphraseHash {
    const secret = secretOf(text);
    try {
      return hashPassphrase(secret);
    } finally {
      secret.wipe();
    }
  }

  #markChanged(): void {
    this.#changed = true;
  }

  #now(): number {
    return Date.now() + this.#state.clockOffsetMs;
  }

  #setTime(text: string): void {
    this.#state.clockOffsetMs = Date.parse(text) - Date.now();
  }

  // -------------------------------------------------------------------------------------------
  // Keys

  #key(caller: Caller, rawId: string | undefined): KeyRecord {
    const id = checkId(rawId, 'KeyID');
    const key = this.#state.keys[keyStoreId(caller.namespace, id)];
    if (!key) throw new NetHsmRefusal('not-found', `no key ${id}`);
    return key;
  }

  /** Operators use a tagged key only if they carry one of its tags. */
  #mayUse(caller: Caller, key: KeyRecord): boolean {
    return key.tags.length === 0 || key.tags.some((tag) => caller.user.tags.includes(tag));
  }

  #usableKey(caller: Caller, rawId: string | undefined, mechanism: NetHsmKeyMechanism): KeyRecord {
    const key = this.#key(caller, rawId);
    if (caller.user.role === 'Operator' && !this.#mayUse(caller, key))
      throw new NetHsmRefusal('forbidden', 'the key is restricted to other tags');
    if (!key.mechanisms.includes(mechanism))
      throw new NetHsmRefusal('bad-request', `the key does not allow ${mechanism}`);
    return key;
  }

  #storeNewKey(
    caller: Caller,
    id: string,
    material: RehearsalKeyMaterial,
    mechanisms: NetHsmKeyMechanism[],
    tags: string[] | undefined,
  ): void {
    if (mechanisms.length === 0) throw new NetHsmRefusal('bad-request', 'no mechanisms given');
    const misfit = mechanisms.find((m) => !mechanismFitsType(m, material.type));
    if (misfit)
      throw new NetHsmRefusal('bad-request', `${misfit} does not fit a ${material.type} key`);
    const storeId = keyStoreId(caller.namespace, id);
    if (this.#state.keys[storeId]) throw new NetHsmRefusal('conflict', `key ${id} exists`);
    this.#state.keys[storeId] = {
      type: material.type,
      mechanisms: [...new Set(mechanisms)],
      tags: [...new Set(tags ?? [])],
      secret: b64(material.secret),
      operations: 0,
    };
    this.#markChanged();
  }

  #importKey(caller: Caller, request: NetHsmHttpRequest, id: string): void {
    if (mediaTypeOf(request.headers) === 'multipart/form-data') {
      const parts = parseMultipart(request.headers['content-type'] ?? '', request.body);
      const args = parts.get('arguments');
      const keyFile = parts.get('key_file');
      if (!args || !keyFile)
        throw new NetHsmRefusal('bad-request', 'multipart import needs arguments and key_file');
      const parsed = parseBody(PemKeyArguments, args.body);
      const material = importPemKeyMaterial(new TextDecoder().decode(keyFile.body));
      this.#storeNewKey(caller, id, material, parsed.mechanisms, parsed.restrictions?.tags);
      return;
    }
    const parsed = parseBody(PrivateKeyRequest, request.body);
    const fields = parsed.private;
    const material = importKeyMaterial(parsed.type, {
      ...(fields.primeP === undefined ? {} : { primeP: unb64(fields.primeP) }),
      ...(fields.primeQ === undefined ? {} : { primeQ: unb64(fields.primeQ) }),
      ...(fields.publicExponent === undefined
        ? {}
        : { publicExponent: unb64(fields.publicExponent) }),
      ...(fields.data === undefined ? {} : { data: unb64(fields.data) }),
    });
    this.#storeNewKey(caller, id, material, parsed.mechanisms, parsed.restrictions?.tags);
  }

  #listKeys(caller: Caller, prefix: string, query: URLSearchParams): NetHsmHttpResponse {
    const filter = query.has('filter');
    const ids = Object.entries(this.#state.keys)
      .filter(([storeId]) => storeId.startsWith(`${caller.namespace}/`))
      .map(([storeId, key]) => ({ id: storeId.slice(caller.namespace.length + 1), key }))
      .filter(({ id }) => id.startsWith(prefix))
      .filter(({ key }) => !filter || caller.user.role !== 'Operator' || this.#mayUse(caller, key))
      .map(({ id }) => ({ id }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return json(200, ids);
  }

  #publicKeyJson(key: KeyRecord): Record<string, unknown> {
    const data = publicKeyData(materialOf(key));
    const result: Record<string, unknown> = {
      mechanisms: key.mechanisms,
      type: key.type,
      restrictions: key.tags.length > 0 ? { tags: key.tags } : {},
      operations: key.operations,
    };
    if (data && 'modulus' in data)
      result.public = { modulus: b64(data.modulus), publicExponent: b64(data.publicExponent) };
    else if (data) result.public = { data: b64(data.data) };
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Users

  /** Whether `caller` may create or replace users in `namespace` (spec: PUT /users/{UserID}). */
  #mayCreateUserIn(caller: Caller, namespace: string): boolean {
    if (caller.namespace === namespace) return true;
    if (caller.namespace !== '') return false;
    // A system-wide Administrator seeds a namespace: before it exists (the spec's order), or
    // while it has no Administrator of its own yet.
    return (
      !this.#state.namespaces.includes(namespace) ||
      !Object.entries(this.#state.users).some(
        ([id, u]) => splitUserId(id).namespace === namespace && u.role === 'Administrator',
      )
    );
  }

  #user(rawId: string | undefined): { id: string; user: UserRecord } {
    const id = checkUserId(rawId);
    const user = Object.hasOwn(this.#state.users, id) ? this.#state.users[id] : undefined;
    if (!user) throw new NetHsmRefusal('not-found', `no user ${id}`);
    return { id, user };
  }

  #sameNamespace(caller: Caller, id: string): void {
    if (splitUserId(id).namespace !== caller.namespace)
      throw new NetHsmRefusal('forbidden', 'the user is in another namespace');
  }

  #createUser(caller: Caller, id: string, body: Uint8Array): void {
    const parsed = parseBody(UserPostRequest, body);
    const { namespace } = splitUserId(id);
    if (!this.#mayCreateUserIn(caller, namespace))
      throw new NetHsmRefusal(
        'forbidden',
        `may not create users in namespace ${namespace || '(root)'}`,
      );
    if (Object.hasOwn(this.#state.users, id))
      throw new NetHsmRefusal('conflict', `user ${id} exists`);
    this.#state.users[id] = {
      realName: parsed.realName,
      role: parsed.role,
      passphrase: this.#hash(parsed.passphrase),
      tags: [],
    };
    this.#markChanged();
  }

  // -------------------------------------------------------------------------------------------
  // Backup and restore

  #backupEntries(): NetHsmBackupEntry[] {
    const s = this.#state;
    const text = (value: unknown) => encoder.encode(JSON.stringify(value));
    const entries: NetHsmBackupEntry[] = [
      { path: BackupHeaderPath.deviceId, value: encoder.encode(s.serial) },
      { path: '/config/version', value: encoder.encode('1') },
      { path: '/config/unlock-salt', value: text(s.unlockPassphrase ?? null) },
      { path: '/config/unattended-boot', value: encoder.encode(s.unattendedBoot ? '1' : '0') },
      { path: '/config/ip-config', value: text(s.network) },
      { path: '/config/log-config', value: text(s.logging) },
      { path: '/config/certificate', value: text(s.tls) },
      { path: '/.initialized', value: encoder.encode('1') },
    ];
    for (const [id, user] of Object.entries(s.users))
      entries.push({ path: `/authentication/${id}`, value: text(user) });
    for (const ns of s.namespaces) entries.push({ path: `/namespace/${ns}`, value: text({}) });
    for (const [storeId, key] of Object.entries(s.keys)) {
      const [ns = '', id = ''] = storeId.split('/');
      entries.push({ path: ns === '' ? `/key/${id}` : `/key/.${ns}/${id}`, value: text(key) });
    }
    return entries;
  }

  #restore(entries: readonly NetHsmBackupEntry[], full: boolean, backupKey: NetHsmBackupKey): void {
    const users: Record<string, UserRecord> = {};
    const namespaces: string[] = [];
    const keys: Record<string, KeyRecord> = {};
    const config = new Map<string, string>();
    const decoder = new TextDecoder();
    try {
      for (const entry of entries) {
        const value = decoder.decode(entry.value);
        const [, store = '', ...rest] = entry.path.split('/');
        if (store === 'authentication') users[rest.join('/')] = JSON.parse(value) as UserRecord;
        else if (store === 'namespace') namespaces.push(rest.join('/'));
        else if (store === 'key') {
          const [first = '', second] = rest;
          const storeId =
            second === undefined ? keyStoreId('', first) : keyStoreId(first.slice(1), second);
          keys[storeId] = JSON.parse(value) as KeyRecord;
        } else if (store === 'config') config.set(rest.join('/'), value);
      }
    } catch {
      throw new NetHsmRefusal('bad-request', 'the backup content is not a rehearsal backup');
    }
    const s = this.#state;
    s.users = users;
    s.namespaces = namespaces.sort();
    s.keys = keys;
    s.backupKey = storedBackupKey(backupKey);
    if (full) {
      const unlock = config.get('unlock-salt');
      const parsedUnlock = unlock ? (JSON.parse(unlock) as PassphraseHash | null) : null;
      if (!parsedUnlock)
        throw new NetHsmRefusal('bad-request', 'the backup has no unlock passphrase');
      s.unlockPassphrase = parsedUnlock;
      s.unattendedBoot = config.get('unattended-boot') === '1';
      const network = config.get('ip-config');
      if (network) s.network = JSON.parse(network) as NetworkConfig;
      const logging = config.get('log-config');
      if (logging) s.logging = JSON.parse(logging) as LoggingConfig;
      const tls = config.get('certificate');
      if (tls) s.tls = JSON.parse(tls) as TlsIdentity;
      s.state = s.unattendedBoot ? 'Operational' : 'Locked';
    }
    this.#verified.clear();
    this.#markChanged();
  }

  // -------------------------------------------------------------------------------------------
  // Route table

  #buildRoutes(): Route[] {
    const routes: Route[] = [];
    const add = (
      method: string,
      template: string,
      options: Partial<Omit<Route, 'method' | 'template' | 'handle'>>,
      handle: Route['handle'],
    ): void => {
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
    const admin = { roles: ['Administrator'] as const };
    const rootAdmin = { roles: ['Administrator'] as const, rootOnly: true };
    const adminOrOperator = { roles: ['Administrator', 'Operator'] as const };
    const operator = { roles: ['Operator'] as const };
    const jsonBody = { requestMedia: 'json' as const };
    const publicRoute = { access: 'public' as const, roles: [] };
    const need = (caller: Caller | undefined): Caller => {
      if (!caller) throw new NetHsmRefusal('unauthenticated', 'authentication required');
      return caller;
    };
    const s = () => this.#state;

    // Public
    add('GET', '/info', { ...publicRoute, states: ALL_STATES }, () =>
      json(200, { vendor: 'Nitrokey GmbH', product: 'NetHSM' }),
    );
    add('GET', '/health/alive', { ...publicRoute, states: ['Locked', 'Unprovisioned'] }, () =>
      empty(200),
    );
    add('GET', '/health/ready', { ...publicRoute, states: O }, () => empty(200));
    add('GET', '/health/state', { ...publicRoute, states: ALL_STATES }, () =>
      json(200, { state: s().state }),
    );
    add('GET', '/metrics', { roles: ['Metrics'] }, () => {
      const keys = Object.values(s().keys);
      return json(200, {
        rehearsal: true,
        requests: this.#requests,
        keys: keys.length,
        users: Object.keys(s().users).length,
        keyOperations: keys.reduce((n, k) => n + k.operations, 0),
      });
    });
    add(
      'POST',
      '/provision',
      { ...publicRoute, states: ['Unprovisioned'], ...jsonBody },
      ({ request }) => {
        const body = parseBody(ProvisionRequest, request.body);
        const st = s();
        st.unlockPassphrase = this.#hash(body.unlockPassphrase);
        st.users = {
          admin: {
            realName: 'admin',
            role: 'Administrator',
            passphrase: this.#hash(body.adminPassphrase),
            tags: [],
          },
        };
        st.namespaces = [];
        st.keys = {};
        this.#setTime(body.systemTime);
        st.state = 'Operational';
        this.#markChanged();
        return empty(204);
      },
    );
    add('POST', '/unlock', { ...publicRoute, states: ['Locked'], ...jsonBody }, ({ request }) => {
      const body = parseBody(UnlockRequest, request.body);
      // No 1/s rate limit on failures in the rehearsal.
      if (!this.#checkPassphrase(body.passphrase, s().unlockPassphrase))
        throw new NetHsmRefusal('forbidden', 'unlock failed');
      s().state = 'Operational';
      this.#markChanged();
      return empty(204);
    });
    add('POST', '/lock', rootAdmin, () => {
      s().state = 'Locked';
      this.#markChanged();
      return empty(204);
    });
    add('POST', '/random', { ...operator, ...jsonBody }, ({ request }) => {
      const body = parseBody(RandomRequest, request.body);
      return json(200, { random: b64(randomBytes(body.length)) });
    });

    // Keys
    add('GET', '/keys', adminOrOperator, ({ caller, query }) =>
      this.#listKeys(need(caller), '', query),
    );
    add('POST', '/keys', { ...admin, requestMedia: 'json-or-multipart' }, ({ caller, request }) => {
      const id = randomId();
      this.#importKey(need(caller), request, id);
      return json(201, { id }, { location: `${NETHSM_API_PREFIX}/keys/${id}` });
    });
    add('POST', '/keys/generate', { ...admin, ...jsonBody }, ({ caller, request }) => {
      const body = parseBody(KeyGenerateRequest, request.body);
      if ((body.type === 'RSA' || body.type === 'Generic') && body.length === undefined)
        throw new NetHsmRefusal('bad-request', `${body.type} keys need a length`);
      if (body.type !== 'RSA' && body.type !== 'Generic' && body.length !== undefined)
        throw new NetHsmRefusal('bad-request', `${body.type} keys have a fixed length`);
      const c = need(caller);
      const id = body.id ?? randomId();
      // No 409 is documented for generate: an id in use is invalid input.
      if (s().keys[keyStoreId(c.namespace, id)])
        throw new NetHsmRefusal('bad-request', `key ${id} exists`);
      const misfit = body.mechanisms.find((m) => !mechanismFitsType(m, body.type));
      if (misfit)
        throw new NetHsmRefusal('bad-request', `${misfit} does not fit a ${body.type} key`);
      const material = generateKeyMaterial(body.type, body.length);
      this.#storeNewKey(c, id, material, body.mechanisms, body.restrictions?.tags);
      return json(201, { id }, { location: `${NETHSM_API_PREFIX}/keys/${id}` });
    });
    add('GET', '/keys/{KeyPrefix}*', adminOrOperator, ({ caller, params, query }) => {
      const prefix = params.KeyPrefix ?? '';
      if (prefix !== '' && !ID_PATTERN.test(prefix))
        throw new NetHsmRefusal('bad-request', 'invalid KeyPrefix');
      return this.#listKeys(need(caller), prefix, query);
    });
    add('GET', '/keys/{KeyID}', adminOrOperator, ({ caller, params }) =>
      json(200, this.#publicKeyJson(this.#key(need(caller), params.KeyID))),
    );
    add(
      'PUT',
      '/keys/{KeyID}',
      { ...admin, requestMedia: 'json-or-multipart' },
      ({ caller, params, request }) => {
        this.#importKey(need(caller), request, checkId(params.KeyID, 'KeyID'));
        return empty(204);
      },
    );
    add('DELETE', '/keys/{KeyID}', admin, ({ caller, params }) => {
      const c = need(caller);
      this.#key(c, params.KeyID);
      delete s().keys[keyStoreId(c.namespace, params.KeyID ?? '')];
      this.#markChanged();
      return empty(204);
    });
    add(
      'GET',
      '/keys/{KeyID}/public.pem',
      { ...adminOrOperator, responseMedia: 'pem' },
      ({ caller, params }) => {
        const key = this.#key(need(caller), params.KeyID);
        if (key.type === 'Generic')
          throw new NetHsmRefusal('bad-request', 'Generic keys have no public key');
        return pemResponse(encodePem('PUBLIC KEY', subjectPublicKeyInfo(materialOf(key))));
      },
    );
    add(
      'POST',
      '/keys/{KeyID}/csr.pem',
      { ...adminOrOperator, ...jsonBody, responseMedia: 'pem' },
      ({ caller, params, request }) => {
        const c = need(caller);
        const key = this.#key(c, params.KeyID);
        if (c.user.role === 'Operator' && !this.#mayUse(c, key))
          throw new NetHsmRefusal('forbidden', 'the key is restricted to other tags');
        const dn = parseBody(DistinguishedName, request.body);
        return pemResponse(
          encodePem('CERTIFICATE REQUEST', certificationRequest(materialOf(key), dn)),
        );
      },
    );
    add(
      'POST',
      '/keys/{KeyID}/sign',
      { ...operator, ...jsonBody },
      ({ caller, params, request }) => {
        const body = parseBody(SignRequest, request.body);
        const key = this.#usableKey(need(caller), params.KeyID, signModeMechanism(body.mode));
        const signature = signWith(materialOf(key), body.mode, unb64(body.message));
        key.operations++;
        this.#markChanged();
        return json(200, { signature: b64(signature) });
      },
    );
    add(
      'POST',
      '/keys/{KeyID}/decrypt',
      { ...operator, ...jsonBody },
      ({ caller, params, request }) => {
        const body = parseBody(DecryptRequest, request.body);
        const key = this.#usableKey(need(caller), params.KeyID, decryptModeMechanism(body.mode));
        const iv = body.iv === undefined ? undefined : unb64(body.iv);
        const decrypted = decryptWith(materialOf(key), body.mode, unb64(body.encrypted), iv);
        key.operations++;
        this.#markChanged();
        return json(200, { decrypted: b64(decrypted) });
      },
    );
    add(
      'POST',
      '/keys/{KeyID}/encrypt',
      { ...operator, ...jsonBody },
      ({ caller, params, request }) => {
        const body = parseBody(EncryptRequest, request.body);
        const key = this.#usableKey(need(caller), params.KeyID, encryptModeMechanism(body.mode));
        const iv = body.iv === undefined ? undefined : unb64(body.iv);
        const result = encryptWith(materialOf(key), body.mode, unb64(body.message), iv);
        key.operations++;
        this.#markChanged();
        return json(200, { encrypted: b64(result.encrypted), iv: b64(result.iv) });
      },
    );
    add(
      'GET',
      '/keys/{KeyID}/cert',
      { ...adminOrOperator, responseMedia: 'octet' },
      ({ caller, params }) => {
        const key = this.#key(need(caller), params.KeyID);
        if (key.certificate === undefined) throw new NetHsmRefusal('not-found', 'no certificate');
        return octets(unb64(key.certificate));
      },
    );
    add(
      'PUT',
      '/keys/{KeyID}/cert',
      { ...admin, requestMedia: 'octet' },
      ({ caller, params, request }) => {
        const key = this.#key(need(caller), params.KeyID);
        if (request.body.length === 0) throw new NetHsmRefusal('bad-request', 'empty certificate');
        if (request.body.length > CERTIFICATE_LIMIT_BYTES)
          throw new NetHsmRefusal('bad-request', 'the certificate is larger than 1 MB');
        if (key.certificate !== undefined)
          throw new NetHsmRefusal('conflict', 'the key already has a certificate');
        key.certificate = b64(request.body);
        this.#markChanged();
        return empty(201);
      },
    );
    add('DELETE', '/keys/{KeyID}/cert', admin, ({ caller, params }) => {
      const key = this.#key(need(caller), params.KeyID);
      if (key.certificate === undefined) throw new NetHsmRefusal('not-found', 'no certificate');
      delete key.certificate;
      this.#markChanged();
      return empty(204);
    });
    add('POST', '/keys/{KeyID}/move', { ...admin, ...jsonBody }, ({ caller, params, request }) => {
      const c = need(caller);
      const key = this.#key(c, params.KeyID);
      const body = parseBody(MoveRequest, request.body);
      const target = keyStoreId(c.namespace, body.newId);
      if (s().keys[target]) throw new NetHsmRefusal('conflict', `key ${body.newId} exists`);
      delete s().keys[keyStoreId(c.namespace, params.KeyID ?? '')];
      s().keys[target] = key;
      this.#markChanged();
      return json(200, { id: body.newId });
    });
    add('PUT', '/keys/{KeyID}/restrictions/tags/{Tag}', admin, ({ caller, params }) => {
      const key = this.#key(need(caller), params.KeyID);
      const tag = checkId(params.Tag, 'Tag');
      if (key.tags.includes(tag)) return empty(304);
      key.tags.push(tag);
      this.#markChanged();
      return empty(204);
    });
    add('DELETE', '/keys/{KeyID}/restrictions/tags/{Tag}', admin, ({ caller, params }) => {
      const key = this.#key(need(caller), params.KeyID);
      const tag = params.Tag ?? '';
      if (!key.tags.includes(tag))
        throw new NetHsmRefusal('not-found', `the key has no tag ${tag}`);
      key.tags = key.tags.filter((t) => t !== tag);
      this.#markChanged();
      return empty(204);
    });

    // Namespaces
    add('GET', '/namespaces', rootAdmin, () =>
      json(
        200,
        [...s().namespaces].sort().map((id) => ({ id })),
      ),
    );
    add('PUT', '/namespaces/{NamespaceID}', rootAdmin, ({ params }) => {
      const id = checkId(params.NamespaceID, 'NamespaceID');
      if (s().namespaces.includes(id))
        throw new NetHsmRefusal('conflict', `namespace ${id} exists`);
      s().namespaces.push(id);
      this.#markChanged();
      return empty(204);
    });
    add('DELETE', '/namespaces/{NamespaceID}', rootAdmin, ({ params }) => {
      const id = checkId(params.NamespaceID, 'NamespaceID');
      if (!s().namespaces.includes(id)) throw new NetHsmRefusal('not-found', `no namespace ${id}`);
      s().namespaces = s().namespaces.filter((n) => n !== id);
      for (const storeId of Object.keys(s().keys))
        if (storeId.startsWith(`${id}/`)) delete s().keys[storeId];
      this.#markChanged();
      return empty(204);
    });

    // Users
    add('GET', '/users', admin, ({ caller }) => {
      const c = need(caller);
      const users = Object.keys(s().users)
        .filter((id) => c.namespace === '' || splitUserId(id).namespace === c.namespace)
        .sort()
        .map((user) => ({ user }));
      return json(200, users);
    });
    add('POST', '/users', { ...admin, ...jsonBody }, ({ caller, request }) => {
      const c = need(caller);
      const id = c.namespace === '' ? randomId() : `${c.namespace}~${randomId()}`;
      this.#createUser(c, id, request.body);
      return json(201, { id }, { location: `${NETHSM_API_PREFIX}/users/${id}` });
    });
    add('GET', '/users/{UserID}', adminOrOperator, ({ caller, params }) => {
      const c = need(caller);
      const { id, user } = this.#user(params.UserID);
      if (c.namespace !== '') this.#sameNamespace(c, id);
      return json(200, { realName: user.realName, role: user.role });
    });
    add('PUT', '/users/{UserID}', { ...admin, ...jsonBody }, ({ caller, params, request }) => {
      this.#createUser(need(caller), checkUserId(params.UserID), request.body);
      return empty(201);
    });
    add('POST', '/users/{UserID}', { ...admin, ...jsonBody }, ({ caller, params, request }) => {
      const raw = params.UserID ?? '';
      const namespace = raw.slice(0, -1);
      if (!raw.endsWith('~') || !ID_PATTERN.test(namespace) || namespace.length > 100)
        throw new NetHsmRefusal('bad-request', "POST /users/{UserID} needs a 'namespace~' prefix");
      const id = `${namespace}~${randomId()}`;
      this.#createUser(need(caller), id, request.body);
      return json(201, { id }, { location: `${NETHSM_API_PREFIX}/users/${id}` });
    });
    add('DELETE', '/users/{UserID}', admin, ({ caller, params }) => {
      const c = need(caller);
      const { id } = this.#user(params.UserID);
      this.#sameNamespace(c, id);
      if (id === c.id) throw new NetHsmRefusal('bad-request', 'cannot delete yourself');
      delete s().users[id];
      this.#markChanged();
      return empty(204);
    });
    add(
      'POST',
      '/users/{UserID}/passphrase',
      { ...adminOrOperator, ...jsonBody },
      ({ caller, params, request }) => {
        const c = need(caller);
        const { id, user } = this.#user(params.UserID);
        this.#sameNamespace(c, id);
        if (c.user.role !== 'Administrator' && id !== c.id)
          throw new NetHsmRefusal('forbidden', 'operators change only their own passphrase');
        const body = parseBody(UserPassphraseRequest, request.body);
        user.passphrase = this.#hash(body.passphrase);
        this.#markChanged();
        return empty(204);
      },
    );
    add('GET', '/users/{UserID}/tags', adminOrOperator, ({ caller, params }) => {
      const c = need(caller);
      const { id, user } = this.#user(params.UserID);
      if (c.namespace !== '') this.#sameNamespace(c, id);
      return json(200, user.tags);
    });
    add('PUT', '/users/{UserID}/tags/{Tag}', admin, ({ caller, params }) => {
      const c = need(caller);
      const { id, user } = this.#user(params.UserID);
      this.#sameNamespace(c, id);
      const tag = checkId(params.Tag, 'Tag');
      if (user.role !== 'Operator')
        throw new NetHsmRefusal('bad-request', 'only Operator users carry tags');
      if (user.tags.includes(tag)) return empty(304);
      user.tags.push(tag);
      this.#markChanged();
      return empty(204);
    });
    add('DELETE', '/users/{UserID}/tags/{Tag}', admin, ({ caller, params }) => {
      const c = need(caller);
      const { id, user } = this.#user(params.UserID);
      this.#sameNamespace(c, id);
      const tag = params.Tag ?? '';
      if (!user.tags.includes(tag))
        throw new NetHsmRefusal('not-found', `the user has no tag ${tag}`);
      user.tags = user.tags.filter((t) => t !== tag);
      this.#markChanged();
      return empty(204);
    });

    // Configuration (system-wide Administrators only)
    add('PUT', '/config/unlock-passphrase', { ...rootAdmin, ...jsonBody }, ({ request }) => {
      const body = parseBody(PassphraseChangeRequest, request.body);
      if (!this.#checkPassphrase(body.currentPassphrase, s().unlockPassphrase))
        throw new NetHsmRefusal('forbidden', 'the current unlock passphrase is wrong');
      s().unlockPassphrase = this.#hash(body.newPassphrase);
      this.#markChanged();
      return empty(204);
    });
    add('PUT', '/config/backup-passphrase', { ...rootAdmin, ...jsonBody }, ({ request }) => {
      const body = parseBody(PassphraseChangeRequest, request.body);
      const current = s().backupKey;
      const matches =
        current === undefined
          ? body.currentPassphrase === ''
          : secretOf(body.currentPassphrase).use((bytes) =>
              backupKeyMatches(backupKeyOf(current), bytes),
            );
      if (!matches) throw new NetHsmRefusal('forbidden', 'the current backup passphrase is wrong');
      s().backupKey = storedBackupKey(
        secretOf(body.newPassphrase).use((bytes) => deriveNetHsmBackupKey(bytes)),
      );
      this.#markChanged();
      return empty(204);
    });
    add('GET', '/config/unattended-boot', rootAdmin, () =>
      json(200, { status: s().unattendedBoot ? 'on' : 'off' }),
    );
    add('PUT', '/config/unattended-boot', { ...rootAdmin, ...jsonBody }, ({ request }) => {
      s().unattendedBoot = parseBody(UnattendedBootRequest, request.body).status === 'on';
      this.#markChanged();
      return empty(204);
    });
    add('GET', '/config/tls/public.pem', { ...rootAdmin, responseMedia: 'pem' }, () =>
      pemResponse(encodePem('PUBLIC KEY', subjectPublicKeyInfo(tlsMaterial(s().tls)))),
    );
    add('GET', '/config/tls/cert.pem', { ...rootAdmin, responseMedia: 'pem' }, () =>
      pemResponse(encodePem('CERTIFICATE', unb64(s().tls.certificate))),
    );
    add('PUT', '/config/tls/cert.pem', { ...rootAdmin, requestMedia: 'pem' }, ({ request }) => {
      const der = parseCertificatePem(request.body);
      const certificate = new X509Certificate(der);
      const ours = b64(subjectPublicKeyInfo(tlsMaterial(s().tls)));
      const theirs = b64(
        new Uint8Array(certificate.publicKey.export({ format: 'der', type: 'spki' })),
      );
      if (ours !== theirs)
        throw new NetHsmRefusal('bad-request', 'the certificate is not for the TLS key');
      if (
        s().clusterCa &&
        !certificate.verify(new X509Certificate(unb64(s().clusterCa ?? '')).publicKey)
      )
        throw new NetHsmRefusal('wrong-state', 'the certificate is not signed by the cluster CA');
      s().tls.certificate = b64(der);
      this.#markChanged();
      return empty(201);
    });
    add(
      'POST',
      '/config/tls/csr.pem',
      { ...rootAdmin, ...jsonBody, responseMedia: 'pem' },
      ({ request }) => {
        const dn = parseBody(DistinguishedName, request.body);
        return pemResponse(
          encodePem('CERTIFICATE REQUEST', certificationRequest(tlsMaterial(s().tls), dn)),
        );
      },
    );
    add('POST', '/config/tls/generate', { ...rootAdmin, ...jsonBody }, async ({ request }) => {
      const body = parseBody(TlsGenerateRequest, request.body);
      if (body.type === 'RSA' && body.length === undefined)
        throw new NetHsmRefusal('bad-request', 'RSA keys need a length');
      s().tls = await createTlsIdentity(body.type, body.length, s().serial);
      this.#markChanged();
      return empty(204);
    });
    add('GET', '/config/tls/cluster-ca.pem', { ...rootAdmin, responseMedia: 'pem' }, () => {
      const ca = s().clusterCa;
      if (ca === undefined) throw new NetHsmRefusal('not-found', 'no cluster CA set');
      return pemResponse(encodePem('CERTIFICATE', unb64(ca)));
    });
    add(
      'PUT',
      '/config/tls/cluster-ca.pem',
      { ...rootAdmin, requestMedia: 'pem' },
      ({ request }) => {
        const der = parseCertificatePem(request.body);
        const ca = new X509Certificate(der);
        if (!ca.ca) throw new NetHsmRefusal('bad-request', 'the certificate is not a CA');
        if (!new X509Certificate(unb64(s().tls.certificate)).verify(ca.publicKey))
          throw new NetHsmRefusal('wrong-state', 'the TLS certificate is not signed by this CA');
        s().clusterCa = b64(der);
        this.#markChanged();
        return empty(201);
      },
    );
    add('GET', '/config/network', rootAdmin, () => json(200, s().network));
    add('PUT', '/config/network', { ...rootAdmin, ...jsonBody }, ({ request }) => {
      const body = parseBody(NetworkRequest, request.body);
      const network: NetworkConfig = {
        ipAddress: body.ipAddress,
        netmask: body.netmask,
        gateway: body.gateway ?? '0.0.0.0',
      };
      if (body.ipv6) network.ipv6 = body.ipv6;
      s().network = network;
      this.#markChanged();
      return empty(204);
    });
    add('GET', '/config/logging', rootAdmin, () => json(200, s().logging));
    add('PUT', '/config/logging', { ...rootAdmin, ...jsonBody }, ({ request }) => {
      s().logging = parseBody(LoggingRequest, request.body);
      this.#markChanged();
      return empty(204);
    });
    add('GET', '/config/time', rootAdmin, () => json(200, { time: timeText(this.#now()) }));
    add('PUT', '/config/time', { ...rootAdmin, ...jsonBody }, ({ request }) => {
      this.#setTime(parseBody(TimeRequest, request.body).time);
      this.#markChanged();
      return empty(204);
    });

    // Clustering: the rehearsal device is a cluster of one and joins no other.
    const memberId = () => createHash('sha256').update(s().serial).digest('hex').slice(0, 16);
    const ClusterAddRequest = z.strictObject({
      urls: z.array(
        z
          .string()
          .min(1)
          .max(1024)
          .regex(/^https:\/\/.+/),
      ),
    });
    const ClusterJoinRequest = z.strictObject({
      members: z.array(z.strictObject({ name: z.string(), urls: ClusterAddRequest.shape.urls })),
      joinerKit: z.string(),
      backupPassphrase: z.string(),
    });
    add('GET', '/cluster/members', rootAdmin, () =>
      json(200, [
        {
          id: memberId(),
          name: 'default',
          urls: s().clusterPeerUrls ?? ['https://127.0.0.1:2380'],
        },
      ]),
    );
    add('POST', '/cluster/members', { ...rootAdmin, ...jsonBody }, ({ request }) => {
      parseBody(ClusterAddRequest, request.body);
      throw new NetHsmRefusal('bad-request', 'the rehearsal NetHSM does not form clusters');
    });
    add('POST', '/cluster/join', { ...rootAdmin, ...jsonBody }, ({ request }) => {
      parseBody(ClusterJoinRequest, request.body);
      throw new NetHsmRefusal('bad-request', 'the rehearsal NetHSM does not form clusters');
    });
    add(
      'PUT',
      '/cluster/members/{MemberID}',
      { ...rootAdmin, ...jsonBody },
      ({ params, request }) => {
        if (checkId(params.MemberID, 'MemberID') !== memberId())
          throw new NetHsmRefusal('not-found', 'no such cluster member');
        s().clusterPeerUrls = parseBody(ClusterAddRequest, request.body).urls;
        this.#markChanged();
        return empty(204);
      },
    );
    add('DELETE', '/cluster/members/{MemberID}', rootAdmin, ({ params }) => {
      if (checkId(params.MemberID, 'MemberID') !== memberId())
        throw new NetHsmRefusal('not-found', 'no such cluster member');
      throw new NetHsmRefusal('bad-request', 'the only member cannot leave its cluster');
    });

    // System
    add('GET', '/system/info', rootAdmin, () =>
      json(200, {
        softwareVersion: '4.0',
        softwareBuild: 'vigil-rehearsal',
        firmwareVersion: 'REHEARSAL',
        hardwareVersion: 'REHEARSAL',
        deviceId: s().serial,
        akPub: s().attestationKeys,
        pcr: {
          0: createHash('sha256').update(`REHEARSAL PCR 0 ${s().serial}`).digest('hex'),
          2: createHash('sha256').update(`REHEARSAL PCR 2 ${s().serial}`).digest('hex'),
        },
      }),
    );
    add('POST', '/system/reboot', rootAdmin, () => {
      s().state = s().unattendedBoot ? 'Operational' : 'Locked';
      this.#verified.clear();
      this.#markChanged();
      return empty(204);
    });
    add(
      'POST',
      '/system/shutdown',
      { ...rootAdmin, states: ALL_STATES, access: 'basic-when-operational' },
      () => {
        this.#shutdown = true;
        return empty(204);
      },
    );
    add('POST', '/system/factory-reset', rootAdmin, () => {
      const st = s();
      delete st.unlockPassphrase;
      delete st.backupKey;
      delete st.clusterCa;
      st.state = 'Unprovisioned';
      st.unattendedBoot = false;
      st.clockOffsetMs = 0;
      st.network = { ...DEFAULT_NETWORK };
      st.logging = { ...DEFAULT_LOGGING };
      st.users = {};
      st.namespaces = [];
      st.keys = {};
      this.#verified.clear();
      this.#markChanged();
      return empty(204);
    });
    add('POST', '/system/update', { ...rootAdmin, requestMedia: 'octet' }, () => {
      throw new NetHsmRefusal('bad-request', 'the rehearsal NetHSM accepts no update images');
    });
    add('POST', '/system/commit-update', rootAdmin, () => {
      throw new NetHsmRefusal('wrong-state', 'no update image is present');
    });
    add('POST', '/system/cancel-update', rootAdmin, () => {
      throw new NetHsmRefusal('wrong-state', 'no update image is present');
    });
    add(
      'POST',
      '/system/backup',
      { roles: ['Backup'], rootOnly: true, responseMedia: 'octet' },
      () => {
        const stored = s().backupKey;
        if (stored === undefined)
          throw new NetHsmRefusal('wrong-state', 'no backup passphrase is set');
        return octets(writeBackupWithKey(backupKeyOf(stored), this.#backupEntries()));
      },
    );
    add(
      'POST',
      '/system/restore',
      {
        ...rootAdmin,
        states: ['Unprovisioned', 'Operational'],
        access: 'basic-when-operational',
        requestMedia: 'multipart',
      },
      ({ request }) => {
        const parts = parseMultipart(request.headers['content-type'] ?? '', request.body);
        const args = parts.get('arguments');
        const file = parts.get('backup_file');
        if (!args || !file)
          throw new NetHsmRefusal('bad-request', 'restore needs arguments and backup_file');
        const parsed = parseBody(RestoreArguments, args.body);
        const full = s().state === 'Unprovisioned';
        if (full && parsed.systemTime === undefined)
          throw new NetHsmRefusal(
            'bad-request',
            'a restore onto an unprovisioned device needs systemTime',
          );
        const secret = secretOf(parsed.backupPassphrase);
        let entries: NetHsmBackupEntry[];
        let backupKey: NetHsmBackupKey;
        try {
          entries = secret.use((bytes) => readBackup(file.body, bytes)).entries;
          // The restored device keeps a key for this passphrase, as after setting it.
          backupKey = secret.use((bytes) => deriveNetHsmBackupKey(bytes));
        } catch (error) {
          if (error instanceof NetHsmBackupError)
            throw new NetHsmRefusal('bad-request', `restore did not apply: ${error.message}`);
          throw error;
        } finally {
          secret.wipe();
        }
        this.#restore(entries, full, backupKey);
        if (parsed.systemTime !== undefined) this.#setTime(parsed.systemTime);
        return empty(204);
      },
    );
    return routes;
  }
}

function checkId(raw: string | undefined, what: string): string {
  if (raw === undefined || raw.length > 128 || !ID_PATTERN.test(raw))
    throw new NetHsmRefusal('bad-request', `invalid ${what}`);
  return raw;
}

function checkUserId(raw: string | undefined): string {
  if (raw === undefined || raw.length > 128 || !USER_ID_PATTERN.test(raw))
    throw new NetHsmRefusal('bad-request', 'invalid UserID');
  return raw;
}

function materialOf(key: KeyRecord): RehearsalKeyMaterial {
  return { type: key.type, secret: unb64(key.secret) };
}

function tlsMaterial(tls: TlsIdentity): RehearsalKeyMaterial {
  return { type: tls.type, secret: unb64(tls.secret) };
}

function parseCertificatePem(body: Uint8Array): Uint8Array {
  try {
    const der = decodePem(new TextDecoder().decode(body), 'CERTIFICATE');
    new X509Certificate(der);
    return der;
  } catch {
    throw new NetHsmRefusal('bad-request', 'not a PEM certificate');
  }
}

const TLS_WEBCRYPTO: Partial<
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
async function createTlsIdentity(
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
