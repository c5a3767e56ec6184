// Reading folders that strangers publish (`vigil verify`, the Verify view). Inside the folder
// given, nothing is followed and nothing but a regular file is opened: a symbolic link, a named
// pipe, a socket or a device is reported by name and never opened, since a FIFO would hang the
// reader, a link to /dev/zero never ends, and a link to /etc/shadow would be hashed as if it were
// a product. Every walk is bounded in depth and entries, every read in size, and all reads of one
// verification together; hashes are streamed, so a big file is never held in memory.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  opendirSync,
  openSync,
  readSync,
  statSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { KindedError } from './errors.ts';

const MiB = 1024 * 1024;

export interface UntrustedLimits {
  /** Folders below the one given; deeper ones are refused, not descended into. */
  maxDepth: number;
  /** Files, folders and other entries seen in one verification, all walks together. */
  maxEntries: number;
  /** A file read into memory to be parsed (JSON, PEM, DER, text). */
  maxParsedFileBytes: number;
  /** A file only hashed (streamed, never held whole). */
  maxHashedFileBytes: number;
  /** Every byte read or hashed in one verification. */
  maxTotalBytes: number;
}

/** Far above any ceremony folder Vigil or the public archives hold (the largest file: ~1 MiB). */
export const DEFAULT_UNTRUSTED_LIMITS: UntrustedLimits = {
  maxDepth: 16,
  maxEntries: 50_000,
  maxParsedFileBytes: 16 * MiB,
  maxHashedFileBytes: 64 * MiB,
  maxTotalBytes: 1024 * MiB,
};

export type EntryKind =
  | 'file'
  | 'folder'
  | 'symlink'
  | 'fifo'
  | 'socket'
  | 'char-device'
  | 'block-device'
  | 'unknown'
  | 'missing';

const ENTRY_WORDS: Record<EntryKind, string> = {
  file: 'a regular file',
  folder: 'a folder',
  symlink: 'a symbolic link',
  fifo: 'a named pipe (FIFO)',
  socket: 'a socket',
  'char-device': 'a character device',
  'block-device': 'a block device',
  unknown: 'neither a regular file nor a folder',
  missing: 'missing',
};

/** What an entry is, in words: "a named pipe (FIFO)". */
export const entryWords = (kind: EntryKind): string => ENTRY_WORDS[kind];

export type UntrustedReadKind =
  | 'symlink'
  | 'special-file'
  | 'missing'
  | 'wrong-kind'
  | 'outside-folder'
  | 'file-too-large'
  | 'total-too-large'
  | 'too-deep'
  | 'too-many-entries'
  | 'unreadable';

/** Something in an untrusted folder Vigil refused to follow, open or read; the message says why. */
export class UntrustedReadError extends KindedError<UntrustedReadKind> {
  override readonly name = 'UntrustedReadError';

  constructor(
    kind: UntrustedReadKind,
    /** The entry as the report names it (relative to the folder verified where there is one). */
    readonly entry: string,
    message: string,
  ) {
    super(kind, message);
  }
}

