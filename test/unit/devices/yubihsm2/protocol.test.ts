// Byte-exact request and response payloads of every command Vigil uses, written out from the
// layouts in ../shared/reference/yubihsm2-protocol.md §6, and the error table of §4.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Algorithm,
  CommandCode,
  YubiHsmDeviceError,
  YubiHsmProtocolError,
  capabilitiesOf,
  capabilityMask,
  commands,
  decodeDevicePublicKey,
  decodeFrame,
  decodeOptionPairs,
  decodePartNumber,
  decodeStorageInfo,
  deviceErrorName,
  deviceInfoPageOf,
  domainMask,
  domainsOf,
  encodeDevicePublicKey,
  encodeFrame,
  encodeLabel,
  encodeOptionPairs,
  encodePartNumber,
  encodeStorageInfo,
  maxFrameFor,
  responsePayload,
  rsaBitsOf,
  serialText,
} from '../../../../electron/devices/yubihsm2/protocol.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';

const label = (text: string) => bytesToHex(encodeLabel(text));
const hex = (bytes: Uint8Array) => bytesToHex(bytes);

describe('YubiHSM 2 frames', () => {
  it('frames a command as cmd ‖ len(2) ‖ payload', () => {
    assert.equal(hex(encodeFrame(CommandCode.getDeviceInfo)), '060000');
    assert.equal(hex(encodeFrame(CommandCode.echo, hexToBytes('aabb'))), '010002aabb');
    assert.deepEqual(decodeFrame(hexToBytes('8100020102ffff')), {
      command: 0x81,
      payload: hexToBytes('0102'),
    });
    assert.throws(() => decodeFrame(hexToBytes('810005')), YubiHsmProtocolError);
  });

  it('turns 7F 00 01 <code> into a named device error', () => {
    assert.throws(
      () => responsePayload(CommandCode.getOpaque, hexToBytes('7f00010b')),
      (e: unknown) =>
        e instanceof YubiHsmDeviceError &&
        e.kind === 'object-not-found' &&
        /getOpaque: object-not-found/.test(e.message),
    );
    assert.throws(
      () => responsePayload(CommandCode.getOpaque, hexToBytes('c60000')),
      /does not answer command 0x43/,
    );
  });

  it('names every documented error code', () => {
    const table: [number, string][] = [
      [0x01, 'invalid-command'],
      [0x02, 'invalid-data'],
      [0x03, 'invalid-session'],
      [0x04, 'authentication-failed'],
      [0x05, 'sessions-full'],
      [0x06, 'session-failed'],
      [0x07, 'storage-failed'],
      [0x08, 'wrong-length'],
      [0x09, 'insufficient-permissions'],
      [0x0a, 'log-full'],
      [0x0b, 'object-not-found'],
      [0x0c, 'invalid-id'],
      [0x0e, 'ssh-ca-constraint-violation'],
      [0x0f, 'invalid-otp'],
      [0x10, 'demo-mode'],
      [0x11, 'object-exists'],
      [0x12, 'algorithm-disabled'],
      [0xff, 'command-unexecuted'],
      [0x0d, 'unknown'],
    ];
    for (const [code, name] of table) assert.equal(deviceErrorName(code), name);
  });
});

