// Export failures on real filesystems: a volume that fills up mid-export, a read-only mount,
// products already present, rehearsal next to production, a medium that is gone. In every case
// the error is typed and nothing this export wrote is left behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { VigilError } from '../../../electron/core/errors.ts';
import { exportProducts } from '../../../electron/core/media/atomic-export.ts';
import { productSet } from '../../helpers/product-fixtures.ts';
import { ext4Medium, fat32Medium } from '../../helpers/temp-media.ts';

const rejectsWith = (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (e: unknown) => e instanceof VigilError && e.code === code);

function listAll(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('a volume that fills up mid-export (ext4)', () => {
  const medium = ext4Medium(2048, 1024);
  after(() => medium.destroy());

  it('fails with media-full and removes everything it wrote', async () => {
    medium.mount();
    const { files, set } = productSet('77aa88bb99cc00dd');
    writeFileSync(join(medium.mountPoint, 'keyholder-notes.txt'), 'written before the export');
    // Fill the volume, then give back five 1 KiB blocks: the two folders and the first key files
    // fit, the rest does not.
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(medium.mountPoint, 'filler')}`, 'bs=1k'], {
        stdio: 'ignore',
      });
    } catch {
      // dd ends with ENOSPC: that is the point
    }
    execFileSync('truncate', ['-s', '-5K', join(medium.mountPoint, 'filler')]);
    execFileSync('sync');
    const freeBytes = statfsSync(medium.mountPoint).bavail * statfsSync(medium.mountPoint).bsize;
    const total =
      files.reduce((n, f) => n + Math.max(1024, Math.ceil(f.bytes.length / 1024) * 1024), 0) + 2048;
    assert.ok(
      freeBytes > 2048 + 1024 && freeBytes < total,
      `free ${freeBytes} lets the export start but not finish (${total})`,
    );
    const before = listAll(medium.mountPoint);
    await rejectsWith(
      exportProducts({ root: medium.mountPoint, folder: set.folder, files, isRehearsal: true }),
      'media-full',
    );
    assert.deepEqual(
      listAll(medium.mountPoint),
      before,
      'no partial product and no temporary file remains',
    );
    assert.equal(existsSync(join(medium.mountPoint, 'ceremony-products')), false);
    assert.equal(
      readFileSync(join(medium.mountPoint, 'keyholder-notes.txt'), 'utf8'),
      'written before the export',
    );
  });
});

describe('a read-only medium', () => {
  for (const [name, make] of [
    ['ext4 mounted ro', () => ext4Medium(2048)],
    ['FAT32 mounted ro by fusefat', () => fat32Medium(40)],
  ] as const) {
    it(`refuses with media-read-only on ${name}`, async () => {
      const medium = make();
      try {
        medium.mount({ isReadOnly: true });
        const { files, set } = productSet();
        await rejectsWith(
          exportProducts({ root: medium.mountPoint, folder: set.folder, files, isRehearsal: true }),
          'media-read-only',
        );
      } finally {
        medium.destroy();
      }
    });
  }
});

describe('a medium that already holds products', () => {
  const medium = ext4Medium(4096);
  after(() => medium.destroy());

  it('never overwrites: products-exist, and the first export is unchanged', async () => {
    medium.mount();
    const first = productSet('1234abcd1234abcd');
    await exportProducts({
      root: medium.mountPoint,
      folder: first.set.folder,
      files: first.files,
      isRehearsal: true,
    });
    const manifestPath = join(medium.mountPoint, first.set.folder, 'manifest.json');
    const manifest = readFileSync(manifestPath);
    const second = productSet('1234abcd1234abcd');
    await rejectsWith(
      exportProducts({
        root: medium.mountPoint,
        folder: second.set.folder,
        files: second.files,
        isRehearsal: true,
      }),
      'products-exist',
    );
    assert.deepEqual(readFileSync(manifestPath), manifest);
  });

  it('refuses production products next to rehearsal ones: rehearsal-mix-refused', async () => {
    const production = productSet('feedfacefeedface', { isRehearsal: false });
    await rejectsWith(
      exportProducts({
        root: medium.mountPoint,
        folder: production.set.folder,
        files: production.files,
        isRehearsal: false,
      }),
      'rehearsal-mix-refused',
    );
    assert.equal(existsSync(join(medium.mountPoint, production.set.folder)), false);
  });
});

describe('a medium that is gone', () => {
  it('answers media-not-found for a mount point that vanished', async () => {
    const { files, set } = productSet();
    await rejectsWith(
      exportProducts({
        root: '/nonexistent/vigil-usb',
        folder: set.folder,
        files,
        isRehearsal: true,
      }),
      'media-not-found',
    );
  });
});
