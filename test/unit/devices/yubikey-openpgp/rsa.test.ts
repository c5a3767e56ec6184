// RSA on the OpenPGP card: the PKCS#1 DigestInfo the host sends, the standard-format import
// template (e, p, q) byte for byte, the rehearsal YubiKey taking RSA 2048/3072/4096 keys (checked
// against the slot's attributes, wrong sizes refused with 6A80), answering 7F49 { 81 n, 82 e },
// signing with PKCS#1 v1.5 (judged by node:crypto), deciphering and keeping the key with the card;
// and the driver's keytocard for openpgp.js RSA subkeys. (GnuPG's judgement over PC/SC:
// test/integration/yubikey-openpgp/gnupg-card.test.ts.)
import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateEncrypt,
  publicEncrypt,
  sign as signData,
  verify as verifyData,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { VigilError } from '../../../../electron/base/errors.ts';
import { bytesToHex, hexToBytes } from '../../../../electron/formats/der.ts';
import type { CommandApdu } from '../../../../electron/devices/smartcard/apdu.ts';
import {
  cardKeyMaterial,
  moveSubkeysToCard,
} from '../../../../electron/devices/yubikey-openpgp/card-key.ts';
import { OpenPgpCard, digestInfo } from '../../../../electron/devices/yubikey-openpgp/driver.ts';
import {
  decodeApplicationRelated,
  decodeCardPublicKey,
  decodeKeyImport,
  decodeSignatureCounter,
  encodeAlgorithmAttributes,
  encodeKeyImport,
  encodeRsaAttributes,
  generateKeyCommand,
  getDataCommand,
  importKeyCommand,
  internalAuthenticateCommand,
  putDataCommand,
  readPublicKeyCommand,
  rsaDecipherCommand,
  rsaImportParts,
  selectOpenPgpCommand,
  signCommand,
  verifyCommand,
  type CardSlot,
} from '../../../../electron/devices/yubikey-openpgp/protocol.ts';
import { RehearsalYubiKey } from '../../../../electron/devices/yubikey-piv/rehearsal.ts';
import { InProcessCardChannel } from '../../../../electron/devices/yubikey-piv/transport.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';

const VECTORS = join(import.meta.dirname, '..', '..', '..', 'vectors', 'yubikey-openpgp');
const text = (s: string) => new TextEncoder().encode(s);
const secret = (s: string) => SecretBytes.fromText(s);
const fromB64 = (s: string | undefined) => Uint8Array.from(Buffer.from(s ?? '', 'base64url'));

/** e, p, q of a node:crypto RSA key, as the card's standard import format takes them. */
function rsaNumbers(key: KeyObject) {
  const jwk = key.export({ format: 'jwk' });
  return { n: fromB64(jwk.n), e: fromB64(jwk.e), p: fromB64(jwk.p), q: fromB64(jwk.q) };
}

/** The public key a card answered, `7F49 { 81 n, 82 e }`, as a node:crypto key. */
function publicKeyFromCard(template: Uint8Array): KeyObject {
  const key = decodeCardPublicKey(template);
  assert.equal(key.kind, 'rsa');
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  return createPublicKey({
    key: { kty: 'RSA', n: b64(key.modulus), e: b64(key.exponent) },
    format: 'jwk',
  });
}

function openPgpPublicKey(subkey: openpgp.Subkey): KeyObject {
  const { n, e } = subkey.keyPacket.publicParams as { n: Uint8Array; e: Uint8Array };
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  return createPublicKey({ key: { kty: 'RSA', n: b64(n), e: b64(e) }, format: 'jwk' });
}

async function selectedCard(options: { stateFile?: string } = {}) {
  const card = await RehearsalYubiKey.create({ serial: 5_550_456, ...options });
  const channel = new InProcessCardChannel(card);
  const send = (apdu: CommandApdu) => channel.send(apdu);
  assert.equal((await send(selectOpenPgpCommand())).sw, 0x9000);
  return { card, channel, send };
}

function importCommand(slot: CardSlot, key: KeyObject, bits: number, eBits = 17) {
  const { e, p, q } = rsaNumbers(key);
  return importKeyCommand(slot, rsaImportParts(bits, eBits, e, p, q));
}

