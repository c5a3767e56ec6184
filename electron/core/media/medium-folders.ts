// Folders on a medium, opened one component at a time without following links. A medium is
// hostile input: a stick prepared with `ceremony-products -> /home/someone` must not redirect an
// export. Each folder is lstat'ed, opened with O_DIRECTORY|O_NOFOLLOW and kept open; later file
// operations go through /proc/self/fd/<fd>/<name>, which starts at exactly the opened folder (what
// openat does in C; Node has no openat), so a component swapped after the check changes nothing.
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  readlinkSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import { VigilError } from '../../base/errors.ts';
import { isErrno } from '../../base/durable-files.ts';

const FOLDER_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

// Linux (every ceremony machine) has it; elsewhere each operation re-walks the checked path.
const hasProcFd = existsSync('/proc/self/fd');

/** A name from the medium as it may be shown: control characters and quotes escaped (JSON). */
export function shownName(name: string): string {
  return /^[\w.~@+=,:/ -]*$/.test(name) ? name : JSON.stringify(name);
}

/** A folder of the medium, held open: `at(name)` names an entry inside exactly this folder. */
export class MediumFolder {
  private constructor(
    readonly fd: number,
    /** The path this folder was reached by: medium root + `relativePath`. */
    readonly path: string,
    /** Relative to the medium root ('' for the root): what messages and the journal name. */
    readonly relativePath: string,
    readonly dev: number,
    readonly ino: number,
  ) {}

  at(name: string): string {
    return hasProcFd ? `/proc/self/fd/${this.fd}/${name}` : join(this.path, name);
  }

  /** True when the folder no longer answers (medium removed): an ENOENT inside then proves nothing. */
  isGone(): boolean {
    try {
      lstatSync(this.at('.'));
      return false;
    } catch {
      return true;
    }
  }

  /** Where the folder actually is, as the kernel resolves the open descriptor. */
  realPath(): string {
    return realpathSync(hasProcFd ? `/proc/self/fd/${this.fd}` : this.path);
  }

  sync(): void {
    try {
      fsyncSync(this.fd);
    } catch (error) {
      // Some FUSE filesystems do not implement directory fsync; the data fsync still happened.
      if (!isErrno(error, 'EINVAL') && !isErrno(error, 'ENOTSUP') && !isErrno(error, 'ENOSYS'))
        throw error;
    }
  }

  #isClosed = false;

  /** Closes the descriptor once: a second close could close a number reused meanwhile. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    try {
      closeSync(this.fd);
    } catch {
      // The medium is gone with it.
    }
  }

  /**
   * The medium root. It was resolved when the medium was chosen (a link the operator named is
   * followed then, and the real path journalled); a root that has become a link since is refused.
   */
  static openRoot(root: string): MediumFolder {
    let stats: Stats;
    try {
      stats = lstatSync(root);
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR'))
        throw new VigilError('media-not-found', 'The medium is no longer mounted.', { root });
      throw error;
    }
    if (stats.isSymbolicLink()) {
      throw new VigilError(
        'media-path-refused',
        `The medium folder ${shownName(root)} has become a symbolic link since it was chosen. Vigil writes only into the folder that was chosen: choose the medium again.`,
        { root, component: '.' },
      );
    }
    if (!stats.isDirectory())
      throw new VigilError('media-not-found', 'The medium is no longer mounted.', { root });
    return MediumFolder.#open(root, root, '', stats, null);
  }

