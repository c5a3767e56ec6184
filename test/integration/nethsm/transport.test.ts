// The pinned HTTPS transport against local TLS servers with openssl-made certificates: the pin is
// checked before any HTTP byte leaves, one keep-alive socket, typed failures, one host only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dns from 'node:dns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import {
  NetHsmTransportError,
  PinnedTransport,
  endpointText,
  fetchServerCertificate,
  parseEndpoint,
  type NetHsmEndpoint,
} from '../../../electron/devices/nethsm/transport.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';

interface TestCertificate {
  key: Buffer;
  cert: Buffer;
  /** What openssl says: sha256 of the DER, lower-case hex. */
  fingerprint: string;
}

const work = mkdtempSync(join(tmpdir(), 'vigil-nethsm-tls-'));

function makeCertificate(name: string): TestCertificate {
  const keyPath = join(work, `${name}.key`);
  const certPath = join(work, `${name}.crt`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'pipe' }); // prettier-ignore
  const der = execFileSync('openssl', ['x509', '-in', certPath, '-outform', 'DER']);
  const fingerprint = execFileSync('sha256sum', { input: der }).toString().split(' ')[0] ?? '';
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), fingerprint };
}

function listen(server: net.Server): Promise<NetHsmEndpoint> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function rejectsWith(work: Promise<unknown>, failure: string): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof NetHsmTransportError, String(error));
    assert.equal(error.kind, failure, error.message);
    return true;
  });
}

let appliance: TestCertificate;
let impostor: TestCertificate;
let server: HttpsServer;
let endpoint: NetHsmEndpoint;
let connections = 0;
const seenAuthorization: string[] = [];

before(async () => {
  appliance = makeCertificate('appliance');
  impostor = makeCertificate('impostor');
  server = createHttpsServer({ key: appliance.key, cert: appliance.cert }, (req, res) => {
    seenAuthorization.push(req.headers.authorization ?? '');
    if (req.url === '/api/v1/drop') {
      req.socket.destroy();
      return;
    }
    if (req.url === '/api/v1/silent') return;
    if (req.url === '/api/v1/huge') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(64 * 1024, 1));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
  });
  server.on('secureConnection', () => connections++);
  endpoint = await listen(server);
});

after(async () => {
  server.closeAllConnections();
  await closeServer(server);
  rmSync(work, { recursive: true, force: true });
});

describe('parseEndpoint', () => {
  it('reads IPv4, IPv4 with port, bracketed and bare IPv6', () => {
    assert.deepEqual(parseEndpoint('10.1.2.3'), { host: '10.1.2.3', port: 443 });
    assert.deepEqual(parseEndpoint(' 10.1.2.3:8443 '), { host: '10.1.2.3', port: 8443 });
    assert.deepEqual(parseEndpoint('[fd00::1]:443'), { host: 'fd00::1', port: 443 });
    assert.deepEqual(parseEndpoint('[FD00::1]'), { host: 'fd00::1', port: 443 });
    assert.deepEqual(parseEndpoint('fd00::1'), { host: 'fd00::1', port: 443 });
  });

  it('round-trips through endpointText', () => {
    for (const text of ['10.1.2.3', '10.1.2.3:8443', '[fd00::1]:8443', '[fd00::1]']) {
      assert.equal(endpointText(parseEndpoint(text)), text);
    }
  });

  it('refuses host names, localhost, bad ports and junk', () => {
    for (const text of [
      'localhost',
      'localhost:8443',
      'nethsm.local',
      '10.1.2',
      '10.1.2.300',
      '10.1.2.3:0',
      '10.1.2.3:65536',
      '10.1.2.3:https',
      'fd00::1:99999',
      '[fd00::1]:',
      '[nethsm]:443',
      'https://10.1.2.3',
      '0.0.0.0',
      '[::]',
      'fe80::1%eth0',
      '',
    ]) {
      assert.throws(
        () => parseEndpoint(text),
        (e: unknown) => e instanceof NetHsmTransportError && e.kind === 'bad-address',
        text,
      );
    }
  });
});

