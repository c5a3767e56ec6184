import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removableTargetsFromLsblk } from '../../../electron/core/media/removable-drives.ts';
import { mediaErrorFor } from '../../../electron/core/media/atomic-export.ts';
import { canonicalMountPoint, findMount, parseMounts } from '../../../electron/core/media/eject.ts';
import { VigilError } from '../../../electron/base/errors.ts';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '..', '..', 'vectors', 'lsblk', name), 'utf8');

/** The fields an operator sees when choosing a medium. */
const summary = (name: string) =>
  removableTargetsFromLsblk(fixture(name)).map((t) => ({
    id: t.id,
    label: t.label,
    mountPoint: t.mountPoint,
    device: t.device,
    sizeBytes: t.sizeBytes,
    isReadOnly: t.isReadOnly,
  }));

describe('removableTargetsFromLsblk', () => {
  it('offers the mounted vfat partition of a USB stick', () => {
    assert.deepEqual(summary('usb-stick-vfat.json'), [
      {
        id: 'drive:sda1',
        label: 'KEYHOLDER1',
        mountPoint: '/media/alice/KEYHOLDER1',
        device: '/dev/sda1',
        sizeBytes: 16007561216,
        isReadOnly: false,
      },
    ]);
  });

  it('offers nothing on an internal NVMe disk (EFI, root, home, swap)', () => {
    assert.deepEqual(summary('internal-nvme.json'), []);
  });

  it('offers nothing for a mounted loop device, which never looks removable', () => {
    assert.deepEqual(summary('loop-device.json'), []);
  });

  it('offers an SD card in a reader with RM=1, read-only when the card is write-protected', () => {
    assert.deepEqual(summary('sd-card-reader.json'), [
      {
        id: 'drive:sdb1',
        label: 'SDCARD',
        mountPoint: '/media/alice/SDCARD',
        device: '/dev/sdb1',
        sizeBytes: 31910789120,
        // The disk carries RO=1 (the card's switch); the partition line alone says 0.
        isReadOnly: true,
      },
    ]);
  });

  it('offers nothing for a USB stick that is not mounted', () => {
    assert.deepEqual(summary('usb-unmounted.json'), []);
  });

  it('reads older lsblk output ("1"/"0" strings, single mountpoint, sizes as strings)', () => {
    assert.deepEqual(summary('raspberry-pi-sd-reader-old-lsblk.json'), [
      {
        id: 'drive:sdd1',
        label: 'CEREMONY',
        mountPoint: '/media/pi/CEREMONY',
        device: '/dev/sdd1',
        sizeBytes: 31267487744,
        isReadOnly: true,
      },
    ]);
  });

  it('picks only the removable ones from a whole laptop, including a USB disk with RM=0', () => {
    assert.deepEqual(
      summary('laptop-with-usb-stick.json').map((t) => [t.id, t.label, t.mountPoint]),
      [
        ['drive:sda1', 'KEYHOLDER1', '/media/ceremony/KEYHOLDER1'],
        ['drive:sdb1', 'BACKUP', '/media/ceremony/BACKUP'],
      ],
    );
  });

  it('treats "0" as false: a string flag is not truthy by itself', () => {
    const json = JSON.stringify({
      blockdevices: [
        { name: 'sdx', rm: '0', hotplug: '0', mountpoint: '/mnt/x', fstype: 'ext4', ro: '0' },
      ],
    });
    assert.deepEqual(removableTargetsFromLsblk(json), []);
  });

  it('refuses output that is not lsblk JSON', () => {
    assert.throws(() => removableTargetsFromLsblk('{"devices":[]}'));
    assert.throws(() => removableTargetsFromLsblk('not json'));
  });
});

describe('parseMounts and findMount', () => {
  const text = [
    '/dev/sda1 /media/key\\040holder vfat rw,nosuid 0 0',
    '/dev/sdb1 /media/tab\\011and\\134slash ext4 rw 0 0',
    '/tmp/usb.img /srv/vigil-mnt fuse.fusefat rw 0 0',
    '/dev/loop3 /srv/vigil-mnt ext4 rw 0 0',
    '',
  ].join('\n');

  it('decodes octal escapes (space, tab, backslash) in mount points', () => {
    assert.deepEqual(
      parseMounts(text).map((m) => [m.device, m.mountPoint, m.fsType]),
      [
        ['/dev/sda1', '/media/key holder', 'vfat'],
        ['/dev/sdb1', '/media/tab\tand\\slash', 'ext4'],
        ['/tmp/usb.img', '/srv/vigil-mnt', 'fuse.fusefat'],
        ['/dev/loop3', '/srv/vigil-mnt', 'ext4'],
      ],
    );
  });

  it('finds the last (topmost) mount at a path, also when written with a trailing slash', () => {
    assert.equal(findMount('/srv/vigil-mnt', text)?.device, '/dev/loop3');
    assert.equal(findMount('/srv/vigil-mnt/', text)?.device, '/dev/loop3');
    assert.equal(findMount('/media/key holder', text)?.fsType, 'vfat');
    assert.equal(findMount('/nowhere', text), null);
  });

  it('canonicalises relative paths and trailing slashes', () => {
    assert.equal(canonicalMountPoint('/nonexistent/vigil/usb/'), '/nonexistent/vigil/usb');
    assert.equal(canonicalMountPoint('/nonexistent/vigil/./usb/../usb'), '/nonexistent/vigil/usb');
  });
});

describe('mediaErrorFor', () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });

  it('maps errno values to typed media errors', () => {
    assert.equal(mediaErrorFor(errno('ENOSPC')), 'media-full');
    assert.equal(mediaErrorFor(errno('EDQUOT')), 'media-full');
    assert.equal(mediaErrorFor(errno('EFBIG')), 'media-full');
    assert.equal(mediaErrorFor(errno('EROFS')), 'media-read-only');
    assert.equal(mediaErrorFor(errno('EIO')), 'media-removed');
    assert.equal(mediaErrorFor(errno('ENOTCONN')), 'media-removed');
    assert.equal(mediaErrorFor(errno('ECONNABORTED')), 'media-removed');
    assert.equal(mediaErrorFor(errno('EEXIST')), 'products-exist');
    assert.equal(mediaErrorFor(errno('EWHATEVER')), 'media-io-error');
    assert.equal(mediaErrorFor(new Error('no errno')), 'media-io-error');
    assert.equal(mediaErrorFor(undefined), 'media-io-error');
  });

  it('reads EPERM as read-only before anything was written, as full afterwards (fusefat)', () => {
    assert.equal(mediaErrorFor(errno('EPERM')), 'media-read-only');
    assert.equal(mediaErrorFor(errno('EACCES')), 'media-read-only');
    assert.equal(mediaErrorFor(errno('EPERM'), { hasWritten: true }), 'media-full');
    assert.equal(mediaErrorFor(errno('EPERM'), { isKnownFull: true }), 'media-full');
    // EROFS is unambiguous whatever happened before.
    assert.equal(mediaErrorFor(errno('EROFS'), { hasWritten: true }), 'media-read-only');
  });

  it('keeps media codes of a VigilError and never passes another domain through', () => {
    assert.equal(mediaErrorFor(new VigilError('read-back-mismatch', 'x')), 'read-back-mismatch');
    assert.equal(mediaErrorFor(new VigilError('wrong-step', 'x')), 'media-io-error');
  });
});
