// The journal's head anchor: `journal.head` beside `journal.jsonl` names the last acknowledged
// entry (its seq and hash). It is replaced atomically after every append has been fsynced, so it
// is never ahead of the journal: a journal that ends before the entry its head names lost
// acknowledged entries (cut with `head -n`, restored from an old copy, a final newline edited
// away) and is refused as truncated. It guards against accidents, not against someone who can
// rewrite the whole data folder: they could rewrite the head as well.
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { VigilError } from '../../base/errors.ts';
import { fsyncDirectory, writeFileDurably } from '../../base/durable-files.ts';

export interface JournalHead {
  /** The last acknowledged entry's seq; -1 for a journal with no entry yet. */
  seq: number;
  hash: string;
}

const MAX_HEAD_BYTES = 4096;
const HEX_64 = /^[0-9a-f]{64}$/;

/** `<dir>/journal.jsonl` → `<dir>/journal.head`. */
export function headPathOf(journalPath: string): string {
  return join(dirname(journalPath), `${basename(journalPath).replace(/\.jsonl$/, '')}.head`);
}

function damaged(path: string, reason: string): VigilError {
  return new VigilError(
    'journal-corrupt',
    `${path} (the journal's head anchor) ${reason}; Vigil writes it whole or not at all.`,
    { path },
  );
}

/** The head anchor, null when there is none (a new journal, or one an older Vigil wrote). */
export function readJournalHead(path: string): JournalHead | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw damaged(path, 'cannot be opened as a regular file');
  }
  let text: string;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw damaged(path, 'is not a regular file');
    if (stat.size > MAX_HEAD_BYTES) throw damaged(path, `is larger than ${MAX_HEAD_BYTES} bytes`);
    const bytes = Buffer.alloc(stat.size);
    const read = readSync(fd, bytes, 0, bytes.length, 0);
    text = bytes.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(path, 'is not JSON');
  }
  const head = value as Partial<Record<string, unknown>> | null;
  if (
    typeof head !== 'object' ||
    head === null ||
    head.v !== 1 ||
    typeof head.seq !== 'number' ||
    !Number.isSafeInteger(head.seq) ||
    head.seq < -1 ||
    typeof head.hash !== 'string' ||
    !HEX_64.test(head.hash)
  ) {
    throw damaged(path, 'is not in the form {v: 1, seq, hash}');
  }
  return { seq: head.seq, hash: head.hash };
}

/**
 * Replaces the head: a fsynced partial file renamed over it. The folder is fsynced only when the
 * head is new: a rename lost to a power cut leaves the previous head, which is behind the journal,
 * and a head behind is accepted (the next append or open moves it on).
 */
export function writeJournalHead(path: string, head: JournalHead, isNew = false): void {
  const partial = join(dirname(path), `.${basename(path)}.vigil-partial`);
  // SECURITY: a leftover or planted partial (a symlink included) is removed, then created with
  // O_EXCL, which never follows a link.
  rmSync(partial, { force: true });
  writeFileDurably(
    partial,
    Buffer.from(JSON.stringify({ v: 1, seq: head.seq, hash: head.hash }) + '\n'),
    { mode: 0o600, flag: 'wx' },
  );
  renameSync(partial, path);
  if (isNew) fsyncDirectory(dirname(path));
}
