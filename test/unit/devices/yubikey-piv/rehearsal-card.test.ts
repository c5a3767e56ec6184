// The rehearsal YubiKey at the APDU level, without pcscd: exact request bytes in, status words
// and answer shapes out, for every command the card carries (PIV with Yubico's extensions,
// management, OTP), the PIN/PUK counters, reset rules, management-key authentication,
// attestation, and the saved state file.
import assert from 'node:assert/strict';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  verify as nodeVerify,
} from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { before, describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { x509 } from '../../../../electron/formats/x509.ts';
import { PivAttestationOid } from '../../../../electron/devices/yubikey-piv/protocol.ts';
import {
  RehearsalYubiKey,
  type RehearsalYubiKeyOptions,
} from '../../../../electron/devices/yubikey-piv/rehearsal.ts';
import {
  loadRehearsalPivCa,
  type RehearsalPivCa,
} from '../../../../electron/devices/yubikey-piv/rehearsal-attestation.ts';
import { concat, tlv, tlvMap, unwrapTlv } from '../../../../electron/devices/yubikey-piv/tlv.ts';

const DEFAULT_KEY = Buffer.from('010203040506070801020304050607080102030405060708', 'hex');
const SERIAL = 12_345_678;

let ca: RehearsalPivCa;
before(async () => {
  ca = await loadRehearsalPivCa();
});

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

interface Answer {
  data: Uint8Array;
  sw: number;
}

async function send(card: RehearsalYubiKey, apdu: Uint8Array | string): Promise<Answer> {
  const bytes = await card.respond(typeof apdu === 'string' ? hex(apdu) : apdu);
  return {
    data: bytes.slice(0, -2),
    sw: ((bytes[bytes.length - 2] ?? 0) << 8) | (bytes[bytes.length - 1] ?? 0),
  };
}

/** A short APDU (case 3/4) with the given body, as yubico-piv-tool sends it. */
function command(
  cla: number,
  ins: number,
  p1: number,
  p2: number,
  data: Uint8Array = new Uint8Array(0),
) {
  return concat(
    Uint8Array.of(cla, ins, p1, p2),
    data.length ? Uint8Array.of(data.length) : new Uint8Array(0),
    data,
  );
}

/** Sends a command and follows 61xx with GET RESPONSE, as every host library does. */
async function transmit(card: RehearsalYubiKey, apdu: Uint8Array | string): Promise<Answer> {
  let answer = await send(card, apdu);
  const parts = [answer.data];
  while (answer.sw >> 8 === 0x61) {
    answer = await send(card, '00c0000000');
    parts.push(answer.data);
  }
  return { data: concat(...parts), sw: answer.sw };
}

function pin(text: string): Uint8Array {
  const out = new Uint8Array(8).fill(0xff);
  out.set(Buffer.from(text));
  return out;
}

async function newCard(options: Partial<RehearsalYubiKeyOptions> = {}): Promise<RehearsalYubiKey> {
  const card = await RehearsalYubiKey.create({ serial: SERIAL, ca, ...options });
  assert.equal((await send(card, '00a4040005a000000308')).sw, 0x9000);
  return card;
}

function cipherName(algorithm: number, key: Uint8Array): string {
  return algorithm === 0x03 ? 'des-ede3' : `aes-${key.length * 8}-ecb`;
}

function ecb(algorithm: number, key: Uint8Array, mode: 'enc' | 'dec', block: Uint8Array) {
  const name = cipherName(algorithm, key);
  const c = mode === 'enc' ? createCipheriv(name, key, null) : createDecipheriv(name, key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

/** yubikit's mutual authentication with the management key; returns the final status word. */
async function authenticate(
  card: RehearsalYubiKey,
  key: Uint8Array = DEFAULT_KEY,
  algorithm = 0x03,
) {
  const first = await send(card, command(0, 0x87, algorithm, 0x9b, hex('7c028000')));
  if (first.sw !== 0x9000) return first.sw;
  const witness = unwrapTlv(unwrapTlv(first.data, 0x7c), 0x80);
  const blockLength = witness.length;
  const challenge = new Uint8Array(randomBytes(blockLength));
  const body = tlv(
    0x7c,
    concat(tlv(0x80, ecb(algorithm, key, 'dec', witness)), tlv(0x81, challenge)),
  );
  const second = await send(card, command(0, 0x87, algorithm, 0x9b, body));
  if (second.sw !== 0x9000) return second.sw;
  const response = unwrapTlv(unwrapTlv(second.data, 0x7c), 0x82);
  assert.deepEqual(response, ecb(algorithm, key, 'enc', challenge), 'the card proves the key too');
  return second.sw;
}

async function generate(card: RehearsalYubiKey, slot: number, algorithm: number, policies = '') {
  const body = tlv(0xac, concat(tlv(0x80, Uint8Array.of(algorithm)), hex(policies)));
  return send(card, command(0, 0x47, 0, slot, body));
}

function publicKeyOfTemplate(template: Uint8Array, curve: 'P-256' | 'P-384') {
  const point = unwrapTlv(unwrapTlv(template, 0x7f49), 0x86);
  const size = curve === 'P-256' ? 32 : 48;
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: curve,
      x: Buffer.from(point.subarray(1, 1 + size)).toString('base64url'),
      y: Buffer.from(point.subarray(1 + size)).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** ECDSA P-256 over a digest as given (no hashing), the card's own operation. */
function verifiesDigest(template: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const point = unwrapTlv(unwrapTlv(template, 0x7f49), 0x86);
  return p256.verify(signature, digest, point, { prehash: false, format: 'der' });
}

function signCommand(slot: number, algorithm: number, digest: Uint8Array): Uint8Array {
  return command(0, 0x87, algorithm, slot, tlv(0x7c, concat(tlv(0x82), tlv(0x81, digest))));
}

describe('rehearsal YubiKey: selecting applications and framing', () => {
  it('answers SELECT PIV with the application property template of a YubiKey', async () => {
    const card = await RehearsalYubiKey.create({ serial: SERIAL, ca });
    assert.equal(card.isRehearsal, true);
    assert.equal(card.serial, SERIAL);
    assert.equal(toHex(card.atr), '3bfd1300008131fe158073c021c057597562694b657940');
    const selected = await send(card, '00a4040005a000000308');
    assert.equal(selected.sw, 0x9000);
    assert.equal(toHex(selected.data), '61114f0600001000010079074f05a000000308');
    // The full PIV AID (as OpenSC sends it) selects it too.
    assert.equal((await send(card, '00a404000ba0000003080000100001 00')).sw, 0x9000);
  });

  it('refuses unknown applications, instructions, classes and lengths with their status words', async () => {
    const card = await RehearsalYubiKey.create({ serial: SERIAL, ca });
    assert.equal((await send(card, '00fd0000')).sw, 0x6d00, 'nothing selected yet');
    assert.equal((await send(card, '00a4040007a0000005272101')).sw, 0x6a82, 'no OATH applet');
    await send(card, '00a4040005a000000308');
    assert.equal((await send(card, '00e2000000')).sw, 0x6d00);
    assert.equal((await send(card, '80fd0000')).sw, 0x6e00);
    assert.equal((await send(card, '00cb3fff05 5c03')).sw, 0x6700);
    assert.equal((await send(card, '00c0000000')).sw, 0x6985, 'GET RESPONSE with nothing pending');
  });

  it('answers GET VERSION and GET SERIAL in short and extended form', async () => {
    const card = await newCard();
    assert.deepEqual(await send(card, '00fd000000'), { data: hex('050403'), sw: 0x9000 });
    assert.deepEqual(await send(card, '00f8000000'), { data: hex('00bc614e'), sw: 0x9000 });
    assert.deepEqual(await send(card, '00f80000000000'), { data: hex('00bc614e'), sw: 0x9000 });
  });

  it('reads device info from the management application as ykman does', async () => {
    const card = await RehearsalYubiKey.create({
      serial: SERIAL,
      ca,
      firmware: [5, 7, 1],
      formFactor: 'usb-c-nano',
    });
    const selected = await send(card, '00a4040008a000000527471117');
    assert.equal(Buffer.from(selected.data).toString(), '5.7.1');
    const info = await send(card, '001d0000');
    assert.equal(info.sw, 0x9000);
    assert.equal(info.data[0], info.data.length - 1);
    const tags = tlvMap(info.data.subarray(1));
    assert.equal(toHex(tags.get(0x02) ?? new Uint8Array()), '00bc614e');
    assert.equal(toHex(tags.get(0x05) ?? new Uint8Array()), '050701');
    assert.equal(toHex(tags.get(0x04) ?? new Uint8Array()), '04');
    assert.equal((tags.get(0x03)?.[1] ?? 0) & 0x10, 0x10, 'PIV enabled over USB');
    assert.equal((tags.get(0x01)?.[1] ?? 0) & 0x08, 0x08, 'OpenPGP supported over USB');
    assert.equal((tags.get(0x03)?.[1] ?? 0) & 0x08, 0x08, 'OpenPGP enabled over USB');
    assert.equal(tags.has(0x0d), false, 'a nano has no NFC');
  });

  it('gives the serial from the OTP application', async () => {
    const card = await RehearsalYubiKey.create({ serial: SERIAL, ca });
    const selected = await send(card, '00a4040007a0000005272001');
    assert.equal(toHex(selected.data.subarray(0, 3)), '050403');
    assert.deepEqual(await send(card, '00011000'), { data: hex('00bc614e'), sw: 0x9000 });
  });
});

describe('rehearsal YubiKey: PIN and PUK', () => {
  it('counts wrong PINs down to blocked, and a right PIN resets the count', async () => {
    const card = await newCard();
    assert.equal((await send(card, '0020008000')).sw, 0x63c3, 'empty VERIFY asks for tries');
    assert.equal((await send(card, command(0, 0x20, 0, 0x80, pin('000000')))).sw, 0x63c2);
    assert.equal((await send(card, command(0, 0x20, 0, 0x80, pin('123456')))).sw, 0x9000);
    assert.equal((await send(card, '0020008000')).sw, 0x9000, 'verified now');
    for (const sw of [0x63c2, 0x63c1, 0x63c0, 0x6983]) {
      assert.equal((await send(card, command(0, 0x20, 0, 0x80, pin('999999')))).sw, sw);
    }
    assert.equal((await send(card, command(0, 0x20, 0, 0x80, pin('123456')))).sw, 0x6983);
    assert.equal((await send(card, '0020008000')).sw, 0x6983);
    assert.equal((await send(card, command(0, 0x20, 0, 0x80, hex('3132')))).sw, 0x6a80);
    assert.equal((await send(card, command(0, 0x20, 0, 0x81, pin('12345678')))).sw, 0x6a88);
  });

  it('changes the PIN and PUK, refuses a short new PIN, and unblocks with the PUK', async () => {
    const card = await newCard();
    const change = (p2: number, a: string, b: string) =>
      send(card, command(0, 0x24, 0, p2, concat(pin(a), pin(b))));
    assert.equal((await change(0x80, '123456', '123')).sw, 0x6a80);
    assert.equal((await change(0x80, '111111', '654321')).sw, 0x63c2);
    assert.equal((await change(0x80, '123456', '654321')).sw, 0x9000);
    assert.equal((await change(0x81, '12345678', '87654321')).sw, 0x9000);
    for (let i = 0; i < 3; i++) await send(card, command(0, 0x20, 0, 0x80, pin('000000')));
    assert.equal((await send(card, '0020008000')).sw, 0x6983);
    const unblock = (puk: string) =>
      send(card, command(0, 0x2c, 0, 0x80, concat(pin(puk), pin('24682468'))));
    assert.equal((await unblock('12345678')).sw, 0x63c2, 'the old PUK is wrong now');
    assert.equal((await unblock('87654321')).sw, 0x9000);
    assert.equal((await send(card, command(0, 0x20, 0, 0x80, pin('24682468')))).sw, 0x9000);
  });

  it('reports PIN, PUK and management-key metadata with the is-default flag', async () => {
    const card = await newCard();
    const pinMetadata = tlvMap((await send(card, '00f70080')).data);
    assert.equal(toHex(pinMetadata.get(0x05) ?? new Uint8Array()), '01');
    assert.equal(toHex(pinMetadata.get(0x06) ?? new Uint8Array()), '0303');
    await send(card, command(0, 0x24, 0, 0x80, concat(pin('123456'), pin('654321'))));
    await send(card, command(0, 0x20, 0, 0x80, pin('000000')));
    const changed = tlvMap((await send(card, '00f70080')).data);
    assert.equal(toHex(changed.get(0x05) ?? new Uint8Array()), '00');
    assert.equal(toHex(changed.get(0x06) ?? new Uint8Array()), '0302');
    const puk = tlvMap((await send(card, '00f70081')).data);
    assert.equal(toHex(puk.get(0x05) ?? new Uint8Array()), '01');
    const management = tlvMap((await send(card, '00f7009b')).data);
    assert.equal(toHex(management.get(0x01) ?? new Uint8Array()), '03');
    assert.equal(toHex(management.get(0x05) ?? new Uint8Array()), '01');
    assert.equal((await send(card, '00f7009a')).sw, 0x6a88, 'no key in 9A');
  });
});

describe('rehearsal YubiKey: management key', () => {
  it('authenticates the default 3DES key and refuses a wrong one', async () => {
    const card = await newCard();
    assert.equal(await authenticate(card, Buffer.alloc(24, 7)), 0x6982);
    assert.equal(await authenticate(card), 0x9000);
    assert.equal(await authenticate(card, DEFAULT_KEY, 0x0a), 0x6a80, 'wrong algorithm');
  });

  it('uses AES-192 by default from firmware 5.7, and single authentication works', async () => {
    const card = await newCard({ firmware: [5, 7, 0] });
    assert.equal(await authenticate(card, DEFAULT_KEY, 0x03), 0x6a80);
    assert.equal(await authenticate(card, DEFAULT_KEY, 0x0a), 0x9000);
    const challenge = await send(card, command(0, 0x87, 0x0a, 0x9b, hex('7c028100')));
    const value = unwrapTlv(unwrapTlv(challenge.data, 0x7c), 0x81);
    assert.equal(value.length, 16);
    const response = tlv(0x7c, tlv(0x82, ecb(0x0a, DEFAULT_KEY, 'enc', value)));
    assert.equal((await send(card, command(0, 0x87, 0x0a, 0x9b, response))).sw, 0x9000);
  });

  it('sets an AES-256 management key only after authentication', async () => {
    const card = await newCard();
    const key = new Uint8Array(randomBytes(32));
    const body = concat(Uint8Array.of(0x0c), tlv(0x9b, key));
    assert.equal((await send(card, command(0, 0xff, 0xff, 0xff, body))).sw, 0x6982);
    await authenticate(card);
    assert.equal((await send(card, command(0, 0xff, 0xff, 0xfe, body))).sw, 0x9000);
    const metadata = tlvMap((await send(card, '00f7009b')).data);
    assert.equal(toHex(metadata.get(0x01) ?? new Uint8Array()), '0c');
    assert.equal(toHex(metadata.get(0x02) ?? new Uint8Array()), '0002', 'touch required');
    assert.equal(toHex(metadata.get(0x05) ?? new Uint8Array()), '00');
    await send(card, '00a4040005a000000308');
    assert.equal(await authenticate(card, DEFAULT_KEY, 0x0c), 0x6982);
    assert.equal(await authenticate(card, key, 0x0c), 0x9000);
  });

  it('refuses AES management keys before firmware 5.4', async () => {
    const card = await newCard({ firmware: [5, 2, 7] });
    await authenticate(card);
    const body = concat(Uint8Array.of(0x08), tlv(0x9b, new Uint8Array(16).fill(1)));
    assert.equal((await send(card, command(0, 0xff, 0xff, 0xff, body))).sw, 0x6a80);
  });
});

describe('rehearsal YubiKey: data objects', () => {
  it('needs the management key to write, and answers 6A82 for an absent object', async () => {
    const card = await newCard();
    assert.equal((await send(card, '00cb3fff055c035fc102')).sw, 0x6a82);
    const body = concat(
      tlv(0x5c, hex('5fc102')),
      tlv(0x53, hex('3019d4e739da739ced39ce739d836858210842108421c84210c3eb')),
    );
    assert.equal((await send(card, command(0, 0xdb, 0x3f, 0xff, body))).sw, 0x6982);
    await authenticate(card);
    assert.equal((await send(card, command(0, 0xdb, 0x3f, 0xff, body))).sw, 0x9000);
    assert.equal((await send(card, '00cb3fff055c035fc102')).sw, 0x9000);
    assert.equal((await send(card, '00cb3f00055c035fc102')).sw, 0x6a86);
    const erase = concat(tlv(0x5c, hex('5fc102')), tlv(0x53));
    await send(card, command(0, 0xdb, 0x3f, 0xff, erase));
    assert.equal((await send(card, '00cb3fff055c035fc102')).sw, 0x6a82);
    assert.equal(toHex((await send(card, '00cb3fff035c017e')).data.subarray(0, 2)), '7e12');
  });

  it('takes a chained certificate (CLA 10) and gives it back through 61xx and GET RESPONSE', async () => {
    const card = await newCard();
    await authenticate(card);
    const certificate = new Uint8Array(randomBytes(700));
    const body = concat(
      tlv(0x5c, hex('5fc10a')),
      tlv(0x53, concat(tlv(0x70, certificate), tlv(0x71, Uint8Array.of(0)), tlv(0xfe))),
    );
    for (let offset = 0; offset < body.length; offset += 255) {
      const isLast = offset + 255 >= body.length;
      const part = body.subarray(offset, offset + 255);
      const sw = (await send(card, command(isLast ? 0 : 0x10, 0xdb, 0x3f, 0xff, part))).sw;
      assert.equal(sw, 0x9000);
    }
    const first = await send(card, '00cb3fff055c035fc10a');
    assert.equal(first.sw, 0x6100, 'more than 256 bytes follow');
    assert.equal(first.data.length, 256);
    const whole = await transmit(card, '00cb3fff055c035fc10a');
    const object = tlvMap(unwrapTlv(whole.data, 0x53));
    assert.deepEqual(object.get(0x70), certificate);
  });

  it('reads the printed-information object only after VERIFY', async () => {
    const card = await newCard();
    await authenticate(card);
    const body = concat(tlv(0x5c, hex('5fc109')), tlv(0x53, tlv(0x88, tlv(0x89, DEFAULT_KEY))));
    await send(card, command(0, 0xdb, 0x3f, 0xff, body));
    assert.equal((await send(card, '00cb3fff055c035fc109')).sw, 0x6982);
    await send(card, command(0, 0x20, 0, 0x80, pin('123456')));
    assert.equal((await send(card, '00cb3fff055c035fc109')).sw, 0x9000);
  });
});

describe('rehearsal YubiKey: keys, signatures, attestation', () => {
  it('generates only after management-key authentication, and signs a digest once the PIN is verified', async () => {
    const card = await newCard();
    assert.equal((await generate(card, 0x9a, 0x11)).sw, 0x6982);
    await authenticate(card);
    assert.equal((await generate(card, 0x9b, 0x11)).sw, 0x6a86);
    assert.equal((await generate(card, 0x9a, 0x07)).sw, 0x6a80, 'RSA is not emulated');
    const generated = await generate(card, 0x9a, 0x11);
    assert.equal(generated.sw, 0x9000);
    assert.equal(toHex(generated.data.subarray(0, 5)), '7f49438641');
    const publicKey = publicKeyOfTemplate(generated.data, 'P-256');
    const message = Buffer.from('rehearsal ceremony');
    const digest = new Uint8Array(createHash('sha256').update(message).digest());
    assert.equal((await send(card, signCommand(0x9a, 0x11, digest))).sw, 0x6982, 'PIN first');
    await send(card, command(0, 0x20, 0, 0x80, pin('123456')));
    assert.equal((await send(card, signCommand(0x9a, 0x14, digest))).sw, 0x6a80, 'wrong algorithm');
    const signed = await send(card, signCommand(0x9a, 0x11, digest));
    assert.equal(signed.sw, 0x9000);
    const signature = unwrapTlv(unwrapTlv(signed.data, 0x7c), 0x82);
    assert.ok(nodeVerify('sha256', message, publicKey, signature), 'ECDSA over the given digest');
    const again = await send(card, signCommand(0x9a, 0x11, digest));
    assert.equal(again.sw, 0x9000, 'PIN-once: verified for the session');
    assert.equal((await send(card, signCommand(0x9d, 0x11, digest))).sw, 0x6a80, 'empty slot');
  });

  it('honours PIN-always on 9C: every signature needs its own VERIFY', async () => {
    const card = await newCard();
    await authenticate(card);
    const generated = await generate(card, 0x9c, 0x14, 'ab0102');
    const publicKey = publicKeyOfTemplate(generated.data, 'P-384');
    const metadata = tlvMap((await send(card, '00f7009c')).data);
    assert.equal(toHex(metadata.get(0x01) ?? new Uint8Array()), '14');
    assert.equal(toHex(metadata.get(0x02) ?? new Uint8Array()), '0302', 'always, touch always');
    assert.equal(toHex(metadata.get(0x03) ?? new Uint8Array()), '01', 'generated');
    assert.deepEqual(
      unwrapTlv(metadata.get(0x04) ?? new Uint8Array(), 0x86),
      unwrapTlv(unwrapTlv(generated.data, 0x7f49), 0x86),
    );
    const message = Buffer.from('one signature, one PIN');
    const digest = new Uint8Array(createHash('sha384').update(message).digest());
    await send(card, command(0, 0x20, 0, 0x80, pin('123456')));
    const signed = await transmit(card, signCommand(0x9c, 0x14, digest));
    assert.equal(signed.sw, 0x9000);
    const signature = unwrapTlv(unwrapTlv(signed.data, 0x7c), 0x82);
    assert.ok(nodeVerify('sha384', message, publicKey, signature));
    assert.equal((await send(card, signCommand(0x9c, 0x14, digest))).sw, 0x6982);
    await send(card, command(0, 0x20, 0, 0x80, pin('123456')));
    assert.equal((await send(card, signCommand(0x9c, 0x14, digest))).sw, 0x9000);
  });

  it('generates and signs with Ed25519 only from firmware 5.7', async () => {
    const old = await newCard();
    await authenticate(old);
    assert.equal((await generate(old, 0x9e, 0xe0)).sw, 0x6a80);
    const card = await newCard({ firmware: [5, 7, 2] });
    await authenticate(card, DEFAULT_KEY, 0x0a);
    const generated = await generate(card, 0x9e, 0xe0);
    assert.equal(generated.sw, 0x9000);
    const raw = unwrapTlv(unwrapTlv(generated.data, 0x7f49), 0x86);
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
      format: 'jwk',
    });
    const message = Buffer.from('card authentication, PIN never');
    const signed = await send(card, signCommand(0x9e, 0xe0, message));
    assert.equal(signed.sw, 0x9000);
    assert.ok(nodeVerify(null, message, publicKey, unwrapTlv(unwrapTlv(signed.data, 0x7c), 0x82)));
  });

  it('attests a generated key with the F9 key, with the Yubico extensions byte for byte', async () => {
    const card = await newCard({ formFactor: 'usb-c-keychain' });
    assert.equal((await send(card, '00f99a0000')).sw, 0x6a88, 'empty slot');
    await authenticate(card);
    const generated = await generate(card, 0x9a, 0x11, 'aa0101ab0103');
    const attestation = await transmit(card, '00f99a0000');
    assert.equal(attestation.sw, 0x9000);
    const leaf = new x509.X509Certificate(attestation.data);
    const f9Object = tlvMap(unwrapTlv((await transmit(card, '00cb3fff055c035fff01')).data, 0x53));
    const f9 = new x509.X509Certificate(f9Object.get(0x70) ?? new Uint8Array());
    assert.equal(leaf.subject, 'CN=YubiKey PIV Attestation 9a');
    assert.equal(leaf.issuer, f9.subject);
    assert.equal(leaf.notBefore.getTime(), f9.notBefore.getTime());
    assert.equal(leaf.notAfter.getTime(), f9.notAfter.getTime());
    assert.equal(leaf.serialNumber.length, 32, 'a 16-byte serial');
    assert.ok(await leaf.verify({ publicKey: f9, signatureOnly: true }));
    assert.ok(await f9.verify({ publicKey: ca.certificate, signatureOnly: true }));
    const raw = (oid: string) =>
      toHex(new Uint8Array(leaf.getExtension(oid)?.value ?? new ArrayBuffer(0)));
    assert.equal(raw(PivAttestationOid.firmware), '050403');
    assert.equal(raw(PivAttestationOid.serial), '020400bc614e');
    assert.equal(raw(PivAttestationOid.policy), '0103');
    assert.equal(raw(PivAttestationOid.formFactor), '03');
    const spki = new Uint8Array(leaf.publicKey.rawData);
    const generatedSpki = publicKeyOfTemplate(generated.data, 'P-256').export({
      type: 'spki',
      format: 'der',
    });
    assert.deepEqual(spki, new Uint8Array(generatedSpki));
    assert.equal(
      toHex(
        new Uint8Array(f9.getExtension(PivAttestationOid.firmware)?.value ?? new ArrayBuffer(0)),
      ),
      '050403',
    );
  });

  it('imports a key but refuses to attest it', async () => {
    const card = await newCard();
    await authenticate(card);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const scalar = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    const body = concat(tlv(0x06, scalar), hex('aa0101'));
    assert.equal((await send(card, command(0, 0xfe, 0x11, 0x9d, body))).sw, 0x9000);
    const metadata = tlvMap((await send(card, '00f7009d')).data);
    assert.equal(toHex(metadata.get(0x03) ?? new Uint8Array()), '02', 'imported');
    assert.equal((await send(card, '00f99d0000')).sw, 0x6a80);
    const digest = new Uint8Array(32).fill(9);
    const signed = await send(card, signCommand(0x9d, 0x11, digest));
    assert.equal(signed.sw, 0x9000, 'PIN never');
    const signature = unwrapTlv(unwrapTlv(signed.data, 0x7c), 0x82);
    const point = p256.getPublicKey(scalar, false);
    assert.ok(p256.verify(signature, digest, point, { prehash: false, format: 'der' }));
  });
});

describe('rehearsal YubiKey: retries and reset', () => {
  it('sets PIN retries only with the management key and PIN, and puts PIN and PUK back to defaults', async () => {
    const card = await newCard();
    await send(card, command(0, 0x24, 0, 0x80, concat(pin('123456'), pin('654321'))));
    await authenticate(card);
    assert.equal((await send(card, '00fa0505')).sw, 0x6982, 'PIN not verified');
    await send(card, command(0, 0x20, 0, 0x80, pin('654321')));
    assert.equal((await send(card, '00fa0500')).sw, 0x6a86);
    assert.equal((await send(card, '00fa0504')).sw, 0x9000);
    const metadata = tlvMap((await send(card, '00f70080')).data);
    assert.equal(toHex(metadata.get(0x06) ?? new Uint8Array()), '0505');
    assert.equal(toHex(metadata.get(0x05) ?? new Uint8Array()), '01');
    assert.equal(
      toHex(tlvMap((await send(card, '00f70081')).data).get(0x06) ?? new Uint8Array()),
      '0404',
    );
    assert.equal((await send(card, command(0, 0x20, 0, 0x80, pin('123456')))).sw, 0x9000);
  });

  it("tries the PUK before the new PIN's format, so ykman's all-FF PUK blocks it", async () => {
    const card = await newCard();
    const allFf = new Uint8Array(16).fill(0xff);
    assert.equal((await send(card, command(0, 0x2c, 0, 0x80, allFf))).sw, 0x63c2);
    assert.equal((await send(card, command(0, 0x2c, 0, 0x80, allFf))).sw, 0x63c1);
    assert.equal((await send(card, command(0, 0x2c, 0, 0x80, allFf))).sw, 0x63c0);
    assert.equal((await send(card, command(0, 0x2c, 0, 0x80, allFf))).sw, 0x6983);
    const goodPukBadPin = concat(pin('12345678'), new Uint8Array(8).fill(0xff));
    assert.equal((await send(card, command(0, 0x2c, 0, 0x80, goodPukBadPin))).sw, 0x6983);
  });

  it('refuses a badly formed new PIN after a correct PUK, with the PIN unchanged', async () => {
    const card = await newCard();
    const badPin = concat(pin('12345678'), new Uint8Array(8).fill(0xff));
    assert.equal((await send(card, command(0, 0x2c, 0, 0x80, badPin))).sw, 0x6a80);
    assert.equal((await send(card, command(0, 0x20, 0, 0x80, pin('123456')))).sw, 0x9000);
  });

  it('resets only with PIN and PUK blocked, wiping keys and objects but keeping F9', async () => {
    const card = await newCard();
    await authenticate(card);
    await generate(card, 0x9a, 0x11);
    assert.equal((await send(card, '00fb0000')).sw, 0x6985);
    for (let i = 0; i < 3; i++) await send(card, command(0, 0x20, 0, 0x80, pin('000000')));
    assert.equal((await send(card, '00fb0000')).sw, 0x6985, 'PUK not blocked yet');
    for (let i = 0; i < 3; i++) {
      await send(card, command(0, 0x2c, 0, 0x80, concat(pin('00000000'), pin('000000'))));
    }
    assert.equal((await send(card, '00fb0000')).sw, 0x9000);
    assert.equal((await send(card, '00f7009a')).sw, 0x6a88, 'key gone');
    assert.equal((await send(card, '0020008000')).sw, 0x63c3, 'PIN back to three tries');
    const f9 = await send(card, '00cb3fff055c035fff01');
    assert.equal(f9.sw >> 8, 0x61, 'F9 certificate kept');
    assert.equal((await send(card, '00f700f9')).sw, 0x9000, 'F9 key kept');
    assert.equal(await authenticate(card), 0x9000, 'default management key again');
  });
});

describe('rehearsal YubiKey: saved state', () => {
  it('saves to a 0600 file only on change and comes back with keys, PIN and F9', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'vigil-ykpiv-')), 'card.json');
    const card = await newCard({ stateFile });
    assert.equal(statSync(stateFile).mode & 0o777, 0o600);
    await send(card, command(0, 0x24, 0, 0x80, concat(pin('123456'), pin('13572468'))));
    await authenticate(card);
    const generated = await generate(card, 0x9a, 0x11);
    const before = statSync(stateFile).ino;
    await send(card, '00fd0000');
    await send(card, '00cb3fff055c035fc102');
    assert.equal(statSync(stateFile).ino, before, 'reads are not written');
    const f9Before = (await transmit(card, '00cb3fff055c035fff01')).data;

    const restored = await RehearsalYubiKey.create({ serial: 1, stateFile, ca });
    assert.equal(restored.serial, SERIAL);
    await send(restored, '00a4040005a000000308');
    assert.equal((await send(restored, command(0, 0x20, 0, 0x80, pin('123456')))).sw, 0x63c2);
    assert.equal((await send(restored, command(0, 0x20, 0, 0x80, pin('13572468')))).sw, 0x9000);
    const digest = new Uint8Array(32).fill(1);
    const signed = await send(restored, signCommand(0x9a, 0x11, digest));
    const signature = unwrapTlv(unwrapTlv(signed.data, 0x7c), 0x82);
    assert.ok(verifiesDigest(generated.data, digest, signature), 'the same key after restore');
    assert.deepEqual((await transmit(restored, '00cb3fff055c035fff01')).data, f9Before);
    assert.equal(statSync(stateFile).mode & 0o777, 0o600);
  });

  it('shows no PIN or key material when inspected or serialised', async () => {
    const card = await newCard();
    const shown = `${inspect(card, { depth: 5 })} ${JSON.stringify(card)}`;
    assert.doesNotMatch(shown, /123456|0102030405060708|BEGIN|pkcs8/i);
  });
});
