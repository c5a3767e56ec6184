// YubiHSM 2 answers as the connector (or the USB transport) hands them back: the frame, the error
// frame, and every response decoder in the command table; the object filters; the connector's
// /connector/status text.
import {
  commands,
  decodeFrame,
  decodeObjectFilters,
  encodeDeviceInfo,
  encodeFrame,
  encodeLogEntries,
  encodeObjectInfo,
  errorFrame,
  responsePayload,
  u16,
} from '../../../electron/devices/yubihsm2/protocol.ts';
import { parseConnectorStatus } from '../../../electron/devices/yubihsm2/transport.ts';
import { eachParser, mutateBytes, type FuzzTarget } from '../fuzz-kit.ts';

const table = Object.values(commands) as {
  code: number;
  decode: (payload: Uint8Array) => unknown;
}[];

function payloadSeeds(): Uint8Array[] {
  return [
    encodeDeviceInfo({
      version: { major: 2, minor: 4, patch: 0 },
      serial: 25411553,
      logTotal: 62,
      logUsed: 5,
      algorithms: [1, 2, 3, 9, 12, 13, 46],
    }),
    encodeObjectInfo({
      capabilities: 0x0000_0000_0000_0080n,
      id: 0x0102,
      size: 97,
      domains: 0xffff,
      type: 3,
      algorithm: 13,
      sequence: 0,
      origin: 1,
      label: 'root key',
      delegatedCapabilities: 0n,
    }),
    encodeLogEntries({
      unloggedBoots: 0,
      unloggedAuthentications: 1,
      entries: Array.from({ length: 3 }, (_, i) => ({
        number: i + 1,
        command: 0x48,
        length: 2,
        sessionKey: 1,
        targetKey: 0x102,
        secondKey: 0xffff,
        result: 0xc8,
        systick: 1000 * i,
        digest: new Uint8Array(16).fill(i),
      })),
    }),
    Uint8Array.of(0x01, 0x02, 0x03, 0x00, 0x00, 0x01, 0x02, 0x00),
    Uint8Array.of(13, ...new Uint8Array(96).fill(7)),
    u16(0x0102),
    new Uint8Array(0),
    new Uint8Array(64).fill(0x11),
    Uint8Array.of(0x01, 0x00, 0x02, 0x02, 0x03, 0x03, 0x00, 0xff),
    new TextEncoder().encode(
      'status=OK\nserial=*\nversion=3.0.4\npid=1\naddress=localhost\nport=12345\n',
    ),
  ];
}

export const yubiHsmTarget: FuzzTarget<Uint8Array> = {
  name: 'yubihsm',
  // A frame's length field is 16 bits: the transports read no more than that and its header.
  maxInputBytes: 3 + 0xffff,
  description:
    'devices/yubihsm2/protocol.ts decodeFrame, responsePayload and every command decoder, decodeObjectFilters; transport parseConnectorStatus',
  sample: 800,
  seeds: () => {
    const payloads = payloadSeeds();
    return [...payloads, ...payloads.map((p) => encodeFrame(0x81, p)), errorFrame(0x0b)];
  },
  generate: (rng, seeds) => mutateBytes(rng, seeds),
  run(bytes) {
    eachParser(
      [],
      () => decodeFrame(bytes),
      () => decodeObjectFilters(bytes),
      () => parseConnectorStatus(new TextDecoder().decode(bytes)),
      ...table.flatMap(({ code, decode }) => [
        () => decode(responsePayload(code, bytes)),
        () => decode(responsePayload(code, encodeFrame(code | 0x80, bytes.subarray(0, 0xffff)))),
      ]),
    );
  },
};
