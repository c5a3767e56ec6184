// Finding 10 of issue 18: the rehearsal YubiKey's state file held its PIN, PUK and admin PIN in
// plain hex. A real card never reveals them; the rehearsal card now keeps a salted scrypt digest
// of each (its retry counters beside it), checks tries against it, and a card saved the old way
// is read once and saved again digested.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OpenPgpCard } from '../../../../electron/devices/yubikey-openpgp/driver.ts';
import { PivSession } from '../../../../electron/devices/yubikey-piv/driver.ts';
import { RehearsalYubiKey } from '../../../../electron/devices/yubikey-piv/rehearsal.ts';
import { InProcessCardChannel } from '../../../../electron/devices/yubikey-piv/transport.ts';
import { SecretBytes } from '../../../../shared/model/secret-bytes.ts';

const secret = (text: string) => SecretBytes.fromText(text);
const hex = (text: string) => Buffer.from(text).toString('hex');
const PIN = '246813';
const PUK = '97531864';
const USER_PIN = '402917';
const ADMIN_PIN = '87654321';

const dir = mkdtempSync(join(tmpdir(), 'vigil-rehearsal-pins-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every way the file could spell a credential: the text, its hex, the PIV 0xFF-padded hex. */
function spellings(text: string): string[] {
  return [text, hex(text), `${hex(text)}${'ff'.repeat(8 - text.length)}`];
}

function assertNoCredential(file: string, credentials: readonly string[]): void {
  const text = readFileSync(file, 'utf8');
  for (const credential of credentials) {
    for (const spelling of spellings(credential)) {
      assert.equal(text.includes(spelling), false, `the state file holds ${spelling}`);
    }
  }
}

async function pivSession(card: RehearsalYubiKey) {
  return PivSession.open(new InProcessCardChannel(card));
}

describe('the rehearsal YubiKey keeps no PIN, PUK or admin PIN (finding 10)', () => {
  const stateFile = join(dir, 'card.json');

  it('saves digests only, and checks tries against them across a reload', async () => {
    const card = await RehearsalYubiKey.create({ serial: 13_572_468, stateFile });
    assertNoCredential(stateFile, ['123456', '12345678']);
    const piv = await pivSession(card);
    await piv.changePin(secret('123456'), secret(PIN));
    await piv.changePuk(secret('12345678'), secret(PUK));
    const pgp = await OpenPgpCard.open(new InProcessCardChannel(card));
    await pgp.changeUserPin(secret('123456'), secret(USER_PIN));
    await pgp.changeAdminPin(secret('12345678'), secret(ADMIN_PIN));
    assertNoCredential(stateFile, [PIN, PUK, USER_PIN, ADMIN_PIN, '123456', '12345678']);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      pin: Record<string, unknown>;
      openpgp: { adminPin: Record<string, unknown> };
    };
    assert.deepEqual(Object.keys(saved.pin).sort(), ['credential', 'remaining', 'total']);
    assert.deepEqual(Object.keys(saved.pin.credential as object).sort(), [
      'isDefault',
      'length',
      'salt',
      'scrypt',
    ]);

    const again = await RehearsalYubiKey.create({ serial: 13_572_468, stateFile });
    const session = await pivSession(again);
    assert.deepEqual(await session.credentialState('PIN'), {
      remaining: 3,
      total: 3,
      isDefault: false,
    });
    await assert.rejects(session.verifyPin(secret('135790')));
    assert.equal((await session.credentialState('PIN')).remaining, 2, 'a wrong try is counted');
    await session.verifyPin(secret(PIN));
    assert.equal((await session.credentialState('PIN')).remaining, 3);
    const card2 = await OpenPgpCard.open(new InProcessCardChannel(again));
    await card2.verifyAdminPin(secret(ADMIN_PIN));
    await card2.verifyUserPin(secret(USER_PIN), 'sign');
    assert.deepEqual((await card2.pinStatus()).tries, { user: 3, reset: 0, admin: 3 });
  });

  it('reads a card saved with plain PINs once, and saves it again digested', async () => {
    const old = join(dir, 'old-card.json');
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown> & {
      openpgp: Record<string, unknown>;
    };
    // As cards were saved before finding 10: the padded PIV blocks and the OpenPGP PINs in hex.
    saved.pin = { value: `${hex(PIN)}ffff`, total: 3, remaining: 2 };
    saved.puk = { value: hex(PUK), total: 3, remaining: 3 };
    saved.openpgp.userPin = { value: hex(USER_PIN), total: 3, remaining: 3 };
    saved.openpgp.adminPin = { value: hex(ADMIN_PIN), total: 3, remaining: 2 };
    saved.openpgp.resettingCode = { value: null, total: 3, remaining: 0 };
    writeFileSync(old, JSON.stringify(saved), { mode: 0o600 });

    const card = await RehearsalYubiKey.create({ serial: 13_572_468, stateFile: old });
    assertNoCredential(old, [PIN, PUK, USER_PIN, ADMIN_PIN]);
    const session = await pivSession(card);
    assert.equal((await session.credentialState('PIN')).remaining, 2, 'counters kept');
    await session.verifyPin(secret(PIN));
    const pgp = await OpenPgpCard.open(new InProcessCardChannel(card));
    assert.equal((await pgp.pinStatus()).tries.admin, 2, 'counters kept');
    await pgp.verifyAdminPin(secret(ADMIN_PIN));
    await pgp.verifyUserPin(secret(USER_PIN), 'sign');
  });
});
