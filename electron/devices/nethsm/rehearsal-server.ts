// The rehearsal NetHSM on the wire: HTTPS (HTTP/1.1, keep-alive) on 127.0.0.1 with the device's
// self-signed certificate, the device state saved durably after every change, and fault
// injection (a request processed but never answered; every connection cut) for retry drills.
import { X509Certificate, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { KindedError } from '../../base/errors.ts';
import { z } from 'zod';
import { SavedFileError, readSavedJson, saveJson } from '../../base/saved-files.ts';
import { encodePem } from '../../formats/pem.ts';
import { KeyType } from './protocol.ts';
import {
  Mechanisms,
  Role,
  type NetHsmHttpRequest,
  type NetHsmHttpResponse,
  type RehearsalNetHsmState,
} from './rehearsal-model.ts';
import { RehearsalNetHsmDevice } from './rehearsal.ts';

export interface NetHsmExchange {
  method: string;
  /** As on the wire, with '/api/v1' and the query. */
  path: string;
  /** Lower-case names. */
  requestHeaders: Record<string, string>;
  requestBody: Uint8Array;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: Uint8Array;
}

export interface RehearsalNetHsmOptions {
  /** Saved (temp file, fsync, rename) after every change and loaded at start. */
  stateFile?: string;
  /** Default 0: any free port. The host is always 127.0.0.1. */
  port?: number;
  /** Every request and its response, for the spec judge in tests. */
  onExchange?: (exchange: NetHsmExchange) => void;
}

export interface RehearsalNetHsm {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The certificate served now (it changes after POST /config/tls/generate or PUT cert.pem). */
  readonly certificateDer: Uint8Array;
  /** Lower-case hex SHA-256 of `certificateDer`. */
  readonly certificateFingerprint: string;
  /** 'REHEARSAL-<8 hex>', also the `/system/info` deviceId. */
  readonly serial: string;
  /**
   * Fault injection: the next request matching method + path (a template such as
   * '/api/v1/keys/{KeyID}/sign', or a literal path) is processed in full, then its connection
   * is destroyed without a response.
   */
  dropAfter(method: string, path: string): void;
  /** Destroys every open connection now. */
  dropConnections(): void;
  close(): Promise<void>;
}

export class RehearsalServerError extends KindedError<'listen-failed'> {
  readonly name = 'RehearsalServerError';
}

const BODY_LIMIT_BYTES = 64 * 1024 * 1024;

const SavedBase64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const SavedPassphraseHash = z.strictObject({ salt: SavedBase64, hash: SavedBase64 });
/** The state file as the device writes it (RehearsalNetHsmDevice.snapshot()). */
const SavedNetHsmState: z.ZodType<RehearsalNetHsmState> = z.strictObject({
  version: z.literal(1),
  // A saved file cannot make a rehearsal NetHSM answer with a production-looking serial.
  serial: z.string().regex(/^REHEARSAL-[0-9A-F]+$/),
  state: z.enum(['Unprovisioned', 'Locked', 'Operational']),
  unlockPassphrase: SavedPassphraseHash.exactOptional(),
  backupKey: z.strictObject({ salt: SavedBase64, key: SavedBase64 }).exactOptional(),
  unattendedBoot: z.boolean(),
  clockOffsetMs: z.number(),
  network: z.strictObject({
    ipAddress: z.string(),
    netmask: z.string(),
    gateway: z.string(),
    ipv6: z
      .strictObject({ cidr: z.string().optional(), gateway: z.string().optional() })
      .exactOptional(),
  }),
  logging: z.strictObject({
    ipAddress: z.string(),
    port: z.number().int(),
    logLevel: z.enum(['debug', 'info', 'warning', 'error']),
  }),
  tls: z.strictObject({ type: KeyType, secret: SavedBase64, certificate: SavedBase64 }),
  clusterCa: SavedBase64.exactOptional(),
  clusterPeerUrls: z.array(z.string()).exactOptional(),
  attestationKeys: z.strictObject({ P256: SavedBase64, P384: SavedBase64 }),
  users: z.record(
    z.string(),
    z.strictObject({
      realName: z.string(),
      role: Role,
      passphrase: SavedPassphraseHash,
      tags: z.array(z.string()),
    }),
  ),
  namespaces: z.array(z.string()),
  keys: z.record(
    z.string(),
    z.strictObject({
      type: KeyType,
      mechanisms: Mechanisms,
      tags: z.array(z.string()),
      secret: SavedBase64,
      operations: z.number().int().min(0),
      certificate: SavedBase64.exactOptional(),
    }),
  ),
});
/** Key certificates may reach 1 MiB each on the device; a rehearsal holds a few keys at most. */
const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;

/** The device saved in `stateFile`, or a factory-new one when there is none. */
async function openDevice(stateFile: string | undefined): Promise<{
  device: RehearsalNetHsmDevice;
  identity: RehearsalNetHsmDevice['tlsIdentity'];
  isNew: boolean;
}> {
  const saved =
    stateFile === undefined
      ? null
      : readSavedJson(stateFile, SavedNetHsmState, MAX_STATE_FILE_BYTES);
  if (saved === null) {
    const device = await RehearsalNetHsmDevice.create();
    return { device, identity: device.tlsIdentity, isNew: true };
  }
  const device = await RehearsalNetHsmDevice.create({ state: saved });
  try {
    // The server starts with this key and certificate: a file of the right shape holding ones
    // that do not parse is the file's error, not a listen failure.
    const identity = device.tlsIdentity;
    new X509Certificate(identity.certificateDer);
    return { device, identity, isNew: false };
  } catch (error) {
    throw new SavedFileError(
      'unexpected-form',
      `${stateFile} holds a rehearsal NetHSM TLS identity that cannot be used`,
      { cause: error },
    );
  }
}

function flatHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function readBody(request: IncomingMessage): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    if (request.destroyed && !request.complete) {
      reject(new Error('request aborted'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT_BYTES) chunks.push(chunk);
    });
    request.on('end', () =>
      resolve(size > BODY_LIMIT_BYTES ? null : new Uint8Array(Buffer.concat(chunks))),
    );
    request.on('error', reject);
    // A client gone mid-body must not stall the queue behind it.
    request.on('close', () => {
      if (!request.complete) reject(new Error('request aborted'));
    });
  });
}