/** "1.5 GiB", "64 MiB", "812 bytes". */
export function sizeWords(bytes: number): string {
  if (bytes >= 1024 * MiB) return `${(bytes / (1024 * MiB)).toFixed(1)} GiB`;
  if (bytes >= MiB) return `${Math.round(bytes / MiB)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

/** The error for an entry that is not what was expected, in words that say what to do. */
export function refusalOf(name: string, kind: EntryKind, expected = 'a regular file') {
  switch (kind) {
    case 'symlink':
      return new UntrustedReadError(
        'symlink',
        name,
        `${name} is a symbolic link: refused. Vigil never follows a link inside a folder it verifies (it could point anywhere: /etc/shadow, /dev/zero). Put the file itself there, or remove the link.`,
      );
    case 'missing':
      return new UntrustedReadError('missing', name, `${name} is missing`);
    case 'folder':
      return new UntrustedReadError('wrong-kind', name, `${name} is a folder, not ${expected}`);
    case 'file':
      return new UntrustedReadError('wrong-kind', name, `${name} is a file, not ${expected}`);
    case 'fifo':
    case 'socket':
    case 'char-device':
    case 'block-device':
    case 'unknown':
      return new UntrustedReadError(
        'special-file',
        name,
        `${name} is ${entryWords(kind)}, not ${expected}: refused unopened (reading one can hang or never end). Remove it from the folder.`,
      );
  }
}

export interface ReadProgress {
  filesRead: number;
  bytesRead: number;
  entriesSeen: number;
  /** The file being read, as the report names it. */
  current: string | null;
}

export interface ReadObserver {
  onProgress?(progress: ReadProgress): void;
  /** After each file read or hashed (tests use it to slow a verification down and watch it). */
  afterFile?(): void;
  /**
   * After a file's path is checked and before it is opened: tests swap a folder on the way for a
   * link here, as an attacker racing the reader would.
   */
  beforeOpen?(rel: string): void;
}

/** The budget and counters of one verification: every walk and read in it draws on one budget. */
export class ReadSession {
  filesRead = 0;
  bytesRead = 0;
  entriesSeen = 0;
  current: string | null = null;
  /** Hashes already taken, by path: a record's products are hashed once, not once per check. */
  readonly hashes = new Map<string, { sha256: string; sizeBytes: number }>();

  constructor(
    readonly limits: UntrustedLimits = DEFAULT_UNTRUSTED_LIMITS,
    private readonly observer: ReadObserver = {},
  ) {}

  progress(): ReadProgress {
    return {
      filesRead: this.filesRead,
      bytesRead: this.bytesRead,
      entriesSeen: this.entriesSeen,
      current: this.current,
    };
  }

  notify(): void {
    this.observer.onProgress?.(this.progress());
  }

  countEntry(shownAs: string): void {
    this.entriesSeen += 1;
    if (this.entriesSeen > this.limits.maxEntries)
      throw new UntrustedReadError(
        'too-many-entries',
        shownAs,
        `more than ${this.limits.maxEntries.toLocaleString('en')} files and folders (at ${shownAs}): verification stopped there. No ceremony folder holds that many; verify its device folders one at a time if this one is real.`,
      );
    if (this.entriesSeen % 1000 === 0) this.notify();
  }

  /** Claims `bytes` of the verification's budget before they are read. */
  claim(shownAs: string, bytes: number): void {
    if (this.bytesRead + bytes > this.limits.maxTotalBytes)
      throw new UntrustedReadError(
        'total-too-large',
        shownAs,
        `${shownAs} would take the bytes read in this verification past ${sizeWords(this.limits.maxTotalBytes)}: verification stopped there. A ceremony folder is far smaller; check what else the folder holds.`,
      );
  }

  beforeOpen(rel: string): void {
    this.observer.beforeOpen?.(rel);
  }

  fileDone(): void {
    this.filesRead += 1;
    this.notify();
    this.observer.afterFile?.();
  }
}

const sessions = new AsyncLocalStorage<ReadSession>();

/**
 * Runs `fn` with reads drawing on one budget: `session` when given, else the one already active
 * (a record's products share the record's budget), else a new one with the default limits.
 */
export function inReadSession<T>(fn: () => T, session?: ReadSession): T {
  const active = session ?? sessions.getStore();
  return active !== undefined && active === sessions.getStore()
    ? fn()
    : sessions.run(active ?? new ReadSession(), fn);
}

/** The session reads draw on now (a fresh one outside any). */
const currentSession = (): ReadSession => sessions.getStore() ?? new ReadSession();

function kindOf(entry: Stats | Dirent): EntryKind {
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'folder';
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice()) return 'char-device';
  if (entry.isBlockDevice()) return 'block-device';
  return 'unknown';
}

const errnoOf = (error: unknown): string =>
  error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : 'error';

function unreadable(shownAs: string, error: unknown): UntrustedReadError {
  return new UntrustedReadError(
    'unreadable',
    shownAs,
    `${shownAs} cannot be read (${errnoOf(error)}): check that it exists and that you may read it`,
  );
}

/** What `path` itself is, never following a link. */
export function entryKindAt(path: string): EntryKind {
  try {
    return kindOf(lstatSync(path));
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw unreadable(path, error);
  }
}

/** A folder, and not a link to one. */
export const isFolderAt = (path: string): boolean => entryKindAt(path) === 'folder';
/** A regular file, and not a link to one. */
export const isFileAt = (path: string): boolean => entryKindAt(path) === 'file';
/** Anything at all, a dangling link included. */
export const isEntryAt = (path: string): boolean => entryKindAt(path) !== 'missing';

/**
 * The folder a person named: the one place a link is followed, since they chose it (a mount
 * point is often one). Everything inside is read with the functions below.
 */
export function isNamedFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface FolderEntry {
  name: string;
  kind: EntryKind;
}

/** The entries of one folder, sorted by name, each counted against the session's budget. */
export function listFolder(dir: string, shownAs = dir): FolderEntry[] {
  return listOpenedFolder(dir, shownAs);
}

/**
 * The entries of the folder `rel` below `root`, reached through its opened parents without
 * following a link (see openFolderChain), so a folder swapped for a link is never listed.
 */
function listFolderIn(root: string, rel: string): FolderEntry[] {
  if (!hasProcFd) return listOpenedFolder(rel === '' ? root : join(root, rel), rel);
  const fd = openFolderChain(root, rel === '' ? [] : rel.split('/'));
  try {
    return listOpenedFolder(`/proc/self/fd/${fd}`, rel);
  } finally {
    closeSync(fd);
  }
}

function listOpenedFolder(dir: string, shownAs: string): FolderEntry[] {
  const session = currentSession();
  const entries: FolderEntry[] = [];
  let handle;
  try {
    handle = opendirSync(dir);
  } catch (error) {
    const kind = entryKindAt(dir);
    if (kind !== 'folder') throw refusalOf(shownAs, kind, 'a folder');
    throw unreadable(shownAs, error);
  }
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      session.countEntry(shownAs === '' ? entry.name : `${shownAs}/${entry.name}`);
      let kind = kindOf(entry);
      // Some filesystems do not say what an entry is; lstat does, without following it.
      if (kind === 'unknown') kind = entryKindAt(join(dir, entry.name));
      entries.push({ name: entry.name, kind });
    }
  } finally {
    handle.closeSync();
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** An entry Vigil did not follow or open, by name, with what it is and what to do. */
export interface Refusal {
  name: string;
  kind: UntrustedReadKind;
  /** What the entry is: a link, a pipe, a device, or a folder too deep. */
  entryKind: EntryKind;
  message: string;
}

export interface FolderTree {
  /** Regular files, relative to the root, '/' between folders. */
  files: string[];
  /** Folders (relative) that hold nothing at all. */
  emptyFolders: string[];
  /** Links, pipes, sockets, devices and folders too deep, by name. */
  refused: Refusal[];
}

/** Every regular file below `root`, without following anything; no recursion, bounded depth. */
export function walkFolder(root: string): FolderTree {
  const session = currentSession();
  const tree: FolderTree = { files: [], emptyFolders: [], refused: [] };
  const pending: { rel: string; depth: number }[] = [{ rel: '', depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { rel, depth } = next;
    const entries = listFolderIn(root, rel);
    if (entries.length === 0 && rel !== '') tree.emptyFolders.push(rel);
    const folders: string[] = [];
    for (const entry of entries) {
      const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.kind === 'file') tree.files.push(name);
      else if (entry.kind !== 'folder') {
        const refusal = refusalOf(name, entry.kind);
        tree.refused.push({
          name,
          kind: refusal.kind,
          entryKind: entry.kind,
          message: refusal.message,
        });
      } else if (depth + 1 > session.limits.maxDepth)
        tree.refused.push({
          name,
          kind: 'too-deep',
          entryKind: 'folder',
          message: `${name} is more than ${session.limits.maxDepth} folders deep: not looked into. No ceremony layout is that deep.`,
        });
      else folders.push(name);
    }
    for (const folder of folders.reverse()) pending.push({ rel: folder, depth: depth + 1 });
  }
  tree.files.sort();
  return tree;
}

/**
 * Opens `rel` under `root` for reading: every folder on the way must be a folder (not a link),
 * the file itself a regular file, opened with O_NOFOLLOW and O_NONBLOCK and checked again with
 * fstat, so a file swapped for a link or a pipe in between is still refused, never waited on.
 */
const hasProcFd = existsSync('/proc/self/fd');
const FOLDER_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Opens the folders of `folders` one by one from `root`, each through the one before it
 * (/proc/self/fd/<fd>/<name>, which starts at exactly that opened folder) and with O_NOFOLLOW, so
 * a folder swapped for a link after it was checked is refused, not followed: the lookup and the
 * open are one. Returns the last folder's descriptor (the root's when `folders` is empty).
 */
function openFolderChain(root: string, folders: readonly string[]): number {
  let fd: number;
  try {
    fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (error) {
    throw unreadable(root, error);
  }
  for (let i = 0; i < folders.length; i += 1) {
    let next: number;
    try {
      next = openSync(`/proc/self/fd/${fd}/${folders[i]}`, FOLDER_FLAGS);
    } catch (error) {
      const code = errnoOf(error);
      const shownAs = folders.slice(0, i + 1).join('/');
      closeSync(fd);
      if (code === 'ELOOP') throw refusalOf(shownAs, 'symlink', 'a folder');
      if (code === 'ENOTDIR')
        throw refusalOf(shownAs, entryKindAt(join(root, shownAs)), 'a folder');
      throw unreadable(shownAs, error);
    }
    closeSync(fd);
    fd = next;
  }
  return fd;
}

function openRegularFile(root: string, rel: string): { fd: number; size: number } {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..'))
    throw new UntrustedReadError(
      'outside-folder',
      rel,
      `${rel} is not a plain name inside the folder: refused`,
    );
  for (let i = 1; i < parts.length; i += 1) {
    const folder = parts.slice(0, i).join('/');
    const kind = entryKindAt(join(root, folder));
    if (kind !== 'folder') throw refusalOf(folder, kind, 'a folder');
  }
  const path = join(root, rel);
  const kind = entryKindAt(path);
  if (kind !== 'file') throw refusalOf(rel, kind);
  currentSession().beforeOpen(rel);
  // SECURITY: the folders on the way are opened one by one without following a link (a folder
  // swapped for a link since the checks above is refused); O_NOFOLLOW refuses the file swapped
  // for a link; O_NONBLOCK keeps a pipe put there from blocking the open; O_NOCTTY keeps a
  // terminal from becoming ours.
  const fileFlags =
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
  let fd: number;
  if (hasProcFd) {
    const folder = openFolderChain(root, parts.slice(0, -1));
    try {
      fd = openSync(`/proc/self/fd/${folder}/${parts.at(-1) ?? ''}`, fileFlags);
    } catch (error) {
      if (errnoOf(error) === 'ELOOP') throw refusalOf(rel, 'symlink');
      throw unreadable(rel, error);
    } finally {
      closeSync(folder);
    }
  } else {
    try {
      fd = openSync(path, fileFlags);
    } catch (error) {
      if (errnoOf(error) === 'ELOOP') throw refusalOf(rel, 'symlink');
      throw unreadable(rel, error);
    }
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw refusalOf(rel, kindOf(stats));
  }
  return { fd, size: stats.size };
}

function tooLarge(rel: string, size: number, cap: number, what: string): UntrustedReadError {
  return new UntrustedReadError(
    'file-too-large',
    rel,
    `${rel} is ${size > cap ? sizeWords(size) : 'growing'}, over the ${sizeWords(cap)} ${what}: not read. Ceremony files are small; remove it, or check where it came from.`,
  );
}

/** A regular file's bytes, to be parsed: at most the session's parse limit (or `maxBytes`). */
export function readFileIn(root: string, rel: string, maxBytes?: number): Uint8Array {
  const session = currentSession();
  const cap = Math.min(maxBytes ?? session.limits.maxParsedFileBytes, session.limits.maxTotalBytes);
  const { fd, size } = openRegularFile(root, rel);
  try {
    if (size > cap) throw tooLarge(rel, size, cap, 'a file read for its content may be');
    session.claim(rel, size);
    session.current = rel;
    // One byte more than stat said: a file that grows while being read is caught, not followed.
    const bytes = new Uint8Array(size + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, bytes, length, bytes.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > size) throw tooLarge(rel, size + 1, size, 'it had when opened');
    }
    session.bytesRead += length;
    return bytes.subarray(0, length);
  } finally {
    closeSync(fd);
    session.fileDone();
  }
}

const HASH_CHUNK_BYTES = MiB;

/**
 * A regular file's SHA-256, streamed: never more than 1 MiB of it in memory, and each file read
 * once per verification however many checks ask.
 */
export function hashFileIn(root: string, rel: string): { sha256: string; sizeBytes: number } {
  const session = currentSession();
  const known = session.hashes.get(join(root, rel));
  if (known !== undefined) return known;
  const cap = session.limits.maxHashedFileBytes;
  const { fd, size } = openRegularFile(root, rel);
  try {
    if (size > cap) throw tooLarge(rel, size, cap, 'a ceremony file may be');
    session.claim(rel, size);
    session.current = rel;
    const hash = createHash('sha256');
    const chunk = new Uint8Array(Math.min(HASH_CHUNK_BYTES, size + 1));
    let total = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > size) throw tooLarge(rel, total, size, 'it had when opened');
      hash.update(chunk.subarray(0, n));
      session.bytesRead += n;
      if (total % (16 * MiB) < n) session.notify();
    }
    const hashed = { sha256: hash.digest('hex'), sizeBytes: total };
    session.hashes.set(join(root, rel), hashed);
    return hashed;
  } finally {
    closeSync(fd);
    session.fileDone();
  }
}

/**
 * A file a person chose (a witness key, a root.json): a link is followed, as they named it, but
 * only a regular file is read, without blocking, and at most `maxBytes` of it.
 */
export function readNamedFile(path: string, maxBytes = MiB): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw refusalOf(path, kindOf(stats));
    if (stats.size > maxBytes) throw tooLarge(path, stats.size, maxBytes, 'such a file may be');
    const bytes = new Uint8Array(stats.size + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, bytes, length, bytes.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > stats.size) throw tooLarge(path, length, stats.size, 'it had when opened');
    }
    return bytes.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}
