// Byte-exact APDUs for every PIV command Vigil sends, decoders on card answers, and the
// management-key block cipher against openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { encodeApdu } from '../../../../electron/devices/smartcard/apdu.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../../../../electron/formats/ec-point.ts';
import {
  decryptBlock,
  encryptBlock,
} from '../../../../electron/devices/yubikey-piv/management-key.ts';
import {
  DEFAULT_MANAGEMENT_KEY,
  PIV_AID,
  PivFormatError,
  PivKeyRef,
  PivObject,
  adminDataContents,
  attestCommand,
  certificateObject,
  certificateObjectOf,
  changeReferenceCommand,
  decodeAdminFlags,
  decodeCertificateObject,
  decodeGeneratedPublicKey,
  decodeMetadata,
  decodeProtectedManagementKey,
  decodeSerial,
  decodeVersion,
  dynAuthField,
  firmwareAtLeast,
  generateKeyCommand,
  getDataCommand,
  getMetadataCommand,
  getSerialCommand,
  getVersionCommand,
  mutualAuthCommand,
  padPin,
  pinTriesQueryCommand,
  protectedManagementKeyContents,
  putDataCommand,
  resetCommand,
  selectApplication,
  setManagementKeyCommand,
  setPinRetriesCommand,
  signCommand,
  unblockPinCommand,
  verifyPinCommand,
  witnessRequestCommand,
} from '../../../../electron/devices/yubikey-piv/protocol.ts';
import { readTlvs, tlv } from '../../../../electron/devices/yubikey-piv/tlv.ts';

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (apdu: Parameters<typeof encodeApdu>[0]) => bytesToHex(encodeApdu(apdu));

describe('PIV command APDUs', () => {
  it('selects, reads version, serial and metadata', () => {
    assert.equal(hex(selectApplication(PIV_AID)), '00a4040005a00000030800');
    assert.equal(hex(getVersionCommand()), '00fd000000');
    assert.equal(hex(getSerialCommand()), '00f8000000');
    assert.equal(hex(getMetadataCommand(PivKeyRef.pin)), '00f7008000');
    assert.equal(hex(getMetadataCommand(0x9b)), '00f7009b00');
  });

  it('verifies, changes and unblocks PINs padded with FF', () => {
    assert.equal(hex(pinTriesQueryCommand()), '00200080');
    assert.equal(hex(verifyPinCommand(ascii('123456'))), '0020008008313233343536ffff');
    assert.equal(
      hex(changeReferenceCommand(PivKeyRef.puk, ascii('12345678'), ascii('87654321'))),
      '002400811031323334353637383837363534333231',
    );
    assert.equal(
      hex(unblockPinCommand(ascii('12345678'), ascii('654321'))),
      '002c0080103132333435363738363534333231ffff',
    );
    assert.equal(hex(setPinRetriesCommand(5, 4)), '00fa0504');
    assert.equal(hex(resetCommand()), '00fb0000');
  });

  it('refuses PINs outside 6–8 printable characters', () => {
    assert.throws(() => padPin(ascii('12345')), PivFormatError);
    assert.throws(() => padPin(ascii('123456789')), PivFormatError);
    assert.throws(() => padPin(Uint8Array.of(0x31, 0x32, 0x33, 0x34, 0x35, 0x0a)), PivFormatError);
  });

  it('runs management-key mutual authentication in two GENERAL AUTHENTICATEs', () => {
    assert.equal(hex(witnessRequestCommand(0x03)), '0087039b047c02800000');
    const witness = hexToBytes('0102030405060708');
    const challenge = hexToBytes('a1a2a3a4a5a6a7a8');
    assert.equal(
      hex(mutualAuthCommand(0x03, witness, challenge)),
      '0087039b167c1480080102030405060708' + '8108a1a2a3a4a5a6a7a800',
    );
    const answer = tlv(0x7c, tlv(0x82, challenge));
    assert.deepEqual(dynAuthField(answer, 0x82), challenge);
    assert.throws(() => dynAuthField(answer, 0x80), PivFormatError);
  });

  it('sets an AES-256 management key, with and without touch', () => {
    const key = new Uint8Array(32).fill(0x11);
    assert.equal(
      hex(setManagementKeyCommand('AES256', key, false)),
      '00ffffff230c9b20' + '11'.repeat(32),
    );
    assert.equal(
      hex(setManagementKeyCommand('TDES', DEFAULT_MANAGEMENT_KEY, true)).slice(0, 16),
      '00fffffe1b039b18',
    );
    assert.throws(
      () => setManagementKeyCommand('AES256', key.subarray(0, 24), false),
      PivFormatError,
    );
  });

  it('generates keys with PIN and touch policies', () => {
    assert.equal(
      hex(generateKeyCommand(0x9c, 'ECCP384', 'always', 'never')),
      '0047009c0bac09800114aa0103ab010100',
    );
    assert.equal(
      hex(generateKeyCommand(0x9a, 'ECCP256', 'default', 'default')),
      '0047009a05ac0380011100',
    );
    assert.equal(
      hex(generateKeyCommand(0x9c, 'ED25519', 'once', 'cached')),
      '0047009c0bac098001e0aa0102ab010300',
    );
    const point = hexToBytes('04' + 'ab'.repeat(96));
    assert.deepEqual(decodeGeneratedPublicKey(tlv(0x7f49, tlv(0x86, point))), point);
  });

  it('signs a digest with a slot key', () => {
    const digest = new Uint8Array(48).fill(0xee);
    assert.equal(
      hex(signCommand(0x14, 0x9c, digest)),
      '0087149c367c3482008130' + 'ee'.repeat(48) + '00',
    );
  });

  it('reads and writes data objects and certificates', () => {
    assert.equal(certificateObjectOf(0x9c), 0x5fc10a);
    assert.equal(certificateObjectOf(0x82), 0x5fc10d);
    assert.equal(certificateObjectOf(0x95), 0x5fc120);
    assert.throws(() => certificateObjectOf(0x9b), RangeError);
    assert.equal(hex(getDataCommand(0x5fff01)), '00cb3fff055c035fff0100');
    assert.equal(hex(getDataCommand(PivObject.discovery)), '00cb3fff035c017e00');
    const der = hexToBytes('3003020101');
    assert.equal(
      hex(putDataCommand(0x5fc10a, certificateObject(der))),
      '00db3fff' + '13' + '5c035fc10a' + '530c' + '70053003020101' + '710100' + 'fe00',
    );
    assert.deepEqual(decodeCertificateObject(tlv(0x53, certificateObject(der))), der);
    assert.throws(
      () => decodeCertificateObject(tlv(0x53, Uint8Array.of(0x70, 0x01, 0x00, 0x71, 0x01, 0x01))),
      PivFormatError,
    );
    assert.equal(hex(attestCommand(0x9c)), '00f99c0000');
  });

  it('keeps the PIN-protected management key where Yubico tools look', () => {
    const key = new Uint8Array(32).fill(7);
    assert.equal(bytesToHex(adminDataContents(0x02)), '8003810102');
    assert.equal(decodeAdminFlags(tlv(0x53, adminDataContents(0x03))), 0x03);
    assert.deepEqual(
      decodeProtectedManagementKey(tlv(0x53, protectedManagementKeyContents(key))),
      key,
    );
    assert.equal(decodeProtectedManagementKey(tlv(0x53, new Uint8Array(0))), null);
  });
});

