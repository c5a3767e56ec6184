// OpenPGP card protocol: commands and decoders against vectors derived by hand from the OpenPGP
// card spec 3.4 and Yubico's applet (see /work/shared/reference/openpgp-card.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';
import { encodeApdu } from '../../../../electron/devices/smartcard/apdu.ts';
import {
  OpenPgpCardFormatError,
  activateCommand,
  changeReferenceCommand,
  decipherCommand,
  decodeAlgorithmAttributes,
  decodeApplicationIdentifier,
  decodeApplicationRelated,
  decodeCardholder,
  decodeKeyImport,
  decodePublicKey,
  decodePwStatus,
  decodeSignatureCounter,
  encodeAlgorithmAttributes,
  encodeApplicationIdentifier,
  encodeGenerationTime,
  encodeKeyImport,
  encodeRsaAttributes,
  generateKeyCommand,
  getDataCommand,
  getVersionCommand,
  importKeyCommand,
  internalAuthenticateCommand,
  putDataCommand,
  readPublicKeyCommand,
  resetRetryCounterCommand,
  selectOpenPgpCommand,
  setPinRetriesCommand,
  setTouchPolicyCommand,
  signCommand,
  terminateCommand,
  verifyCommand,
} from '../../../../electron/devices/yubikey-openpgp/protocol.ts';
import type { CommandApdu } from '../../../../electron/devices/smartcard/apdu.ts';

const hex = (apdu: CommandApdu) => bytesToHex(encodeApdu(apdu));
const text = (s: string) => new TextEncoder().encode(s);
const h = (s: string) => hexToBytes(s.replace(/\s+/g, ''));

describe('OpenPGP card commands', () => {
  it('SELECT, GET DATA, PUT DATA, GET VERSION, TERMINATE, ACTIVATE', () => {
    assert.equal(hex(selectOpenPgpCommand()), '00a4040006d2760001240100');
    assert.equal(hex(getDataCommand(0x6e)), '00ca006e00');
    assert.equal(hex(getDataCommand(0x5f52)), '00ca5f5200');
    assert.equal(hex(putDataCommand(0x5b, text('Doe<<Jane'))), '00da005b09446f653c3c4a616e65');
    assert.equal(hex(getVersionCommand()), '00f1000000');
    assert.equal(hex(terminateCommand()), '00e60000');
    assert.equal(hex(activateCommand()), '00440000');
  });

  it('VERIFY 81/82/83, CHANGE REFERENCE DATA, RESET RETRY COUNTER, SET PIN RETRIES', () => {
    assert.equal(hex(verifyCommand(0x81, text('123456'))), '0020008106313233343536');
    assert.equal(hex(verifyCommand(0x82, text('123456'))), '0020008206313233343536');
    assert.equal(hex(verifyCommand(0x83, text('12345678'))), '00200083083132333435363738');
    assert.equal(
      hex(changeReferenceCommand(0x83, text('12345678'), text('87654321'))),
      '00240083' + '10' + '3132333435363738' + '3837363534333231',
    );
    assert.equal(hex(resetRetryCounterCommand(text('654321'))), '002c028106363534333231');
    assert.equal(
      hex(resetRetryCounterCommand(text('654321'), text('RC123456'))),
      '002c00810e' + '5243313233343536' + '363534333231',
    );
    assert.equal(hex(setPinRetriesCommand(5, 0, 5)), '00f2000003050005');
  });

  it('GENERATE (read and new), PSO:CDS, INTERNAL AUTHENTICATE, PSO:DECIPHER', () => {
    assert.equal(hex(readPublicKeyCommand('sign')), '0047810002b60000');
    assert.equal(hex(readPublicKeyCommand('authenticate')), '0047810002a40000');
    assert.equal(hex(generateKeyCommand('encrypt')), '0047800002b80000');
    assert.equal(hex(signCommand(h('010203'))), '002a9e9a0301020300');
    assert.equal(hex(internalAuthenticateCommand(h('aabb'))), '0088000002aabb00');
    const peer = new Uint8Array(32).fill(0x11);
    // A6 25 { 7F49 22 { 86 20 <32 bytes> } }
    assert.equal(
      hex(decipherCommand(peer)),
      '002a808627' + 'a625' + '7f4922' + '8620' + '11'.repeat(32) + '00',
    );
  });

  it('touch policy goes to D6/D7/D8 with the button byte 20', () => {
    assert.equal(hex(setTouchPolicyCommand('sign', 'on')), '00da00d6020120');
    assert.equal(hex(setTouchPolicyCommand('authenticate', 'cached-fixed')), '00da00d8020420');
  });
});

