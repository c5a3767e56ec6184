// The rehearsal NetHSM on the wire: HTTPS (HTTP/1.1, keep-alive) on 127.0.0.1 with the device's
// self-signed certificate, the device state saved durably after every change, and fault
// injection (a request processed but never answered; every connection cut) for retry drills.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { replaceFileDurably } from '../../base/durable-files.ts';
import { encodePem } from '../../formats/pem.ts';
import type {
  NetHsmHttpRequest,
  NetHsmHttpResponse,
  RehearsalNetHsmState,
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

export class RehearsalServerError extends Error {
  constructor(
    readonly reason: 'state-file-unreadable' | 'listen-failed',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RehearsalServerError';
  }
}

const BODY_LIMIT_BYTES = 64 * 1024 * 1024;

function loadState(stateFile: string | undefined): RehearsalNetHsmState | undefined {
  if (stateFile === undefined || !existsSync(stateFile)) return undefined;
  try {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as RehearsalNetHsmState;
    if (state.version !== 1 || typeof state.serial !== 'string') throw new Error('unknown layout');
    return state;
  } catch (error) {
    throw new RehearsalServerError(
      'state-file-unreadable',
      `the rehearsal NetHSM state file ${stateFile} cannot be read`,
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
  const saved = loadState(stateFile);
  const device = await RehearsalNetHsmDevice.create(saved ? { state: saved } : {});
  const save = (): void => {
    if (stateFile === undefined) return;
    const text = JSON.stringify(device.snapshot());
    replaceFileDurably(stateFile, new TextEncoder().encode(text), 0o600);
  };
  if (!saved) save();

  let identity = device.tlsIdentity;
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
