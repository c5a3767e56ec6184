// `vigil rehearsal yubihsm2 | yubikey | nethsm`: one rehearsal device served until interrupted,
// where the vendors' own tools reach it — the YubiHSM 2 behind a yubihsm-connector URL, the
// YubiKey as a card in vsmartcard's vpcd reader of the keyholder's pcscd, the NetHSM on a
// loopback HTTPS address — so a keyholder practises with ykman, yubihsm-shell, python-yubihsm,
// gpg or a NetHSM client before the day. The lines printed say where it is and how to reach it;
// every device says REHEARSAL wherever it can, and nothing it makes can pass for production.
import { randomInt } from 'node:crypto';
import { RehearsalConnector } from '../../devices/yubihsm2/rehearsal-server.ts';
import { RehearsalYubiHsm } from '../../devices/yubihsm2/rehearsal.ts';
import { RehearsalYubiKey } from '../../devices/yubikey-piv/rehearsal.ts';
import { VPCD_DEFAULT_PORT, VpcdCardSlot } from '../../devices/smartcard/rehearsal-server.ts';
import { startRehearsalNetHsm } from '../../devices/nethsm/rehearsal-server.ts';
import { SavedFileError } from '../../base/saved-files.ts';
import type { RehearsalFamily } from './rehearsal-families.ts';

export interface RehearsalServeRequest {
  family: RehearsalFamily;
  serial?: number;
  /** Keeps the device (keys, PINs as digests, objects) from one session to the next. */
  stateFile?: string;
  /** The connector's or NetHSM's TCP port, or vpcd's; each family has its default. */
  port?: number;
}

export interface ServedRehearsalDevice {
  /** Where it is and how the vendor tools reach it, one line each. */
  lines: string[];
  stop(): Promise<void>;
}

/** yubihsm-connector's own default port, so tools that assume it find the rehearsal device. */
export const CONNECTOR_DEFAULT_PORT = 12345;
const DEVICE_NAMES: Record<RehearsalFamily, string> = {
  yubihsm2: 'YubiHSM 2',
  yubikey: 'YubiKey',
  nethsm: 'NetHSM',
};

/** Serves the device, or says in a keyholder's words why it cannot: a port in use, a wrong file. */
export async function serveRehearsalDevice(
  request: RehearsalServeRequest,
): Promise<ServedRehearsalDevice> {
  try {
    return await serve(request);
  } catch (error) {
    // The NetHSM server wraps the listen error; the connector throws it as it is.
    const reasons = [error, (error as { cause?: unknown }).cause] as { code?: unknown }[];
    if (reasons.some((reason) => reason?.code === 'EADDRINUSE'))
      throw new Error(
        `port ${request.port ?? 'default'} is in use (another connector or rehearsal device?): give --port <another port>, or --port 0 for any free one`,
        { cause: error },
      );
    if (error instanceof SavedFileError)
      throw new Error(
        `${request.stateFile ?? 'the state file'} is not a rehearsal ${DEVICE_NAMES[request.family]} this command saved (${error.message}): give that device's file, or a new path for a new device`,
        { cause: error },
      );
    throw error;
  }
}

async function serve(request: RehearsalServeRequest): Promise<ServedRehearsalDevice> {
  const state = request.stateFile === undefined ? {} : { stateFile: request.stateFile };
  switch (request.family) {
    case 'yubihsm2': {
      const device = await RehearsalYubiHsm.create({
        ...state,
        ...(request.serial === undefined ? {} : { serial: request.serial }),
      });
      const connector = new RehearsalConnector(device);
      const url = await connector.start(request.port ?? CONNECTOR_DEFAULT_PORT);
      return {
        lines: [
          `REHEARSAL YubiHSM 2 serial ${device.serial} (firmware ${device.firmware.major}.${device.firmware.minor}.${device.firmware.patch})`,
          `connector URL ${url}`,
          `  yubihsm-shell --connector=${url}`,
          `  python-yubihsm: YubiHsm.connect("${url}")`,
          '  factory auth key 1, password "password" (a rehearsal device may keep it)',
        ],
        stop: () => connector.stop(),
      };
    }
    case 'yubikey': {
      const serial = request.serial ?? randomInt(10_000_000, 100_000_000);
      const card = await RehearsalYubiKey.create({ serial, ...state });
      const port = request.port ?? VPCD_DEFAULT_PORT;
      const slot = new VpcdCardSlot(card, port);
      slot.insert();
      return {
        lines: [
          `REHEARSAL YubiKey 5 serial ${serial}, inserted into vpcd's reader at 127.0.0.1:${port}`,
          "  a pcscd with vsmartcard's vpcd (Debian: vsmartcard-vpcd) lists it as 'Virtual PCD 00 00'",
          "  (port 35963; 35964 is '00 01'); Vigil keeps retrying until vpcd listens",
          "  ykman --reader 'Virtual PCD 00 00' info",
          "  gpg --card-status; yubico-piv-tool -r 'Virtual PCD 00 00' -a status",
          '  factory PINs: PIV 123456 / PUK 12345678, OpenPGP 123456 / admin 12345678',
        ],
        stop: () => slot.remove(),
      };
    }
    case 'nethsm': {
      const nethsm = await startRehearsalNetHsm({
        ...state,
        ...(request.port === undefined ? {} : { port: request.port }),
      });
      const url = `https://${nethsm.host}:${nethsm.port}/api/v1`;
      return {
        lines: [
          `REHEARSAL NetHSM ${nethsm.serial} at ${url}`,
          `  TLS certificate SHA-256 ${nethsm.certificateFingerprint}`,
          '  (self-signed: pin this fingerprint in the client; never --insecure on a real NetHSM)',
        ],
        stop: () => nethsm.close(),
      };
    }
  }
}
