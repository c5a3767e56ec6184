// The real client path (ConnectorTransport + driver + secure channel) against the rehearsal
// YubiHSM behind its connector, including the faults a ceremony meets.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { YubiHsmDriver, YubiHsmSessionError } from '../../../electron/devices/yubihsm2/driver.ts';
import {
  ALL_DOMAINS,
  Algorithm,
  DEFAULT_AUTH_KEY_ID,
  DEFAULT_PASSWORD,
  ObjectType,
  YubiHsmDeviceError,
  capabilitiesOf,
  capabilityMask,
  decodeLogEntries,
  encodeLogEntries,
  logEntryBody,
} from '../../../electron/devices/yubihsm2/protocol.ts';
import { RehearsalConnector } from '../../../electron/devices/yubihsm2/rehearsal-server.ts';
import { RehearsalYubiHsm } from '../../../electron/devices/yubihsm2/rehearsal.ts';
import { keysFromPassword } from '../../../electron/devices/yubihsm2/secure-channel.ts';
import {
  ConnectorTransport,
  YubiHsmTransportError,
} from '../../../electron/devices/yubihsm2/transport.ts';
import { concatBytes } from '../../../electron/formats/der.ts';
import { spkiFromRawPublicKey } from '../../../electron/formats/ec-point.ts';

let clock = Date.now();
let device: RehearsalYubiHsm;
let connector: RehearsalConnector;

function driver(timeoutMs?: number): YubiHsmDriver {
  const options = timeoutMs === undefined ? { now: () => clock } : { now: () => clock, timeoutMs };
  return new YubiHsmDriver(new ConnectorTransport(connector.url), options);
}

before(async () => {
  device = await RehearsalYubiHsm.create({ serial: 7654321, now: () => clock, rebootMs: 1500 });
  connector = new RehearsalConnector(device);
  await connector.start();
});
after(() => connector.stop());

