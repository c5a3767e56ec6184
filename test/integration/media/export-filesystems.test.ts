// Export to real filesystems, then unmount, remount and re-hash: what a keyholder does with a
// USB stick. FAT32 through fusefat, ext4 on a loop device.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exportProducts } from '../../../electron/core/media/atomic-export.ts';
import { unmount } from '../../../electron/core/media/eject.ts';
import { productSet } from '../../helpers/product-fixtures.ts';
import {
  ext4Medium,
  fat32Medium,
  isMountPoint,
  type TempMedium,
} from '../../helpers/temp-media.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

for (const [name, make] of [
  ['FAT32 (fusefat)', () => fat32Medium()],
  ['ext4 (loop device)', () => ext4Medium(8192)],
] as const) {
  describe(`export to ${name}`, () => {
    const medium: TempMedium = make();
    after(() => medium.destroy());
    const { files, set } = productSet('0a1b2c3d4e5f6071', { curve: 'P-384' });

    it('writes every product, verified by read-back, and leaves no temporary file', async () => {
      medium.mount();
      const exported = await exportProducts({
        root: medium.mountPoint,
        folder: set.folder,
        files,
        isRehearsal: true,
      });
      assert.deepEqual(
        exported.map((f) => f.name),
        files.map((f) => f.name),
      );
      for (const f of exported)
        assert.equal(
          f.sha256,
          sha256(files.find((p) => p.name === f.name)?.bytes ?? new Uint8Array()),
        );
      const onDisk = readdirSync(join(medium.mountPoint, set.folder));
      assert.deepEqual(
        onDisk.filter((n) => n.includes('vigil-partial')),
        [],
      );
    });

    it('unmounts through eject', async () => {
      const result = await unmount(medium.mountPoint);
      assert.equal(result.isEjected, true, result.advice);
      assert.equal(isMountPoint(medium.mountPoint), false);
    });

    it('reads back identical bytes after a remount, and sha256sum -c agrees', () => {
      medium.mount();
      const folder = join(medium.mountPoint, set.folder);
      for (const f of files)
        assert.equal(sha256(readFileSync(join(folder, f.name))), sha256(f.bytes), f.name);
      const check = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: folder }).toString();
      assert.equal((check.match(/: OK$/gm) ?? []).length, files.length - 1);
      medium.unmount();
    });

    it('leaves a filesystem its checker finds clean', () => {
      if (name.startsWith('FAT32')) execFileSync('fsck.vfat', ['-n', medium.image]);
      else execFileSync('e2fsck', ['-fn', medium.image]);
    });
  });
}