  /**
   * The folder `name` inside this one, created with `mode` when absent and `mode` is given; null
   * when absent and not to be created. Anything but a real folder on the same filesystem — a
   * symbolic link, a file, a device, a mount of something else — is refused by name.
   */
  child(
    name: string,
    mode: number | null,
    onCreated: () => void = () => {},
  ): { folder: MediumFolder; isCreated: boolean } | null {
    const relativePath = this.relativePath === '' ? name : `${this.relativePath}/${name}`;
    let stats = lstatOrNull(this.at(name));
    let isCreated = false;
    if (stats === null) {
      if (mode === null) return null;
      try {
        mkdirSync(this.at(name), { mode });
        isCreated = true;
        onCreated();
      } catch (error) {
        // fusefat can create the folder and still answer EPERM when the volume is full: it is
        // this export's all the same, to be removed with the rest.
        if (!isErrno(error, 'EEXIST') && !isCreated) {
          if (lstatOrNull(this.at(name))?.isDirectory() === true) onCreated();
          throw error;
        }
        // Otherwise made by someone else meanwhile: checked below like any existing entry.
      }
      stats = lstatSync(this.at(name));
    }
    const folder = MediumFolder.#open(
      this.at(name),
      join(this.path, name),
      relativePath,
      stats,
      this.dev,
    );
    return { folder, isCreated };
  }

  static #open(
    openPath: string,
    path: string,
    relativePath: string,
    stats: Stats,
    dev: number | null,
  ): MediumFolder {
    if (!stats.isDirectory()) throw pathRefused(openPath, relativePath, stats);
    let fd: number;
    try {
      // SECURITY: O_NOFOLLOW|O_DIRECTORY: a link swapped in after the lstat fails here (ELOOP,
      // ENOTDIR) instead of being followed out of the medium.
      fd = openSync(openPath, FOLDER_FLAGS);
    } catch (error) {
      if (isErrno(error, 'ELOOP') || isErrno(error, 'ENOTDIR'))
        throw pathRefused(openPath, relativePath, lstatOrNull(openPath));
      throw error;
    }
    const opened = fstatSync(fd);
    // SECURITY: the folder opened is the one checked, and on the medium's own filesystem.
    if (
      opened.ino !== stats.ino ||
      opened.dev !== stats.dev ||
      (dev !== null && dev !== opened.dev)
    ) {
      closeSync(fd);
      throw new VigilError(
        'media-path-refused',
        `${shownName(relativePath)} on the medium is not a folder of the medium itself (it changed while Vigil checked it, or another filesystem is mounted there). Check the medium, then export again.`,
        { component: relativePath },
      );
    }
    return new MediumFolder(fd, path, relativePath, opened.dev, opened.ino);
  }

  /**
   * True when `rootPath` + `relative` (by default the path this folder was reached by) still
   * leads, without any link, to this very folder: checked again after writing, before the export
   * is reported as done, and before a folder this export made is removed by its name.
   */
  isStillAt(rootPath: string, relativePath = this.relativePath): boolean {
    let path = rootPath;
    const segments = relativePath === '' ? [] : relativePath.split('/');
    for (const segment of ['', ...segments]) {
      path = segment === '' ? path : join(path, segment);
      const stats = lstatOrNull(path);
      if (stats === null || !stats.isDirectory()) return false;
    }
    const stats = lstatOrNull(path);
    return stats !== null && stats.dev === this.dev && stats.ino === this.ino;
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
}

function kindOf(stats: Stats | null, openPath: string): string {
  if (stats === null) return 'gone';
  if (stats.isSymbolicLink()) {
    let target = '';
    try {
      target = readlinkSync(openPath);
    } catch {
      // Unreadable link: named without its target.
    }
    return `a symbolic link${target === '' ? '' : ` (to ${shownName(target)})`}`;
  }
  if (stats.isFile()) return 'a file';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'a device file';
  return 'not a folder';
}

function pathRefused(
  openPath: string,
  relativePath: string,
  stats: Stats | null,
  expected: 'a folder' | 'a file' = 'a folder',
): VigilError {
  const shown = shownName(relativePath);
  return new VigilError(
    'media-path-refused',
    `${shown} on the medium is ${kindOf(stats, openPath)}, not ${expected}. Vigil writes only into real folders of the medium and never follows a link out of it: remove or rename ${shown} on the medium (or use another medium), then export again.`,
    { component: relativePath },
  );
}

/** What a file of the medium holds, read without following a link; null when it is absent. */
export interface MediumFileRead {
  sizeBytes: number;
  /** Null when the file is larger than the reader's limit: it was not read. */
  bytes: Buffer | null;
}

export function readMediumFile(
  folder: MediumFolder,
  name: string,
  maxBytes: number,
): MediumFileRead | null {
  let fd: number;
  try {
    // SECURITY: O_NOFOLLOW, and O_NONBLOCK so a named pipe cannot hang the open (it is refused).
    fd = openSync(folder.at(name), FILE_FLAGS);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    if (isErrno(error, 'ELOOP') || isErrno(error, 'ENXIO')) throw notAFile(folder, name);
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notAFile(folder, name);
    if (stats.size > maxBytes) return { sizeBytes: stats.size, bytes: null };
    // One byte more than it claims: a file that grows while it is read is noticed.
    const bytes = Buffer.alloc(stats.size + 1);
    let offset = 0;
    while (offset < bytes.length) {
      const read = readSync(fd, bytes, offset, bytes.length - offset, null);
      if (read === 0) break;
      offset += read;
    }
    return { sizeBytes: offset, bytes: offset > maxBytes ? null : bytes.subarray(0, offset) };
  } finally {
    closeSync(fd);
  }
}

function notAFile(folder: MediumFolder, name: string): VigilError {
  const relativePath = folder.relativePath === '' ? name : `${folder.relativePath}/${name}`;
  return pathRefused(folder.at(name), relativePath, lstatOrNull(folder.at(name)), 'a file');
}

/** `folder` (relative, '/'-separated) split into its segments, or null if any is unsafe. */
export function safeSegments(folder: string): string[] | null {
  const segments = folder.split('/');
  const isSafe = segments.every(
    (s) => s.length > 0 && s !== '.' && s !== '..' && !s.includes('\\') && !s.includes('\0'),
  );
  return isSafe ? segments : null;
}

/** True when `path` is `root` or inside it. */
export function isInside(root: string, path: string): boolean {
  const inside = relative(root, path);
  return (
    inside === '' || (!inside.startsWith(`..${sep}`) && inside !== '..' && !inside.startsWith(sep))
  );
}