const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
const rsa4096 = createPrivateKey(readFileSync(join(VECTORS, 'rsa4096-key.pem'), 'utf8'));

describe('PKCS#1 DigestInfo', () => {
  it('puts the DER prefix of RFC 8017 §9.2 before the digest', () => {
    const cases = [
      ['sha256', 32, '3031300d060960864801650304020105000420'],
      ['sha384', 48, '3041300d060960864801650304020205000430'],
      ['sha512', 64, '3051300d060960864801650304020305000440'],
    ] as const;
    for (const [hash, length, prefix] of cases) {
      const digest = new Uint8Array(length).fill(0xab);
      assert.equal(bytesToHex(digestInfo(hash, digest)), prefix + 'ab'.repeat(length));
      assert.throws(() => digestInfo(hash, digest.subarray(1)), RangeError);
    }
  });

  it('is what node:crypto signs with RSASSA-PKCS1-v1_5', () => {
    const message = text('ceremony record');
    for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
      const digest = createHash(hash).update(message).digest();
      const padded = privateEncrypt(
        { key: rsa2048.privateKey, padding: constants.RSA_PKCS1_PADDING },
        digestInfo(hash, digest),
      );
      assert.deepEqual(padded, signData(hash, message, rsa2048.privateKey));
    }
  });
});

describe('RSA import template (standard format: e, p, q)', () => {
  it('encodes YubiKey RSA attributes: e in 17 bits, standard import format', () => {
    assert.equal(bytesToHex(encodeRsaAttributes(2048)), '010800001100');
    assert.equal(bytesToHex(encodeRsaAttributes(3072)), '010c00001100');
    assert.equal(bytesToHex(encodeAlgorithmAttributes('rsa4096')), '011000001100');
  });

  it('is byte-exact for the vector key: 91 03, 92 81 80, 93 81 80, then e ‖ p ‖ q', async () => {
    const armoredKey = readFileSync(join(VECTORS, 'rsa2048-signing-subkey.asc'), 'utf8');
    const key = await openpgp.readPrivateKey({ armoredKey });
    const subkey = key.subkeys[0]!;
    assert.equal(subkey.getFingerprint(), '33a770d2b3428556c565e1fff099dcc86185f029');
    const material = cardKeyMaterial(subkey, 'sign');
    assert.equal(material.algorithm, 'rsa2048');
    assert.equal(material.createdAt, Date.parse('2026-01-01T00:00:00Z') / 1000);
    const body = material.privateKey.use((pq) =>
      encodeKeyImport(
        'sign',
        rsaImportParts(2048, 17, material.publicExponent!, pq.subarray(0, 128), pq.subarray(128)),
      ),
    );
    material.privateKey.wipe();
    // 4D 82 0115 { B6 00, 7F48 08 { 91 03 92 81 80 93 81 80 }, 5F48 82 0103 <e ‖ p ‖ q> }
    assert.equal(
      bytesToHex(body.subarray(0, 25)),
      '4d820115' + 'b600' + '7f4808' + '9103' + '928180' + '938180' + '5f48820103' + '010001',
    );
    const packet = subkey.keyPacket as openpgp.SecretSubkeyPacket;
    const { p, q } = packet.privateParams as { p: Uint8Array; q: Uint8Array };
    assert.equal(bytesToHex(body.subarray(25)), bytesToHex(p) + bytesToHex(q));
    assert.equal(
      createHash('sha256').update(body).digest('hex'),
      '70dfe6493f7efda7e3e1d0f24a39f3e52b6295d3ab9a7c603529a959c89c95fe',
    );
    assert.deepEqual(
      decodeKeyImport(body)?.parts.map((part) => [part.tag, part.value.length]),
      [
        [0x91, 3],
        [0x92, 128],
        [0x93, 128],
      ],
    );
  });

  it('right-justifies e to the attributes e length and refuses primes of the wrong size', () => {
    const { e, p, q } = rsaNumbers(rsa2048.privateKey);
    assert.equal(bytesToHex(rsaImportParts(2048, 32, e, p, q)[0]!.value), '00010001');
    assert.throws(() => rsaImportParts(3072, 17, e, p, q), RangeError);
    assert.throws(() => rsaImportParts(2048, 8, e, p, q), RangeError);
  });
});

