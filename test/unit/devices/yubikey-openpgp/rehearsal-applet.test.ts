// The rehearsal YubiKey's OpenPGP applet at the APDU level, in-process: status words a real
// YubiKey answers (63Cx, 6983, 6982, 6285, 61xx), PIN counters, PUT DATA access, on-card
// generation and signing, the signature counter, fixed touch policies and TERMINATE/ACTIVATE.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { createHash } from 'node:crypto';
import { bytesToHex } from '../../../../electron/formats/der.ts';
import {
  decodeResponse,
  encodeApdu,
  type CommandApdu,
} from '../../../../electron/devices/smartcard/apdu.ts';
import {
  activateCommand,
  decodeApplicationRelated,
  decodeCardPublicKey,
  decodePublicKey,
  decodeSignatureCounter,
  encodeAlgorithmAttributes,
  generateKeyCommand,
  getDataCommand,
  getVersionCommand,
  putDataCommand,
  readPublicKeyCommand,
  selectOpenPgpCommand,
  setPinRetriesCommand,
  signCommand,
  terminateCommand,
  verifyCommand,
} from '../../../../electron/devices/yubikey-openpgp/protocol.ts';
import { RehearsalYubiKey } from '../../../../electron/devices/yubikey-piv/rehearsal.ts';
import { InProcessCardChannel } from '../../../../electron/devices/yubikey-piv/transport.ts';
import { PIV_AID } from '../../../../electron/devices/yubikey-piv/protocol.ts';

const text = (s: string) => new TextEncoder().encode(s);

async function selectedCard() {
  const card = await RehearsalYubiKey.create({ serial: 5_550_123 });
  const channel = new InProcessCardChannel(card);
  const send = (apdu: CommandApdu) => channel.send(apdu);
  assert.equal((await send(selectOpenPgpCommand())).sw, 0x9000);
  return { card, send };
}

