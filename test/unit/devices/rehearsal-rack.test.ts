// The rehearsal racks on real folders: devices come back after a restart, one serial is one
// device, unplugging discards its state file, and a damaged or planted state file is a
// SavedFileError that names it while every other device still comes back and no file is lost.
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SavedFileError, type SavedFileFailure } from '../../../electron/base/saved-files.ts';
import { RehearsalNetHsmRack } from '../../../electron/devices/nethsm/index.ts';
import { RehearsalRackError } from '../../../electron/devices/rehearsal-rack.ts';
import { RehearsalYubiHsmRack } from '../../../electron/devices/yubihsm2/index.ts';
import { RehearsalYubiKeyRack } from '../../../electron/devices/yubikey-piv/rehearsal-rack.ts';

const root = mkdtempSync(join(tmpdir(), 'vigil-racks-'));
after(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const newFolder = () => join(root, `rack-${++folders}`);

const serialsOf = (rack: RehearsalYubiKeyRack) => rack.cards.map((c) => c.serial);
const savedFile = (kind: SavedFileFailure, name: string) => (error: unknown) =>
  error instanceof SavedFileError && error.kind === kind && error.message.includes(name);

/** A folder holding rehearsal YubiKeys 1 and 2, saved and put away. */
async function savedYubiKeys(): Promise<string> {
  const folder = newFolder();
  const rack = new RehearsalYubiKeyRack(folder);
  await rack.plugIn({ serial: 1 });
  await rack.plugIn({ serial: 2 });
  await rack.close();
  return folder;
}

describe('rehearsal YubiKey rack', () => {
  it('plugs every saved card back in after a restart, in serial order', async () => {
    const folder = newFolder();
    const first = new RehearsalYubiKeyRack(folder);
    await first.plugIn({ serial: 30 });
    await first.plugIn({ serial: 100, firmware: [5, 7, 1] });
    await first.plugIn({ serial: 2 });
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    for (const name of readdirSync(folder)) {
      assert.equal(statSync(join(folder, name)).mode & 0o777, 0o600, name);
    }
    await first.close();

    const second = new RehearsalYubiKeyRack(folder);
    await second.restore();
    assert.deepEqual(serialsOf(second), [2, 30, 100]);
    assert.deepEqual(second.cards[2]?.firmware, [5, 7, 1], 'the card as saved, not a new one');
    // Restoring again plugs in nothing twice.
    await second.restore();
    assert.deepEqual(serialsOf(second), [2, 30, 100]);
  });

  it('refuses a serial already connected, also when both arrive at once', async () => {
    const rack = new RehearsalYubiKeyRack(newFolder());
    await rack.plugIn({ serial: 7 });
    await assert.rejects(
      rack.plugIn({ serial: 7 }),
      (error) => error instanceof RehearsalRackError && error.kind === 'already-connected',
    );
    const outcomes = await Promise.allSettled([
      rack.plugIn({ serial: 8 }),
      rack.plugIn({ serial: 8 }),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
    assert.deepEqual(serialsOf(rack), [7, 8]);
    await assert.rejects(
      rack.plugIn({ serial: 0 }),
      (error) => error instanceof RehearsalRackError && error.kind === 'bad-serial',
    );
  });

  it('deletes the state file of an unplugged card, and only that one', async () => {
    const folder = await savedYubiKeys();
    const rack = new RehearsalYubiKeyRack(folder);
    await rack.restore();
    await rack.unplug(1);
    assert.deepEqual(serialsOf(rack), [2]);
    assert.deepEqual(readdirSync(folder), ['2.json']);
    await rack.close();
    const again = new RehearsalYubiKeyRack(folder);
    await again.restore();
    assert.deepEqual(serialsOf(again), [2]);
  });

  it('puts a card away with its keys, never restores it, and takes the same card out again', async () => {
    const folder = await savedYubiKeys();
    const rack = new RehearsalYubiKeyRack(folder);
    await rack.restore();
    const before = readFileSync(join(folder, '1.json'));
    await rack.putAway(1);
    assert.deepEqual(serialsOf(rack), [2]);
    assert.deepEqual(rack.putAwaySerials(), [1]);
    await rack.close();
    // A restart brings back what is plugged in, not what is in its bag.
    const again = new RehearsalYubiKeyRack(folder);
    await again.restore();
    assert.deepEqual(serialsOf(again), [2]);
    const card = await again.takeOut(1);
    assert.equal(card.serial, 1);
    assert.deepEqual(again.putAwaySerials(), []);
    assert.deepEqual(readFileSync(join(folder, '1.json')), before, 'keys and PINs as they were');
    // Taken out twice: the card that is plugged in. One never put away: refused by name.
    assert.equal(await again.takeOut(1), card);
    await assert.rejects(
      again.takeOut(7),
      (e: unknown) => e instanceof RehearsalRackError && /7 was not put away here/.test(e.message),
    );
    await again.close();
  });

  it('refuses a symlinked state file, even to a good card, and restores the rest', async () => {
    const folder = await savedYubiKeys();
    const elsewhere = await savedYubiKeys();
    symlinkSync(join(elsewhere, '1.json'), join(folder, '3.json'));
    const rack = new RehearsalYubiKeyRack(folder);
    await assert.rejects(rack.restore(), savedFile('not-regular-file', '3.json'));
    assert.deepEqual(serialsOf(rack), [1, 2]);
    assert.ok(statSync(join(folder, '3.json')), 'the link is kept, and what it points to');
  });

  it('refuses an oversized or non-JSON state file and keeps it as it was', async () => {
    for (const [kind, bytes] of [
      ['too-large', ' '.repeat(4 * 1024 * 1024 + 1)],
      ['not-json', '{"v":1,"rehearsal":tr'],
      ['unexpected-form', '{"v":1,"rehearsal":false,"serial":3}'],
    ] as const) {
      const folder = await savedYubiKeys();
      writeFileSync(join(folder, '3.json'), bytes);
      const rack = new RehearsalYubiKeyRack(folder);
      await assert.rejects(rack.restore(), savedFile(kind, '3.json'), kind);
      assert.deepEqual(serialsOf(rack), [1, 2], kind);
      assert.equal(readFileSync(join(folder, '3.json'), 'utf8'), bytes, kind);
    }
  });

  it('refuses a state file saved under another serial', async () => {
    const folder = await savedYubiKeys();
    copyFileSync(join(folder, '2.json'), join(folder, '5.json'));
    const rack = new RehearsalYubiKeyRack(folder);
    await assert.rejects(rack.restore(), savedFile('unexpected-form', '5.json'));
    assert.deepEqual(serialsOf(rack), [1, 2]);
    assert.ok(existsSync(join(folder, '5.json')));
  });

  it('names every damaged file when several are', async () => {
    const folder = await savedYubiKeys();
    writeFileSync(join(folder, '3.json'), 'not json');
    writeFileSync(join(folder, '4.json'), '[]');
    const rack = new RehearsalYubiKeyRack(folder);
    await assert.rejects(
      rack.restore(),
      (error) =>
        error instanceof SavedFileError &&
        error.message.includes('3.json') &&
        error.message.includes('4.json'),
    );
    assert.deepEqual(serialsOf(rack), [1, 2]);
  });

  it('ignores files that are not <serial>.json', async () => {
    const folder = await savedYubiKeys();
    writeFileSync(join(folder, '0001.json'), 'x');
    writeFileSync(join(folder, 'notes.txt'), 'x');
    const rack = new RehearsalYubiKeyRack(folder);
    await rack.restore();
    assert.deepEqual(serialsOf(rack), [1, 2]);
  });

  it('refuses a rack folder that is a link', async () => {
    const target = await savedYubiKeys();
    const link = newFolder();
    symlinkSync(target, link);
    await assert.rejects(new RehearsalYubiKeyRack(link).restore(), savedFile('not-a-folder', link));
    await assert.rejects(
      new RehearsalYubiKeyRack(link).plugIn({ serial: 9 }),
      savedFile('not-a-folder', link),
    );
    assert.deepEqual(readdirSync(target).sort(), ['1.json', '2.json']);
  });
});

describe('rehearsal YubiHSM rack', () => {
  it('restores the good devices behind connectors and names a damaged one', async () => {
    const folder = newFolder();
    const first = new RehearsalYubiHsmRack(folder);
    await first.plugIn({ serial: 11_000_001, rebootMs: 0 });
    await first.plugIn({ serial: 11_000_002, rebootMs: 0 });
    await first.close();
    writeFileSync(join(folder, '11000002.json'), '{"v":1,"rehearsal":true');

    const second = new RehearsalYubiHsmRack(folder);
    await assert.rejects(second.restore({ rebootMs: 0 }), savedFile('not-json', '11000002.json'));
    assert.equal(second.connectors.length, 1);
    await assert.rejects(second.plugIn({ serial: 11_000_001 }), RehearsalRackError);
    await second.unplug(11_000_001);
    assert.deepEqual(readdirSync(folder), ['11000002.json']);
    await second.close();
  });
});

describe('rehearsal NetHSM rack', () => {
  it('starts the good devices and names a damaged state file', async () => {
    const folder = newFolder();
    const first = new RehearsalNetHsmRack(folder);
    await first.plugIn();
    await first.plugIn();
    await first.close();
    const entries = JSON.parse(readFileSync(join(folder, 'rack.json'), 'utf8')) as {
      stateFile: string;
    }[];
    const damaged = entries[1]?.stateFile ?? '';
    writeFileSync(damaged, '{"version":1,"serial":"REHEARSAL-00000000"}');

    const second = new RehearsalNetHsmRack(folder);
    await assert.rejects(second.restore(), savedFile('unexpected-form', damaged));
    assert.equal(second.devices.length, 1);
    assert.ok(existsSync(damaged));
    await second.close();
  });

  it('neither reads nor deletes a file a planted rack.json names', async () => {
    const folder = newFolder();
    const victim = join(root, 'victim.json');
    writeFileSync(victim, 'keep me');
    const rack = new RehearsalNetHsmRack(folder);
    await rack.plugIn();
    await rack.close();
    writeFileSync(join(folder, 'rack.json'), JSON.stringify([{ stateFile: victim, port: 40000 }]));
    await assert.rejects(rack.restore(), savedFile('unexpected-form', victim));
    await assert.rejects(rack.discard(), SavedFileError);
    assert.equal(readFileSync(victim, 'utf8'), 'keep me');
  });
});