describe('Rehearsal OpenPGP applet with RSA', () => {
  it('imports RSA-2048, answers 7F49 { 81 n, 82 e } and signs a DigestInfo (PKCS#1 v1.5)', async () => {
    const { send } = await selectedCard();
    assert.equal((await send(importCommand('sign', rsa2048.privateKey, 2048))).sw, 0x6982);
    await send(verifyCommand(0x83, text('12345678')));
    assert.equal((await send(importCommand('sign', rsa2048.privateKey, 2048))).sw, 0x9000);
    const answer = (await send(readPublicKeyCommand('sign'))).data;
    const { n } = rsaNumbers(rsa2048.privateKey);
    assert.equal(
      bytesToHex(answer.subarray(0, 9)),
      '7f49820109' + '81820100',
      '81 carries the 256-byte modulus',
    );
    assert.equal(bytesToHex(answer.subarray(9, 9 + 256)), bytesToHex(n));
    assert.equal(bytesToHex(answer.subarray(265)), '8203010001');
    const publicKey = publicKeyFromCard(answer);
    const related = decodeApplicationRelated((await send(getDataCommand(0x6e))).data);
    assert.equal(related.keyStatus.sign, 'imported');

    const message = text('in-toto link');
    const input = digestInfo('sha256', createHash('sha256').update(message).digest());
    assert.equal((await send(signCommand(input))).sw, 0x6982);
    await send(verifyCommand(0x81, text('123456')));
    const signature = await send(signCommand(input));
    assert.equal(signature.sw, 0x9000);
    assert.equal(signature.data.length, 256);
    assert.ok(verifyData('sha256', message, publicKey, signature.data));
    assert.equal((await send(signCommand(input))).sw, 0x6982, 'PW1 81 is good for one');
    assert.equal(decodeSignatureCounter((await send(getDataCommand(0x7a))).data), 1);
    // More than 40% of the modulus (102 of 256 bytes) is refused.
    await send(verifyCommand(0x81, text('123456')));
    assert.equal((await send(signCommand(new Uint8Array(103).fill(1)))).sw, 0x6a80);
    assert.equal((await send(signCommand(new Uint8Array(102).fill(1)))).sw, 0x9000);
  });

  it('refuses RSA of another size than the slot attributes, and attributes a YubiKey refuses (e in 17 or 32 bits only)', async () => {
    const { send } = await selectedCard();
    await send(verifyCommand(0x83, text('12345678')));
    assert.equal((await send(putDataCommand(0xc1, encodeRsaAttributes(3072)))).sw, 0x9000);
    assert.equal((await send(importCommand('sign', rsa2048.privateKey, 2048))).sw, 0x6a80);
    assert.equal((await send(putDataCommand(0xc1, encodeRsaAttributes(1024)))).sw, 0x6a80);
    assert.equal((await send(putDataCommand(0xc1, encodeRsaAttributes(2048, 0, 24)))).sw, 0x6a80);
    assert.equal((await send(putDataCommand(0xc1, encodeRsaAttributes(2048, 3)))).sw, 0x6a80);
    // An RSA template into an ECC slot, and an ECC template into an RSA slot.
    assert.equal(
      (await send(putDataCommand(0xc3, encodeAlgorithmAttributes('ed25519')))).sw,
      0x9000,
    );
    assert.equal((await send(importCommand('authenticate', rsa2048.privateKey, 2048))).sw, 0x6a80);
    assert.equal(
      (await send(importKeyCommand('encrypt', [{ tag: 0x92, value: new Uint8Array(32).fill(9) }])))
        .sw,
      0x6a80,
    );
    // p and q that are not the key's primes: n has the size, but the key does not verify.
    const { e, p } = rsaNumbers(rsa2048.privateKey);
    const notPrime = Uint8Array.from(p);
    notPrime[127] = (notPrime[127] ?? 0) ^ 0x02;
    assert.equal(
      (await send(importKeyCommand('encrypt', rsaImportParts(2048, 17, e, p, notPrime)))).sw,
      0x6a80,
    );
    assert.equal((await send(readPublicKeyCommand('encrypt'))).sw, 0x6a88);
  });

  it('takes RSA-4096 into the authentication slot: INTERNAL AUTHENTICATE, 512-byte answer', async () => {
    const { send } = await selectedCard();
    await send(verifyCommand(0x83, text('12345678')));
    assert.equal((await send(putDataCommand(0xc3, encodeRsaAttributes(4096)))).sw, 0x9000);
    assert.equal((await send(importCommand('authenticate', rsa4096, 4096))).sw, 0x9000);
    const publicKey = publicKeyFromCard((await send(readPublicKeyCommand('authenticate'))).data);
    assert.deepEqual(
      publicKey.export({ format: 'der', type: 'spki' }),
      createPublicKey(rsa4096).export({ format: 'der', type: 'spki' }),
    );
    const challenge = text('ssh session challenge');
    const input = digestInfo('sha512', createHash('sha512').update(challenge).digest());
    assert.equal((await send(internalAuthenticateCommand(input))).sw, 0x6982);
    await send(verifyCommand(0x82, text('123456')));
    const answer = await send(internalAuthenticateCommand(input));
    assert.equal(answer.sw, 0x9000);
    assert.equal(answer.data.length, 512);
    assert.ok(verifyData('sha512', challenge, publicKey, answer.data));
    assert.equal(decodeSignatureCounter((await send(getDataCommand(0x7a))).data), 0);
  });

  it('deciphers PKCS#1 v1.5 with RSA (00 ‖ ciphertext), and generates RSA-2048 on the card', async () => {
    const { send } = await selectedCard();
    await send(verifyCommand(0x83, text('12345678')));
    assert.equal((await send(importCommand('encrypt', rsa2048.privateKey, 2048))).sw, 0x9000);
    const sessionKey = new Uint8Array(35).fill(0x42);
    const ciphertext = publicEncrypt(
      { key: rsa2048.publicKey, padding: constants.RSA_PKCS1_PADDING },
      sessionKey,
    );
    assert.equal((await send(rsaDecipherCommand(ciphertext))).sw, 0x6982);
    await send(verifyCommand(0x82, text('123456')));
    const plain = await send(rsaDecipherCommand(ciphertext));
    assert.equal(plain.sw, 0x9000);
    assert.deepEqual(plain.data, sessionKey);
    assert.equal((await send(rsaDecipherCommand(ciphertext.subarray(1)))).sw, 0x6a80);

    const generated = await send(generateKeyCommand('sign'));
    assert.equal(generated.sw, 0x9000);
    const publicKey = publicKeyFromCard(generated.data);
    await send(verifyCommand(0x81, text('123456')));
    const message = text('generated on the card');
    const input = digestInfo('sha384', createHash('sha384').update(message).digest());
    assert.ok(verifyData('sha384', message, publicKey, (await send(signCommand(input))).data));
  });
});