describe('Algorithm attributes', () => {
  it('encodes EdDSA, ECDH X25519 and NIST curves as id ‖ OID [‖ FF]', () => {
    assert.equal(bytesToHex(encodeAlgorithmAttributes('ed25519')), '162b06010401da470f01');
    assert.equal(bytesToHex(encodeAlgorithmAttributes('x25519')), '122b060104019755010501');
    assert.equal(bytesToHex(encodeAlgorithmAttributes('ecdsa-p256')), '132a8648ce3d030107');
    assert.equal(bytesToHex(encodeAlgorithmAttributes('ecdh-p384', true)), '122b81040022ff');
    assert.equal(bytesToHex(encodeRsaAttributes(2048)), '010800001100');
  });

  it('decodes them, RSA and unknown ones', () => {
    assert.deepEqual(decodeAlgorithmAttributes(h('162b06010401da470f01')), {
      kind: 'ecc',
      algorithm: 'ed25519',
      withPublicKey: false,
    });
    assert.deepEqual(decodeAlgorithmAttributes(h('122b060104019755010501ff')), {
      kind: 'ecc',
      algorithm: 'x25519',
      withPublicKey: true,
    });
    assert.deepEqual(decodeAlgorithmAttributes(h('121010')), { kind: 'unknown', hex: '121010' });
    assert.deepEqual(decodeAlgorithmAttributes(h('011000002003')), {
      kind: 'rsa',
      bits: 4096,
      eBits: 32,
      importFormat: 3,
    });
    // ECDSA on X25519's OID is no algorithm a card has.
    assert.equal(decodeAlgorithmAttributes(h('132b060104019755010501')).kind, 'unknown');
  });
});

describe('Key import template (extended header list)', () => {
  const scalar = new Uint8Array(32).fill(0x5a);

  it('puts tags and lengths in 7F48 and the values in 5F48', () => {
    // 4D 2A { B6 00, 7F48 02 { 92 20 }, 5F48 20 <32> }
    const expected = '4d2a' + 'b600' + '7f48029220' + '5f4820' + '5a'.repeat(32);
    assert.equal(bytesToHex(encodeKeyImport('sign', [{ tag: 0x92, value: scalar }])), expected);
    assert.equal(
      hex(importKeyCommand('sign', [{ tag: 0x92, value: scalar }])),
      '00db3fff2c' + expected,
    );
  });

  it('reads back with a public key part (99) and a long (81) length', () => {
    const point = new Uint8Array(97).fill(0x04);
    const body = encodeKeyImport('authenticate', [
      { tag: 0x92, value: scalar },
      { tag: 0x99, value: point },
    ]);
    // 4D 81 8E { A4 00, 7F48 04 { 92 20 99 61 }, 5F48 81 81 <32 + 97> }
    assert.equal(bytesToHex(body.subarray(0, 16)), '4d818ea4007f4804922099615f488181');
    const decoded = decodeKeyImport(body);
    assert.equal(decoded?.slot, 'authenticate');
    assert.deepEqual(
      decoded?.parts.map((p) => [p.tag, p.value.length]),
      [
        [0x92, 32],
        [0x99, 97],
      ],
    );
    assert.equal(decodeKeyImport(h('4d02b600')), null);
  });
});

