// Moving a damaged journal out of the way so Vigil can start again, without deleting anything:
// `journal.jsonl` becomes `journal.jsonl.corrupt-<time>` (and `journal.head` likewise), by a hard
// link and an unlink, so an earlier moved journal of the same name is never replaced.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  unlinkSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDirectory, isErrno } from '../../base/durable-files.ts';
import { headPathOf } from './journal-head.ts';

export interface MovedJournalFiles {
  movedFrom: string;
  /** Null when there was no journal file (only a head anchor). */
  movedTo: string | null;
  headMovedTo: string | null;
  /** SHA-256 of the moved journal; null when it was not a regular file or not there. */
  sha256: string | null;
  sizeBytes: number;
}

/** `20250102T030405Z`: sorts by time, and is a file name on every filesystem. */
function stampOf(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** SHA-256 and size of a regular file, read in chunks (a damaged journal may be huge). */
function hashRegularFile(path: string): { sha256: string | null; sizeBytes: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return { sha256: null, sizeBytes: 0 };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { sha256: null, sizeBytes: 0 };
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(1024 * 1024);
    let sizeBytes = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      hash.update(chunk.subarray(0, read));
      sizeBytes += read;
    }
    return { sha256: hash.digest('hex'), sizeBytes };
  } finally {
    closeSync(fd);
  }
}

/** Gives `path` a new name `<path>.corrupt-<stamp>[-n]` that did not exist; null if no `path`. */
function moveToFreeName(path: string, stamp: string): string | null {
  try {
    lstatSync(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  for (let n = 1; n < 100; n++) {
    const target = `${path}.corrupt-${stamp}${n === 1 ? '' : `-${n}`}`;
    try {
      // SECURITY: link, unlike rename, never replaces a file already there (issue 18: never delete).
      linkSync(path, target);
    } catch (error) {
      if (isErrno(error, 'EEXIST')) continue;
      throw error;
    }
    unlinkSync(path);
    return target;
  }
  throw new Error(`no free name beside ${path}`);
}

/** Moves the journal at `path` and its head anchor aside; the data folder must be locked. */
export function moveJournalAside(path: string, now: Date): MovedJournalFiles {
  const { sha256, sizeBytes } = hashRegularFile(path);
  const stamp = stampOf(now);
  const movedTo = moveToFreeName(path, stamp);
  const headMovedTo = moveToFreeName(headPathOf(path), stamp);
  fsyncDirectory(dirname(path));
  return { movedFrom: path, movedTo, headMovedTo, sha256, sizeBytes };
}
