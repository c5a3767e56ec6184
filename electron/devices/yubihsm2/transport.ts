// How frames reach a YubiHSM 2: USB bulk transfers (the `usb` package's WebUSB devices, or any
// object with the same shape) or the yubihsm-connector HTTP API. Both carry byte-identical
// frames; every failure becomes a typed YubiHsmTransportError with a deadline, never a hang.
import { request } from 'node:http';
import { KindedError } from '../../base/errors.ts';
import { YUBIHSM_PRODUCT_ID, YUBIHSM_VENDOR_ID } from './protocol.ts';

export type TransportFailure =
  /** No answer before the deadline. */
  | 'timeout'
  /** The device left the bus (unplugged, or rebooting after a reset). */
  | 'device-gone'
  /** Nothing is connected: no YubiHSM on USB, or the connector reports NO_DEVICE. */
  | 'no-device'
  /** The connector is not running or refused the request. */
  | 'connector-unavailable'
  /** Another program holds the USB interface (a running yubihsm-connector does). */
  | 'device-busy';

export class YubiHsmTransportError extends KindedError<TransportFailure> {
  readonly name = 'YubiHsmTransportError';
}

export interface YubiHsmTransport {
  /** "USB" or "connector http://127.0.0.1:12345", for the journal and error messages. */
  readonly description: string;
  /** Sends one request frame and returns the one response frame. */
  exchange(frame: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Most commands answer in milliseconds; key generation and attestation take longer. */
export const DEFAULT_TIMEOUT_MS = 10_000;

function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new YubiHsmTransportError('timeout', `${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

// ---- yubihsm-connector ----------------------------------------------------------------------------

export interface ConnectorStatus {
  isDeviceConnected: boolean;
  /** The serial the connector is bound to, or null for "any" (`serial=*`). */
  serial: string | null;
  version: string | null;
}

/** Parses /connector/status: `key=value` lines; only `status=OK` means a usable device. */
export function parseConnectorStatus(text: string): ConnectorStatus {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf('=');
    if (at > 0) fields.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const serial = fields.get('serial') ?? null;
  return {
    isDeviceConnected: fields.get('status') === 'OK',
    serial: serial === '*' ? null : serial,
    version: fields.get('version') ?? null,
  };
}

function httpExchange(
  url: URL,
  method: 'GET' | 'POST',
  body: Uint8Array | null,
  timeoutMs: number,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers:
          body === null
            ? {}
            : { 'content-type': 'application/octet-stream', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (error) =>
          reject(
            new YubiHsmTransportError('device-gone', `connector reply broke off: ${error.message}`),
          ),
        );
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy(
        new YubiHsmTransportError('timeout', `connector: no answer within ${timeoutMs} ms`),
      );
    });
    req.on('error', (error) => {
      if (error instanceof YubiHsmTransportError) return reject(error);
      const code = (error as NodeJS.ErrnoException).code;
      reject(
        code === 'ECONNRESET'
          ? new YubiHsmTransportError('device-gone', 'connector dropped the connection mid-command')
          : new YubiHsmTransportError(
              'connector-unavailable',
              `connector at ${url.origin}: ${error.message}`,
            ),
      );
    });
    req.end(body === null ? undefined : Buffer.from(body));
  });
}

export class ConnectorTransport implements YubiHsmTransport {
  readonly description: string;
  readonly #base: URL;

  constructor(baseUrl: string) {
    this.#base = new URL(baseUrl);
    if (this.#base.protocol !== 'http:' && this.#base.protocol !== 'https:') {
      throw new YubiHsmTransportError(
        'connector-unavailable',
        `connector URL ${baseUrl} is not http`,
      );
    }
    this.description = `connector ${this.#base.origin}`;
  }

  async status(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ConnectorStatus> {
    const reply = await httpExchange(
      new URL('/connector/status', this.#base),
      'GET',
      null,
      timeoutMs,
    );
    if (reply.status !== 200) {
      throw new YubiHsmTransportError(
        'connector-unavailable',
        `connector status HTTP ${reply.status}`,
      );
    }
    return parseConnectorStatus(reply.body.toString('utf8'));
  }

  async exchange(frame: Uint8Array, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Uint8Array> {
    const reply = await httpExchange(
      new URL('/connector/api', this.#base),
      'POST',
      frame,
      timeoutMs,
    );
    if (reply.status === 200) return new Uint8Array(reply.body);
    // The connector answers non-2xx when it cannot reach the device.
    throw new YubiHsmTransportError(
      reply.status === 503 || reply.status === 404 ? 'no-device' : 'connector-unavailable',
      `connector could not reach the YubiHSM (HTTP ${reply.status})`,
    );
  }

  async close(): Promise<void> {
    // Stateless HTTP: nothing to release.
  }
}

// ---- USB ---------------------------------------------------------------------------------------

/** The WebUSB device shape the `usb` package's WebUSBDevice has; tests pass a replaying fake. */
export interface UsbDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly serialNumber?: string | undefined;
  /** bcdDevice: the firmware version, readable without opening the device. */
  readonly deviceVersionMajor?: number;
  readonly deviceVersionMinor?: number;
  readonly deviceVersionSubminor?: number;
  readonly opened: boolean;
  readonly configuration?: { configurationValue: number } | null | undefined;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(value: number): Promise<void>;
  claimInterface(number: number): Promise<void>;
  releaseInterface(number: number): Promise<void>;
  transferOut(
    endpoint: number,
    data: Uint8Array,
  ): Promise<{ status: string; bytesWritten: number }>;
  transferIn(
    endpoint: number,
    length: number,
  ): Promise<{ status: string; data?: DataView | undefined }>;
}

const BULK_ENDPOINT = 1;
const USB_PACKET = 64;
const READ_BUFFER = 0xffff;

function usbFailure(error: unknown, what: string): YubiHsmTransportError {
  if (error instanceof YubiHsmTransportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/NO_DEVICE|not found|disconnected|NotFoundError/i.test(message)) {
    return new YubiHsmTransportError('device-gone', `${what}: the YubiHSM left the USB bus`);
  }
  if (/BUSY|ACCESS|claim/i.test(message)) {
    return new YubiHsmTransportError(
      'device-busy',
      `${what}: another program holds the YubiHSM (is yubihsm-connector running?)`,
    );
  }
  return new YubiHsmTransportError('device-gone', `${what}: ${message}`);
}

export function isYubiHsmUsb(device: Pick<UsbDeviceLike, 'vendorId' | 'productId'>): boolean {
  return device.vendorId === YUBIHSM_VENDOR_ID && device.productId === YUBIHSM_PRODUCT_ID;
}

export class UsbTransport implements YubiHsmTransport {
  readonly description: string;
  #broken = false;

  private constructor(readonly device: UsbDeviceLike) {
    this.description = `USB${device.serialNumber ? ` serial ${device.serialNumber}` : ''}`;
  }

  /** Opens and claims the bulk interface, then drains a reply a previous program left behind. */
  static async open(device: UsbDeviceLike, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<UsbTransport> {
    if (!isYubiHsmUsb(device)) {
      throw new YubiHsmTransportError('no-device', 'that USB device is not a YubiHSM 2');
    }
    try {
      await withDeadline(
        (async () => {
          if (!device.opened) await device.open();
          if (device.configuration?.configurationValue !== 1) await device.selectConfiguration(1);
          await device.claimInterface(0);
        })(),
        timeoutMs,
        'opening the YubiHSM',
      );
    } catch (error) {
      throw usbFailure(error, 'opening the YubiHSM');
    }
    const transport = new UsbTransport(device);
    await withDeadline(device.transferIn(BULK_ENDPOINT, READ_BUFFER), 10, 'drain').catch(() => {
      // Nothing left over (the usual case) or a timeout: either way the pipe is clean now.
    });
    return transport;
  }

  async exchange(frame: Uint8Array, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Uint8Array> {
    if (this.#broken) {
      throw new YubiHsmTransportError('device-gone', 'the USB connection was lost; open it again');
    }
    try {
      return await withDeadline(
        (async () => {
          await this.device.transferOut(BULK_ENDPOINT, frame);
          // A frame filling whole 64-byte packets needs a zero-length packet to end it.
          if (frame.length % USB_PACKET === 0) {
            await this.device.transferOut(BULK_ENDPOINT, new Uint8Array(0));
          }
          const reply = await this.device.transferIn(BULK_ENDPOINT, READ_BUFFER);
          if (reply.status !== 'ok' || reply.data === undefined) {
            throw new YubiHsmTransportError('device-gone', `USB read ended with ${reply.status}`);
          }
          return new Uint8Array(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength);
        })(),
        timeoutMs,
        'YubiHSM over USB',
        () => {
          // WebUSB cannot cancel a pending transfer; the connection is unusable after a timeout.
          this.#broken = true;
        },
      );
    } catch (error) {
      this.#broken = true;
      throw usbFailure(error, 'YubiHSM over USB');
    }
  }

  async close(): Promise<void> {
    try {
      await this.device.releaseInterface(0);
      await this.device.close();
    } catch {
      // Already gone: closing a vanished device has nothing left to release.
    }
  }
}

/** YubiHSMs on the USB bus, via the `usb` package (N-API, loaded only when asked for). */
export async function listUsbYubiHsms(): Promise<UsbDeviceLike[]> {
  const { WebUSB } = await import('usb');
  // The package types its devices with the DOM's WebUSB types, which main-process code does not
  // load; UsbDeviceLike is the part of that shape this transport uses.
  const webusb = new WebUSB({ allowAllDevices: true }) as unknown as {
    getDevices(): Promise<UsbDeviceLike[]>;
  };
  const devices = await webusb.getDevices();
  return devices.filter(isYubiHsmUsb);
}
