// Writing products to removable media: temp name, fsync, rename, fsync the folder, then read every
// file back and compare its SHA-256. Manifest last. Every folder on the way is a real folder of the
// medium, opened without following links (medium-folders.ts). On any failure exactly what this
// export wrote is removed again; what cannot be removed (a medium turned read-only) is named.
import { execFile } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { mediaErrorCodes, type MediaErrorCode } from '../../../shared/contract/error-codes.ts';
import { sha256Hex } from '../../formats/fingerprint.ts';
import { VigilError } from '../../base/errors.ts';
import { isErrno } from '../../base/durable-files.ts';
import { MANIFEST_FILE, PRODUCTS_FOLDER, type ProductFile } from '../products/token-products.ts';
import {
  isInside,
  MediumFolder,
  readMediumFile,
  safeSegments,
  shownName,
} from './medium-folders.ts';

export interface ExportedFile {
  name: string;
  sha256: string;
  sizeBytes: number;
}

export interface ExportRequest {
  /** The mount point or folder the user chose (its real path, resolved when it was chosen). */
  root: string;
  /** Folder below root, e.g. ceremony-products/<serial>. */
  folder: string;
  /** Names relative to `folder`; a name with '/' lands in a subfolder this export creates. */
  files: readonly ProductFile[];
  isRehearsal: boolean;
  /** Written last, so its presence on the medium means "export complete" (default manifest.json). */
  completionFile?: string;
  /**
   * Secret material (a key backup): files 0600 and the folders this export creates 0700, so only
   * the owner reads them where the filesystem keeps permissions. Public products: 0644 and 0755.
   */
  isSecret?: boolean;
  /** Called once each file is in place (renamed, its folder fsynced), before the next one. */
  onFileWritten?: (name: string) => void;
}

export interface ExportOutcome {
  /** The real path of the folder written (resolved from the open folder, inside the medium). */
  destination: string;
  files: ExportedFile[];
  /**
   * Files of this very export an earlier, failed attempt had left, found byte for byte identical
   * and kept: the export finished around them.
   */
  found: string[];
}

/** A failed export, with exactly what of it remains on the medium (empty: nothing). */
export class MediaExportError extends VigilError {
  constructor(
    code: MediaErrorCode,
    message: string,
    context: Record<string, string | number | boolean | null>,
    /** Paths relative to the medium root; folders end in '/'. */
    readonly remaining: readonly string[],
  ) {
    super(code, message, context);
  }
}

// ENOTCONN and ECONNABORTED: a FUSE driver (fusefat, exfat-fuse) that died with the medium.
const removedCodes = [
  'ENOENT',
  'EIO',
  'ENODEV',
  'ENXIO',
  'ENOTCONN',
  'ECONNABORTED',
  'ESTALE',
  'EBADF',
];

/** What the export knew when an error came: lets an ambiguous errno be read correctly. */
export interface FailureEvidence {
  /** The filesystem reported its size and no free block (checked before any clean-up). */
  isKnownFull?: boolean;
  /** This export already created a folder or file on the medium, so it was writable. */
  hasWritten?: boolean;
}

/** errno → the contract's media error code. */
export function mediaErrorFor(error: unknown, evidence: FailureEvidence = {}): MediaErrorCode {
  if (error instanceof VigilError && isMediaErrorCode(error.code)) return error.code;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') return 'media-full';
  if (code === 'EROFS') return 'media-read-only';
  if (code === 'EPERM' || code === 'EACCES') {
    // fusefat answers EPERM, not ENOSPC, when it runs out of clusters. Once this export has
    // created something in its own folder, permission was already granted: a refusal now is space.
    return evidence.isKnownFull === true || evidence.hasWritten === true
      ? 'media-full'
      : 'media-read-only';
  }
  if (code === 'EEXIST') return 'products-exist';
  if (removedCodes.includes(code)) return 'media-removed';
  return 'media-io-error';
}

function isMediaErrorCode(code: string): code is MediaErrorCode {
  return (mediaErrorCodes as readonly string[]).includes(code);
}

