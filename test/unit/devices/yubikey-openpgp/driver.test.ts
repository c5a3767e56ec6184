// The OpenPGP card driver against the rehearsal YubiKey in-process: PIN tries read before every
// VERIFY, the final try refused unsent, a wrong PIN never retried, keytocard with read-back, a
// mismatching import caught, the factory reset, and the applet's state kept with the card.
// (GnuPG's judgement over PC/SC: test/integration/yubikey-openpgp.)
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { createPrimaryKey } from '../../../../electron/core/openpgp/index.ts';
import { VigilError } from '../../../../electron/base/errors.ts';
import type { CommandApdu, ResponseApdu } from '../../../../electron/devices/smartcard/apdu.ts';
import {
  cardKeyMaterial,
  moveSubkeysToCard,
} from '../../../../electron/devices/yubikey-openpgp/card-key.ts';
import {
  CardKeyMismatchError,
  OpenPgpCard,
  checkNewCardPins,
} from '../../../../electron/devices/yubikey-openpgp/driver.ts';
import { OpenPgpIns } from '../../../../electron/devices/yubikey-openpgp/protocol.ts';
import type { ApduChannel } from '../../../../electron/devices/yubikey-piv/driver.ts';
import { RehearsalYubiKey } from '../../../../electron/devices/yubikey-piv/rehearsal.ts';
import {
  decodeSavedState,
  encodeSavedState,
} from '../../../../electron/devices/yubikey-piv/rehearsal-state.ts';
import { InProcessCardChannel } from '../../../../electron/devices/yubikey-piv/transport.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';

const secret = (text: string) => SecretBytes.fromText(text);
const PASSPHRASE = 'rehearsal passphrase';

/** Passes APDUs to the card and remembers their instructions. */
class RecordingChannel implements ApduChannel {
  readonly sent: number[] = [];
  constructor(private readonly inner: ApduChannel) {}
  send(apdu: CommandApdu): Promise<ResponseApdu> {
    this.sent.push(apdu.ins);
    return this.inner.send(apdu);
  }
  verifies(): number {
    return this.sent.filter((ins) => ins === OpenPgpIns.verify).length;
  }
}

async function openCard(options: { stateFile?: string; serial?: number } = {}) {
  const card = await RehearsalYubiKey.create({ serial: options.serial ?? 12_345_678, ...options });
  const channel = new RecordingChannel(new InProcessCardChannel(card));
  return { card, channel, openpgp: await OpenPgpCard.open(channel) };
}

function code(expected: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VigilError, String(error));
    assert.equal(error.code, expected);
    if (message) assert.match(error.message, message);
    return true;
  };
}

let key: openpgp.PrivateKey;
let plan: { sign: string; encrypt: string; authenticate: string };
let dir: string;

