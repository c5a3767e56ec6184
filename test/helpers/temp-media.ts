// Real filesystems for export tests: FAT32 images through fusefat (the kernel here has no vfat)
// and ext4 on loop devices. Tests run as root, as CI does.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (command: string, args: string[]) =>
  execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export interface TempMedium {
  image: string;
  mountPoint: string;
  mount(options?: { isReadOnly?: boolean }): void;
  unmount(): void;
  destroy(): void;
}

export function fat32Medium(sizeMiB = 64, label = 'VIGILUSB'): TempMedium {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-fat-'));
  const image = join(dir, 'usb.img');
  const mountPoint = join(dir, 'mnt');
  mkdirSync(mountPoint);
  run('truncate', ['-s', `${sizeMiB}M`, image]);
  run('mkfs.vfat', ['-F', '32', '-n', label, image]);
  let isMounted = false;
  const medium: TempMedium = {
    image,
    mountPoint,
    mount({ isReadOnly = false } = {}) {
      // fusefat needs rw+ for writing (its write support is marked experimental); it prints debug noise.
      run('fusefat', ['-o', isReadOnly ? 'ro' : 'rw+', image, mountPoint]);
      isMounted = true;
    },
    unmount() {
      if (isMounted) run('fusermount', ['-u', mountPoint]);
      isMounted = false;
    },
    destroy() {
      try {
        medium.unmount();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return medium;
}

export function ext4Medium(sizeKiB = 4096, blockSize = 1024): TempMedium & { loopDevice: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ext4-'));
  const image = join(dir, 'usb.img');
  const mountPoint = join(dir, 'mnt');
  mkdirSync(mountPoint);
  run('truncate', ['-s', `${sizeKiB}K`, image]);
  // -m 0: no blocks reserved for root, so "full" means full for the test (which runs as root).
  run('mkfs.ext4', ['-q', '-b', String(blockSize), '-m', '0', '-N', '64', '-L', 'VIGILEXT', image]);
  const loopDevice = run('losetup', ['-f', '--show', image]).trim();
  let isMounted = false;
  const medium = {
    image,
    mountPoint,
    loopDevice,
    mount({ isReadOnly = false } = {}) {
      run('mount', ['-o', isReadOnly ? 'ro' : 'rw', loopDevice, mountPoint]);
      isMounted = true;
    },
    unmount() {
      if (isMounted) run('umount', [mountPoint]);
      isMounted = false;
    },
    destroy() {
      try {
        medium.unmount();
      } catch {
        // already unmounted by the code under test
      }
      try {
        run('losetup', ['-d', loopDevice]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return medium;
}

export function isMountPoint(path: string): boolean {
  try {
    execFileSync('mountpoint', ['-q', path]);
    return true;
  } catch {
    return false;
  }
}
