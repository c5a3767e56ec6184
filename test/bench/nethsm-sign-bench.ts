// Signatures per second through Vigil's NetHSM client (pinned TLS, keep-alive, JSON, response
// validation) against the rehearsal NetHSM on loopback, per key type, for one connection at a time
// as a ceremony signs. Prints figures; asserts nothing.
// Run alone: node --import tsx test/bench/nethsm-sign-bench.ts
import { createHash } from 'node:crypto';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { NetHsmClient, type NetHsmAuth } from '../../electron/devices/nethsm/driver.ts';
import { digestInfo, type KeyType, type SignMode } from '../../electron/devices/nethsm/protocol.ts';
import { startRehearsalNetHsm } from '../../electron/devices/nethsm/rehearsal-server.ts';
import { PinnedTransport } from '../../electron/devices/nethsm/transport.ts';
import { SecretBytes } from '../../shared/model/secret-bytes.ts';

const PASSPHRASE = 'bench passphrase for the NetHSM';

/** The same sign request with a bare keep-alive https.Agent: what the client's checks cost. */
async function plainHttpsRate(
  device: { host: string; port: number },
  keyId: string,
  mode: SignMode,
  message: Uint8Array,
  seconds: number,
): Promise<number> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const body = JSON.stringify({ mode, message: Buffer.from(message).toString('base64') });
  const authorization = `Basic ${Buffer.from(`bench:${PASSPHRASE}`).toString('base64')}`;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const request = https.request(
        {
          host: device.host,
          port: device.port,
          method: 'POST',
          path: `/api/v1/keys/${keyId}/sign`,
          agent,
          headers: { 'content-type': 'application/json', authorization },
        },
        (response) => {
          response.resume();
          response.on('end', () =>
            response.statusCode === 200
              ? resolve()
              : reject(new Error(String(response.statusCode))),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  try {
    await once();
    let count = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await once();
      count++;
    }
    return count / ((performance.now() - t0) / 1000);
  } finally {
    agent.destroy();
  }
}

export async function netHsmSigning(seconds = 3): Promise<void> {
  const device = await startRehearsalNetHsm();
  const transport = new PinnedTransport(
    { host: device.host, port: device.port },
    device.certificateFingerprint,
  );
  const client = new NetHsmClient(transport);
  try {
    const auth = (userId: string): NetHsmAuth => ({
      userId,
      passphrase: SecretBytes.fromText(PASSPHRASE),
    });
    await client.provision({
      unlockPassphrase: SecretBytes.fromText(`${PASSPHRASE} unlock`),
      adminPassphrase: SecretBytes.fromText(PASSPHRASE),
      systemTime: new Date(),
    });
    await client.addUser(auth('admin'), 'bench', {
      realName: 'Bench operator',
      role: 'Operator',
      passphrase: SecretBytes.fromText(PASSPHRASE),
    });
    const sha256 = (m: Uint8Array) => new Uint8Array(createHash('sha256').update(m).digest());
    const cases: { type: KeyType; mode: SignMode; message: Uint8Array; length?: number }[] = [
      { type: 'Curve25519', mode: 'EdDSA', message: new TextEncoder().encode('bench message') },
      { type: 'EC_P256', mode: 'ECDSA', message: sha256(new Uint8Array(32)) },
      {
        type: 'RSA',
        mode: 'PKCS1',
        message: digestInfo('sha256', sha256(new Uint8Array(32))),
        length: 2048,
      },
    ];
    for (const c of cases) {
      const mechanism =
        c.mode === 'EdDSA'
          ? 'EdDSA_Signature'
          : c.mode === 'ECDSA'
            ? 'ECDSA_Signature'
            : 'RSA_Signature_PKCS1';
      const id = await client.generateKey(auth('admin'), {
        type: c.type,
        mechanisms: [mechanism],
        ...(c.length === undefined ? {} : { length: c.length }),
      });
      await client.sign(auth('bench'), id, c.mode, c.message); // warm-up
      let count = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) {
        await client.sign(auth('bench'), id, c.mode, c.message);
        count++;
      }
      const elapsed = (performance.now() - t0) / 1000;
      const raw = await plainHttpsRate(device, id, c.mode, c.message, seconds);
      console.log(
        `NetHSM rehearsal ${c.type} ${c.mode}: ${(count / elapsed).toFixed(0)} signatures/s through the pinned client (${count} in ${elapsed.toFixed(1)} s, one connection, keep-alive); bare node:https keep-alive, no pin or validation: ${raw.toFixed(0)}/s`,
      );
    }
  } finally {
    transport.close();
    await device.close();
  }
}

if (process.argv[1] === import.meta.filename) await netHsmSigning();