describe('fetchServerCertificate', () => {
  it('gives the same fingerprint as openssl x509 -outform DER | sha256sum', async () => {
    const { der, fingerprint } = await fetchServerCertificate(endpoint);
    assert.equal(fingerprint, appliance.fingerprint);
    assert.equal(der[0], 0x30);
  });

  it('fails with refused on a closed port', async () => {
    const probe = net.createServer();
    const closed = await listen(probe);
    await closeServer(probe);
    await rejectsWith(fetchServerCertificate(closed), 'refused');
  });
});

describe('PinnedTransport', () => {
  const auth = { userId: 'admin', passphrase: SecretBytes.fromText('Administrator') };

  it('with the right pin, carries two requests over one keep-alive socket', async () => {
    const before = connections;
    const transport = new PinnedTransport(endpoint, appliance.fingerprint.toUpperCase());
    try {
      const first = await transport.request({
        method: 'GET',
        path: '/api/v1/info',
        basicAuth: auth,
      });
      assert.equal(first.status, 200);
      assert.equal(first.headers['content-type'], 'application/json');
      const body = new TextEncoder().encode('{"a":1}');
      const second = await transport.request({
        method: 'POST',
        path: '/api/v1/echo?x=1',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.deepEqual(JSON.parse(new TextDecoder().decode(second.body)), {
        method: 'POST',
        url: '/api/v1/echo?x=1',
        body: '{"a":1}',
      });
      assert.equal(connections - before, 1);
      assert.ok(
        seenAuthorization.includes(
          `Basic ${Buffer.from('admin:Administrator').toString('base64')}`,
        ),
      );
    } finally {
      transport.close();
    }
  });

  it('with a wrong pin, fails with fingerprint-mismatch and the server receives zero HTTP bytes', async () => {
    const received: Buffer[] = [];
    let tcpConnections = 0;
    const impostorServer = tls.createServer(
      { key: impostor.key, cert: impostor.cert },
      (socket) => {
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        socket.on('error', () => undefined);
      },
    );
    impostorServer.on('connection', () => tcpConnections++);
    impostorServer.on('tlsClientError', () => undefined);
    const impostorEndpoint = await listen(impostorServer);
    const transport = new PinnedTransport(impostorEndpoint, appliance.fingerprint, {
      timeoutMs: 500,
    });
    try {
      const outcome = await transport
        .request({ method: 'GET', path: '/api/v1/users', basicAuth: auth })
        .then(
          () => null,
          (error: unknown) => error,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The bytes first: whatever the client reports, the impostor must have read nothing.
      assert.equal(tcpConnections, 1);
      assert.equal(Buffer.concat(received).length, 0);
      assert.ok(outcome instanceof NetHsmTransportError, String(outcome));
      assert.equal(outcome.kind, 'fingerprint-mismatch');
      assert.ok(outcome.message.includes(impostor.fingerprint));
    } finally {
      transport.close();
      await closeServer(impostorServer);
    }
  });

  it('reaches an IPv6 literal', async () => {
    const v6 = createHttpsServer({ key: appliance.key, cert: appliance.cert }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"state":"Operational"}');
    });
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    const v6Endpoint = parseEndpoint(`[::1]:${(v6.address() as AddressInfo).port}`);
    const transport = new PinnedTransport(v6Endpoint, appliance.fingerprint);
    try {
      assert.equal((await fetchServerCertificate(v6Endpoint)).fingerprint, appliance.fingerprint);
      const response = await transport.request({ method: 'GET', path: '/api/v1/health/state' });
      assert.equal(new TextDecoder().decode(response.body), '{"state":"Operational"}');
    } finally {
      transport.close();
      v6.closeAllConnections();
      await closeServer(v6);
    }
  });

  it('reports a connection dropped mid-request as dropped, without retrying', async () => {
    const count = seenAuthorization.length;
    const transport = new PinnedTransport(endpoint, appliance.fingerprint);
    try {
      await rejectsWith(transport.request({ method: 'POST', path: '/api/v1/drop' }), 'dropped');
      assert.equal(seenAuthorization.length - count, 1);
    } finally {
      transport.close();
    }
  });

  it('reports a refused port as refused', async () => {
    const probe = net.createServer();
    const closed = await listen(probe);
    await closeServer(probe);
    const transport = new PinnedTransport(closed, appliance.fingerprint);
    await rejectsWith(transport.request({ method: 'GET', path: '/api/v1/info' }), 'refused');
    transport.close();
  });

  it('times out on a server that never answers', async () => {
    const transport = new PinnedTransport(endpoint, appliance.fingerprint, { timeoutMs: 300 });
    try {
      await rejectsWith(transport.request({ method: 'GET', path: '/api/v1/silent' }), 'timeout');
    } finally {
      transport.close();
    }
  });

  it('caps response bodies', async () => {
    const transport = new PinnedTransport(endpoint, appliance.fingerprint, {
      maxResponseBytes: 1024,
    });
    try {
      await rejectsWith(transport.request({ method: 'GET', path: '/api/v1/huge' }), 'dropped');
    } finally {
      transport.close();
    }
  });

  it('refuses malformed pins and host names at construction', () => {
    assert.throws(
      () => new PinnedTransport(endpoint, 'abcd'),
      (e: unknown) => e instanceof NetHsmTransportError && e.kind === 'fingerprint-mismatch',
    );
    assert.throws(
      () => new PinnedTransport({ host: 'localhost', port: 443 }, appliance.fingerprint),
      (e: unknown) => e instanceof NetHsmTransportError && e.kind === 'bad-address',
    );
  });

  it('contacts only the configured host and port and never uses DNS', async () => {
    const contacted: string[] = [];
    const lookups: string[] = [];
    type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
    const socketProto = net.Socket.prototype as unknown as { connect: AnyFunction };
    const tlsModule = tls as unknown as { connect: AnyFunction };
    const dnsModule = dns as unknown as { lookup: AnyFunction };
    const originalConnect = socketProto.connect;
    const originalTlsConnect = tlsModule.connect;
    const originalLookup = dnsModule.lookup;
    const record = (args: unknown[]): void => {
      const first = args[0];
      if (first && typeof first === 'object') {
        const o = first as { host?: string; port?: number; path?: string };
        contacted.push(o.path ?? `${o.host}:${o.port}`);
      } else {
        contacted.push(`${String(args[1])}:${String(first)}`);
      }
    };
    socketProto.connect = function (...args) {
      record(args);
      return originalConnect.apply(this, args);
    };
    tlsModule.connect = function (...args) {
      record(args);
      return originalTlsConnect.apply(this, args);
    };
    dnsModule.lookup = function (...args) {
      lookups.push(String(args[0]));
      return originalLookup.apply(this, args);
    };
    // Named ESM imports of builtins (the transport's `connect`) follow the patch only after this.
    syncBuiltinESMExports();
    const transport = new PinnedTransport(endpoint, appliance.fingerprint);
    try {
      await transport.request({ method: 'GET', path: '/api/v1/info', basicAuth: auth });
      await transport.request({ method: 'GET', path: '/api/v1/health/state' });
      await fetchServerCertificate(endpoint);
    } finally {
      transport.close();
      socketProto.connect = originalConnect;
      tlsModule.connect = originalTlsConnect;
      dnsModule.lookup = originalLookup;
      syncBuiltinESMExports();
    }
    // Each connection shows twice: tls.connect, then the socket's own connect.
    assert.ok(contacted.length >= 4, `the recorders saw the connections: ${contacted.join(' ')}`);
    assert.deepEqual(new Set(contacted), new Set([`${endpoint.host}:${endpoint.port}`]));
    assert.deepEqual(lookups, []);
  });
});
