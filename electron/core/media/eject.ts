// Unmounting after export. A FUSE mount (fusefat, exfat-fuse) is released with fusermount; a
// kernel mount with udisksctl when present (no root needed), else umount.
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';

export interface MountEntry {
  device: string;
  mountPoint: string;
  fsType: string;
}

/** Pure: /proc/mounts text → entries (octal escapes such as \040 decoded). */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      const [device = '', mountPoint = '', fsType = ''] = line.split(' ');
      return { device: unescape(device), mountPoint: unescape(mountPoint), fsType };
    });
}

/**
 * The kernel lists canonical paths: without this, "/media/usb/" or a path through a symlink
 * would find no mount and an eject would report a still-mounted medium as gone.
 */
export function canonicalMountPoint(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    // Gone, or a FUSE mount whose daemon died (ENOTCONN): the literal path is all there is.
    return absolute;
  }
}

export function findMount(
  mountPoint: string,
  mountsText: string = readFileSync('/proc/mounts', 'utf8'),
): MountEntry | null {
  const wanted = canonicalMountPoint(mountPoint);
  return parseMounts(mountsText).findLast((m) => m.mountPoint === wanted) ?? null;
}

function run(command: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ ok: error === null, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

/** Unmounts the filesystem at mountPoint; returns what the operator should know. */
export async function unmount(path: string): Promise<{ isEjected: boolean; advice: string }> {
  const mountPoint = canonicalMountPoint(path);
  const mount = findMount(mountPoint);
  if (!mount)
    return { isEjected: true, advice: 'The medium is not mounted any more; you can remove it.' };
  await run('sync', ['-f', mountPoint]);
  const attempts: [string, string[]][] = mount.fsType.startsWith('fuse')
    ? [
        ['fusermount', ['-u', mountPoint]],
        ['fusermount3', ['-u', mountPoint]],
      ]
    : [
        ['udisksctl', ['unmount', '-b', mount.device, '--no-user-interaction']],
        ['umount', [mountPoint]],
      ];
  let last = '';
  for (const [command, args] of attempts) {
    const result = await run(command, args);
    if (result.ok && !findMount(mountPoint)) {
      return { isEjected: true, advice: 'Unmounted. You can remove the medium now.' };
    }
    last = result.output;
  }
  return { isEjected: false, advice: `Could not unmount: ${last || 'unknown reason'}` };
}
