// withOpenPgpCard on a YubiKey the PIV family found: the OpenPGP applet opens on the same card,
// the card is held by one session at a time, and letting it go drops the verified PINs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withOpenPgpCard } from '../../../../electron/devices/yubikey-openpgp/index.ts';
import { findYubiKeys, withYubiKey } from '../../../../electron/devices/yubikey-piv/index.ts';
import { RehearsalYubiKeyRack } from '../../../../electron/devices/yubikey-piv/rehearsal-rack.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';

describe('withOpenPgpCard', () => {
  it('opens the OpenPGP applet of a found rehearsal YubiKey, and PIV still works', async () => {
    const rehearsal = new RehearsalYubiKeyRack(null);
    await rehearsal.plugIn({ serial: 24_680_246 });
    const [found] = await findYubiKeys({ pcsc: null, rehearsal });
    assert.ok(found);
    const serial = await withOpenPgpCard(found, async (card) => {
      await card.verifyAdminPin(SecretBytes.fromText('12345678'));
      assert.equal((await card.pinStatus()).tries.admin, 3);
      return card.serial;
    });
    assert.equal(serial, 24_680_246);
    // The card was let go (reset): a new session has nothing verified, so PUT DATA is refused.
    await withOpenPgpCard(found, async (card) => {
      await assert.rejects(card.importKey('sign', {} as never), /Verify the admin PIN/);
      const facts = await card.facts();
      assert.equal(facts.serial, 24_680_246);
    });
    assert.equal(
      await withYubiKey(found, (session) => Promise.resolve(session.serial)),
      24_680_246,
    );
  });

  it('waits for the session holding the card before opening another', async () => {
    const rehearsal = new RehearsalYubiKeyRack(null);
    await rehearsal.plugIn({ serial: 13_579_135 });
    const [found] = await findYubiKeys({ pcsc: null, rehearsal });
    assert.ok(found);
    const order: string[] = [];
    let releaseFirst = () => {};
    const first = withOpenPgpCard(found, async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('first out');
    });
    const second = withYubiKey(found, () => {
      order.push('second in');
      return Promise.resolve();
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first in', 'first out', 'second in']);
  });
});
