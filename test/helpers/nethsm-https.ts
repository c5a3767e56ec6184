// Plain node:https to a rehearsal NetHSM, not through Vigil's own client: pinned twice (the CA is
// the device's certificate, and its SHA-256 must be the one the device announces), re-pinned when
// the device's TLS certificate changes. Shared by the NetHSM tests that judge the rehearsal
// device against the vendor's spec and firmware.
import { Agent, request } from 'node:https';
import type { RehearsalNetHsm } from '../../electron/devices/nethsm/rehearsal-server.ts';
import { encodePem } from '../../electron/formats/pem.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: () => unknown;
}

export interface CallOptions {
  auth?: string;
  json?: unknown;
  raw?: Uint8Array | string;
  contentType?: string;
  accept?: string;
}

export function pinnedNetHsmClient(hsm: RehearsalNetHsm) {
  let agent: Agent | undefined;
  let pinned = '';
  const agentNow = () => {
    if (agent === undefined || pinned !== hsm.certificateFingerprint) {
      agent?.destroy();
      pinned = hsm.certificateFingerprint;
      const expected = pinned;
      agent = new Agent({
        keepAlive: true,
        maxSockets: 1,
        ca: encodePem('CERTIFICATE', hsm.certificateDer),
        checkServerIdentity: (_host, certificate) =>
          certificate.fingerprint256.replaceAll(':', '').toLowerCase() === expected
            ? undefined
            : new Error('certificate fingerprint mismatch'),
      });
    }
    return agent;
  };
  const call = (method: string, path: string, options: CallOptions = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const body =
        options.json !== undefined
          ? Buffer.from(JSON.stringify(options.json))
          : options.raw !== undefined
            ? Buffer.from(options.raw)
            : undefined;
      const headers: Record<string, string> = {};
      if (options.json !== undefined) headers['content-type'] = 'application/json';
      if (options.contentType) headers['content-type'] = options.contentType;
      if (options.accept) headers.accept = options.accept;
      if (options.auth)
        headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
      const req = request(
        {
          host: hsm.host,
          port: hsm.port,
          method,
          path: `/api/v1${path}`,
          agent: agentNow(),
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const data = Buffer.concat(chunks);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: data,
              json: () => JSON.parse(data.toString('utf8')) as unknown,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { call, close: () => agent?.destroy() };
}