describe('Card answers', () => {
  it('reads the full AID: version, Yubico, BCD serial', () => {
    const aid = decodeApplicationIdentifier(h('D2760001240103040006314159260000'));
    assert.deepEqual(aid, {
      hex: 'D2760001240103040006314159260000',
      version: [3, 4],
      manufacturer: 6,
      serialHex: '31415926',
      serial: 31_415_926,
    });
    assert.equal(
      bytesToHex(encodeApplicationIdentifier(31_415_926)),
      'd2760001240103040006314159260000',
    );
    assert.equal(bytesToHex(encodeApplicationIdentifier(42)), 'd2760001240103040006000000420000');
    assert.throws(() => decodeApplicationIdentifier(h('D27600012401')), OpenPgpCardFormatError);
  });

  it('reads PW status C4', () => {
    assert.deepEqual(decodePwStatus(h('007f7f7f030003')), {
      userPinValidForSeveralSignatures: false,
      maxLength: { user: 127, reset: 127, admin: 127 },
      tries: { user: 3, reset: 0, admin: 3 },
    });
    assert.equal(decodePwStatus(h('01ff7f7f020102')).userPinValidForSeveralSignatures, true);
    assert.equal(decodePwStatus(h('01ff7f7f020102')).maxLength.user, 127);
  });

  it('reads application related data 6E', () => {
    const fprSign = 'aa'.repeat(20);
    const related = h(
      [
        '6e81bc', // 188 bytes follow
        '4f10 d2760001240103040006314159260000',
        '5f5208 00730000e0059000',
        '7f7403 810120',
        '738196', // 150 bytes of discretionary data
        'c00a 34000000080000ff0000',
        'c10a 162b06010401da470f01',
        'c20b 122b060104019755010501',
        'c306 010800002000',
        'c407 007f7f7f020003',
        'c53c ' + fprSign + '00'.repeat(40),
        'cd0c 5f5e1000 00000000 00000000',
        'de06 010202000300',
        'd602 0320 d702 0020 d802 0220',
      ].join(''),
    );
    const data = decodeApplicationRelated(related);
    assert.equal(data.aid.serial, 31_415_926);
    assert.equal(data.extendedCapabilities.canChangeAttributes, true);
    assert.equal(data.extendedCapabilities.canImportKeys, true);
    assert.equal(data.extendedCapabilities.hasKdf, false);
    assert.deepEqual(data.attributes.sign, {
      kind: 'ecc',
      algorithm: 'ed25519',
      withPublicKey: false,
    });
    assert.equal(data.attributes.encrypt.kind, 'ecc');
    assert.deepEqual(data.attributes.authenticate, {
      kind: 'rsa',
      bits: 2048,
      eBits: 32,
      importFormat: 0,
    });
    assert.deepEqual(data.pwStatus.tries, { user: 2, reset: 0, admin: 3 });
    assert.deepEqual(data.fingerprints, { sign: fprSign, encrypt: null, authenticate: null });
    assert.deepEqual(data.generationTimes, {
      sign: 1_600_000_000,
      encrypt: null,
      authenticate: null,
    });
    assert.deepEqual(data.keyStatus, { sign: 'imported', encrypt: 'none', authenticate: 'none' });
    assert.deepEqual(data.touchPolicies, { sign: 'cached', encrypt: 'off', authenticate: 'fixed' });
  });

  it('reads cardholder data 65, the signature counter 7A and a 7F49 public key', () => {
    assert.deepEqual(decodeCardholder(h('6511 5b08446f653c3c4a616e 5f2d00 5f350132')), {
      name: 'Doe<<Jan',
      language: '',
      sex: 0x32,
    });
    assert.equal(decodeSignatureCounter(h('7a05930300012c')), 300);
    assert.deepEqual(
      decodePublicKey(h('7f4922 8620' + '33'.repeat(32))),
      new Uint8Array(32).fill(0x33),
    );
    assert.throws(() => decodePublicKey(h('7f490381010a')), OpenPgpCardFormatError);
    assert.equal(bytesToHex(encodeGenerationTime(1_600_000_000)), '5f5e1000');
  });
});
