// A functionary's OpenPGP key as a layout step key (issue 21), against hostile key files: a subkey
// grafted from another key (its binding signature made by that key) never becomes a step key,
// nor does a revoked one; the key object carries what securesystemslib keeps, nothing secret.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { gpgStepKey } from '../../../../electron/core/in-toto/openpgp-step-key.ts';

const AT = new Date('2026-11-01T00:00:00Z');
const NOW = new Date('2026-12-01T00:00:00Z');

const makeKey = async (name: string) =>
  (
    await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name }],
      subkeys: [{}, { sign: true }],
      date: AT,
      format: 'object',
    })
  ).privateKey;

describe('an OpenPGP step key', () => {
  it('keeps the primary and its own signing subkey, with creation times', async () => {
    const key = await makeKey('Functionary');
    const step = await gpgStepKey(key.toPublic().armor(), 'f.asc', NOW);
    assert.equal(step.keyid, key.getFingerprint());
    assert.equal(step.creation_time, AT.getTime() / 1000);
    assert.equal(step.method, 'pgp+eddsa-ed25519');
    assert.match(String(step.keyval.public.q), /^[0-9a-f]{64}$/);
    assert.equal(step.keyval.private, '');
    // The ECDH encryption subkey is left out, as securesystemslib leaves it out.
    const signing = key.subkeys.find((s) => s.getAlgorithmInfo().algorithm === 'eddsaLegacy');
    assert.deepEqual(Object.keys(step.subkeys ?? {}), [signing?.getFingerprint()]);
  });

  it('drops a subkey grafted from another key, whose binding this primary never made', async () => {
    const victim = await makeKey('Functionary');
    const attacker = await makeKey('Attacker');
    const grafted = new openpgp.PacketList<openpgp.AnyPacket>();
    for (const packet of victim.toPublic().toPacketList()) grafted.push(packet);
    for (const packet of attacker.toPublic().toPacketList().slice(3)) grafted.push(packet);
    const armored = openpgp.armor(openpgp.enums.armor.publicKey, grafted.write());
    const step = await gpgStepKey(armored, 'grafted.asc', NOW);
    const attackers = attacker.subkeys.map((s) => s.getFingerprint());
    assert.ok(Object.keys(step.subkeys ?? {}).length >= 1);
    for (const keyid of Object.keys(step.subkeys ?? {}))
      assert.ok(!attackers.includes(keyid), 'an attacker subkey became a step key');
  });

  it('drops a revoked subkey', async () => {
    const key = await makeKey('Functionary');
    const signing = key.subkeys.find((s) => s.getAlgorithmInfo().algorithm === 'eddsaLegacy');
    assert.ok(signing);
    const primary = key.keyPacket;
    assert.ok(primary instanceof openpgp.SecretKeyPacket);
    const revoked = await signing.revoke(primary, undefined, new Date(AT.getTime() + 1000));
    key.subkeys = key.subkeys.map((s) => (s === signing ? revoked : s));
    const step = await gpgStepKey(key.toPublic().armor(), 'revoked.asc', NOW);
    assert.equal(step.subkeys, undefined);
  });
});