const mediaMessages: Record<MediaErrorCode, string> = {
  'media-full': 'The medium is full.',
  'media-read-only': 'The medium is read-only (check its write-protect switch).',
  'media-removed': 'The medium was removed or stopped answering during the export.',
  'products-exist': 'Products for this device already exist on the medium; Vigil never overwrites.',
  'media-io-error': 'The medium reported an input/output error.',
  'media-not-found': 'The medium is no longer mounted.',
  'media-not-removable': 'This is not a removable medium.',
  'media-path-refused': 'A folder on the way to the products is not a real folder of the medium.',
  'read-back-mismatch': 'A file read back from the medium differs from what was written.',
  'eject-failed': 'The medium could not be unmounted.',
  'no-folder-picked': 'No folder was picked.',
  'no-file-picked': 'No file was picked.',
  'rehearsal-mix-refused': 'The medium holds products of the other kind (rehearsal vs production).',
};

/** True only when the filesystem reports its size and no free block (fusefat reports no size). */
function isKnownFull(root: string): boolean {
  try {
    const stats = statfsSync(root);
    return stats.blocks > 0 && stats.bavail === 0;
  } catch {
    return false;
  }
}

type ExportPhase = 'check' | 'create-folder' | 'write' | 'read-back' | 'check-again';

/** Where the export was when it failed: kept in the error so the journal says how far it got. */
interface ExportStep {
  phase: ExportPhase;
  file: string;
}

/**
 * At most `max` names (each already shown safely), then how many more: messages stay readable,
 * the journal has them all.
 */
function listed(names: readonly string[], max = 12): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** Where ceremony records (transcript, journal, attestation, products) go on a medium. */
export const RECORDS_FOLDER = 'vigil-records';

/** A marker file of another export is read to this size at most. */
const MAX_MARKER_BYTES = 1 << 20;

/** Refuses to put rehearsal and production products (or records) on one medium. */
function checkNoRehearsalMix(medium: MediumFolder, isRehearsal: boolean): void {
  const marked = [
    { folder: PRODUCTS_FOLDER, file: MANIFEST_FILE },
    { folder: RECORDS_FOLDER, file: 'transcript.json' },
  ];
  for (const { folder, file } of marked) {
    const parent = medium.child(folder, null)?.folder;
    if (!parent) continue;
    try {
      for (const entry of readdirSync(parent.at('.'), { withFileTypes: true })) {
        // Dirent types come from lstat: a link to a folder elsewhere is not one of the medium's.
        if (!entry.isDirectory()) continue;
        const other = parent.child(entry.name, null)?.folder;
        if (!other) continue;
        let marking: unknown;
        try {
          const marker = readMediumFile(other, file, MAX_MARKER_BYTES);
          if (marker === null) continue;
          marking =
            marker.bytes === null
              ? undefined
              : (JSON.parse(marker.bytes.toString('utf8')) as { rehearsal?: unknown } | null)
                  ?.rehearsal;
        } catch (error) {
          if (error instanceof VigilError) throw error;
          marking = undefined;
        } finally {
          other.close();
        }
        if (marking !== isRehearsal) {
          throw new VigilError('rehearsal-mix-refused', mediaMessages['rehearsal-mix-refused'], {
            existing: `${folder}/${entry.name}`,
          });
        }
      }
    } finally {
      parent.close();
    }
  }
}

export function syncFilesystem(path: string): Promise<void> {
  return new Promise((resolve) => {
    // fsync already made each file durable; `sync -f` flushes the rest of the filesystem too.
    execFile('sync', ['-f', path], { timeout: 60_000 }, () => resolve());
  });
}

/** What an export (or a share's write) put on the medium, in order, so a failure removes exactly that. */
export class MediumWrites {
  readonly #entries: {
    parent: MediumFolder;
    name: string;
    path: string;
    isFolder: boolean;
    /** A folder this export created, once opened: removed only while its name still leads to it. */
    folder?: MediumFolder;
  }[] = [];

  get isEmpty(): boolean {
    return this.#entries.length === 0;
  }

  add(parent: MediumFolder, name: string, isFolder: boolean): void {
    const path = parent.relativePath === '' ? name : `${parent.relativePath}/${name}`;
    this.#entries.push({ parent, name, path, isFolder });
  }

  /** Remembers the folder a created entry turned out to be. */
  opened(folder: MediumFolder): void {
    const entry = this.#entries.find((e) => e.isFolder && e.path === folder.relativePath);
    if (entry) entry.folder = folder;
  }

  renamed(parent: MediumFolder, from: string, to: string): void {
    const entry = this.#entries.findLast((e) => e.parent === parent && e.name === from);
    if (!entry) return;
    entry.name = to;
    entry.path = parent.relativePath === '' ? to : `${parent.relativePath}/${to}`;
  }

  /**
   * Removes everything, newest first, through the open folders; returns what is still there,
   * relative to the medium root (`medium` is its real path).
   */
  removeAll(medium: string): string[] {
    const remaining: string[] = [];
    for (const entry of [...this.#entries].reverse()) {
      try {
        if (entry.folder && !entry.folder.isStillAt(entry.parent.at('.'), entry.name)) {
          // Moved (or replaced) by someone else meanwhile: rmdir by name would hit another
          // entry. Named where it is now, if it is still on the medium.
          remaining.unshift(movedFolder(entry.folder, entry.path, medium));
          continue;
        }
        if (entry.isFolder) rmdirSync(entry.parent.at(entry.name));
        else unlinkSync(entry.parent.at(entry.name));
      } catch (error) {
        if (isErrno(error, 'ENOENT') && !entry.parent.isGone()) continue;
        remaining.unshift(entry.isFolder ? `${entry.path}/` : entry.path);
      }
    }
    return remaining;
  }
}

