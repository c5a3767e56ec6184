// Export to a FAT32 stick as a keyholder would: export, eject, plug in again, re-hash. The kernel
// here has no vfat, so the image is mounted through fusefat; mtools and fsck.vfat read the image
// without any mount, as independent witnesses.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VigilError } from '../../../electron/base/errors.ts';
import { exportProducts, type ExportedFile } from '../../../electron/core/media/atomic-export.ts';
import { findMount, unmount } from '../../../electron/core/media/eject.ts';
import {
  fat32Volume,
  productSetFor,
  run,
  sha256,
  waitForRelease,
  type Volume,
} from './real-volumes.ts';

describe('export to FAT32 (fusefat)', () => {
  const serial = '0a1b2c3d4e5f6071';
  const { files, set } = productSetFor(serial, { curve: 'P-256' });
  let volume: Volume;
  let report: ExportedFile[] = [];

  before(() => {
    volume = fat32Volume({ label: 'VIGILUSB' });
    volume.mount();
  });
  after(() => volume.destroy());

  it('writes every product, manifest last, each verified by read-back', async () => {
    ({ files: report } = await exportProducts({
      root: volume.mountPoint,
      folder: set.folder,
      files,
      isRehearsal: true,
    }));
    assert.equal(report.at(-1)?.name, 'manifest.json', 'the manifest is written last');
    assert.deepEqual(
      report.map((f) => [f.name, f.sha256, f.sizeBytes]).sort(),
      files.map((f) => [f.name, sha256(f.bytes), f.bytes.length]).sort(),
    );
    const folder = join(volume.mountPoint, set.folder);
    assert.deepEqual(readdirSync(folder).sort(), files.map((f) => f.name).sort(), 'no temp file');
  });

  it('honours fusefat quirks: the label is a 0-byte file, names are case-insensitive', async () => {
    const rootEntries = readdirSync(volume.mountPoint);
    assert.ok(rootEntries.includes('VIGILUSB'), rootEntries.join(', '));
    assert.equal(readFileSync(join(volume.mountPoint, 'VIGILUSB')).length, 0);
    // The same folder in other letter case is the same folder on FAT: never overwritten by
    // other products (new keys) for the same serial.
    assert.ok(existsSync(join(volume.mountPoint, 'CEREMONY-PRODUCTS', serial.toUpperCase())));
    await assert.rejects(
      exportProducts({
        root: volume.mountPoint,
        folder: `CEREMONY-PRODUCTS/${serial.toUpperCase()}`,
        files: productSetFor(serial, { curve: 'P-256' }).files,
        isRehearsal: true,
      }),
      (e: unknown) => e instanceof VigilError && e.code === 'products-exist',
    );
  });

  it('ejects through unmount() on the FUSE path (fusermount)', async () => {
    const result = await unmount(`${volume.mountPoint}/`);
    assert.deepEqual(result, {
      isEjected: true,
      advice: 'Unmounted. You can remove the medium now.',
    });
    assert.equal(findMount(volume.mountPoint), null);
    waitForRelease(volume.image);
  });

  it('reads back the bytes of the export report after a remount, and sha256sum -c agrees', () => {
    volume.mount();
    const folder = join(volume.mountPoint, set.folder);
    for (const f of report) {
      const bytes = readFileSync(join(folder, f.name));
      assert.equal(sha256(bytes), f.sha256, f.name);
      assert.equal(bytes.length, f.sizeBytes, f.name);
    }
    const check = run('sha256sum', ['-c', 'SHA256SUMS'], folder);
    assert.deepEqual(
      check.trim().split('\n').sort(),
      files
        .filter((f) => f.name !== 'SHA256SUMS')
        .map((f) => `${f.name}: OK`)
        .sort(),
    );
    volume.unmount();
  });

  it('leaves an image that fsck.vfat finds clean and mtools reads identically', () => {
    assert.equal(volume.isMounted(), false);
    // -n: check only; exit status 0 means no error was found.
    run('fsck.vfat', ['-n', volume.image]);
    const manifest = files.find((f) => f.name === 'manifest.json');
    const viaMtools = run('mtype', ['-i', volume.image, `::/${set.folder}/manifest.json`]);
    assert.equal(viaMtools, Buffer.from(manifest?.bytes ?? []).toString());
  });
});
