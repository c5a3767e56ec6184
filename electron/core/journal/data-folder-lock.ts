// One Vigil process per data folder (and per `vigil run` work folder), for the life of the process.
// Node has no flock, so the lock is a file, `vigil.lock`, that names its holder: pid, the pid's
// start time from /proc/<pid>/stat, the boot, the host, when and by which command it was taken.
// It appears whole or not at all (written to a private name, fsynced, then hard-linked into
// place, which fails if a lock is there). A lock is stale only when its holder is provably gone:
// the same host, and another boot, or no such pid, or a pid that started at another time (reused).
// A live holder's lock is never removed, and one on another host is never judged.
import { randomBytes } from 'node:crypto';
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { VigilError } from '../../base/errors.ts';
import { fsyncDirectory, isErrno, writeFileDurably } from '../../base/durable-files.ts';

export const LOCK_FILE = 'vigil.lock';
const MAX_LOCK_BYTES = 4096;

/** Who holds a data folder, as written in its lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id; null where there is none. */
  bootId: string | null;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); null where there is none. */
  startTicks: string | null;
  /** When the lock was taken (ISO 8601). */
  startedAt: string;
  command: string;
  /** Makes every lock's text unique, so a lock moved aside is recognised as the one judged. */
  nonce: string;
}

type ProcessState = { state: string; startTicks: string } | null;

/** What /proc says about a pid: its state letter and start time, or null when there is none. */
export function processState(pid: number): ProcessState | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ESRCH')) return null;
    return undefined; // no /proc: not Linux
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses; the fields follow the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = fields[19];
  if (state === undefined || startTicks === undefined) return undefined;
  return { state, startTicks };
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function describeHolder(holder: LockHolder): string {
  return `process ${holder.pid} on ${holder.host}, running since ${holder.startedAt}: ${holder.command}`;
}

function parseHolder(text: string): LockHolder | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const v = value as Partial<Record<keyof LockHolder, unknown>> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.pid !== 'number' ||
    !Number.isSafeInteger(v.pid) ||
    v.pid <= 0 ||
    typeof v.host !== 'string'
  ) {
    return null;
  }
  const text_ = (x: unknown, max = 300) => (typeof x === 'string' ? x.slice(0, max) : null);
  return {
    pid: v.pid,
    host: v.host.slice(0, 255),
    bootId: text_(v.bootId, 64),
    startTicks: text_(v.startTicks, 32),
    startedAt: text_(v.startedAt, 64) ?? 'an unknown time',
    command: text_(v.command) ?? 'an unknown command',
    nonce: text_(v.nonce, 64) ?? '',
  };
}

/**
 * Whether the holder is certainly gone ('stale'), alive or possibly alive here ('alive'), or on
 * another computer, where Vigil cannot look ('elsewhere').
 */
export function judgeHolder(holder: LockHolder): 'stale' | 'alive' | 'elsewhere' {
  if (holder.host !== hostname()) return 'elsewhere';
  const boot = bootId();
  if (boot !== null && holder.bootId !== null && boot !== holder.bootId) return 'stale';
  const state = processState(holder.pid);
  if (state === undefined) {
    // No /proc: ask the kernel whether the pid exists (EPERM: it does, another user's).
    try {
      process.kill(holder.pid, 0);
      return 'alive';
    } catch (error) {
      return isErrno(error, 'ESRCH') ? 'stale' : 'alive';
    }
  }
  if (state === null) return 'stale';
  // A zombie has exited: it only waits for its parent to read its status.
  if (state.state === 'Z' || state.state === 'X') return 'stale';
  if (holder.startTicks !== null && holder.startTicks !== state.startTicks) return 'stale';
  return 'alive';
}

function inUse(folder: string, lockPath: string, holder: LockHolder, isElsewhere: boolean) {
  const what = isElsewhere
    ? `It was locked on another computer (${holder.host}) by ${describeHolder(holder)}. Vigil cannot see whether that process still runs: if it does not, delete ${lockPath} and try again.`
    : holder.pid === process.pid
      ? `This Vigil process already has it open (${describeHolder(holder)}).`
      : `It is in use by ${describeHolder(holder)}. Let that Vigil finish, or close it, then try again; Vigil never shares a folder with a running Vigil.`;
  return new VigilError('data-folder-in-use', `${folder} is locked. ${what}`, {
    path: lockPath,
    holderPid: holder.pid,
    holderHost: holder.host,
    holderStartedAt: holder.startedAt,
    holderCommand: holder.command,
  });
}

/** The lock a process holds on a folder; `release()` removes it, and only if it is still ours. */
export class DataFolderLock {
  readonly folder: string;
  readonly path: string;
  readonly holder: LockHolder;
  readonly #text: string;
  #isReleased = false;