/** Where a folder this export made is now, when someone moved it during the export. */
function movedFolder(folder: MediumFolder, path: string, medium: string): string {
  try {
    const now = folder.realPath();
    if (isInside(medium, now) && now !== medium) {
      return `${shownName(`${now.slice(medium.length + 1)}/`)} (moved there from ${path}/ during the export)`;
    }
  } catch {
    // Gone with the medium.
  }
  return `${path}/ (moved away during the export)`;
}

/** The sentence that says what of a failed export is left on the medium. */
function leftOnMedium(hasWritten: boolean, remaining: readonly string[]): string {
  if (remaining.length > 0) {
    return ` These files and folders of this export remain on the medium: ${listed(remaining)}. Perform the step again once the medium is writable and answers: Vigil then finishes this export around its own files, checked byte for byte (or remove them first).`;
  }
  return hasWritten ? ' Nothing of this export was left on it.' : ' Nothing was written.';
}

function folderMode(request: ExportRequest): number {
  return request.isSecret === true ? 0o700 : 0o755;
}

function fileMode(request: ExportRequest): number {
  return request.isSecret === true ? 0o600 : 0o644;
}

/** `a/b/c.pem` → ['a/b', 'c.pem']; a name without '/' is in the export folder itself ('' ). */
function splitName(name: string): [string, string] {
  const at = name.lastIndexOf('/');
  return at < 0 ? ['', name] : [name.slice(0, at), name.slice(at + 1)];
}

const partialName = (base: string) => `.${base}.vigil-partial`;

/**
 * The folders below the export folder, opened (and created when `mode` is given) as needed, each
 * once; closed together at the end.
 */
class ExportFolders {
  readonly #byPath = new Map<string, MediumFolder>();

  constructor(
    readonly destination: MediumFolder,
    readonly writes: MediumWrites,
  ) {
    this.#byPath.set('', destination);
  }

