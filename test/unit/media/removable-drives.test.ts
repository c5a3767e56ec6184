import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removableTargetsFromLsblk } from '../../../electron/core/media/removable-drives.ts';
import { mediaErrorFor } from '../../../electron/core/media/atomic-export.ts';
import { findMount, parseMounts } from '../../../electron/core/media/eject.ts';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '..', '..', 'vectors', 'lsblk', name), 'utf8');

describe('removableTargetsFromLsblk', () => {
  it('offers the mounted USB partitions of a laptop, and nothing internal or unmounted', () => {
    const targets = removableTargetsFromLsblk(fixture('laptop-with-usb-stick.json'));
    assert.deepEqual(
      targets.map((t) => [t.id, t.label, t.mountPoint, t.device, t.isReadOnly]),
      [
        ['drive:sda1', 'KEYHOLDER1', '/media/ceremony/KEYHOLDER1', '/dev/sda1', false],
        // RM=0 but on the USB bus: a USB hard disk is removable media for a ceremony.
        ['drive:sdb1', 'BACKUP', '/media/ceremony/BACKUP', '/dev/sdb1', false],
      ],
    );
  });

  it('reads older lsblk output ("1"/"0" strings, single mountpoint) and the read-only flag', () => {
    const targets = removableTargetsFromLsblk(fixture('raspberry-pi-sd-reader-old-lsblk.json'));
    assert.deepEqual(
      targets.map((t) => [t.id, t.mountPoint, t.isReadOnly, t.sizeBytes]),
      [['drive:sdd1', '/media/pi/CEREMONY', true, 31267487744]],
    );
  });

  it('finds nothing on a machine with only a loop device', () => {
    assert.deepEqual(
      removableTargetsFromLsblk(
        '{"blockdevices":[{"name":"loop0","rm":false,"hotplug":false,"tran":null,"mountpoints":["/mnt"],"fstype":"ext4","size":1}]}',
      ),
      [],
    );
  });

  it('refuses output that is not lsblk JSON', () => {
    assert.throws(() => removableTargetsFromLsblk('{"devices":[]}'));
  });
});

describe('parseMounts', () => {
  it('decodes octal escapes in mount points and finds the last mount at a path', () => {
    const text =
      '/dev/sda1 /media/key\\040holder vfat rw 0 0\nusb.img /mnt fuse.fusefat rw 0 0\n/dev/loop0 /mnt ext4 rw 0 0\n';
    assert.deepEqual(parseMounts(text)[0], {
      device: '/dev/sda1',
      mountPoint: '/media/key holder',
      fsType: 'vfat',
    });
    assert.equal(findMount('/mnt', text)?.fsType, 'ext4');
    assert.equal(findMount('/nowhere', text), null);
  });
});

describe('mediaErrorFor', () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  it('maps errno values to typed media errors', () => {
    assert.equal(mediaErrorFor(errno('ENOSPC')), 'media-full');
    assert.equal(mediaErrorFor(errno('EROFS')), 'media-read-only');
    assert.equal(mediaErrorFor(errno('EIO')), 'media-removed');
    assert.equal(mediaErrorFor(errno('ENOTCONN')), 'media-removed');
    assert.equal(mediaErrorFor(errno('EEXIST')), 'products-exist');
    assert.equal(mediaErrorFor(errno('EWHATEVER')), 'media-io-error');
  });
});
