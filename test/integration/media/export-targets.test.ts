// The media list a ceremony exports to: a folder picked again, by the same path or another that
// resolves to it, is the target picked before (one row, one journal line), and a removable drive's
// mount point picked as a folder is that drive.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ExportTargets } from '../../../electron/core/media/export-targets.ts';
import { Journal } from '../../../electron/core/journal/journal.ts';
import { createLog } from '../../../electron/core/log.ts';

function targetsPicking(paths: string[], lsblk = '{"blockdevices":[]}') {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-targets-'));
  const journal = Journal.open(join(dir, 'journal', 'journal.jsonl'));
  const queue = [...paths];
  const targets = new ExportTargets({
    lsblk: () => Promise.resolve(lsblk),
    pickFolder: () => Promise.resolve(queue.shift() ?? null),
    journal,
    log: createLog(() => undefined),
  });
  const picks = () => journal.entries().filter((e) => e.kind === 'media.folderPicked').length;
  return { targets, picks };
}

describe('picked folders as export targets', () => {
  it('gives the same target when the same folder is picked twice', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'vigil-medium-'));
    const { targets, picks } = targetsPicking([folder, folder, `${folder}/`]);
    const first = await targets.pickFolder();
    const second = await targets.pickFolder();
    const third = await targets.pickFolder();
    assert.equal(second.id, first.id);
    assert.equal(third.id, first.id);
    assert.deepEqual(
      (await targets.list()).map((t) => t.id),
      [first.id],
      'one row in the list',
    );
    assert.equal(picks(), 1, 'journalled once');
  });

  it('gives the same target for a path that resolves to a folder already picked', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vigil-medium-'));
    const folder = join(root, 'usb');
    mkdirSync(folder);
    symlinkSync(folder, join(root, 'link'));
    const { targets } = targetsPicking([
      folder,
      join(root, 'link'),
      join(root, 'usb', '..', 'usb'),
    ]);
    const ids = [
      (await targets.pickFolder()).id,
      (await targets.pickFolder()).id,
      (await targets.pickFolder()).id,
    ];
    assert.deepEqual(new Set(ids).size, 1);
    assert.equal((await targets.list())[0]?.mountPoint, folder);
  });

  it('gives a new target for a different folder', async () => {
    const a = mkdtempSync(join(tmpdir(), 'vigil-medium-'));
    const b = mkdtempSync(join(tmpdir(), 'vigil-medium-'));
    const { targets, picks } = targetsPicking([a, b]);
    const first = await targets.pickFolder();
    const second = await targets.pickFolder();
    assert.notEqual(second.id, first.id);
    assert.equal((await targets.list()).length, 2);
    assert.equal(picks(), 2);
  });

  it('gives the drive itself when its mount point is picked as a folder', async () => {
    const mount = mkdtempSync(join(tmpdir(), 'vigil-drive-'));
    const lsblk = JSON.stringify({
      blockdevices: [
        {
          name: 'sdz',
          rm: true,
          tran: 'usb',
          size: 8_000_000_000,
          children: [
            { name: 'sdz1', fstype: 'vfat', mountpoints: [mount], label: 'KEYS', ro: false },
          ],
        },
      ],
    });
    const { targets, picks } = targetsPicking([mount], lsblk);
    const picked = await targets.pickFolder();
    assert.equal(picked.kind, 'removable-drive');
    assert.equal(picked.id, 'drive:sdz1');
    assert.equal((await targets.list()).length, 1);
    assert.equal(picks(), 0);
  });

  it('refuses a path that is not a folder', async () => {
    const { targets } = targetsPicking([join(tmpdir(), 'vigil-no-such-folder-here')]);
    await assert.rejects(targets.pickFolder(), { code: 'no-folder-picked' });
  });
});
