// Durability helpers shared by the journal and the media export.
import { closeSync, fsyncSync, openSync } from 'node:fs';

export function fsyncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } catch (error) {
    // Some FUSE filesystems do not implement directory fsync; the data fsync still happened.
    if (!isErrno(error, 'EINVAL') && !isErrno(error, 'ENOTSUP') && !isErrno(error, 'ENOSYS'))
      throw error;
  } finally {
    closeSync(fd);
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
