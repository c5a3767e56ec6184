// Durability helpers shared by the journal, the media export, ceremony records and rehearsal
// device state.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Writes and fsyncs a file; `wx` (the default) refuses to replace one that exists. */
export function writeFileDurably(
  path: string,
  bytes: Uint8Array,
  options: { mode?: number; flag?: 'wx' | 'w' } = {},
): void {
  const fd = openSync(path, options.flag ?? 'wx', options.mode ?? 0o644);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` atomically: a fsynced partial file renamed over it, then the folder fsynced. */
export function replaceFileDurably(path: string, bytes: Uint8Array, mode = 0o644): void {
  const partial = join(dirname(path), `.${path.split('/').at(-1) ?? 'file'}.vigil-partial`);
  // SECURITY: a leftover or planted partial (a symlink included) is removed, then created with
  // O_EXCL, which never follows a link: the bytes cannot be redirected elsewhere.
  rmSync(partial, { force: true });
  writeFileDurably(partial, bytes, { mode, flag: 'wx' });
  renameSync(partial, path);
  fsyncDirectory(dirname(path));
}

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
