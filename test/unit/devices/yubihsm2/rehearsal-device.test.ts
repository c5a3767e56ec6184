// Frames the rehearsal YubiHSM answers without a session, byte for byte as firmware 2.4 does:
// DEVICE_INFO page 0 and page 1 (the part number python-yubihsm decodes as text), an unknown
// page refused, and the device public key of asymmetric sessions.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  CommandCode,
  decodeDeviceInfo,
  decodeDevicePublicKey,
  decodePartNumber,
  encodeFrame,
  responsePayload,
} from '../../../../electron/devices/yubihsm2/protocol.ts';
import { RehearsalYubiHsm } from '../../../../electron/devices/yubihsm2/rehearsal.ts';
import { bytesToHex } from '../../../../electron/formats/der.ts';

let device: RehearsalYubiHsm;
before(async () => {
  device = await RehearsalYubiHsm.create({ serial: 10_000_000 });
});

const ask = (command: number, payload?: Uint8Array) =>
  device.process(encodeFrame(command, payload));

describe('rehearsal YubiHSM plain frames', () => {
  it('answers DEVICE_INFO page 0 with or without a page byte', async () => {
    const bare = await ask(CommandCode.getDeviceInfo);
    const page0 = await ask(CommandCode.getDeviceInfo, Uint8Array.of(0));
    assert.equal(bytesToHex(page0), bytesToHex(bare));
    const info = decodeDeviceInfo(responsePayload(CommandCode.getDeviceInfo, bare));
    assert.equal(info.serial, 10_000_000);
    assert.deepEqual(info.version, { major: 2, minor: 4, patch: 0 });
  });

  it('answers DEVICE_INFO page 1 with the part number as ASCII text', async () => {
    const response = await ask(CommandCode.getDeviceInfo, Uint8Array.of(1));
    assert.equal(bytesToHex(response.subarray(0, 3)), '860015');
    const text = decodePartNumber(responsePayload(CommandCode.getDeviceInfo, response));
    assert.equal(text, 'VIGIL-REHEARSAL-YHSM2');
  });

  it('refuses a page it does not have with INVALID_DATA', async () => {
    assert.equal(bytesToHex(await ask(CommandCode.getDeviceInfo, Uint8Array.of(2))), '7f000102');
    assert.equal(bytesToHex(await ask(CommandCode.getDeviceInfo, Uint8Array.of(1, 0))), '7f000102');
  });

  it('answers GET_DEVICE_PUBLIC_KEY with a P-256 point, the same every time', async () => {
    const response = await ask(CommandCode.getDevicePublicKey);
    assert.equal(bytesToHex(response.subarray(0, 4)), '8a004131');
    const point = decodeDevicePublicKey(responsePayload(CommandCode.getDevicePublicKey, response));
    assert.equal(point.length, 64);
    assert.equal(bytesToHex(await ask(CommandCode.getDevicePublicKey)), bytesToHex(response));
  });
});