describe('PIV answers', () => {
  it('decodes version, serial and firmware order', () => {
    assert.deepEqual(decodeVersion(hexToBytes('050403')), [5, 4, 3]);
    assert.equal(decodeSerial(hexToBytes('0185526b')), 25514603);
    assert.throws(() => decodeSerial(hexToBytes('0102')), PivFormatError);
    assert.equal(firmwareAtLeast([5, 7, 4], [5, 7, 4]), true);
    assert.equal(firmwareAtLeast([5, 4, 3], [5, 7, 0]), false);
    assert.equal(firmwareAtLeast([5, 10, 0], [5, 7, 4]), true);
  });

  it('decodes metadata of a PIN, the management key and a slot key', () => {
    // PIN: algorithm FF, default, 3 of 3 tries.
    assert.deepEqual(decodeMetadata(hexToBytes('0101ff050101060203 03'.replace(/ /g, ''))), {
      algorithm: 0xff,
      isDefault: true,
      retries: { total: 3, remaining: 3 },
    });
    // Management key: AES-192, touch never, default.
    assert.deepEqual(decodeMetadata(hexToBytes('01010a02020001050101')), {
      algorithm: 0x0a,
      pinPolicy: 0,
      touchPolicy: 1,
      isDefault: true,
    });
    const point = '04' + '11'.repeat(64);
    const slot = decodeMetadata(hexToBytes('010111020203010301010443' + '8641' + point));
    assert.equal(slot.origin, 1);
    assert.equal(slot.pinPolicy, 3);
    assert.equal(
      bytesToHex(readTlvs(slot.publicKey ?? new Uint8Array(0))[0]?.value ?? new Uint8Array(0)),
      point,
    );
  });
});

describe('management key block cipher', () => {
  const openssl = (cipher: string, keyHex: string, blockHex: string) =>
    execFileSync('openssl', ['enc', `-${cipher}`, '-K', keyHex, '-nopad'], {
      input: Buffer.from(blockHex, 'hex'),
    }).toString('hex');

  it('matches openssl for 3DES and AES, and decrypts what it encrypts', () => {
    const block8 = hexToBytes('0011223344556677');
    const defaultKey = bytesToHex(DEFAULT_MANAGEMENT_KEY);
    assert.equal(
      bytesToHex(encryptBlock('TDES', DEFAULT_MANAGEMENT_KEY, block8)),
      openssl('des-ede3', defaultKey, '0011223344556677'),
    );
    const key32 = hexToBytes('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
    const block16 = hexToBytes('000102030405060708090a0b0c0d0e0f');
    const encrypted = encryptBlock('AES256', key32, block16);
    assert.equal(
      bytesToHex(encrypted),
      openssl('aes-256-ecb', bytesToHex(key32), '000102030405060708090a0b0c0d0e0f'),
    );
    assert.deepEqual(decryptBlock('AES256', key32, encrypted), block16);
    assert.throws(() => encryptBlock('AES128', key32, block16), RangeError);
  });
});

describe('ECDSA signature forms', () => {
  it('turns a card DER signature into raw r‖s and back', () => {
    const raw = hexToBytes('00' + 'ab'.repeat(31) + '7f' + 'cd'.repeat(31));
    const der = ecdsaRawToDer(raw);
    assert.deepEqual(ecdsaDerToRaw(der, 32), raw);
  });
});