describe('YubiHSM 2 command payloads', () => {
  it('GET_DEVICE_INFO: version, serial, log, algorithms', () => {
    const info = commands.getDeviceInfo.decode(hexToBytes('0204000003c54c3e020c0d2e'));
    assert.deepEqual(info, {
      version: { major: 2, minor: 4, patch: 0 },
      serial: 0x0003c54c,
      logTotal: 62,
      logUsed: 2,
      algorithms: [12, 13, 46],
    });
    assert.equal(serialText(info.serial), '0000247116');
    assert.equal(maxFrameFor(info), 3136);
    assert.equal(maxFrameFor({ version: { major: 2, minor: 1, patch: 2 } }), 2048);
  });

  it('PUT_AUTHENTICATION_KEY: id ‖ label ‖ domains ‖ caps ‖ 38 ‖ delegated ‖ K-ENC ‖ K-MAC', () => {
    const payload = commands.putAuthenticationKey.encode({
      id: 2,
      label: 'keyholder',
      domains: domainMask([1]),
      capabilities: capabilityMask(['generate-asymmetric-key', 'sign-attestation-certificate']),
      delegatedCapabilities: capabilityMask(['sign-ecdsa']),
      encryptionKey: hexToBytes('090b47dbed595654901dee1cc655e420'),
      macKey: hexToBytes('592fd483f759e29909a04c4505d2ce0a'),
    });
    assert.equal(
      hex(payload),
      '0002' +
        label('keyholder') +
        '0001' +
        '0000000400000010' +
        '26' +
        '0000000000000080' +
        '090b47dbed595654901dee1cc655e420592fd483f759e29909a04c4505d2ce0a',
    );
    assert.equal(commands.putAuthenticationKey.decode(hexToBytes('0002')), 2);
  });

  it('CHANGE_AUTHENTICATION_KEY: id ‖ 38 ‖ K-ENC ‖ K-MAC', () => {
    const keys = { encryptionKey: new Uint8Array(16).fill(1), macKey: new Uint8Array(16).fill(2) };
    assert.equal(
      hex(commands.changeAuthenticationKey.encode({ id: 2, ...keys })),
      '000226' + '01'.repeat(16) + '02'.repeat(16),
    );
  });

  it('GENERATE_ASYMMETRIC_KEY: id ‖ label ‖ domains ‖ caps ‖ algorithm', () => {
    assert.equal(
      hex(
        commands.generateAsymmetricKey.encode({
          id: 3,
          label: 'tuf-root',
          domains: 1,
          capabilities: capabilityMask(['sign-ecdsa']),
          algorithm: Algorithm.ecp384,
        }),
      ),
      '0003' + label('tuf-root') + '0001' + '0000000000000080' + '0d',
    );
  });

  it('LIST_OBJECTS: filters in, id ‖ type ‖ sequence out', () => {
    assert.equal(
      hex(
        commands.listObjects.encode([
          { by: 'id', id: 3 },
          { by: 'type', type: 3 },
          { by: 'domains', domains: 1 },
          { by: 'capabilities', capabilities: 0x80n },
          { by: 'algorithm', algorithm: 12 },
          { by: 'label', label: 'x' },
        ]),
      ),
      '010003' + '0203' + '030001' + '040000000000000080' + '050c' + '06' + label('x'),
    );
    assert.deepEqual(commands.listObjects.decode(hexToBytes('0001020000030300')), [
      { id: 1, type: 2, sequence: 0 },
      { id: 3, type: 3, sequence: 0 },
    ]);
    assert.throws(() => commands.listObjects.decode(hexToBytes('000102')), YubiHsmProtocolError);
  });

  it('GET_OBJECT_INFO: 66 bytes', () => {
    const payload = hexToBytes(
      '0000000000000080' +
        '0003' +
        '0060' +
        '0001' +
        '03' +
        '0d' +
        '00' +
        '01' +
        label('tuf-root') +
        '0000000000000000',
    );
    assert.deepEqual(commands.getObjectInfo.decode(payload), {
      capabilities: 0x80n,
      id: 3,
      size: 96,
      domains: 1,
      type: 3,
      algorithm: 13,
      sequence: 0,
      origin: 1,
      label: 'tuf-root',
      delegatedCapabilities: 0n,
    });
    assert.equal(hex(commands.getObjectInfo.encode({ id: 3, type: 3 })), '000303');
    assert.throws(() => commands.getObjectInfo.decode(payload.subarray(1)), /truncated/);
  });

  it('GET_PUBLIC_KEY, SIGN_ATTESTATION_CERTIFICATE, DELETE_OBJECT, GET_OPAQUE, signing', () => {
    assert.equal(hex(commands.getPublicKey.encode(3)), '0003');
    assert.deepEqual(commands.getPublicKey.decode(hexToBytes('0c0102')), {
      algorithm: 12,
      key: hexToBytes('0102'),
    });
    assert.equal(
      hex(commands.signAttestationCertificate.encode({ keyId: 3, attestingKeyId: 0 })),
      '00030000',
    );
    assert.equal(hex(commands.deleteObject.encode({ id: 1, type: 2 })), '000102');
    assert.equal(hex(commands.getOpaque.encode(0)), '0000');
    assert.equal(hex(commands.signEcdsa.encode({ keyId: 3, digest: hexToBytes('aa') })), '0003aa');
    assert.equal(hex(commands.signEddsa.encode({ keyId: 4, message: hexToBytes('bb') })), '0004bb');
    assert.throws(() => commands.signEddsa.decode(new Uint8Array(63)), /64 bytes/);
    assert.equal(hex(commands.blinkDevice.encode(10)), '0a');
    assert.equal(hex(commands.setLogIndex.encode(0x102)), '0102');
    assert.equal(hex(commands.getPseudoRandom.encode(8)), '0008');
    assert.throws(() => commands.resetDevice.decode(hexToBytes('00')), /empty response/);
  });

  it('GET_LOG_ENTRIES: header then 32-byte entries', () => {
    const entry =
      '0001' + '06' + '0000' + 'ffff' + 'ffff' + 'ffff' + '86' + '00000064' + 'ab'.repeat(16);
    const log = commands.getLogEntries.decode(hexToBytes('0000' + '0001' + '01' + entry));
    assert.equal(log.unloggedAuthentications, 1);
    assert.deepEqual(log.entries[0], {
      number: 1,
      command: 6,
      length: 0,
      sessionKey: 0xffff,
      targetKey: 0xffff,
      secondKey: 0xffff,
      result: 0x86,
      systick: 100,
      digest: hexToBytes('ab'.repeat(16)),
    });
  });

  it('refuses a label longer than 40 bytes instead of cutting it', () => {
    assert.equal(encodeLabel('a'.repeat(40)).length, 40);
    assert.throws(() => encodeLabel('é'.repeat(21)), /longer than 40 bytes/);
  });

  it('maps capability names and domains to masks and back', () => {
    const mask = capabilityMask([
      'get-opaque',
      'sign-ecdsa',
      'reset-device',
      'sign-attestation-certificate',
    ]);
    assert.equal(mask, (1n << 0n) | (1n << 7n) | (1n << 28n) | (1n << 34n));
    assert.deepEqual(capabilitiesOf(mask), [
      'get-opaque',
      'sign-ecdsa',
      'reset-device',
      'sign-attestation-certificate',
    ]);
    assert.deepEqual(capabilitiesOf(1n << 60n), ['bit-60']);
    assert.equal(domainMask([1, 16]), 0x8001);
    assert.deepEqual(domainsOf(0x8001), [1, 16]);
    assert.throws(() => domainMask([17]), /not in 1–16/);
  });
});