  get all(): MediumFolder[] {
    return [...this.#byPath.values()];
  }

  /** The subfolder `path` ('a/b') of the export folder; null when absent and `mode` is null. */
  at(path: string, mode: number | null): MediumFolder | null {
    const known = this.#byPath.get(path);
    if (known) return known;
    const [parentPath, name] = splitName(path);
    const parent = this.at(parentPath, mode);
    if (!parent) return null;
    const opened = parent.child(name, mode, () => this.writes.add(parent, name, true));
    if (!opened) return null;
    this.writes.opened(opened.folder);
    this.#byPath.set(path, opened.folder);
    return opened.folder;
  }

  close(): void {
    for (const folder of this.#byPath.values()) folder.close();
  }
}

/**
 * An export folder that exists already. It is this export's own when it holds nothing but files
 * of this export, byte for byte, and temp files of their names (an earlier attempt that failed
 * or was cut off): those are kept and the export finishes around them. Anything else refuses
 * with products-exist, naming what is there.
 */
function surveyExisting(
  folders: ExportFolders,
  files: readonly ProductFile[],
  completionFile: string,
): { found: Map<string, ExportedFile>; partials: { parent: MediumFolder; name: string }[] } {
  const byName = new Map(files.map((f) => [f.name, f]));
  const subfolders = new Set<string>();
  const partialOf = new Set<string>();
  for (const file of files) {
    const [dir, base] = splitName(file.name);
    partialOf.add(dir === '' ? partialName(base) : `${dir}/${partialName(base)}`);
    const parts = dir === '' ? [] : dir.split('/');
    for (let i = 1; i <= parts.length; i++) subfolders.add(parts.slice(0, i).join('/'));
  }
  const found = new Map<string, ExportedFile>();
  const partials: { parent: MediumFolder; name: string }[] = [];
  const foreign: string[] = [];
  // A folder with far more entries than this export has is not its own: not listed in full.
  const maxEntries = 2 * files.length + 16;
  const visit = (folder: MediumFolder, path: string) => {
    const entries = readdirSync(folder.at('.'), { withFileTypes: true });
    if (entries.length > maxEntries) {
      const where = path === '' ? folders.destination.relativePath : path;
      foreign.push(`${shownName(`${where}/`)} (${entries.length} entries)`);
      return;
    }
    for (const entry of entries) {
      const name = path === '' ? entry.name : `${path}/${entry.name}`;
      const file = byName.get(name);
      if (file) {
        let read: ReturnType<typeof readMediumFile> = null;
        try {
          read = readMediumFile(folder, entry.name, file.bytes.length);
        } catch (error) {
          if (!(error instanceof VigilError)) throw error;
        }
        if (read?.bytes && Buffer.compare(read.bytes, file.bytes) === 0) {
          found.set(name, { name, sha256: sha256Hex(read.bytes), sizeBytes: read.bytes.length });
        } else {
          foreign.push(`${shownName(name)} (differs)`);
        }
      } else if (partialOf.has(name) && !entry.isDirectory()) {
        partials.push({ parent: folder, name: entry.name });
      } else if (subfolders.has(name) && entry.isDirectory()) {
        const sub = folders.at(name, null);
        if (sub) visit(sub, name);
      } else {
        foreign.push(shownName(entry.isDirectory() ? `${name}/` : name));
      }
    }
  };
  visit(folders.destination, '');
  const where = shownName(folders.destination.relativePath);
  if (foreign.length > 0) {
    throw new VigilError(
      'products-exist',
      `${where} on the medium already holds files that are not this export's: ${listed(foreign)}. Vigil never overwrites: remove them (or the folder), or use another medium, then export again.`,
      { destination: folders.destination.relativePath },
    );
  }
  if (found.has(completionFile) && found.size < files.length) {
    throw new VigilError(
      'products-exist',
      `${where} on the medium holds ${completionFile}, which marks a finished export, but not all of its files. Vigil never overwrites: remove the folder, then export again.`,
      { destination: folders.destination.relativePath },
    );
  }
  return { found, partials };
}

export async function exportProducts(request: ExportRequest): Promise<ExportOutcome> {
  const { root, folder, files } = request;
  const segments = safeSegments(folder);
  if (segments === null) {
    throw new VigilError('media-io-error', 'products folder escapes the medium');
  }
  if (!files.every((f) => safeSegments(f.name) !== null)) {
    throw new VigilError('media-io-error', 'a product file name escapes its folder');
  }
  const completionFile = request.completionFile ?? MANIFEST_FILE;
  const manifestLast = [...files].sort(
    (a, b) => Number(a.name === completionFile) - Number(b.name === completionFile),
  );
  const step: ExportStep = { phase: 'check', file: '' };
  const writes = new MediumWrites();
  const opened: MediumFolder[] = [];
  let folders: ExportFolders | null = null;
  let found = new Map<string, ExportedFile>();
  try {
    const medium = MediumFolder.openRoot(root);
    opened.push(medium);
    checkNoRehearsalMix(medium, request.isRehearsal);
    // One level at a time: a recursive mkdir reports EROFS as ENOENT, hiding a read-only medium;
    // and each level is checked to be a real folder before anything goes into it.
    let current = medium;
    let isNew = false;
    for (const segment of segments) {
      step.phase = 'create-folder';
      const parent = current;
      const next = parent.child(segment, folderMode(request), () =>
        writes.add(parent, segment, true),
      );
      if (!next) throw new VigilError('media-io-error', `${segment} could not be created`);
      writes.opened(next.folder);
      isNew = next.isCreated;
      current = next.folder;
      opened.push(current);
    }
    const destination = current;
    folders = new ExportFolders(destination, writes);
    if (!isNew) {
      step.phase = 'check';
      const survey = surveyExisting(folders, files, completionFile);
      found = survey.found;
      for (const partial of survey.partials) unlinkSync(partial.parent.at(partial.name));
    }
    step.phase = 'write';
    for (const file of manifestLast) {
      if (found.has(file.name)) continue;
      step.file = file.name;
      const [dir, base] = splitName(file.name);
      const parent = folders.at(dir, folderMode(request));
      if (!parent) throw new VigilError('media-io-error', `${dir} could not be created`);
      writeNewFile(parent, partialName(base), file.bytes, fileMode(request), () =>
        writes.add(parent, partialName(base), false),
      );
      // rename() would replace an entry that appeared meanwhile: never overwrite one.
      if (entryExists(parent.at(base))) {
        throw new VigilError(
          'products-exist',
          `${shownName(`${parent.relativePath}/${base}`)} appeared on the medium during the export; Vigil never overwrites.`,
        );
      }
      renameSync(parent.at(partialName(base)), parent.at(base));
      writes.renamed(parent, partialName(base), base);
      parent.sync();
      request.onFileWritten?.(file.name);
    }
    // A new folder's entry is durable only once its parent is fsynced.
    for (const f of [...opened, ...folders.all]) f.sync();
    step.phase = 'read-back';
    const exported: ExportedFile[] = [];
    for (const file of manifestLast) {
      step.file = file.name;
      const [dir, base] = splitName(file.name);
      const parent = folders.at(dir, null);
      const read = parent ? readMediumFile(parent, base, file.bytes.length) : null;
      const expected = sha256Hex(file.bytes);
      const actual = read?.bytes ? sha256Hex(read.bytes) : '';
      if (actual !== expected || read?.bytes?.length !== file.bytes.length) {
        throw new VigilError(
          'read-back-mismatch',
          `${mediaMessages['read-back-mismatch']} (${file.name})`,
        );
      }
      exported.push({ name: file.name, sha256: actual, sizeBytes: file.bytes.length });
    }
    // SECURITY: the path from the medium root still leads, through real folders only, to the
    // folders written; and the folder written is inside the medium. Only then is it reported.
    step.phase = 'check-again';
    step.file = '';
    const moved = [...opened, ...folders.all].find((f) => !f.isStillAt(root));
    if (moved) {
      throw new VigilError(
        'media-path-refused',
        `${shownName(moved.relativePath || '.')} on the medium changed during the export (it is no longer the folder Vigil wrote into). Check the medium, then export again.`,
        { component: moved.relativePath },
      );
    }
    const realDestination = destination.realPath();
    if (!isInside(medium.realPath(), realDestination)) {
      throw new VigilError('media-path-refused', 'The folder written is not inside the medium.', {
        component: folder,
      });
    }
    await syncFilesystem(realDestination);
    return { destination: realDestination, files: exported, found: [...found.keys()] };
  } catch (error) {
    // Read the evidence before the clean-up frees space again.
    const code = mediaErrorFor(error, {
      isKnownFull: isKnownFull(root),
      hasWritten: !writes.isEmpty,
    });
    // Exactly what this export wrote goes, newest first, through the folders it wrote into; a
    // folder someone else filled meanwhile stays (rmdir refuses), and so does what cannot go.
    const hasWritten = !writes.isEmpty;
    const base = folder === '' ? '' : `${folder}/`;
    let mediumPath = root;
    try {
      mediumPath = opened[0]?.realPath() ?? root;
    } catch {
      // The medium is gone: paths stay relative to the root as named.
    }
    const remaining = [
      ...writes.removeAll(mediumPath),
      ...[...found.keys()].map((name) => `${base}${name}`),
    ];
    const message =
      error instanceof VigilError
        ? error.message
        : `${mediaMessages[code]}${error instanceof Error ? ` (${error.message})` : ''}`;
    throw new MediaExportError(
      code,
      `${message}${leftOnMedium(hasWritten || found.size > 0, remaining)}`,
      {
        ...(error instanceof VigilError ? error.context : {}),
        destination: folder,
        root,
        phase: step.phase,
        file: step.file,
      },
      remaining,
    );
  } finally {
    folders?.close();
    for (const f of opened) f.close();
  }
}

/** Creates, writes and fsyncs a file that must not exist yet; `onCreated` once it does. */
function writeNewFile(
  folder: MediumFolder,
  name: string,
  bytes: Uint8Array,
  mode: number,
  onCreated: () => void,
): void {
  // SECURITY: O_EXCL never opens through a link or an existing file, and the file has its final
  // mode from the start (0600 for secrets: never readable by others, not even for a moment).
  const fd = openSync(folder.at(name), 'wx', mode);
  onCreated();
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Whether anything (a link included) is at `path`; an error other than ENOENT is thrown. */
export function entryExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}
