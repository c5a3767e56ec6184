// The rehearsal NetHSM: an emulated Nitrokey NetHSM (REST API v4.0) without sockets. It holds the
// device state (system state, users, roles, namespaces, keys, tags, configuration) and answers one
// HTTP exchange at a time exactly as the OpenAPI document describes: status codes, media types,
// JSON shapes and refusals. rehearsal-server.ts puts it behind HTTPS on 127.0.0.1.
import { createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { BackupHeaderPath, type NetHsmBackupEntry, type NetHsmBackupKey } from './backup.ts';
import {
  RehearsalCryptoError,
  generateKeyMaterial,
  importKeyMaterial,
  importPemKeyMaterial,
  privateKeyObject,
  publicKeyData,
  subjectPublicKeyInfo,
  type NetHsmKeyMechanism,
  type RehearsalKeyMaterial,
} from './rehearsal-crypto.ts';
import {
  Caller,
  DEFAULT_LOGGING,
  DEFAULT_NETWORK,
  KeyRecord,
  LoggingConfig,
  NETHSM_API_PREFIX,
  NetHsmHttpRequest,
  NetHsmHttpResponse,
  NetHsmRefusal,
  NetHsmSystemState,
  NetworkConfig,
  PassphraseHash,
  PemKeyArguments,
  PrivateKeyRequest,
  RESPONSE_MEDIA_TYPE,
  RehearsalNetHsmState,
  RehearsalOutcome,
  RequestMedia,
  Route,
  SCRYPT,
  TlsIdentity,
  UserPostRequest,
  UserRecord,
  accepts,
  b64,
  checkId,
  checkUserId,
  createTlsIdentity,
  encoder,
  hashPassphrase,
  json,
  keyStoreId,
  matchTemplate,
  materialOf,
  mediaTypeOf,
  parseBody,
  parseMultipart,
  refusalResponse,
  secretOf,
  splitPath,
  splitUserId,
  storedBackupKey,
  tlsMaterial,
  unb64,
  routeTable,
  DeviceInternals,
} from './rehearsal-model.ts';
import { addConfigRoutes } from './rehearsal-routes-config.ts';
import { addKeyRoutes } from './rehearsal-routes-keys.ts';
import { addSystemRoutes } from './rehearsal-routes-system.ts';
import { addUserRoutes } from './rehearsal-routes-users.ts';

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
    // As hsm.ml `Key.add`: the mechanisms are checked against the type when generating only
    // (the generate route does it), an import takes them as given, and an id in use is a 400
    // for generate and import alike (keyfender test `keys_key_put_already_there`), although
    // the spec documents 409 for PUT /keys/{KeyID}.
    const storeId = keyStoreId(caller.namespace, id);
    if (this.#state.keys[storeId]) throw new NetHsmRefusal('bad-request', `key ${id} exists`);
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
      // The firmware takes exactly two parts, the arguments first, whatever their names (its
      // own tests name the PEM part 'backup_data'; the spec and the Python SDK 'key_file').
      const parts = [
        ...parseMultipart(request.headers['content-type'] ?? '', request.body).values(),
      ];
      const [args, keyFile] = parts;
      if (parts.length !== 2 || !args || !keyFile)
        throw new NetHsmRefusal(
          'bad-request',
          'a multipart import has exactly two parts: the arguments and the PEM key',
        );
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
    const d: DeviceInternals = {
      state: () => this.#state,
      requests: () => this.#requests,
      hash: (text) => this.#hash(text),
      checkPassphrase: (text, stored) => this.#checkPassphrase(text, stored),
      setTime: (text) => this.#setTime(text),
      markChanged: () => this.#markChanged(),
      now: () => this.#now(),
      key: (caller, rawId) => this.#key(caller, rawId),
      mayUse: (caller, key) => this.#mayUse(caller, key),
      usableKey: (caller, rawId, mechanism) => this.#usableKey(caller, rawId, mechanism),
      storeNewKey: (caller, id, material, mechanisms, tags) =>
        this.#storeNewKey(caller, id, material, mechanisms, tags),
      importKey: (caller, request, id) => this.#importKey(caller, request, id),
      listKeys: (caller, prefix, query) => this.#listKeys(caller, prefix, query),
      publicKeyJson: (key) => this.#publicKeyJson(key),
      user: (rawId) => this.#user(rawId),
      sameNamespace: (caller, id) => this.#sameNamespace(caller, id),
      createUser: (caller, id, body) => this.#createUser(caller, id, body),
      backupEntries: () => this.#backupEntries(),
      restore: (entries, full, backupKey) => this.#restore(entries, full, backupKey),
      forgetVerified: () => this.#verified.clear(),
      shutDown: () => {
        this.#shutdown = true;
      },
    };
    return routeTable(d, [addSystemRoutes, addKeyRoutes, addUserRoutes, addConfigRoutes]);
  }
}
