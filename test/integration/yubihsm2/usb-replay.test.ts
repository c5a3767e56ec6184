// The USB transport against a fake WebUSB device that replays the frames of a real rehearsal
// session recorded through the connector: same frames out (with the zero-length packet a full
// 64-byte multiple needs), same answers in, and typed errors when the device vanishes or stalls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { YubiHsmDriver } from '../../../electron/devices/yubihsm2/driver.ts';
import {
  Algorithm,
  DEFAULT_AUTH_KEY_ID,
  DEFAULT_PASSWORD,
  capabilityMask,
} from '../../../electron/devices/yubihsm2/protocol.ts';
import { RehearsalConnector } from '../../../electron/devices/yubihsm2/rehearsal-server.ts';
import { RehearsalYubiHsm } from '../../../electron/devices/yubihsm2/rehearsal.ts';
import {
  ConnectorTransport,
  UsbTransport,
  YubiHsmTransportError,
  type UsbDeviceLike,
} from '../../../electron/devices/yubihsm2/transport.ts';
import { bytesToHex } from '../../../electron/formats/der.ts';

/** Deterministic host challenges, so a replayed session sends the recorded frames again. */
function fixedRandom(): (length: number) => Uint8Array {
  let counter = 0;
  return (length) => new Uint8Array(length).fill(++counter);
}

type Recording = { request: Uint8Array; response: Uint8Array }[];

class ReplayingUsbDevice implements UsbDeviceLike {
  readonly vendorId = 0x1050;
  readonly productId = 0x0030;
  readonly serialNumber = '7000001';
  opened = false;
  configuration: { configurationValue: number } | null = null;
  readonly writes: Uint8Array[] = [];
  #pending: Uint8Array | null = null;
  #next = 0;
  isGone = false;
  isStalled = false;

  constructor(readonly recording: Recording) {}

  open(): Promise<void> {
    this.opened = true;
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.opened = false;
    return Promise.resolve();
  }
  selectConfiguration(value: number): Promise<void> {
    this.configuration = { configurationValue: value };
    return Promise.resolve();
  }
  claimInterface(): Promise<void> {
    return Promise.resolve();
  }
  releaseInterface(): Promise<void> {
    return Promise.resolve();
  }
  transferOut(endpoint: number, data: Uint8Array) {
    assert.equal(endpoint, 1);
    if (this.isGone) return Promise.reject(new Error('LIBUSB_ERROR_NO_DEVICE'));
    this.writes.push(data.slice());
    if (data.length > 0) {
      const expected = this.recording[this.#next];
      assert.ok(expected, 'more requests than recorded');
      assert.equal(bytesToHex(data), bytesToHex(expected.request), `request ${this.#next}`);
      this.#pending = expected.response;
      this.#next += 1;
    }
    return Promise.resolve({ status: 'ok', bytesWritten: data.length });
  }
  transferIn(endpoint: number, length: number) {
    assert.equal(endpoint, 1);
    assert.ok(length >= 3136);
    if (this.isGone) return Promise.reject(new Error('LIBUSB_ERROR_NO_DEVICE'));
    const pending = this.#pending;
    // Nothing to read: a real device just waits (the stale-data drain times out on it).
    if (pending === null || this.isStalled) return new Promise<never>(() => undefined);
    this.#pending = null;
    return Promise.resolve({
      status: 'ok',
      data: new DataView(pending.buffer, pending.byteOffset, pending.byteLength),
    });
  }
}

async function ceremonyCommands(driver: YubiHsmDriver): Promise<string[]> {
  const info = await driver.deviceInfo();
  return driver.withSession(DEFAULT_AUTH_KEY_ID, DEFAULT_PASSWORD, async (session) => {
    const id = await session.generateAsymmetricKey({
      id: 3,
      label: 'tuf-root',
      domains: 1,
      capabilities: capabilityMask(['sign-ecdsa']),
      algorithm: Algorithm.ecp256,
    });
    const key = await session.publicKey(id);
    const attestation = await session.attest(id);
    const echoed = await driver.plain(
      { code: 0x01, encode: (b: Uint8Array) => b, decode: (p: Uint8Array) => p },
      new Uint8Array(61).fill(7), // 3 + 61 = 64 bytes: needs a zero-length packet
    );
    return [String(info.serial), bytesToHex(key.key), bytesToHex(attestation), bytesToHex(echoed)];
  });
}

let connector: RehearsalConnector;
let recorded: string[];

before(async () => {
  connector = new RehearsalConnector(await RehearsalYubiHsm.create({ serial: 7000001 }));
  await connector.start();
  recorded = await ceremonyCommands(
    new YubiHsmDriver(new ConnectorTransport(connector.url), { random: fixedRandom() }),
  );
});
after(() => connector.stop());

describe('USB transport replaying a recorded rehearsal session', () => {
  it('sends the recorded frames and decodes the same answers as the connector path', async () => {
    const device = new ReplayingUsbDevice(connector.recording);
    const transport = await UsbTransport.open(device, 1000);
    assert.equal(device.configuration?.configurationValue, 1);
    const replayed = await ceremonyCommands(
      new YubiHsmDriver(transport, { random: fixedRandom() }),
    );
    assert.deepEqual(replayed, recorded);
    const zlpAfter = device.writes.findIndex((w) => w.length === 0);
    assert.ok(zlpAfter > 0, 'a zero-length packet was sent');
    assert.equal(device.writes[zlpAfter - 1]?.length, 64);
    assert.equal(device.writes.filter((w) => w.length === 0).length, 1);
  });

  it('reports a device unplugged mid-command as device-gone, then refuses further use', async () => {
    const device = new ReplayingUsbDevice(connector.recording);
    const transport = await UsbTransport.open(device, 1000);
    device.isGone = true;
    const driver = new YubiHsmDriver(transport);
    await assert.rejects(
      driver.deviceInfo(),
      (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'device-gone',
    );
    device.isGone = false;
    await assert.rejects(
      driver.deviceInfo(),
      (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'device-gone',
    );
  });

  it('times out a device that never answers', async () => {
    const device = new ReplayingUsbDevice(connector.recording);
    device.isStalled = true;
    const driver = new YubiHsmDriver(await UsbTransport.open(device, 1000), { timeoutMs: 150 });
    await assert.rejects(
      driver.deviceInfo(),
      (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'timeout',
    );
  });

  it('refuses a USB device that is not a YubiHSM 2', async () => {
    const device = new ReplayingUsbDevice([]);
    Object.defineProperty(device, 'productId', { value: 0x0407 });
    await assert.rejects(
      UsbTransport.open(device),
      (e: unknown) => e instanceof YubiHsmTransportError && e.kind === 'no-device',
    );
  });
});