describe('rehearsal YubiHSM through the connector API', () => {
  it('reports status=OK with the serial, and device info without a session', async () => {
    const status = await new ConnectorTransport(connector.url).status();
    assert.equal(status.isDeviceConnected, true);
    assert.equal(status.serial, '0007654321');
    const info = await driver().deviceInfo();
    assert.equal(info.serial, 7654321);
    assert.deepEqual(info.version, { major: 2, minor: 4, patch: 0 });
    assert.ok(info.algorithms.includes(Algorithm.ed25519));
  });

  it('opens a session with the default key and lists it', async () => {
    await driver().withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, async (session) => {
      const objects = await session.listObjects();
      assert.deepEqual(
        objects.map((o) => [o.id, o.type, o.label]),
        [[1, ObjectType.authenticationKey, 'DEFAULT AUTHKEY CHANGE THIS ASAP']],
      );
    });
  });

  it('detects a wrong password from the card cryptogram, and sends nothing more', async () => {
    const before = connector.recording.length;
    await assert.rejects(
      driver().openSession(DEFAULT_AUTH_KEY_ID, 'passw0rd'),
      (e: unknown) => e instanceof YubiHsmSessionError && e.kind === 'wrong-password',
    );
    assert.equal(connector.recording.length, before + 1, 'only CREATE_SESSION was sent');
  });

  it('names a missing authentication key', async () => {
    await assert.rejects(
      driver().openSession(77, DEFAULT_PASSWORD),
      (e: unknown) => e instanceof YubiHsmSessionError && e.kind === 'no-such-authentication-key',
    );
  });

  it('generates P-256, P-384 and Ed25519 keys whose signatures node:crypto verifies', async () => {
    await driver().withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, async (session) => {
      for (const [curve, algorithm, capability] of [
        ['P-256', Algorithm.ecp256, 'sign-ecdsa'],
        ['P-384', Algorithm.ecp384, 'sign-ecdsa'],
        ['Ed25519', Algorithm.ed25519, 'sign-eddsa'],
      ] as const) {
        const id = await session.generateAsymmetricKey({
          id: 0,
          label: `test-${curve}`,
          domains: 1,
          capabilities: capabilityMask([capability]),
          algorithm,
        });
        const info = await session.objectInfo(id, ObjectType.asymmetricKey);
        assert.equal(info.origin, 0x01);
        assert.deepEqual(capabilitiesOf(info.capabilities), [capability]);
        const { key } = await session.publicKey(id);
        const raw = curve === 'Ed25519' ? key : concatBytes(Uint8Array.of(4), key);
        const publicKey = createPublicKey({
          key: Buffer.from(spkiFromRawPublicKey(raw, curve)),
          format: 'der',
          type: 'spki',
        });
        const message = Buffer.from('ceremony');
        if (curve === 'Ed25519') {
          const signature = await session.signEddsa(id, message);
          assert.ok(verify(null, message, publicKey, signature));
        } else {
          const hash = curve === 'P-256' ? 'sha256' : 'sha384';
          const digest = createHash(hash).update(message).digest();
          const signature = await session.signEcdsa(id, digest);
          assert.ok(verify(hash, message, publicKey, signature));
        }
      }
    });
  });

  it('refuses an object id that exists, and capabilities the key may not delegate', async () => {
    const d = driver();
    const password = 'delegation test';
    const keys = keysFromPassword(password);
    await d.withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, async (session) => {
      await session.generateAsymmetricKey({
        id: 0x20,
        label: 'exists',
        domains: 1,
        capabilities: capabilityMask(['sign-ecdsa']),
        algorithm: Algorithm.ecp256,
      });
      await assert.rejects(
        session.generateAsymmetricKey({
          id: 0x20,
          label: 'exists again',
          domains: 1,
          capabilities: capabilityMask(['sign-ecdsa']),
          algorithm: Algorithm.ecp256,
        }),
        (e: unknown) => e instanceof YubiHsmDeviceError && e.kind === 'object-exists',
      );
      await session.putAuthenticationKey({
        id: 0x30,
        label: 'narrow',
        domains: 1,
        capabilities: capabilityMask(['generate-asymmetric-key']),
        delegatedCapabilities: capabilityMask(['sign-ecdsa']),
        ...keys,
      });
    });
    await d.withSession(0x30, password, async (session) => {
      await assert.rejects(
        session.generateAsymmetricKey({
          id: 0,
          label: 'too much',
          domains: 1,
          capabilities: capabilityMask(['sign-ecdsa', 'exportable-under-wrap']),
          algorithm: Algorithm.ecp256,
        }),
        (e: unknown) => e instanceof YubiHsmDeviceError && e.kind === 'insufficient-permissions',
      );
      await assert.rejects(
        session.resetDevice(),
        (e: unknown) => e instanceof YubiHsmDeviceError && e.kind === 'insufficient-permissions',
      );
    });
  });

  it('counts re-use of an object id in its sequence number', async () => {
    await driver().withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, async (session) => {
      const key = {
        id: 0x40,
        label: 'reused',
        domains: 1,
        capabilities: capabilityMask(['sign-ecdsa']),
        algorithm: Algorithm.ecp256,
      };
      await session.generateAsymmetricKey(key);
      assert.equal((await session.objectInfo(0x40, ObjectType.asymmetricKey)).sequence, 0);
      await session.deleteObject(0x40, ObjectType.asymmetricKey);
      await session.generateAsymmetricKey(key);
      assert.equal((await session.objectInfo(0x40, ObjectType.asymmetricKey)).sequence, 1);
    });
  });

  it('keeps an audit log whose entries chain by SHA-256', async () => {
    await driver().withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, async (session) => {
      const log = await session.logEntries();
      assert.ok(log.entries.length > 5);
      for (let i = 1; i < log.entries.length; i++) {
        const entry = log.entries[i]!;
        const digest = createHash('sha256')
          .update(concatBytes(logEntryBody(entry), log.entries[i - 1]!.digest))
          .digest()
          .subarray(0, 16);
        assert.deepEqual(new Uint8Array(digest), entry.digest, `entry ${entry.number}`);
      }
      assert.deepEqual(decodeLogEntries(encodeLogEntries(log)), log);
    });
  });

  it('expires an idle session after 30 s and says so instead of hanging', async () => {
    const session = await driver().openSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD);
    clock += 31_000;
    await assert.rejects(
      session.listObjects(),
      (e: unknown) => e instanceof YubiHsmSessionError && e.kind === 'session-expired',
    );
  });

  it('reports a session the device forgot (reset or power cycle) as expired', async () => {
    const session = await driver().openSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD);
    device.powerCycle();
    await assert.rejects(
      session.listObjects(),
      (e: unknown) => e instanceof YubiHsmSessionError && e.kind === 'session-expired',
    );
  });

  it('turns a connection dropped mid-command into device-gone', async () => {
    const session = await driver().openSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD);
    connector.faults.dropNextRequest = true;
    await assert.rejects(
      session.listObjects(),
      (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'device-gone',
    );
  });

  it('times out a late answer with a typed error', async () => {
    connector.faults.delayMs = 600;
    try {
      await assert.rejects(
        driver(200).deviceInfo(),
        (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'timeout',
      );
    } finally {
      connector.faults.delayMs = 0;
    }
  });

  it('reports an unplugged device and a stopped connector distinctly', async () => {
    connector.faults.isUnplugged = true;
    try {
      assert.equal((await new ConnectorTransport(connector.url).status()).isDeviceConnected, false);
      await assert.rejects(
        driver().deviceInfo(),
        (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'no-device',
      );
    } finally {
      connector.faults.isUnplugged = false;
    }
    await assert.rejects(
      new YubiHsmDriver(new ConnectorTransport('http://127.0.0.1:9')).deviceInfo(),
      (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'connector-unavailable',
    );
  });

  it('factory-resets: the device vanishes, comes back, and holds only the default key', async () => {
    const d = driver();
    await d.withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, (session) => session.resetDevice());
    assert.equal(device.isPresent, false);
    await assert.rejects(
      d.deviceInfo(),
      (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'no-device',
    );
    const realClock = clock;
    const ticking = setInterval(() => (clock += 250), 50);
    try {
      const info = await d.waitForDevice(7654321, 10_000, 50);
      assert.equal(info.serial, 7654321);
    } finally {
      clearInterval(ticking);
    }
    assert.ok(clock > realClock);
    await d.withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, async (session) => {
      const objects = await session.listObjects();
      assert.deepEqual(
        objects.map((o) => o.id),
        [1],
      );
      assert.equal(objects[0]!.domains, ALL_DOMAINS);
    });
  });
});
