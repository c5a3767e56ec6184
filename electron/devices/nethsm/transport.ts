// How Vigil reaches a Nitrokey NetHSM: HTTPS to the one address the operator typed, trusting only
// the SHA-256 pin of the appliance's self-signed certificate. The pin is checked after the TLS
// handshake and before the first HTTP byte, because every request carries a passphrase.
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  Agent,
  request as httpRequest,
  type ClientRequest,
  type ClientRequestArgs,
  type IncomingMessage,
} from 'node:http';
import { type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { KindedError } from '../../base/errors.ts';
import {
  isIPv4,
  isIPv6,
  networkAddressText,
  readNetworkAddress,
} from '../../base/network-address.ts';

export interface NetHsmEndpoint {
  /** An IPv4 or IPv6 literal: the ceremony machine has no DNS. */
  host: string;
  port: number;
}

export type NetHsmTransportFailure =
  /** The operator's text is not an IP literal with an optional port. */
  | 'bad-address'
  /** Nothing listens there (or a firewall says so). */
  | 'refused'
  /** No answer before the deadline. */
  | 'timeout'
  /** The connection ended before the whole response arrived; the caller re-reads state. */
  | 'dropped'
  /** The server is not the appliance the operator compared (or the pin is malformed, so nothing
   * can match): nothing was sent. */
  | 'fingerprint-mismatch'
  /** The TLS handshake itself failed. */
  | 'tls';

export class NetHsmTransportError extends KindedError<NetHsmTransportFailure> {
  readonly name = 'NetHsmTransportError';
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** Backups and certificate slots (≤ 1 MB) are the largest bodies a NetHSM returns. */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

// ---- addresses ---------------------------------------------------------------------------------

/** '10.1.2.3', '10.1.2.3:8443', '[fd00::1]:443' or a bare IPv6 literal; the port defaults to 443. */
export function parseEndpoint(text: string): NetHsmEndpoint {
  const reading = readNetworkAddress(text);
  if (!reading.ok) throw new NetHsmTransportError('bad-address', reading.problem);
  return reading.address;
}

export const endpointText: (e: NetHsmEndpoint) => string = networkAddressText;

function assertLiteral(e: NetHsmEndpoint): void {
  if (!(isIPv4(e.host) || isIPv6(e.host)) || !Number.isInteger(e.port) || e.port < 1) {
    throw new NetHsmTransportError('bad-address', `${e.host} is not an IP literal`);
  }
}

/** Lower-case hex without separators; accepts the colon-separated form openssl prints. */
export function normaliseFingerprint(text: string): string {
  const hex = text.replace(/[\s:]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new NetHsmTransportError(
      'fingerprint-mismatch',
      'the pin is malformed (a pin is the 64-hex-digit SHA-256 of the DER), so nothing can match',
    );
  }
  return hex;
}

export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

// ---- TLS ---------------------------------------------------------------------------------------

// Defence in depth: literals never reach the resolver, and if one ever did, it fails here.
const refuseLookup: LookupFunction = (hostname, _options, callback) => {
  callback(Object.assign(new Error(`DNS refused for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
};

function classify(error: unknown, what: string): NetHsmTransportError {
  if (error instanceof NetHsmTransportError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new NetHsmTransportError('refused', `${what}: ${detail}`);
    case 'ETIMEDOUT':
      return new NetHsmTransportError('timeout', `${what}: ${detail}`);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return new NetHsmTransportError('dropped', `${what}: ${detail}`);
    default:
      if (typeof code === 'string' && /^ERR_SSL|^ERR_TLS/.test(code)) {
        return new NetHsmTransportError('tls', `${what}: ${detail}`);
      }
      return new NetHsmTransportError('dropped', `${what}: ${detail}`);
  }
}

/** Opens TLS to the endpoint and resolves once the handshake is done; nothing else is written. */
function handshake(endpoint: NetHsmEndpoint, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: endpoint.host,
      port: endpoint.port,
      // The appliance's certificate is self-signed; the pin below is the only trust decision.
      rejectUnauthorized: false,
      // SNI would carry a name; an IP literal has none to send.
      servername: '',
      lookup: refuseLookup,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new NetHsmTransportError('timeout', `TLS handshake took over ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      const classified = classify(error, `connecting to ${endpointText(endpoint)}`);
      // Errors during the handshake that are not refusals are TLS failures, not drops.
      reject(
        classified.kind === 'dropped'
          ? new NetHsmTransportError('tls', classified.message)
          : classified,
      );
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function peerCertificateDer(socket: TLSSocket): Uint8Array | null {
  const raw = socket.getPeerCertificate(true).raw as Buffer | undefined;
  return raw && raw.length > 0 ? new Uint8Array(raw) : null;
}

/** TLS handshake only (no HTTP sent): the certificate the operator compares with the appliance before trusting it. */
export async function fetchServerCertificate(
  endpoint: NetHsmEndpoint,
  options?: { timeoutMs?: number },
): Promise<{ der: Uint8Array; fingerprint: string }> {
  assertLiteral(endpoint);
  const socket = await handshake(endpoint, options?.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    const der = peerCertificateDer(socket);
    if (!der) throw new NetHsmTransportError('tls', 'the server presented no certificate');
    return { der, fingerprint: certificateFingerprint(der) };
  } finally {
    socket.destroy();
  }
}

function pinMatches(der: Uint8Array, pin: Buffer): boolean {
  const actual = createHash('sha256').update(der).digest();
  return timingSafeEqual(actual, pin);
}

/**
 * One keep-alive socket to one endpoint. Node's Agent accepts an asynchronous createConnection:
 * the request's bytes stay buffered until the callback hands over a socket whose pin matched.
 */
class PinnedAgent extends Agent {
  constructor(
    private readonly endpoint: NetHsmEndpoint,
    private readonly pin: Buffer,
    private readonly timeoutMs: number,
  ) {
    super({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  }

  override createConnection(
    _options: ClientRequestArgs,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): undefined {
    // Node ignores the stream when the error is set; its typings just do not say so.
    const done = callback as ((error: Error | null, stream?: Duplex) => void) | undefined;
    // The request's own host/port are ignored: this agent only ever dials its endpoint.
    handshake(this.endpoint, this.timeoutMs).then(
      (socket) => {
        const der = peerCertificateDer(socket);
        if (!der || !pinMatches(der, this.pin)) {
          socket.destroy();
          const presented = der ? certificateFingerprint(der) : 'no certificate';
          done?.(
            new NetHsmTransportError(
              'fingerprint-mismatch',
              `${endpointText(this.endpoint)} presented ${presented}, not the pinned certificate`,
            ),
          );
          return;
        }
        done?.(null, socket);
      },
      (error: unknown) => done?.(classify(error, `connecting to ${endpointText(this.endpoint)}`)),
    );
    return undefined;
  }
}

// ---- HTTP --------------------------------------------------------------------------------------

export interface NetHsmHttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** '/api/v1/...' including any query. */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  basicAuth?: { userId: string; passphrase: SecretBytes };
  /** Overrides the transport's deadline for slow operations (RSA generation, backup). */
  timeoutMs?: number;
  /** Overrides the transport's response cap (a backup of many keys). */
  maxResponseBytes?: number;
}

export interface NetHsmHttpResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Uint8Array;
}

/** `Basic base64(user:passphrase)`: the header API takes a string, so this is the last moment. */
function basicAuthorization(userId: string, passphrase: SecretBytes): string {
  if (userId.includes(':')) {
    throw new NetHsmTransportError('bad-address', 'a user id cannot contain ":" in Basic auth');
  }
  return passphrase.use((secret) => {
    const user = Buffer.from(`${userId}:`, 'utf8');
    const joined = Buffer.alloc(user.length + secret.length);
    user.copy(joined);
    joined.set(secret, user.length);
    try {
      return `Basic ${joined.toString('base64')}`;
    } finally {
      joined.fill(0);
    }
  });
}

export class PinnedTransport {
  readonly endpoint: NetHsmEndpoint;
  readonly #agent: PinnedAgent;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  #closed = false;

  constructor(
    endpoint: NetHsmEndpoint,
    pinnedFingerprint: string,
    options?: { timeoutMs?: number; maxResponseBytes?: number },
  ) {
    assertLiteral(endpoint);
    this.endpoint = { host: endpoint.host, port: endpoint.port };
    this.#timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxResponseBytes = options?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const pin = Buffer.from(normaliseFingerprint(pinnedFingerprint), 'hex');
    this.#agent = new PinnedAgent(this.endpoint, pin, this.#timeoutMs);
  }

  request(r: NetHsmHttpRequest): Promise<NetHsmHttpResponse> {
    if (this.#closed) {
      return Promise.reject(new NetHsmTransportError('dropped', 'the transport is closed'));
    }
    if (!r.path.startsWith('/') || r.path.startsWith('//')) {
      return Promise.reject(new NetHsmTransportError('bad-address', 'paths are absolute'));
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const timeoutMs = r.timeoutMs ?? this.#timeoutMs;
      const maxResponseBytes = r.maxResponseBytes ?? this.#maxResponseBytes;
      const headers: Record<string, string> = { ...r.headers, host: endpointText(this.endpoint) };
      if (r.body) headers['content-length'] = String(r.body.length);
      if (r.basicAuth)
        headers.authorization = basicAuthorization(r.basicAuth.userId, r.basicAuth.passphrase);
      let req: ClientRequest;
      try {
        req = httpRequest({
          agent: this.#agent,
          host: this.endpoint.host,
          port: this.endpoint.port,
          method: r.method,
          path: r.path,
          headers,
          lookup: refuseLookup,
        });
      } finally {
        // Drop our reference to the header; Node keeps its own copy until the socket write.
        delete headers.authorization;
      }
      const timer = setTimeout(() => {
        settle(() =>
          reject(
            new NetHsmTransportError(
              'timeout',
              `${r.method} ${r.path}: no answer in ${timeoutMs} ms`,
            ),
          ),
        );
        req.destroy();
      }, timeoutMs);
      req.on('error', (error) => settle(() => reject(classify(error, `${r.method} ${r.path}`))));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) {
            settle(() =>
              reject(
                // Cut off, like a drop: a NetHSM never sends this much, so the caller re-reads.
                new NetHsmTransportError(
                  'dropped',
                  `${r.method} ${r.path}: response over ${maxResponseBytes} bytes`,
                ),
              ),
            );
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error) => settle(() => reject(classify(error, `${r.method} ${r.path}`))));
        res.on('aborted', () =>
          settle(() =>
            reject(
              new NetHsmTransportError('dropped', `${r.method} ${r.path}: response cut short`),
            ),
          ),
        );
        res.on('end', () => {
          if (!res.complete) {
            settle(() =>
              reject(
                new NetHsmTransportError('dropped', `${r.method} ${r.path}: response cut short`),
              ),
            );
            return;
          }
          const responseHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) {
              responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
            }
          }
          settle(() =>
            resolve({
              status: res.statusCode ?? 0,
              headers: responseHeaders,
              body: new Uint8Array(Buffer.concat(chunks)),
            }),
          );
        });
      });
      req.end(r.body ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.length) : undefined);
    });
  }

  /** Ends the keep-alive socket; later requests fail. */
  close(): void {
    this.#closed = true;
    this.#agent.destroy();
  }
}