export async function startRehearsalNetHsm(
  options: RehearsalNetHsmOptions = {},
): Promise<RehearsalNetHsm> {
  const { stateFile, onExchange } = options;
  const opened = await openDevice(stateFile);
  const { device } = opened;
  const save = (): void => {
    // SECURITY: the state holds the device's (rehearsal) keys: owner-only file (0600).
    if (stateFile !== undefined) saveJson(stateFile, device.snapshot(), 0o600);
  };
  if (opened.isNew) save();

  let identity = opened.identity;
  const sockets = new Set<Socket>();
  const drops: { method: string; path: string }[] = [];
  // One exchange at a time: the device is a single state machine, as the real one serialises
  // its key-value store writes.
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  const server: Server = createServer(
    {
      key: identity.privateKeyPem,
      cert: encodePem('CERTIFICATE', identity.certificateDer),
      minVersion: 'TLSv1.2',
      keepAlive: true,
    },
    (req, res) => {
      queue = queue
        .then(() => serve(req, res))
        .catch(() => {
          res.destroy();
        });
    },
  );
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const shouldDrop = (method: string, path: string): boolean => {
    const template = device.templateOf(method, path);
    const pathname = path.split('?')[0];
    const index = drops.findIndex(
      (d) => d.method === method && (d.path === template || d.path === pathname || d.path === path),
    );
    if (index < 0) return false;
    drops.splice(index, 1);
    return true;
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const method = (req.method ?? 'GET').toUpperCase();
    const request: NetHsmHttpRequest = {
      method,
      path: req.url ?? '/',
      headers: flatHeaders(req.headers),
      body: body ?? new Uint8Array(),
    };
    let response: NetHsmHttpResponse;
    let shutdown = false;
    if (body === null) {
      response = {
        status: 413,
        headers: { 'content-type': 'application/json' },
        body: new TextEncoder().encode(JSON.stringify({ message: 'request body too large' })),
      };
    } else {
      const outcome = await device.handle(request);
      response = outcome.response;
      shutdown = outcome.shutdown;
      if (outcome.changed) save();
      const next = device.tlsIdentity;
      if (Buffer.compare(next.certificateDer, identity.certificateDer) !== 0) {
        identity = next;
        server.setSecureContext({
          key: identity.privateKeyPem,
          cert: encodePem('CERTIFICATE', identity.certificateDer),
        });
      }
    }
    if (shouldDrop(method, request.path)) {
      req.socket.destroy();
      return;
    }
    const headers = { ...response.headers, 'content-length': String(response.body.length) };
    onExchange?.({
      method,
      path: request.path,
      requestHeaders: request.headers,
      requestBody: request.body,
      status: response.status,
      responseHeaders: headers,
      responseBody: response.body,
    });
    await new Promise<void>((resolve) => {
      res.writeHead(response.status, headers);
      res.end(Buffer.from(response.body), () => resolve());
    });
    // Shut down: stop serving once the answer is out, as the appliance powers off.
    if (shutdown) void close();
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  };

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new RehearsalServerError('listen-failed', 'the rehearsal NetHSM cannot listen', {
          cause: error,
        }),
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });

  return {
    host: '127.0.0.1',
    port,
    get certificateDer() {
      return Uint8Array.from(identity.certificateDer);
    },
    get certificateFingerprint() {
      return createHash('sha256').update(identity.certificateDer).digest('hex');
    },
    serial: device.serial,
    dropAfter(method: string, path: string) {
      drops.push({ method: method.toUpperCase(), path });
    },
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    close,
  };
}