describe('YubiHSM 2 device-level answers (firmware 2.4)', () => {
  it('GET_DEVICE_INFO: no page byte or 00 is page 0, 01 the part number page', () => {
    assert.equal(deviceInfoPageOf(new Uint8Array(0)), 0);
    assert.equal(deviceInfoPageOf(hexToBytes('00')), 0);
    assert.equal(deviceInfoPageOf(hexToBytes('01')), 1);
    assert.throws(() => deviceInfoPageOf(hexToBytes('0100')), YubiHsmProtocolError);
    assert.equal(hex(commands.getPartNumber.encode()), '01');
    assert.equal(commands.getPartNumber.code, CommandCode.getDeviceInfo);
  });

  it('part number: printable ASCII of 12 bytes or more, nothing around it', () => {
    assert.equal(hex(encodePartNumber('ABCDEFGHIJKL')), '4142434445464748494a4b4c');
    assert.equal(decodePartNumber(hexToBytes('4142434445464748494a4b4c')), 'ABCDEFGHIJKL');
    assert.throws(() => encodePartNumber('SHORT'), YubiHsmProtocolError);
    assert.throws(() => encodePartNumber('NOT ASCII ÉÉÉ'), YubiHsmProtocolError);
    // Page 0 bytes (version, serial, algorithms) are not a part number.
    assert.throws(() => decodePartNumber(hexToBytes('02040000989680003e00')), YubiHsmProtocolError);
  });

  it('GET_DEVICE_PUBLIC_KEY: algorithm 49, then X‖Y', () => {
    const point = hexToBytes('11'.repeat(32) + '22'.repeat(32));
    const payload = encodeDevicePublicKey(point);
    assert.equal(hex(payload), `31${'11'.repeat(32)}${'22'.repeat(32)}`);
    assert.deepEqual(decodeDevicePublicKey(payload), point);
    assert.throws(() => encodeDevicePublicKey(point.subarray(1)), YubiHsmProtocolError);
    assert.throws(() => decodeDevicePublicKey(hexToBytes(`0c${hex(point)}`)), /algorithm 49/);
  });

  it('GET_STORAGE_INFO: records and pages, total then free, and the page size', () => {
    const factory = {
      totalRecords: 256,
      freeRecords: 255,
      totalPages: 1024,
      freePages: 1023,
      pageSize: 126,
    };
    assert.equal(hex(encodeStorageInfo(factory)), '010000ff040003ff007e');
    assert.deepEqual(decodeStorageInfo(hexToBytes('010000ff040003ff007e')), factory);
    assert.deepEqual(commands.getStorageInfo.decode(encodeStorageInfo(factory)), factory);
    assert.throws(() => decodeStorageInfo(hexToBytes('010000ff040003ff007e00')), /trailing/);
  });

  it('GET_OPTION: command audit and algorithm toggle are (code, setting) pairs', () => {
    assert.equal(
      hex(
        encodeOptionPairs([
          [0x46, 1],
          [0x01, 0],
        ]),
      ),
      '46010100',
    );
    assert.deepEqual(decodeOptionPairs(hexToBytes('46010100')), [
      [0x46, 1],
      [0x01, 0],
    ]);
    assert.throws(() => decodeOptionPairs(hexToBytes('460101')), /odd length/);
    assert.equal(hex(commands.getOption.encode(0x03)), '03');
  });

  it('RSA key algorithms name their sizes', () => {
    assert.deepEqual(
      [Algorithm.rsa2048, Algorithm.rsa3072, Algorithm.rsa4096, Algorithm.ecp256].map(rsaBitsOf),
      [2048, 3072, 4096, null],
    );
  });
});