describe('Rehearsal OpenPGP applet', () => {
  it('answers 6E with the Yubico AID and tries, and GET VERSION with the firmware', async () => {
    const { send } = await selectedCard();
    const whole = await send(getDataCommand(0x6e));
    assert.equal(whole.sw, 0x9000);
    const related = decodeApplicationRelated(whole.data);
    assert.equal(related.aid.hex, 'D2760001240103040006055501230000');
    assert.deepEqual(related.pwStatus.tries, { user: 3, reset: 0, admin: 3 });
    assert.deepEqual((await send(getVersionCommand())).data, Uint8Array.of(5, 4, 3));
    assert.equal((await send(getDataCommand(0x0101))).sw, 0x6a88);
  });

  it('counts wrong PW1 tries down with 63Cx, then blocks with 6983; PW3 is separate', async () => {
    const { send } = await selectedCard();
    const sws: number[] = [];
    for (let i = 0; i < 4; i++) sws.push((await send(verifyCommand(0x81, text('000000')))).sw);
    assert.deepEqual(sws, [0x63c2, 0x63c1, 0x63c0, 0x6983]);
    assert.equal((await send(verifyCommand(0x82, text('123456')))).sw, 0x6983);
    assert.equal((await send(verifyCommand(0x82, new Uint8Array(0)))).sw, 0x6983);
    assert.equal((await send(verifyCommand(0x83, new Uint8Array(0)))).sw, 0x63c3);
    assert.equal((await send(verifyCommand(0x83, text('12345678')))).sw, 0x9000);
    assert.equal((await send(verifyCommand(0x83, new Uint8Array(0)))).sw, 0x9000);
  });

  it('PUT DATA needs PW3; a long DO goes in chained and comes out by 61xx', async () => {
    const { card, send } = await selectedCard();
    const url = text(`https://keys.example.org/${'x'.repeat(300)}`);
    assert.equal((await send(putDataCommand(0x5f50, url))).sw, 0x6982);
    await send(verifyCommand(0x83, text('12345678')));
    assert.equal((await send(putDataCommand(0x5f50, url))).sw, 0x9000);
    assert.deepEqual((await send(getDataCommand(0x5f50))).data, url);
    const raw = decodeResponse(await card.respond(encodeApdu(getDataCommand(0x5f50))));
    assert.equal(raw.sw, 0x6100 | (url.length - 256), 'the rest follows GET RESPONSE');
    // EdDSA is for signing and authentication only.
    assert.equal(
      (await send(putDataCommand(0xc2, encodeAlgorithmAttributes('ed25519')))).sw,
      0x6a80,
    );
  });

  it('generates an Ed25519 key on the card, signs once per VERIFY 81 and counts', async () => {
    const { send } = await selectedCard();
    assert.equal((await send(generateKeyCommand('sign'))).sw, 0x6982);
    await send(verifyCommand(0x83, text('12345678')));
    // The factory attributes are RSA-2048: GENERATE makes one (rsa.test.ts tests it further).
    assert.equal(decodeCardPublicKey((await send(generateKeyCommand('sign'))).data).kind, 'rsa');
    await send(putDataCommand(0xc1, encodeAlgorithmAttributes('ed25519')));
    const generated = decodePublicKey((await send(generateKeyCommand('sign'))).data);
    assert.deepEqual(decodePublicKey((await send(readPublicKeyCommand('sign'))).data), generated);
    assert.equal((await send(readPublicKeyCommand('encrypt'))).sw, 0x6a88);
    const related = decodeApplicationRelated((await send(getDataCommand(0x6e))).data);
    assert.equal(related.keyStatus.sign, 'generated');

    const message = text('to be signed');
    assert.equal((await send(signCommand(message))).sw, 0x6982);
    await send(verifyCommand(0x81, text('123456')));
    const signature = await send(signCommand(message));
    assert.equal(signature.sw, 0x9000);
    assert.ok(ed25519.verify(signature.data, message, generated));
    assert.equal((await send(signCommand(message))).sw, 0x6982, 'PW1 81 is good for one');

    // C4 byte 0 = 01: PW1 stays valid for several signatures.
    assert.equal((await send(putDataCommand(0xc4, Uint8Array.of(1)))).sw, 0x9000);
    await send(verifyCommand(0x81, text('123456')));
    assert.equal((await send(signCommand(message))).sw, 0x9000);
    assert.equal((await send(signCommand(message))).sw, 0x9000);
    assert.equal(decodeSignatureCounter((await send(getDataCommand(0x7a))).data), 3);
  });

  it('signs a SHA-256 hash with an on-card ECDSA P-256 key (raw r‖s)', async () => {
    const { send } = await selectedCard();
    await send(verifyCommand(0x83, text('12345678')));
    await send(putDataCommand(0xc1, encodeAlgorithmAttributes('ecdsa-p256')));
    const point = decodePublicKey((await send(generateKeyCommand('sign'))).data);
    assert.equal(point.length, 65);
    await send(verifyCommand(0x81, text('123456')));
    const hash = createHash('sha256').update('record').digest();
    const signature = await send(signCommand(hash));
    assert.equal(signature.data.length, 64);
    assert.ok(p256.verify(signature.data, hash, point, { prehash: false }));
  });

  it('keeps a fixed touch policy until reset; TERMINATE needs PW3; ACTIVATE restores', async () => {
    const { card, send } = await selectedCard();
    assert.equal((await send(terminateCommand())).sw, 0x6985);
    await send(verifyCommand(0x83, text('12345678')));
    assert.equal((await send(putDataCommand(0xd6, Uint8Array.of(0x02, 0x20)))).sw, 0x9000);
    assert.equal((await send(putDataCommand(0xd6, Uint8Array.of(0x00, 0x20)))).sw, 0x6982);
    assert.equal(bytesToHex((await send(getDataCommand(0xd6))).data), '0220');
    assert.equal((await send(setPinRetriesCommand(5, 0, 5))).sw, 0x9000);
    assert.equal((await send(terminateCommand())).sw, 0x9000);
    assert.equal((await send(getDataCommand(0x6e))).sw, 0x6285);
    card.reset();
    assert.equal((await send(selectOpenPgpCommand())).sw, 0x6285);
    assert.equal((await send(activateCommand())).sw, 0x9000);
    assert.equal(bytesToHex((await send(getDataCommand(0xd6))).data), '0020');
    assert.deepEqual(
      decodeApplicationRelated((await send(getDataCommand(0x6e))).data).pwStatus.tries,
      { user: 3, reset: 0, admin: 3 },
    );
    // PIV is still there beside it.
    assert.equal(
      (await send({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0, data: PIV_AID, ne: 256 })).sw,
      0x9000,
    );
  });
});
