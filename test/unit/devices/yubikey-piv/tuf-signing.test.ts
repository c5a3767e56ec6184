// The keyholder's YubiKey signs TUF root metadata with its slot 9c key (issue 20), on the rehearsal
// YubiKey in-process: the card that holds the key is found by serial, the PIN is verified first,
// ECDSA P-384 comes back DER and verifies over the canonical bytes; a key that asks for a touch is
// said so before the PIN is typed; a wrong PIN costs a try, and a PIN in its final try is refused
// without being sent. (Over pcscd with Yubico's tools: test/integration/yubikey-piv.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';
import { VigilError } from '../../../../electron/base/errors.ts';
import { generateAttestedSlotKey } from '../../../../electron/devices/yubikey-piv/ceremony/keyholder.ts';
import { yubiKeyTriesHint } from '../../../../electron/devices/yubikey-piv/ceremony/actions.ts';
import { pivSigning } from '../../../../electron/devices/yubikey-piv/ceremony/signing.ts';
import { PivSession } from '../../../../electron/devices/yubikey-piv/driver.ts';
import {
  findYubiKeys,
  type YubiKeySources,
} from '../../../../electron/devices/yubikey-piv/index.ts';
import { PivSlot } from '../../../../electron/devices/yubikey-piv/protocol.ts';
import { RehearsalYubiKey } from '../../../../electron/devices/yubikey-piv/rehearsal.ts';
import { InProcessCardChannel } from '../../../../electron/devices/yubikey-piv/transport.ts';
import type { GeneratedKeyRecord } from '../../../../electron/core/runbook/runbook-actions.ts';
import { bytesToHex } from '../../../../electron/formats/der.ts';
import { rawPublicKeyFromSpki } from '../../../../electron/formats/ec-point.ts';
import { computeKeyid, parseTufRoot } from '../../../../electron/formats/tuf-root.ts';
import {
  SPEC_VERSION,
  metadataText,
  rootSigned,
  tufKeyObject,
  tufSignatureHex,
  withSignature,
} from '../../../../electron/formats/tuf-metadata.ts';

const serial = 23_456_789;
const pin = (text = '123456') => SecretBytes.fromText(text);

describe('TUF metadata signed with a YubiKey slot 9c key', () => {
  it('verifies the PIN, signs the digest, says so when a touch is needed, never spends the last try', async () => {
    const card = await RehearsalYubiKey.create({ serial });
    const session = await PivSession.open(new InProcessCardChannel(card));
    const generated = await generateAttestedSlotKey(session, pin(), {
      slot: PivSlot.signature,
      algorithm: 'ECCP384',
      pinPolicy: 'always',
      touchPolicy: 'always',
      subject: 'CN=TUF root keyholder Kim',
      now: new Date('2026-12-06T00:00:00Z'),
    });
    const sources = { pcsc: null, rehearsal: { cards: [card] } } as unknown as YubiKeySources;
    const [found] = await findYubiKeys(sources);
    assert.ok(found);
    const key: GeneratedKeyRecord = {
      role: 'root',
      curve: 'P-384',
      rawPublicKey: bytesToHex(rawPublicKeyFromSpki(generated.spki).raw),
      isOnDevice: true,
      device: found.summary,
      createdAt: '2026-12-06T00:00:00.000Z',
      holder: 'Kim',
      attestation: { objectId: PivSlot.signature, certificate: '', deviceCertificate: '' },
    };
    const object = tufKeyObject(generated.spki, { 'x-vigil-keyholder': 'Kim' });
    const text = metadataText(
      rootSigned({
        version: 1,
        expires: '2027-12-06T00:00:00Z',
        consistentSnapshot: true,
        specVersion: SPEC_VERSION,
        roles: {
          root: { keys: [object], threshold: 1 },
          targets: { keys: [object], threshold: 1 },
          snapshot: { keys: [object], threshold: 1 },
          timestamp: { keys: [object], threshold: 1 },
        },
      }),
      [],
    );
    const data = parseTufRoot(text).signedBytes;
    const asked = pivSigning.credentials;

    // Before signing the keyholder reads the tries left, and that the key wants a touch.
    assert.match(
      await yubiKeyTriesHint(sources, String(serial), asked, true),
      /3 tries left.*asks for a touch/,
    );
    assert.doesNotMatch(await yubiKeyTriesHint(sources, String(serial), asked, false), /touch/);

    const signature = await pivSigning.sign(key, { userPin: pin() }, sources, data);
    assert.equal(signature[0], 0x30, 'ECDSA comes back DER');
    const signed = withSignature(text, {
      keyid: computeKeyid(object),
      sig: tufSignatureHex(object.scheme, signature),
    });
    assert.equal(parseTufRoot(signed).signatures.length, 1);

    // A wrong PIN costs a try; with one left, Vigil refuses without sending it.
    for (const left of [2, 1]) {
      await assert.rejects(
        pivSigning.sign(key, { userPin: pin('654321') }, sources, data),
        (e: unknown) => e instanceof VigilError && e.code === 'pin-incorrect',
      );
      assert.match(
        await yubiKeyTriesHint(sources, String(serial), asked),
        new RegExp(`${left} tr`),
      );
    }
    await assert.rejects(
      pivSigning.sign(key, { userPin: pin() }, sources, data),
      (e: unknown) => e instanceof VigilError && e.code === 'final-try-refused',
    );
  });
});