describe('OpenPGP driver with RSA subkeys', () => {
  let key: openpgp.PrivateKey;
  let dir: string;

  before(async () => {
    // openpgp.js RSA keys are RSA-E/S: one encryption subkey and one signing subkey.
    const { privateKey } = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 2048,
      userIDs: [{ name: 'RSA Keyholder', email: 'rsa@example.org' }],
      subkeys: [{}, { sign: true }],
      format: 'object',
    });
    key = privateKey;
    dir = mkdtempSync(join(tmpdir(), 'vigil-openpgp-rsa-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('moves RSA-2048 sign and encrypt subkeys onto the card; the card signs and deciphers', async () => {
    const stateFile = join(dir, 'card.json');
    const { channel } = await selectedCard({ stateFile });
    const card = await OpenPgpCard.open(channel);
    const encrypt = key.subkeys[0]!;
    const sign = key.subkeys[1]!;
    const plan = { sign: sign.getFingerprint(), encrypt: encrypt.getFingerprint() };
    const moved = await moveSubkeysToCard(card, key, secret('12345678'), plan);
    assert.deepEqual(moved, [
      { slot: 'sign', fingerprint: plan.sign },
      { slot: 'encrypt', fingerprint: plan.encrypt },
    ]);
    const facts = await card.facts();
    assert.deepEqual(facts.algorithms, {
      sign: 'rsa2048',
      encrypt: 'rsa2048',
      authenticate: 'rsa2048',
    });
    assert.deepEqual(facts.keyStatus, {
      sign: 'imported',
      encrypt: 'imported',
      authenticate: 'none',
    });
    assert.equal(facts.generationTimes.sign, Math.floor(sign.getCreationTime().getTime() / 1000));
    const onCard = await card.readPublicKey('sign');
    assert.equal(onCard?.kind, 'rsa');

    const message = text('in-toto 1.3.1 verifies RSA');
    await card.verifyUserPin(secret('123456'), 'sign');
    const signature = await card.sign(
      digestInfo('sha256', createHash('sha256').update(message).digest()),
    );
    assert.ok(verifyData('sha256', message, openPgpPublicKey(sign), signature));

    const sessionKey = new Uint8Array(19).fill(7);
    const ciphertext = publicEncrypt(
      { key: openPgpPublicKey(encrypt), padding: constants.RSA_PKCS1_PADDING },
      sessionKey,
    );
    await card.verifyUserPin(secret('123456'), 'other');
    assert.deepEqual(await card.decipherRsa(ciphertext), sessionKey);

    // The RSA keys are kept with the saved card.
    const again = await selectedCard({ stateFile });
    const reopened = await OpenPgpCard.open(again.channel);
    assert.deepEqual((await reopened.facts()).fingerprints, { ...plan, authenticate: null });
    await reopened.verifyUserPin(secret('123456'), 'sign');
    const second = await reopened.sign(
      digestInfo('sha256', createHash('sha256').update(message).digest()),
    );
    assert.ok(verifyData('sha256', message, openPgpPublicKey(sign), second));
  });

  it('switches an ECC slot to RSA-3072 for the import', async () => {
    const { privateKey } = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 3072,
      userIDs: [{ name: 'RSA 3072' }],
      subkeys: [{ sign: true }],
      format: 'object',
    });
    const { channel, send } = await selectedCard();
    const card = await OpenPgpCard.open(channel);
    await card.verifyAdminPin(secret('12345678'));
    assert.equal(
      (await send(putDataCommand(0xc3, encodeAlgorithmAttributes('ed25519')))).sw,
      0x9000,
    );
    const subkey = privateKey.subkeys[0]!;
    await moveSubkeysToCard(card, privateKey, secret('12345678'), {
      authenticate: subkey.getFingerprint(),
    });
    assert.equal((await card.facts()).algorithms.authenticate, 'rsa3072');
    const challenge = createHash('sha256').update('challenge').digest();
    await card.verifyUserPin(secret('123456'), 'other');
    const answer = await card.authenticate(digestInfo('sha256', challenge));
    assert.equal(answer.length, 384);
    assert.ok(
      verifyData('sha256', text('challenge'), openPgpPublicKey(subkey), answer),
      'INTERNAL AUTHENTICATE with RSA-3072',
    );
  });

  it('keeps RSA-S keys out of the encryption slot and RSA-E keys out of the others', () => {
    const subkey = key.subkeys[1]!;
    const packet = subkey.keyPacket;
    const original = packet.algorithm;
    try {
      packet.algorithm = openpgp.enums.publicKey.rsaSign;
      assert.equal(cardKeyMaterial(subkey, 'sign').algorithm, 'rsa2048');
      assert.throws(
        () => cardKeyMaterial(subkey, 'encrypt'),
        (error: unknown) => error instanceof VigilError && error.code === 'curve-not-supported',
      );
      packet.algorithm = openpgp.enums.publicKey.rsaEncrypt;
      assert.throws(() => cardKeyMaterial(subkey, 'authenticate'), /cannot go in/);
    } finally {
      packet.algorithm = original;
    }
    const material = cardKeyMaterial(subkey);
    assert.equal(bytesToHex(material.publicExponent ?? new Uint8Array(0)), '010001');
    assert.equal(material.publicKey.length, 256);
    assert.equal(material.privateKey.length, 256, 'p ‖ q');
    assert.deepEqual(hexToBytes(subkey.getFingerprint()), material.fingerprint);
  });
});