  private constructor(folder: string, holder: LockHolder, text: string) {
    this.folder = folder;
    this.path = join(folder, LOCK_FILE);
    this.holder = holder;
    this.#text = text;
  }

  /**
   * Takes the folder's lock (creating the folder), or throws `data-folder-in-use` naming the
   * holder. A stale lock (its process gone) is taken over; a live one is never touched.
   */
  static acquire(
    folder: string,
    options: { command?: string; now?: () => Date } = {},
  ): DataFolderLock {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const lockPath = join(folder, LOCK_FILE);
    const own = processState(process.pid);
    const holder: LockHolder = {
      pid: process.pid,
      host: hostname(),
      bootId: bootId(),
      startTicks: own ? own.startTicks : null,
      startedAt: (options.now?.() ?? new Date()).toISOString(),
      command: (options.command ?? defaultCommand()).slice(0, 300),
      nonce: randomBytes(12).toString('hex'),
    };
    const text = JSON.stringify({ v: 1, ...holder }) + '\n';
    // SECURITY: the lock appears whole (link of a fsynced file), so a reader never sees a
    // half-written holder and mistakes it for a stale one.
    const candidate = join(folder, `.${LOCK_FILE}.${process.pid}.${holder.nonce}`);
    writeFileDurably(candidate, Buffer.from(text), { mode: 0o600, flag: 'wx' });
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        try {
          linkSync(candidate, lockPath);
          fsyncDirectory(folder);
          return new DataFolderLock(folder, holder, text);
        } catch (error) {
          if (!isErrno(error, 'EEXIST')) throw error;
        }
        const seen = readLock(lockPath);
        if (seen === null) continue; // released meanwhile: try again
        if (!seen.isRegular) {
          throw new VigilError(
            'data-folder-in-use',
            `${lockPath} is not a lock file Vigil wrote (not a regular file, or too large). Move it away, then try again.`,
            { path: lockPath },
          );
        }
        const verdict = seen.holder ? judgeHolder(seen.holder) : 'stale';
        if (verdict !== 'stale' && seen.holder) {
          throw inUse(folder, lockPath, seen.holder, verdict === 'elsewhere');
        }
        breakStaleLock(folder, lockPath, seen.text);
      }
      throw new VigilError(
        'data-folder-in-use',
        `${folder} is locked: several Vigil processes are starting on it at once. Start one.`,
        { path: lockPath },
      );
    } finally {
      rmSync(candidate, { force: true });
    }
  }

  /** Whether the lock file is still this lock: the same text, nonce included (an inode number
   * can be reused the moment a file is deleted). */
  #isStillOurs(): boolean {
    if (this.#isReleased) return false;
    try {
      return readLock(this.path)?.text === this.#text;
    } catch {
      return false;
    }
  }

  /** Throws `data-folder-in-use` when the lock file is no longer this lock (removed or replaced). */
  assertHeld(): void {
    if (this.#isStillOurs()) return;
    throw new VigilError(
      'data-folder-in-use',
      `Vigil no longer holds the lock on ${this.folder} (${this.path} was removed or replaced), so it stops rather than write beside another process.`,
      { path: this.path },
    );
  }

  /** Removes the lock file if it is still this lock; never another process's. Idempotent. */
  release(): void {
    if (this.#isStillOurs()) rmSync(this.path, { force: true });
    this.#isReleased = true;
  }
}

function defaultCommand(): string {
  return [basename(process.argv[1] ?? process.argv0), ...process.argv.slice(2)].join(' ');
}

function readLock(
  lockPath: string,
): { text: string; holder: LockHolder | null; isRegular: boolean } | null {
  let stats: Stats;
  try {
    stats = lstatSync(lockPath);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  // Never opened: a FIFO would block, a symlink could point anywhere.
  if (!stats.isFile() || stats.size > MAX_LOCK_BYTES) {
    return { text: '', holder: null, isRegular: false };
  }
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
  return { text, holder: parseHolder(text), isRegular: true };
}

/**
 * Moves a stale lock out of the way. Another process may have replaced it between our read and
 * the rename: then what was moved is not what we judged, and it is put back, never deleted.
 */
function breakStaleLock(folder: string, lockPath: string, judgedText: string): void {
  const aside = join(
    folder,
    `.${LOCK_FILE}.stale-${process.pid}-${randomBytes(6).toString('hex')}`,
  );
  try {
    renameSync(lockPath, aside);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  const moved = readLock(aside);
  if (moved === null || moved.text === judgedText) {
    rmSync(aside, { force: true });
    return;
  }
  try {
    linkSync(aside, lockPath);
    rmSync(aside, { force: true });
  } catch {
    // A third process took the folder meanwhile: the lock we moved stays beside it under its
    // aside name, and its holder stops at its next journal entry (assertHeld).
  }
}
