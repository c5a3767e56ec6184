// Export failures on real filesystems: a volume that fills up part-way, a read-only mount,
// products already present, rehearsal next to production, a medium that is gone. In every case the
// error is typed and nothing this export wrote is left behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VigilError } from '../../../electron/base/errors.ts';
import { exportProducts } from '../../../electron/core/media/atomic-export.ts';
import type { ProductFile } from '../../../electron/core/products/token-products.ts';
import {
  ext4Volume,
  fat32Volume,
  processesHolding,
  productSetFor,
  run,
  snapshot,
  type Volume,
} from './real-volumes.ts';

/** Rejects with a VigilError of this code; returns it for further checks. */
async function failure(promise: Promise<unknown>, code: string): Promise<VigilError> {
  let caught: unknown = null;
  await promise.catch((error: unknown) => {
    caught = error;
  });
  assert.ok(caught instanceof VigilError, `expected a VigilError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Space a file takes: whole allocation units, at least one. */
const units = (file: ProductFile, unit: number) => Math.max(1, Math.ceil(file.bytes.length / unit));

describe('a volume that fills up part-way through the export', () => {
  const { files, set } = productSetFor('5e5e5e5e5e5e5e5e');
  const firstWritten = files[0]?.name ?? '';
  const volumes: Volume[] = [];
  after(() => {
    for (const v of volumes) v.destroy();
  });

  async function exportUntilFull(volume: Volume, freeBytes: number, unit: number) {
    writeFileSync(join(volume.mountPoint, 'keyholder-notes.txt'), 'written before the export');
    const total = files.reduce((n, f) => n + units(f, unit), 2) * unit; // two new folders
    const firstFits = (2 + units(files[0] as ProductFile, unit)) * unit;
    assert.ok(
      freeBytes >= firstFits && freeBytes < total,
      `free ${freeBytes} fits the folders and the first file (${firstFits}) but not all (${total})`,
    );
    const before = snapshot(volume.mountPoint);
    const error = await failure(
      exportProducts({ root: volume.mountPoint, folder: set.folder, files, isRehearsal: true }),
      'media-full',
    );
    // It failed writing a later file, so the first one had been written in full: mid-way.
    assert.equal(error.context.phase, 'write');
    assert.ok(
      files.findIndex((f) => f.name === error.context.file) > 0,
      `failed at ${String(error.context.file)}, not after ${firstWritten}`,
    );
    assert.deepEqual(snapshot(volume.mountPoint), before, 'no product, folder or temp file left');
    assert.match(error.message, /Nothing of this export was left on it\.$/);
  }

  it('ext4: media-full (ENOSPC), and only the files that were there before remain', async () => {
    const volume = ext4Volume({ sizeKiB: 2048, blockSize: 1024 });
    volumes.push(volume);
    volume.mount();
    const filler = join(volume.mountPoint, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1k'], { stdio: 'ignore' });
    } catch {
      // dd stops with ENOSPC: the volume is full, as intended.
    }
    // Give back five 1 KiB blocks: both folders and the first key file fit, the set does not.
    run('truncate', ['-s', '-5K', filler]);
    run('sync', ['-f', volume.mountPoint]);
    const stats = statfsSync(volume.mountPoint);
    await exportUntilFull(volume, stats.bavail * stats.bsize, 1024);
    volume.unmount();
    run('e2fsck', ['-fn', volume.loopDevice ?? '']);
  });

  it('FAT32: media-full although fusefat answers EPERM, and fsck.vfat stays clean', async () => {
    // 512-byte clusters on a 64 MiB FAT32; leave six of them.
    const volume = fat32Volume({ sizeMiB: 64, freeBytes: 6 * 512 });
    volumes.push(volume);
    assert.match(run('minfo', ['-i', volume.image]), /sector size: 512 bytes/);
    volume.mount();
    await exportUntilFull(volume, 6 * 512, 512);
    volume.unmount();
    run('fsck.vfat', ['-n', volume.image]);
  });
});

describe('a read-only medium', () => {
  for (const [name, make] of [
    ['ext4 mounted ro', () => ext4Volume({ sizeKiB: 2048 })],
    ['FAT32 mounted ro by fusefat', () => fat32Volume({ sizeMiB: 40 })],
  ] as const) {
    it(`refuses with media-read-only on ${name}, writing nothing`, async () => {
      const volume = make();
      try {
        volume.mount({ isReadOnly: true });
        const before = snapshot(volume.mountPoint);
        const { files, set } = productSetFor('0123456789abcdef');
        const error = await failure(
          exportProducts({ root: volume.mountPoint, folder: set.folder, files, isRehearsal: true }),
          'media-read-only',
        );
        assert.match(error.message, /Nothing was written\.$/);
        assert.deepEqual(snapshot(volume.mountPoint), before);
      } finally {
        volume.destroy();
      }
    });
  }
});

describe('a medium that already holds products', () => {
  let volume: Volume;
  before(() => {
    volume = ext4Volume({ sizeKiB: 4096 });
    volume.mount();
  });
  after(() => volume.destroy());

  it('never overwrites: products-exist, and the existing files are unchanged', async () => {
    const first = productSetFor('1234abcd1234abcd');
    await exportProducts({
      root: volume.mountPoint,
      folder: first.set.folder,
      files: first.files,
      isRehearsal: true,
    });
    const before = snapshot(volume.mountPoint);
    // Same device serial, new keys: a re-run of the ceremony must not replace the first products.
    const second = productSetFor('1234abcd1234abcd');
    await failure(
      exportProducts({
        root: volume.mountPoint,
        folder: second.set.folder,
        files: second.files,
        isRehearsal: true,
      }),
      'products-exist',
    );
    assert.deepEqual(snapshot(volume.mountPoint), before);
  });

  it('takes another rehearsal device next to them', async () => {
    const other = productSetFor('2222333344445555');
    const exported = await exportProducts({
      root: volume.mountPoint,
      folder: other.set.folder,
      files: other.files,
      isRehearsal: true,
    });
    assert.equal(exported.files.length, other.files.length);
  });

  it('refuses production products next to rehearsal ones: rehearsal-mix-refused', async () => {
    const before = snapshot(volume.mountPoint);
    const production = productSetFor('feedfacefeedface', { isRehearsal: false });
    await failure(
      exportProducts({
        root: volume.mountPoint,
        folder: production.set.folder,
        files: production.files,
        isRehearsal: false,
      }),
      'rehearsal-mix-refused',
    );
    assert.deepEqual(snapshot(volume.mountPoint), before);
  });
});

describe('a medium that is gone', () => {
  it('answers media-not-found once the mount point itself has vanished', async () => {
    const volume = fat32Volume({ sizeMiB: 40 });
    try {
      volume.mount();
      volume.unmount();
      // What a desktop automounter does after unmounting: the folder under /media goes away.
      rmdirSync(volume.mountPoint);
      const { files, set } = productSetFor('0123456789abcdef');
      await failure(
        exportProducts({ root: volume.mountPoint, folder: set.folder, files, isRehearsal: true }),
        'media-not-found',
      );
    } finally {
      volume.destroy();
    }
  });

  it('answers media-removed when the FUSE driver behind the mount died', async () => {
    const volume = fat32Volume({ sizeMiB: 40 });
    try {
      volume.mount();
      // Only the fusefat process started just now holds this image open.
      const [pid, ...others] = processesHolding(volume.image);
      assert.deepEqual(others, []);
      assert.ok(pid, 'the fusefat process was found');
      process.kill(Number(pid), 'SIGKILL');
      // Wait until it is gone, so the export meets a dead driver and not a dying one.
      const deadline = Date.now() + 5000;
      while (processesHolding(volume.image).length > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const { files, set } = productSetFor('0123456789abcdef');
      await failure(
        exportProducts({ root: volume.mountPoint, folder: set.folder, files, isRehearsal: true }),
        'media-removed',
      );
    } finally {
      volume.destroy();
    }
  });
});
