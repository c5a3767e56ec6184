// Writing products to removable media: temp name, fsync, rename, fsync the folder, then read every
// file back and compare its SHA-256. Manifest last. On any failure, whatever this export wrote is
// removed again, so a medium never holds a partial product set that looks complete.
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { MediaErrorCode } from '../../../shared/contract/error-codes.ts';
import { sha256Hex } from '../../formats/fingerprint.ts';
import { VigilError } from '../errors.ts';
import { fsyncDirectory, isErrno } from '../durable-files.ts';
import { MANIFEST_FILE, PRODUCTS_FOLDER, type ProductFile } from '../products/token-products.ts';

export interface ExportedFile {
  name: string;
  sha256: string;
  sizeBytes: number;
}

export interface ExportRequest {
  /** The mount point or folder the user chose. */
  root: string;
  /** Folder below root, e.g. ceremony-products/<serial>. */
  folder: string;
  files: readonly ProductFile[];
  isRehearsal: boolean;
}

const removedCodes = ['ENOENT', 'EIO', 'ENODEV', 'ENXIO', 'ENOTCONN', 'ESTALE', 'EBADF'];

/** errno → the contract's media error code; `root` lets EPERM on a full volume read as full. */
export function mediaErrorFor(error: unknown, root?: string): MediaErrorCode {
  if (error instanceof VigilError) return error.code as MediaErrorCode;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') return 'media-full';
  // Some FUSE filesystems (fusefat) answer EPERM rather than ENOSPC when full.
  if ((code === 'EPERM' || code === 'EACCES') && root !== undefined && isKnownFull(root))
    return 'media-full';
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'media-read-only';
  if (code === 'EEXIST') return 'products-exist';
  if (removedCodes.includes(code)) return 'media-removed';
  return 'media-io-error';
}

const mediaMessages: Record<MediaErrorCode, string> = {
  'media-full': 'The medium is full. Nothing of this export was left on it.',
  'media-read-only':
    'The medium is read-only (check its write-protect switch). Nothing was written.',
  'media-removed': 'The medium was removed or stopped answering during the export.',
  'products-exist': 'Products for this device already exist on the medium; Vigil never overwrites.',
  'media-io-error': 'The medium reported an input/output error.',
  'media-not-found': 'The medium is no longer mounted.',
  'media-not-removable': 'This is not a removable medium.',
  'read-back-mismatch': 'A file read back from the medium differs from what was written.',
  'eject-failed': 'The medium could not be unmounted.',
  'no-folder-picked': 'No folder was picked.',
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

function fail(error: unknown, context: Record<string, string> & { root?: string }): never {
  const code = mediaErrorFor(error, context.root);
  const detail =
    error instanceof Error && !(error instanceof VigilError) ? ` (${error.message})` : '';
  throw new VigilError(code, `${mediaMessages[code]}${detail}`, context);
}

function writeFileDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Refuses to put rehearsal and production products on one medium. */
function checkNoRehearsalMix(root: string, isRehearsal: boolean): void {
  const productsRoot = join(root, PRODUCTS_FOLDER);
  if (!existsSync(productsRoot)) return;
  for (const entry of readdirSync(productsRoot, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const manifestPath = join(productsRoot, entry.name, MANIFEST_FILE);
    if (!existsSync(manifestPath)) continue;
    let other: unknown;
    try {
      other = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { rehearsal?: unknown }).rehearsal;
    } catch {
      other = undefined;
    }
    if (other !== isRehearsal) {
      throw new VigilError('rehearsal-mix-refused', mediaMessages['rehearsal-mix-refused'], {
        existing: entry.name,
      });
    }
  }
}

function syncFilesystem(path: string): Promise<void> {
  return new Promise((resolve) => {
    // fsync already made each file durable; `sync -f` flushes the rest of the filesystem too.
    execFile('sync', ['-f', path], { timeout: 60_000 }, () => resolve());
  });
}

export async function exportProducts(request: ExportRequest): Promise<ExportedFile[]> {
  const { root, folder, files } = request;
  const destination = join(root, folder);
  if (relative(root, destination).startsWith('..') || folder.split(/[\\/]/).includes('..')) {
    throw new VigilError('media-io-error', 'products folder escapes the medium');
  }
  try {
    if (!statSync(root).isDirectory())
      throw new VigilError('media-not-found', mediaMessages['media-not-found']);
  } catch (error) {
    if (isErrno(error, 'ENOENT'))
      throw new VigilError('media-not-found', mediaMessages['media-not-found']);
    fail(error, { root });
  }
  checkNoRehearsalMix(root, request.isRehearsal);
  if (existsSync(destination)) {
    throw new VigilError('products-exist', mediaMessages['products-exist'], { destination });
  }
  const manifestLast = [...files].sort(
    (a, b) => Number(a.name === MANIFEST_FILE) - Number(b.name === MANIFEST_FILE),
  );
  // Remember the first folder this export creates so a failure can remove exactly that.
  const segments = relative(root, destination).split(sep);
  let firstCreated: string | null = null;
  let probe = root;
  for (const segment of segments) {
    probe = join(probe, segment);
    if (!existsSync(probe)) {
      firstCreated = probe;
      break;
    }
  }
  try {
    // One level at a time: a recursive mkdir reports EROFS as ENOENT, hiding a read-only medium.
    let folderPath = root;
    for (const segment of segments) {
      folderPath = join(folderPath, segment);
      if (!existsSync(folderPath)) mkdirSync(folderPath, { mode: 0o755 });
    }
    for (const file of manifestLast) {
      const partial = join(destination, `.${file.name}.vigil-partial`);
      writeFileDurably(partial, file.bytes);
      renameSync(partial, join(destination, file.name));
      fsyncDirectory(destination);
    }
    if (firstCreated !== null) fsyncDirectory(join(firstCreated, '..'));
    const exported: ExportedFile[] = [];
    for (const file of manifestLast) {
      const readBack = readFileSync(join(destination, file.name));
      const expected = sha256Hex(file.bytes);
      const actual = sha256Hex(readBack);
      if (actual !== expected || readBack.length !== file.bytes.length) {
        throw new VigilError(
          'read-back-mismatch',
          `${mediaMessages['read-back-mismatch']} (${file.name})`,
        );
      }
      exported.push({ name: file.name, sha256: actual, sizeBytes: readBack.length });
    }
    await syncFilesystem(destination);
    return exported;
  } catch (error) {
    removePartialExport(firstCreated ?? destination);
    fail(error, { destination, root });
  }
}

function removePartialExport(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // The medium may be gone; nothing more can be removed from it.
  }
}
