// One method per NetHSM operation Vigil uses, over the pinned transport: typed inputs, ids
// validated before they become path segments, every answer parsed with its schema and every
// refusal mapped to a NetHsmError. Nothing is retried: after a drop the caller re-reads state.
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import type { paths } from './api-types.ts';
import {
  API_PREFIX,
  CreateResourceId,
  DecryptData,
  EncryptData,
  HealthStateData,
  InfoData,
  KeyList,
  LoggingConfig,
  MetricsData,
  NamespaceList,
  NetHsmError,
  NetHsmInputError,
  NetworkConfigOutput,
  PublicKey,
  RandomData,
  SignData,
  SystemInfo,
  TagList,
  TimeState,
  UnattendedBootState,
  UserData,
  UserList,
  assertPassphrase,
  encodeMultipart,
  encodeSecretJson,
  errorFromResponse,
  fromBase64,
  idSegment,
  systemTimeText,
  toBase64,
  userIdSegment,
  type DecryptMode,
  type DistinguishedName,
  type KeyGenerateRequestData,
  type KeyType,
  type KeyMechanism,
  type NetworkConfig,
  type PrivateKey,
  type PrivateKeyPemArguments,
  type SignMode,
  type Switch,
  type SystemState,
  type TlsKeyType,
  type UserRole,
} from './protocol.ts';
import type { NetHsmHttpRequest, NetHsmHttpResponse, PinnedTransport } from './transport.ts';
import { parseBoundedJson } from '../../formats/bounded-json.ts';

/** The acting user: HTTP Basic on every call, the NetHSM has no sessions. */
export interface NetHsmAuth {
  userId: string;
  passphrase: SecretBytes;
}

/** A key as the device describes it; `public` is `{}` for Generic keys (the device sends null). */
export interface NetHsmKeyDescription {
  type: KeyType;
  mechanisms: KeyMechanism[];
  restrictions: { tags?: string[] };
  public: { modulus?: string; publicExponent?: string; data?: string };
  /** The device's usage counter, for the transcript. */
  operations: number;
}

export interface NetHsmNewUser {
  realName: string;
  role: UserRole;
  passphrase: SecretBytes;
}

/** What `request` needs; PinnedTransport is the production one, tests may pass a recorder. */
export type NetHsmRequester = Pick<PinnedTransport, 'request'>;

type Method = NetHsmHttpRequest['method'];
/** A spec path template, so a typo in a route fails typecheck. */
type Route = keyof paths;

const JSON_TYPE = 'application/json';
const PEM_TYPE = 'application/x-pem-file';
const OCTET_TYPE = 'application/octet-stream';
const OK_EMPTY = [200, 201, 204] as const;
const SLOW_TIMEOUT_MS = 300_000;
/** A backup grows with the keys and certificates stored; other answers stay under 8 MB. */
const MAX_BACKUP_BYTES = 256 * 1024 * 1024;

interface Call {
  operation: string;
  method: Method;
  route: Route;
  /** Values for the `{...}` placeholders of the route, already validated segments. */
  params?: Record<string, string>;
  query?: string;
  auth?: NetHsmAuth | undefined;
  accept?: string;
  contentType?: string;
  body?: Uint8Array;
  /** The body holds a secret: wiped once sent, whatever happens. */
  isSecretBody?: boolean;
  /** For the slow ones: RSA generation, backup, restore. */
  timeoutMs?: number;
  maxResponseBytes?: number;
  expect: readonly number[];
}

function fillRoute(route: Route, params: Record<string, string> = {}): string {
  const path = route.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new NetHsmInputError('bad-value', `route needs ${name}`);
    return encodeURIComponent(value);
  });
  // `/keys/{KeyPrefix}*` is the prefix listing; the star is literal on the wire.
  return API_PREFIX + path;
}

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

export class NetHsmClient {
  constructor(private readonly transport: NetHsmRequester) {}

