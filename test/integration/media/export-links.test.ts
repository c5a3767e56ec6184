// A medium prepared to redirect the export (issue 18, finding 2): a symbolic link, a file or a
// named pipe at each folder on the way to the products, a link swapped in while the export runs,
// a link planted as another ceremony's manifest. On ext4 on a loop device. In every case nothing
// lands outside the medium, the error names the component and says what to do, and nothing of
// this export is left.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { exportProducts, MediaExportError } from '../../../electron/core/media/atomic-export.ts';
import { ExportTargets } from '../../../electron/core/media/export-targets.ts';
import { Journal } from '../../../electron/core/journal/journal.ts';
import { createLog } from '../../../electron/core/log.ts';
import { ext4Volume, productSetFor, snapshot, type Volume } from './real-volumes.ts';

async function refusal(promise: Promise<unknown>, code: string): Promise<MediaExportError> {
  let caught: unknown = null;
  await promise.catch((error: unknown) => {
    caught = error;
  });
  assert.ok(
    caught instanceof MediaExportError,
    `expected a MediaExportError, got ${String(caught)}`,
  );
  assert.equal(caught.code, code, caught.message);
  return caught;
}

describe('a medium whose folders lead somewhere else', () => {
  const serial = '3a1618b82080cd66';
  const { files, set } = productSetFor(serial);
  let volume: Volume;
  let elsewhere: string;
  const medium = () => volume.mountPoint;
  const exportTo = (root = medium()) =>
    exportProducts({ root, folder: set.folder, files, isRehearsal: true });

  before(() => {
    volume = ext4Volume({ sizeKiB: 2048 });
    volume.mount();
  });
  after(() => volume.destroy());
  beforeEach(() => {
    for (const entry of readdirSync(medium())) {
      if (entry !== 'lost+found') rmSync(join(medium(), entry), { recursive: true, force: true });
    }
    elsewhere = mkdtempSync(join(tmpdir(), 'vigil-elsewhere-'));
  });

  it('refuses ceremony-products as a link to another folder, writing nothing anywhere', async () => {
    symlinkSync(elsewhere, join(medium(), 'ceremony-products'));
    const before = snapshot(medium());
    const error = await refusal(exportTo(), 'media-path-refused');
    assert.equal(error.context.component, 'ceremony-products');
    assert.match(error.message, /^ceremony-products on the medium is a symbolic link \(to \//);
    assert.match(error.message, /remove or rename ceremony-products on the medium/);
    assert.match(error.message, /Nothing was written\.$/);
    assert.deepEqual(error.remaining, []);
    assert.deepEqual(readdirSync(elsewhere), []);
    assert.deepEqual(snapshot(medium()), before);
  });

  it('refuses ceremony-products/<serial> as a link, and removes the folder it made', async () => {
    mkdirSync(join(medium(), 'ceremony-products'));
    symlinkSync(elsewhere, join(medium(), 'ceremony-products', serial));
    const before = snapshot(medium());
    const error = await refusal(exportTo(), 'media-path-refused');
    assert.equal(error.context.component, `ceremony-products/${serial}`);
    assert.deepEqual(readdirSync(elsewhere), []);
    assert.deepEqual(snapshot(medium()), before);
  });

  it('refuses a link at a folder of the file names (keys/ of a product set)', async () => {
    const nested = files.map((f) => ({ name: `keys/${f.name}`, bytes: f.bytes }));
    mkdirSync(join(medium(), 'ceremony-products', serial), { recursive: true });
    symlinkSync(elsewhere, join(medium(), 'ceremony-products', serial, 'keys'));
    const error = await refusal(
      exportProducts({ root: medium(), folder: set.folder, files: nested, isRehearsal: true }),
      'products-exist',
    );
    // The folder exists already: it is surveyed, and the link is named as not this export's.
    assert.match(error.message, /not this export's: keys\b/);
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  it('refuses a file or a named pipe where a folder belongs, without hanging', async () => {
    execFileSync('mkfifo', [join(medium(), 'ceremony-products')]);
    const pipe = await refusal(exportTo(), 'media-path-refused');
    assert.match(pipe.message, /^ceremony-products on the medium is a named pipe, not a folder/);
    rmSync(join(medium(), 'ceremony-products'));
    mkdirSync(join(medium(), 'ceremony-products'));
    execFileSync('touch', [join(medium(), 'ceremony-products', serial)]);
    const file = await refusal(exportTo(), 'media-path-refused');
    assert.match(file.message, new RegExp(`^ceremony-products/${serial} on the medium is a file`));
  });

  it('refuses a medium root that has become a link since it was chosen', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'vigil-root-')), 'usb');
    symlinkSync(medium(), link);
    const before = snapshot(medium());
    const error = await refusal(exportTo(link), 'media-path-refused');
    assert.match(error.message, /has become a symbolic link since it was chosen/);
    assert.deepEqual(snapshot(medium()), before);
  });

  it('never reads another ceremony’s manifest through a link or from a pipe', async () => {
    const other = join(medium(), 'ceremony-products', 'ffff000011112222');
    mkdirSync(other, { recursive: true });
    symlinkSync('/dev/zero', join(other, 'manifest.json'));
    const linked = await refusal(exportTo(), 'media-path-refused');
    assert.match(
      linked.message,
      /ffff000011112222\/manifest\.json on the medium is a symbolic link/,
    );
    rmSync(join(other, 'manifest.json'));
    execFileSync('mkfifo', [join(other, 'manifest.json')]);
    const pipe = await refusal(exportTo(), 'media-path-refused');
    assert.match(pipe.message, /manifest\.json on the medium is a named pipe, not a file/);
  });

  it('keeps writing into the folder it checked when a link is swapped in mid-export, then refuses and removes it all', async () => {
    const moved = join(medium(), 'moved-away');
    let swaps = 0;
    const error = await refusal(
      exportProducts({
        root: medium(),
        folder: set.folder,
        files,
        isRehearsal: true,
        onFileWritten: () => {
          if (swaps++ > 0) return;
          // After the first file: the real folder is moved aside and a link takes its place.
          renameSync(join(medium(), 'ceremony-products'), moved);
          symlinkSync(elsewhere, join(medium(), 'ceremony-products'));
        },
      }),
      'media-path-refused',
    );
    assert.match(error.message, /^ceremony-products on the medium changed during the export/);
    assert.deepEqual(readdirSync(elsewhere), [], 'not one file went through the link');
    // Every file went into the folder that was checked, now moved-away, and each is removed
    // from there; the moved folder itself cannot be removed by a name that is now a link, so it
    // is named where it is.
    assert.deepEqual(snapshot(moved), {});
    assert.deepEqual(error.remaining, [
      'moved-away/ (moved there from ceremony-products/ during the export)',
    ]);
  });

  it('reads a backup from the medium only through real folders, never a link or a pipe', async () => {
    const journal = Journal.open(join(mkdtempSync(join(tmpdir(), 'vigil-read-')), 'j.jsonl'));
    const targets = new ExportTargets({
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      pickFolder: () => Promise.resolve(null),
      journal,
      log: createLog(() => undefined),
    });
    const target = targets.addFolder(medium());
    writeFileSync(join(elsewhere, 'nethsm.backup'), 'not on the medium');
    symlinkSync(elsewhere, join(medium(), 'nethsm-backup-1'));
    await assert.rejects(targets.readFile(target.id, 'nethsm-backup-1/nethsm.backup', 1024), {
      code: 'media-path-refused',
      message: /^nethsm-backup-1 on the medium is a symbolic link/,
    });
    mkdirSync(join(medium(), 'nethsm-backup-2'));
    execFileSync('mkfifo', [join(medium(), 'nethsm-backup-2', 'nethsm.backup')]);
    await assert.rejects(targets.readFile(target.id, 'nethsm-backup-2/nethsm.backup', 1024), {
      code: 'media-path-refused',
      message: /is a named pipe, not a file/,
    });
    writeFileSync(join(medium(), 'nethsm-backup-2', 'big.backup'), Buffer.alloc(2048));
    await assert.rejects(targets.readFile(target.id, 'nethsm-backup-2/big.backup', 1024), {
      code: 'media-io-error',
    });
    assert.deepEqual(
      journal.entries().filter((e) => e.kind === 'media.fileRead'),
      [],
      'nothing was read',
    );
  });
});
