// Serves the rehearsal YubiHSM behind the yubihsm-connector HTTP API on loopback, so rehearsals
// run the real ConnectorTransport and driver. Fault switches let tests drop a connection
// mid-command, answer late, or pull the device; a factory reset makes it vanish for a while.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serialText } from './protocol.ts';
import type { RehearsalYubiHsm } from './rehearsal.ts';

export interface ConnectorFaults {
  /** Close the TCP connection after reading the next request, without an answer. */
  dropNextRequest?: boolean;
  /** Answer every request this late. */
  delayMs?: number;
  /** The device is unplugged: status NO_DEVICE, API calls fail. */
  isUnplugged?: boolean;
}

const MAX_REQUEST = 0x10000;

export class RehearsalConnector {
  readonly faults: ConnectorFaults = {};
  /** Every request and response frame, in order, for replay tests. */
  readonly recording: { request: Uint8Array; response: Uint8Array }[] = [];
  #server: Server | null = null;

  constructor(readonly device: RehearsalYubiHsm) {}

  get url(): string {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('rehearsal connector is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Listens on 127.0.0.1: `port` 0 (the default) lets the OS choose. */
  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REQUEST) req.destroy();
        else chunks.push(chunk);
      });
      req.on('end', () => {
        void (async () => {
          if (this.faults.dropNextRequest) {
            this.faults.dropNextRequest = false;
            req.socket.destroy();
            return;
          }
          if (this.faults.delayMs) await new Promise((r) => setTimeout(r, this.faults.delayMs));
          const isPresent = !this.faults.isUnplugged && this.device.isPresent;
          if (req.method === 'GET' && req.url === '/connector/status') {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end(
              [
                `status=${isPresent ? 'OK' : 'NO_DEVICE'}`,
                `serial=${isPresent ? serialText(this.device.serial) : '*'}`,
                'version=3.0.0-vigil-rehearsal',
                `pid=${process.pid}`,
                'address=127.0.0.1',
                `port=${(this.#server?.address() as AddressInfo).port}`,
                '',
              ].join('\n'),
            );
            return;
          }
          if (req.method === 'POST' && req.url === '/connector/api') {
            if (!isPresent) {
              res.writeHead(503).end();
              return;
            }
            const request = new Uint8Array(Buffer.concat(chunks));
            const response = await this.device.process(request);
            this.recording.push({ request, response });
            res.writeHead(200, { 'content-type': 'application/octet-stream' });
            res.end(Buffer.from(response));
            return;
          }
          res.writeHead(404).end();
        })().catch(() => {
          res.writeHead(500).end();
        });
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