  async #call(call: Call): Promise<NetHsmHttpResponse> {
    // A ':' would split the Basic credentials differently on the device.
    if (call.auth) userIdSegment(call.auth.userId);
    const headers: Record<string, string> = {};
    if (call.accept) headers.accept = call.accept;
    if (call.contentType) headers['content-type'] = call.contentType;
    const request: NetHsmHttpRequest = {
      method: call.method,
      path: fillRoute(call.route, call.params) + (call.query ?? ''),
      headers,
      ...(call.body ? { body: call.body } : {}),
      ...(call.auth ? { basicAuth: call.auth } : {}),
      ...(call.timeoutMs === undefined ? {} : { timeoutMs: call.timeoutMs }),
      ...(call.maxResponseBytes === undefined ? {} : { maxResponseBytes: call.maxResponseBytes }),
    };
    let response: NetHsmHttpResponse;
    try {
      response = await this.transport.request(request);
    } finally {
      if (call.isSecretBody) call.body?.fill(0);
    }
    if (!call.expect.includes(response.status)) {
      throw errorFromResponse(call.operation, response.status, response.body);
    }
    return response;
  }

  async #json<S extends z.ZodType>(call: Call, schema: S): Promise<z.output<S>> {
    const response = await this.#call({ accept: JSON_TYPE, ...call });
    let value: unknown;
    try {
      // Bounded: an answer nested 50,000 deep took zod 3 s to refuse (issue 18's fuzz ring).
      value = parseBoundedJson(new TextDecoder().decode(response.body));
    } catch {
      throw new NetHsmError('unexpected-response', call.operation, response.status, null);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new NetHsmError('unexpected-response', call.operation, response.status, null);
    }
    return parsed.data;
  }

  async #text(call: Call): Promise<string> {
    const response = await this.#call(call);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(response.body);
    } catch {
      throw new NetHsmError('unexpected-response', call.operation, response.status, null);
    }
  }

  async #created(call: Call): Promise<string> {
    const { id } = await this.#json(call, CreateResourceId);
    return id;
  }

  // ---- public state ------------------------------------------------------------------------

  info(): Promise<InfoData> {
    return this.#json(
      { operation: 'info', method: 'GET', route: '/info', expect: [200] },
      InfoData,
    );
  }

  async state(): Promise<SystemState> {
    const { state } = await this.#json(
      { operation: 'health state', method: 'GET', route: '/health/state', expect: [200] },
      HealthStateData,
    );
    return state;
  }

  /** True in Locked and Unprovisioned (the device answers 412 when Operational). */
  isAlive(): Promise<boolean> {
    return this.#probe('health alive', '/health/alive');
  }

  /** True when Operational. */
  isReady(): Promise<boolean> {
    return this.#probe('health ready', '/health/ready');
  }

  async #probe(operation: string, route: Route): Promise<boolean> {
    try {
      await this.#call({ operation, method: 'GET', route, expect: [200] });
      return true;
    } catch (error) {
      if (error instanceof NetHsmError && error.kind === 'wrong-state') return false;
      throw error;
    }
  }

  // ---- provisioning, lock ------------------------------------------------------------------

  async provision(options: {
    unlockPassphrase: SecretBytes;
    adminPassphrase: SecretBytes;
    systemTime: Date;
  }): Promise<void> {
    assertPassphrase(options.unlockPassphrase, 'unlock passphrase');
    assertPassphrase(options.adminPassphrase, 'Administrator passphrase');
    await this.#call({
      operation: 'provision',
      method: 'POST',
      route: '/provision',
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: encodeSecretJson({
        unlockPassphrase: options.unlockPassphrase,
        adminPassphrase: options.adminPassphrase,
        systemTime: systemTimeText(options.systemTime),
      }),
      isSecretBody: true,
      expect: OK_EMPTY,
    });
  }

  async unlock(passphrase: SecretBytes): Promise<void> {
    await this.#call({
      operation: 'unlock',
      method: 'POST',
      route: '/unlock',
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: encodeSecretJson({ passphrase }),
      isSecretBody: true,
      expect: OK_EMPTY,
    });
  }

  async lock(auth: NetHsmAuth): Promise<void> {
    await this.#call({ operation: 'lock', method: 'POST', route: '/lock', auth, expect: OK_EMPTY });
  }

  // ---- users -------------------------------------------------------------------------------

  async listUsers(auth: NetHsmAuth): Promise<string[]> {
    const users = await this.#json(
      { operation: 'list users', method: 'GET', route: '/users', auth, expect: [200] },
      UserList,
    );
    return users.map((u) => u.user);
  }

  getUser(auth: NetHsmAuth, userId: string): Promise<UserData> {
    return this.#json(
      {
        operation: `read user ${userId}`,
        method: 'GET',
        route: '/users/{UserID}',
        params: { UserID: userIdSegment(userId) },
        auth,
        expect: [200],
      },
      UserData,
    );
  }

  /** PUT /users/{id}: the ceremony chooses the id (`ns~name` in a namespace). */
  async addUser(auth: NetHsmAuth, userId: string, user: NetHsmNewUser): Promise<void> {
    assertPassphrase(user.passphrase, `passphrase of ${userId}`);
    await this.#call({
      operation: `create user ${userId}`,
      method: 'PUT',
      route: '/users/{UserID}',
      params: { UserID: userIdSegment(userId) },
      auth,
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: encodeSecretJson({
        realName: user.realName,
        role: user.role,
        passphrase: user.passphrase,
      }),
      isSecretBody: true,
      expect: OK_EMPTY,
    });
  }

  /** POST /users: the device chooses the id and returns it. */
  addUserWithGeneratedId(auth: NetHsmAuth, user: NetHsmNewUser): Promise<string> {
    assertPassphrase(user.passphrase, 'passphrase of the new user');
    return this.#created({
      operation: 'create user',
      method: 'POST',
      route: '/users',
      auth,
      contentType: JSON_TYPE,
      body: encodeSecretJson({
        realName: user.realName,
        role: user.role,
        passphrase: user.passphrase,
      }),
      isSecretBody: true,
      expect: [201],
    });
  }

  async deleteUser(auth: NetHsmAuth, userId: string): Promise<void> {
    await this.#call({
      operation: `delete user ${userId}`,
      method: 'DELETE',
      route: '/users/{UserID}',
      params: { UserID: userIdSegment(userId) },
      auth,
      expect: OK_EMPTY,
    });
  }

  async setUserPassphrase(
    auth: NetHsmAuth,
    userId: string,
    passphrase: SecretBytes,
  ): Promise<void> {
    assertPassphrase(passphrase, `new passphrase of ${userId}`);
    await this.#call({
      operation: `change passphrase of ${userId}`,
      method: 'POST',
      route: '/users/{UserID}/passphrase',
      params: { UserID: userIdSegment(userId) },
      auth,
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: encodeSecretJson({ passphrase }),
      isSecretBody: true,
      expect: OK_EMPTY,
    });
  }

  userTags(auth: NetHsmAuth, userId: string): Promise<string[]> {
    return this.#json(
      {
        operation: `list tags of ${userId}`,
        method: 'GET',
        route: '/users/{UserID}/tags',
        params: { UserID: userIdSegment(userId) },
        auth,
        expect: [200],
      },
      TagList,
    );
  }

  async addUserTag(auth: NetHsmAuth, userId: string, tag: string): Promise<void> {
    await this.#userTag('PUT', `tag ${userId} with ${tag}`, auth, userId, tag);
  }

  async removeUserTag(auth: NetHsmAuth, userId: string, tag: string): Promise<void> {
    await this.#userTag('DELETE', `remove tag ${tag} from ${userId}`, auth, userId, tag);
  }

  async #userTag(
    method: 'PUT' | 'DELETE',
    operation: string,
    auth: NetHsmAuth,
    userId: string,
    tag: string,
  ): Promise<void> {
    await this.#call({
      operation,
      method,
      route: '/users/{UserID}/tags/{Tag}',
      params: { UserID: userIdSegment(userId), Tag: idSegment(tag) },
      auth,
      accept: JSON_TYPE,
      expect: OK_EMPTY,
    });
  }

  // ---- namespaces --------------------------------------------------------------------------

  async listNamespaces(auth: NetHsmAuth): Promise<string[]> {
    const list = await this.#json(
      { operation: 'list namespaces', method: 'GET', route: '/namespaces', auth, expect: [200] },
      NamespaceList,
    );
    return list.map((n) => n.id);
  }

  async addNamespace(auth: NetHsmAuth, namespace: string): Promise<void> {
    await this.#call({
      operation: `create namespace ${namespace}`,
      method: 'PUT',
      route: '/namespaces/{NamespaceID}',
      params: { NamespaceID: idSegment(namespace) },
      auth,
      accept: JSON_TYPE,
      expect: OK_EMPTY,
    });
  }

  async deleteNamespace(auth: NetHsmAuth, namespace: string): Promise<void> {
    await this.#call({
      operation: `delete namespace ${namespace}`,
      method: 'DELETE',
      route: '/namespaces/{NamespaceID}',
      params: { NamespaceID: idSegment(namespace) },
      auth,
      accept: JSON_TYPE,
      expect: OK_EMPTY,
    });
  }

  // ---- keys --------------------------------------------------------------------------------

  /**
   * Key ids in the caller's namespace. `usableOnly` sets `filter`: only keys whose tags let
   * this user use them. `prefix` lists `/keys/{prefix}*`.
   */
  async listKeys(
    auth: NetHsmAuth,
    options: { usableOnly?: boolean; prefix?: string } = {},
  ): Promise<string[]> {
    const query = options.usableOnly ? '?filter=any' : '';
    const call: Call =
      options.prefix === undefined
        ? { operation: 'list keys', method: 'GET', route: '/keys', auth, query, expect: [200] }
        : {
            operation: `list keys ${options.prefix}*`,
            method: 'GET',
            route: '/keys/{KeyPrefix}*',
            params: { KeyPrefix: idSegment(options.prefix) },
            auth,
            query,
            expect: [200],
          };
    const list = await this.#json(call, KeyList);
    return list.map((k) => k.id);
  }

  async getKey(auth: NetHsmAuth, keyId: string): Promise<NetHsmKeyDescription> {
    const key = await this.#json(
      {
        operation: `read key ${keyId}`,
        method: 'GET',
        route: '/keys/{KeyID}',
        params: { KeyID: idSegment(keyId) },
        auth,
        expect: [200],
      },
      PublicKey,
    );
    return {
      type: key.type,
      mechanisms: key.mechanisms,
      restrictions: key.restrictions.tags ? { tags: key.restrictions.tags } : {},
      public: key.public ?? {},
      operations: key.operations,
    };
  }

  /** Returns the key id (the requested one, or the device's choice). */
  generateKey(auth: NetHsmAuth, request: KeyGenerateRequestData): Promise<string> {
    if (request.id !== undefined) idSegment(request.id);
    return this.#created({
      operation: `generate key${request.id ? ` ${request.id}` : ''}`,
      method: 'POST',
      route: '/keys/generate',
      auth,
      contentType: JSON_TYPE,
      body: jsonBytes(request),
      // RSA generation on the appliance can take minutes for 4096 bits and more.
      ...(request.type === 'RSA' ? { timeoutMs: SLOW_TIMEOUT_MS } : {}),
      expect: [201],
    });
  }

  /**
   * Imports private key material as JSON (base64 fields). With `keyId` it is PUT under that id,
   * else POSTed and the device names it. The body is wiped after sending.
   */
  async importKey(auth: NetHsmAuth, key: PrivateKey, keyId?: string): Promise<string> {
    const body = jsonBytes(key);
    if (keyId === undefined) {
      return this.#created({
        operation: 'import key',
        method: 'POST',
        route: '/keys',
        auth,
        contentType: JSON_TYPE,
        body,
        isSecretBody: true,
        expect: [201],
      });
    }
    await this.#call({
      operation: `import key ${keyId}`,
      method: 'PUT',
      route: '/keys/{KeyID}',
      params: { KeyID: idSegment(keyId) },
      auth,
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body,
      isSecretBody: true,
      expect: OK_EMPTY,
    });
    return keyId;
  }

  /** Imports a PEM private key (multipart `arguments` + `key_file`). */
  async importKeyPem(
    auth: NetHsmAuth,
    pem: SecretBytes,
    args: PrivateKeyPemArguments,
    keyId?: string,
  ): Promise<string> {
    const { body, contentType } = pem.use((pemBytes) =>
      encodeMultipart(
        [
          { name: 'arguments', contentType: JSON_TYPE, body: jsonBytes(args) },
          { name: 'key_file', contentType: PEM_TYPE, body: pemBytes, filename: 'key.pem' },
        ],
        newBoundary(),
      ),
    );
    if (keyId === undefined) {
      return this.#created({
        operation: 'import PEM key',
        method: 'POST',
        route: '/keys',
        auth,
        contentType,
        body,
        isSecretBody: true,
        expect: [201],
      });
    }
    await this.#call({
      operation: `import PEM key ${keyId}`,
      method: 'PUT',
      route: '/keys/{KeyID}',
      params: { KeyID: idSegment(keyId) },
      auth,
      contentType,
      accept: JSON_TYPE,
      body,
      isSecretBody: true,
      expect: OK_EMPTY,
    });
    return keyId;
  }

  async deleteKey(auth: NetHsmAuth, keyId: string): Promise<void> {
    await this.#call({
      operation: `delete key ${keyId}`,
      method: 'DELETE',
      route: '/keys/{KeyID}',
      params: { KeyID: idSegment(keyId) },
      auth,
      accept: JSON_TYPE,
      expect: OK_EMPTY,
    });
  }

  /** SubjectPublicKeyInfo PEM. */
  publicKeyPem(auth: NetHsmAuth, keyId: string): Promise<string> {
    return this.#text({
      operation: `read public key ${keyId}`,
      method: 'GET',
      route: '/keys/{KeyID}/public.pem',
      params: { KeyID: idSegment(keyId) },
      auth,
      accept: PEM_TYPE,
      expect: [200],
    });
  }

  /** A PKCS#10 request signed by the key, PEM. */
  keyCsrPem(auth: NetHsmAuth, keyId: string, subject: DistinguishedName): Promise<string> {
    return this.#text({
      operation: `make CSR for ${keyId}`,
      method: 'POST',
      route: '/keys/{KeyID}/csr.pem',
      params: { KeyID: idSegment(keyId) },
      auth,
      accept: PEM_TYPE,
      contentType: JSON_TYPE,
      body: jsonBytes(subject),
      expect: [200],
    });
  }

  /**
   * Signs `message` as the mode wants it (see protocol.ts: a hash, DigestInfo‖hash for PKCS1, the
   * message for EdDSA). ECDSA answers DER; ecdsaDerToRaw converts.
   */
  async sign(
    auth: NetHsmAuth,
    keyId: string,
    mode: SignMode,
    message: Uint8Array,
  ): Promise<Uint8Array> {
    const { signature } = await this.#json(
      {
        operation: `sign with ${keyId}`,
        method: 'POST',
        route: '/keys/{KeyID}/sign',
        params: { KeyID: idSegment(keyId) },
        auth,
        contentType: JSON_TYPE,
        body: jsonBytes({ mode, message: toBase64(message) }),
        expect: [200],
      },
      SignData,
    );
    return fromBase64(signature);
  }

  async decrypt(
    auth: NetHsmAuth,
    keyId: string,
    mode: DecryptMode,
    encrypted: Uint8Array,
    iv?: Uint8Array,
  ): Promise<Uint8Array> {
    const { decrypted } = await this.#json(
      {
        operation: `decrypt with ${keyId}`,
        method: 'POST',
        route: '/keys/{KeyID}/decrypt',
        params: { KeyID: idSegment(keyId) },
        auth,
        contentType: JSON_TYPE,
        body: jsonBytes({
          mode,
          encrypted: toBase64(encrypted),
          ...(iv ? { iv: toBase64(iv) } : {}),
        }),
        expect: [200],
      },
      DecryptData,
    );
    return fromBase64(decrypted);
  }

  /** AES-CBC; without `iv` the device picks one and returns it. */
  async encrypt(
    auth: NetHsmAuth,
    keyId: string,
    message: Uint8Array,
    iv?: Uint8Array,
  ): Promise<{ encrypted: Uint8Array; iv: Uint8Array }> {
    const answer = await this.#json(
      {
        operation: `encrypt with ${keyId}`,
        method: 'POST',
        route: '/keys/{KeyID}/encrypt',
        params: { KeyID: idSegment(keyId) },
        auth,
        contentType: JSON_TYPE,
        body: jsonBytes({
          mode: 'AES_CBC',
          message: toBase64(message),
          ...(iv ? { iv: toBase64(iv) } : {}),
        }),
        expect: [200],
      },
      EncryptData,
    );
    return { encrypted: fromBase64(answer.encrypted), iv: fromBase64(answer.iv) };
  }

  /** The key's certificate slot, byte-exact (Vigil stores an OpenPGP certificate there). */
  async getKeyCertificate(auth: NetHsmAuth, keyId: string): Promise<Uint8Array> {
    const response = await this.#call({
      operation: `read certificate of ${keyId}`,
      method: 'GET',
      route: '/keys/{KeyID}/cert',
      params: { KeyID: idSegment(keyId) },
      auth,
      accept: OCTET_TYPE,
      expect: [200],
    });
    return response.body;
  }

  async putKeyCertificate(auth: NetHsmAuth, keyId: string, certificate: Uint8Array): Promise<void> {
    await this.#call({
      operation: `store certificate of ${keyId}`,
      method: 'PUT',
      route: '/keys/{KeyID}/cert',
      params: { KeyID: idSegment(keyId) },
      auth,
      contentType: OCTET_TYPE,
      accept: JSON_TYPE,
      body: certificate,
      expect: OK_EMPTY,
    });
  }

  async deleteKeyCertificate(auth: NetHsmAuth, keyId: string): Promise<void> {
    await this.#call({
      operation: `delete certificate of ${keyId}`,
      method: 'DELETE',
      route: '/keys/{KeyID}/cert',
      params: { KeyID: idSegment(keyId) },
      auth,
      accept: JSON_TYPE,
      expect: OK_EMPTY,
    });
  }

  async addKeyTag(auth: NetHsmAuth, keyId: string, tag: string): Promise<void> {
    await this.#keyTag('PUT', `tag key ${keyId} with ${tag}`, auth, keyId, tag);
  }

  async removeKeyTag(auth: NetHsmAuth, keyId: string, tag: string): Promise<void> {
    await this.#keyTag('DELETE', `remove tag ${tag} from key ${keyId}`, auth, keyId, tag);
  }

  async #keyTag(
    method: 'PUT' | 'DELETE',
    operation: string,
    auth: NetHsmAuth,
    keyId: string,
    tag: string,
  ): Promise<void> {
    await this.#call({
      operation,
      method,
      route: '/keys/{KeyID}/restrictions/tags/{Tag}',
      params: { KeyID: idSegment(keyId), Tag: idSegment(tag) },
      auth,
      accept: JSON_TYPE,
      expect: OK_EMPTY,
    });
  }

  /** Renames a key; returns the new id. */
  moveKey(auth: NetHsmAuth, keyId: string, newId: string): Promise<string> {
    return this.#created({
      operation: `rename key ${keyId} to ${newId}`,
      method: 'POST',
      route: '/keys/{KeyID}/move',
      params: { KeyID: idSegment(keyId) },
      auth,
      contentType: JSON_TYPE,
      body: jsonBytes({ newId: idSegment(newId) }),
      expect: [200, 201],
    });
  }

  // ---- random ------------------------------------------------------------------------------

  async random(auth: NetHsmAuth, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > 1024) {
      throw new NetHsmInputError('bad-value', 'the NetHSM gives 1 to 1024 random bytes per call');
    }
    const { random } = await this.#json(
      {
        operation: 'random',
        method: 'POST',
        route: '/random',
        auth,
        contentType: JSON_TYPE,
        body: jsonBytes({ length }),
        expect: [200],
      },
      RandomData,
    );
    return fromBase64(random);
  }

  // ---- configuration -----------------------------------------------------------------------

  async setUnlockPassphrase(
    auth: NetHsmAuth,
    newPassphrase: SecretBytes,
    currentPassphrase: SecretBytes,
  ): Promise<void> {
    assertPassphrase(newPassphrase, 'new unlock passphrase');
    await this.#call({
      operation: 'change unlock passphrase',
      method: 'PUT',
      route: '/config/unlock-passphrase',
      auth,
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: encodeSecretJson({ newPassphrase, currentPassphrase }),
      isSecretBody: true,
      expect: OK_EMPTY,
    });
  }

  /** `currentPassphrase` null the first time (the device then expects ""). */
  async setBackupPassphrase(
    auth: NetHsmAuth,
    newPassphrase: SecretBytes,
    currentPassphrase: SecretBytes | null,
  ): Promise<void> {
    assertPassphrase(newPassphrase, 'new backup passphrase');
    await this.#call({
      operation: 'set backup passphrase',
      method: 'PUT',
      route: '/config/backup-passphrase',
      auth,
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: encodeSecretJson({ newPassphrase, currentPassphrase: currentPassphrase ?? '' }),
      isSecretBody: true,
      expect: OK_EMPTY,
    });
  }

  async unattendedBoot(auth: NetHsmAuth): Promise<Switch> {
    const { status } = await this.#json(
      {
        operation: 'read boot mode',
        method: 'GET',
        route: '/config/unattended-boot',
        auth,
        expect: [200],
      },
      UnattendedBootState,
    );
    return status;
  }

  async setUnattendedBoot(auth: NetHsmAuth, status: Switch): Promise<void> {
    await this.#call({
      operation: 'set boot mode',
      method: 'PUT',
      route: '/config/unattended-boot',
      auth,
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: jsonBytes({ status }),
      expect: OK_EMPTY,
    });
  }

  tlsPublicKeyPem(auth: NetHsmAuth): Promise<string> {
    return this.#text({
      operation: 'read TLS public key',
      method: 'GET',
      route: '/config/tls/public.pem',
      auth,
      accept: PEM_TYPE,
      expect: [200],
    });
  }

  tlsCertificatePem(auth: NetHsmAuth): Promise<string> {
    return this.#text({
      operation: 'read TLS certificate',
      method: 'GET',
      route: '/config/tls/cert.pem',
      auth,
      accept: PEM_TYPE,
      expect: [200],
    });
  }

  async putTlsCertificatePem(auth: NetHsmAuth, pem: string): Promise<void> {
    await this.#call({
      operation: 'store TLS certificate',
      method: 'PUT',
      route: '/config/tls/cert.pem',
      auth,
      contentType: PEM_TYPE,
      accept: JSON_TYPE,
      body: new TextEncoder().encode(pem),
      expect: OK_EMPTY,
    });
  }

  tlsCsrPem(auth: NetHsmAuth, subject: DistinguishedName): Promise<string> {
    return this.#text({
      operation: 'make TLS CSR',
      method: 'POST',
      route: '/config/tls/csr.pem',
      auth,
      accept: PEM_TYPE,
      contentType: JSON_TYPE,
      body: jsonBytes(subject),
      expect: [200],
    });
  }

  /** A new TLS key and self-signed certificate: the pin changes, read it again after. */
  async generateTlsKey(auth: NetHsmAuth, type: TlsKeyType, length?: number): Promise<void> {
    await this.#call({
      operation: 'generate TLS key',
      method: 'POST',
      route: '/config/tls/generate',
      auth,
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: jsonBytes(length === undefined ? { type } : { type, length }),
      expect: OK_EMPTY,
    });
  }

  async time(auth: NetHsmAuth): Promise<Date> {
    const { time } = await this.#json(
      { operation: 'read time', method: 'GET', route: '/config/time', auth, expect: [200] },
      TimeState,
    );
    const parsed = new Date(time);
    if (Number.isNaN(parsed.getTime())) {
      throw new NetHsmError('unexpected-response', 'read time', 200, null);
    }
    return parsed;
  }

  async setTime(auth: NetHsmAuth, time: Date): Promise<void> {
    await this.#call({
      operation: 'set time',
      method: 'PUT',
      route: '/config/time',
      auth,
      contentType: JSON_TYPE,
      accept: JSON_TYPE,
      body: jsonBytes({ time: systemTimeText(time) }),
      expect: OK_EMPTY,
    });
  }

  networkConfig(auth: NetHsmAuth): Promise<NetworkConfig> {
    return this.#json(
      { operation: 'read network', method: 'GET', route: '/config/network', auth, expect: [200] },
      NetworkConfigOutput,
    );
  }

  loggingConfig(auth: NetHsmAuth): Promise<LoggingConfig> {
    return this.#json(
      { operation: 'read logging', method: 'GET', route: '/config/logging', auth, expect: [200] },
      LoggingConfig,
    );
  }

  // ---- system ------------------------------------------------------------------------------

  systemInfo(auth: NetHsmAuth): Promise<SystemInfo> {
    return this.#json(
      { operation: 'system info', method: 'GET', route: '/system/info', auth, expect: [200] },
      SystemInfo,
    );
  }

  async reboot(auth: NetHsmAuth): Promise<void> {
    await this.#call({
      operation: 'reboot',
      method: 'POST',
      route: '/system/reboot',
      auth,
      expect: OK_EMPTY,
    });
  }

  /** Without auth in Locked and Unprovisioned; an Administrator when Operational. */
  async shutdown(auth?: NetHsmAuth): Promise<void> {
    await this.#call({
      operation: 'shut down',
      method: 'POST',
      route: '/system/shutdown',
      auth,
      expect: OK_EMPTY,
    });
  }

  /** Wipes everything: back to Unprovisioned. */
  async factoryReset(auth: NetHsmAuth): Promise<void> {
    await this.#call({
      operation: 'factory reset',
      method: 'POST',
      route: '/system/factory-reset',
      auth,
      expect: OK_EMPTY,
    });
  }

  /** The encrypted backup blob (a Backup user; 412 until a backup passphrase is set). */
  async backup(auth: NetHsmAuth): Promise<Uint8Array> {
    const response = await this.#call({
      operation: 'backup',
      method: 'POST',
      route: '/system/backup',
      auth,
      accept: OCTET_TYPE,
      timeoutMs: SLOW_TIMEOUT_MS,
      maxResponseBytes: MAX_BACKUP_BYTES,
      expect: [200],
    });
    return response.body;
  }

  /**
   * Restores a backup: the whole device when Unprovisioned (no auth), a partial restore with an
   * Administrator when Operational.
   */
  async restore(
    file: Uint8Array,
    backupPassphrase: SecretBytes,
    systemTime: Date,
    auth?: NetHsmAuth,
  ): Promise<void> {
    const args = encodeSecretJson({ backupPassphrase, systemTime: systemTimeText(systemTime) });
    let multipart: { body: Uint8Array; contentType: string };
    try {
      multipart = encodeMultipart(
        [
          { name: 'arguments', contentType: JSON_TYPE, body: args },
          { name: 'backup_file', contentType: OCTET_TYPE, body: file, filename: 'backup.bin' },
        ],
        newBoundary(),
      );
    } finally {
      args.fill(0);
    }
    await this.#call({
      operation: 'restore',
      method: 'POST',
      route: '/system/restore',
      auth,
      contentType: multipart.contentType,
      accept: JSON_TYPE,
      body: multipart.body,
      isSecretBody: true,
      timeoutMs: SLOW_TIMEOUT_MS,
      expect: OK_EMPTY,
    });
  }

  /** Metric name → value; the spec leaves the set open. */
  metrics(auth: NetHsmAuth): Promise<Record<string, unknown>> {
    return this.#json(
      { operation: 'metrics', method: 'GET', route: '/metrics', auth, expect: [200] },
      MetricsData,
    );
  }
}

function newBoundary(): string {
  return `vigil-${randomBytes(18).toString('hex')}`;
}
