// Export to ext4 on a loop device: export, eject through the kernel path, mount again, re-hash.
// udisksctl is not installed here (no system D-Bus), so unmount() falls through to umount.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportProducts, type ExportedFile } from '../../../electron/core/media/atomic-export.ts';
import { findMount, unmount } from '../../../electron/core/media/eject.ts';
import { ext4Volume, productSetFor, run, sha256, type Volume } from './real-volumes.ts';

describe('export to ext4 (loop device)', () => {
  const { files, set } = productSetFor('77aa88bb99cc00dd', { curve: 'P-384' });
  let volume: Volume;
  let report: ExportedFile[] = [];

  before(() => {
    volume = ext4Volume({ sizeKiB: 8192 });
    volume.mount();
  });
  // Unmounts and detaches the loop device whatever happened above.
  after(() => volume.destroy());

  it('writes every product, manifest last, each verified by read-back', async () => {
    ({ files: report } = await exportProducts({
      root: volume.mountPoint,
      folder: set.folder,
      files,
      isRehearsal: true,
    }));
    assert.equal(report.at(-1)?.name, 'manifest.json');
    assert.deepEqual(
      report.map((f) => [f.name, f.sha256, f.sizeBytes]).sort(),
      files.map((f) => [f.name, sha256(f.bytes), f.bytes.length]).sort(),
    );
    const folder = join(volume.mountPoint, set.folder);
    assert.deepEqual(readdirSync(folder).sort(), files.map((f) => f.name).sort(), 'no temp file');
    // Products are public: world-readable, never executable.
    assert.equal(statSync(join(folder, 'manifest.json')).mode & 0o777, 0o644);
  });

  it('ejects through unmount() on the kernel path (umount)', async () => {
    const mount = findMount(volume.mountPoint);
    assert.equal(mount?.device, volume.loopDevice);
    assert.equal(mount?.fsType, 'ext4');
    const result = await unmount(volume.mountPoint);
    assert.deepEqual(result, {
      isEjected: true,
      advice: 'Unmounted. You can remove the medium now.',
    });
    assert.equal(findMount(volume.mountPoint), null);
  });

  it('reports an already unmounted medium as ejected, without running anything', async () => {
    const result = await unmount(volume.mountPoint);
    assert.equal(result.isEjected, true);
    assert.match(result.advice, /not mounted any more/);
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

  it('leaves a filesystem e2fsck finds clean', () => {
    assert.equal(volume.isMounted(), false);
    // -f forces a full check, -n never repairs; a non-zero exit throws.
    run('e2fsck', ['-fn', volume.loopDevice ?? volume.image]);
  });
});