before(async () => {
  const locked = await createPrimaryKey({
    userId: 'Vigil Rehearsal <rehearsal@example.org>',
    expiresInSeconds: 0,
    passphrase: secret(PASSPHRASE),
    now: new Date(Math.floor(Date.now() / 1000) * 1000),
  });
  key = await openpgp.decryptKey({ privateKey: locked, passphrase: PASSPHRASE });
  const [sign, encrypt, authenticate] = key.subkeys.map((s) => s.getFingerprint());
  assert.ok(sign && encrypt && authenticate);
  plan = { sign, encrypt, authenticate };
  dir = mkdtempSync(join(tmpdir(), 'vigil-openpgp-driver-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('OpenPGP driver on the rehearsal YubiKey', () => {
  it('reads the factory facts: serial, Yubico AID, empty slots, tries 3/0/3', async () => {
    const { openpgp: card } = await openCard();
    const facts = await card.facts();
    assert.equal(facts.serial, 12_345_678);
    assert.equal(facts.applicationId, 'D2760001240103040006123456780000');
    assert.equal(facts.manufacturer, 6);
    assert.deepEqual(facts.specVersion, [3, 4]);
    assert.deepEqual(facts.firmware, [5, 4, 3]);
    assert.deepEqual(facts.pinTries, { user: 3, reset: 0, admin: 3 });
    assert.deepEqual(facts.fingerprints, { sign: null, encrypt: null, authenticate: null });
    assert.deepEqual(facts.keyStatus, { sign: 'none', encrypt: 'none', authenticate: 'none' });
    assert.deepEqual(facts.algorithms, {
      sign: 'rsa2048',
      encrypt: 'rsa2048',
      authenticate: 'rsa2048',
    });
    assert.deepEqual(facts.touchPolicies, { sign: 'off', encrypt: 'off', authenticate: 'off' });
  });

  it('a wrong user PIN is sent once, reported with tries left, and never retried', async () => {
    const { openpgp: card, channel } = await openCard();
    await assert.rejects(
      card.verifyUserPin(secret('654321'), 'sign'),
      (error: unknown) =>
        code('pin-incorrect', /2 tries left/)(error) &&
        (error as VigilError).context.triesLeft === 2,
    );
    assert.equal(channel.verifies(), 1);
    assert.equal((await card.pinStatus()).tries.user, 2);
  });

  it('refuses to send a VERIFY in the final try, for the user and the admin PIN', async () => {
    const { openpgp: card, channel } = await openCard();
    for (const wrong of ['111111', '222222'])
      await assert.rejects(card.verifyUserPin(secret(wrong), 'other'), code('pin-incorrect'));
    const sentBefore = channel.verifies();
    await assert.rejects(
      card.verifyUserPin(secret('123456'), 'sign'),
      code('final-try-refused', /1 try left/),
    );
    assert.equal(channel.verifies(), sentBefore, 'no VERIFY went to the card');
    assert.equal((await card.pinStatus()).tries.user, 1);

    for (const wrong of ['11111111', '22222222'])
      await assert.rejects(card.verifyAdminPin(secret(wrong)), code('pin-incorrect'));
    await assert.rejects(card.verifyAdminPin(secret('12345678')), code('final-try-refused'));
    assert.equal((await card.pinStatus()).tries.admin, 1);
  });

  it('checks PIN lengths before sending, and refuses default PINs for production', async () => {
    const { openpgp: card, channel } = await openCard();
    await assert.rejects(card.verifyUserPin(secret('12345'), 'sign'), code('pin-format'));
    await assert.rejects(card.verifyAdminPin(secret('1234567')), code('pin-format'));
    assert.equal(channel.verifies(), 0);
    assert.throws(
      () => checkNewCardPins({ user: secret('123456') }, 'production'),
      code('default-pin-refused'),
    );
    assert.throws(
      () => checkNewCardPins({ admin: secret('12345678') }, 'production'),
      code('default-pin-refused'),
    );
    assert.throws(
      () => checkNewCardPins({ admin: secret('7654321') }, 'production'),
      code('pin-format'),
    );
    assert.doesNotThrow(() =>
      checkNewCardPins({ user: secret('123456'), admin: secret('12345678') }, 'rehearsal'),
    );
    assert.doesNotThrow(() =>
      checkNewCardPins({ user: secret('402917'), admin: secret('40291733') }, 'production'),
    );
  });

  it('changes both PINs; the old ones then fail with tries counted', async () => {
    const { openpgp: card } = await openCard();
    await card.changeUserPin(secret('123456'), secret('402917'));
    await card.changeAdminPin(secret('12345678'), secret('40291733'));
    await card.verifyUserPin(secret('402917'), 'sign');
    await card.verifyAdminPin(secret('40291733'));
    await assert.rejects(card.verifyUserPin(secret('123456'), 'other'), code('pin-incorrect'));
    await assert.rejects(
      card.changeAdminPin(secret('12345678'), secret('99999999')),
      code('pin-incorrect', /2 tries left/),
    );
  });

  it('moves the three subkeys onto the card and reads them back (keytocard)', async () => {
    const { openpgp: card } = await openCard();
    const moved = await moveSubkeysToCard(card, key, secret('12345678'), plan, 'cached');
    assert.deepEqual(moved, [
      { slot: 'sign', fingerprint: plan.sign },
      { slot: 'encrypt', fingerprint: plan.encrypt },
      { slot: 'authenticate', fingerprint: plan.authenticate },
    ]);
    const facts = await card.facts();
    assert.deepEqual(facts.fingerprints, plan);
    assert.deepEqual(facts.keyStatus, {
      sign: 'imported',
      encrypt: 'imported',
      authenticate: 'imported',
    });
    assert.deepEqual(facts.algorithms, {
      sign: 'ed25519',
      encrypt: 'x25519',
      authenticate: 'ed25519',
    });
    const created = Math.floor(key.subkeys[0]!.getCreationTime().getTime() / 1000);
    assert.equal(facts.generationTimes.sign, created);
    assert.deepEqual(facts.touchPolicies, {
      sign: 'cached',
      encrypt: 'cached',
      authenticate: 'cached',
    });

    // The card signs with the signing subkey, once per VERIFY 81, and counts it.
    const material = cardKeyMaterial(key.subkeys[0]!);
    await card.verifyUserPin(secret('123456'), 'sign');
    const message = new TextEncoder().encode('ceremony record');
    const signature = await card.sign(message);
    assert.ok(ed25519.verify(signature, message, material.publicKey));
    await assert.rejects(card.sign(message), code('device-error', /Verify the user PIN/));
    assert.equal((await card.facts()).signatureCounter, 1);

    // ECDH with the encryption subkey: the byte order of the imported X25519 secret is right
    // exactly when the card's shared secret matches the sender's.
    const encryption = cardKeyMaterial(key.subkeys[1]!);
    const ephemeral = x25519.utils.randomSecretKey();
    await card.verifyUserPin(secret('123456'), 'other');
    const shared = await card.decipher(x25519.getPublicKey(ephemeral));
    assert.deepEqual(shared, x25519.getSharedSecret(ephemeral, encryption.publicKey));

    const auth = cardKeyMaterial(key.subkeys[2]!);
    const challenge = new Uint8Array(32).fill(7);
    assert.ok(ed25519.verify(await card.authenticate(challenge), challenge, auth.publicKey));
  });

  for (const [algorithm, curve, hash] of [
    ['nistp256', p256, 'sha256'],
    ['nistp384', p384, 'sha384'],
  ] as const) {
    it(`moves ${algorithm} subkeys (ECDSA sign/auth, ECDH encrypt) and uses them`, async () => {
      const locked = await createPrimaryKey({
        userId: 'NIST <nist@example.org>',
        expiresInSeconds: 0,
        algorithm,
        passphrase: secret(PASSPHRASE),
        now: new Date(),
      });
      const nist = await openpgp.decryptKey({ privateKey: locked, passphrase: PASSPHRASE });
      const [sign, encrypt, authenticate] = nist.subkeys.map((s) => s.getFingerprint());
      assert.ok(sign && encrypt && authenticate);
      const { openpgp: card } = await openCard();
      await moveSubkeysToCard(card, nist, secret('12345678'), { sign, encrypt, authenticate });
      const size = algorithm === 'nistp256' ? 'p256' : 'p384';
      assert.deepEqual((await card.facts()).algorithms, {
        sign: `ecdsa-${size}`,
        encrypt: `ecdh-${size}`,
        authenticate: `ecdsa-${size}`,
      });
      const digest = createHash(hash).update('record').digest();
      await card.verifyUserPin(secret('123456'), 'sign');
      const signature = await card.sign(digest);
      const signer = cardKeyMaterial(nist.subkeys[0]!).publicKey;
      assert.ok(curve.verify(signature, digest, signer, { prehash: false }));
      const ephemeral = curve.utils.randomSecretKey();
      await card.verifyUserPin(secret('123456'), 'other');
      const shared = await card.decipher(curve.getPublicKey(ephemeral, false));
      const recipient = cardKeyMaterial(nist.subkeys[1]!).publicKey;
      assert.deepEqual(shared, curve.getSharedSecret(ephemeral, recipient, true).subarray(1));
    });
  }

  it('throws a typed mismatch when the card holds another key than the one meant', async () => {
    const { openpgp: card } = await openCard();
    await card.verifyAdminPin(secret('12345678'));
    const material = cardKeyMaterial(key.subkeys[0]!);
    const wrong = { ...material, publicKey: cardKeyMaterial(key.subkeys[2]!).publicKey };
    await assert.rejects(
      card.importKey('sign', wrong),
      (error: unknown) => error instanceof CardKeyMismatchError && error.code === 'device-error',
    );
    assert.equal((await card.facts()).fingerprints.sign, null, 'no fingerprint claimed');
    await assert.rejects(
      card.importKey('encrypt', cardKeyMaterial(key.subkeys[0]!)),
      code('curve-not-supported'),
    );
  });

  it('needs the admin PIN to import, and refuses an unknown subkey', async () => {
    const { openpgp: card } = await openCard();
    await assert.rejects(
      card.importKey('sign', cardKeyMaterial(key.subkeys[0]!)),
      code('device-error', /admin PIN/),
    );
    await assert.rejects(
      moveSubkeysToCard(card, key, secret('12345678'), { sign: '00'.repeat(20) }),
      code('device-error', /no subkey/),
    );
  });

  it('resets the applet to factory: keys, fingerprints and PINs', async () => {
    const { openpgp: card } = await openCard();
    await moveSubkeysToCard(card, key, secret('12345678'), plan);
    await card.changeUserPin(secret('123456'), secret('402917'));
    await card.reset();
    const facts = await card.facts();
    assert.deepEqual(facts.fingerprints, { sign: null, encrypt: null, authenticate: null });
    assert.deepEqual(facts.keyStatus, { sign: 'none', encrypt: 'none', authenticate: 'none' });
    assert.deepEqual(facts.pinTries, { user: 3, reset: 0, admin: 3 });
    assert.equal(await card.readPublicKey('sign'), null);
    await card.verifyUserPin(secret('123456'), 'sign');
  });

  it('keeps the applet with the saved card, and loads cards saved before OpenPGP', async () => {
    const stateFile = join(dir, 'card.json');
    const first = await openCard({ stateFile, serial: 7_654_321 });
    await moveSubkeysToCard(first.openpgp, key, secret('12345678'), plan);
    const again = await openCard({ stateFile, serial: 7_654_321 });
    assert.deepEqual((await again.openpgp.facts()).fingerprints, plan);

    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    delete saved.openpgp;
    const old = decodeSavedState(JSON.stringify(saved));
    assert.equal(old.openpgp, undefined);
    assert.equal(JSON.parse(encodeSavedState(old)).openpgp, undefined);
  });
});
