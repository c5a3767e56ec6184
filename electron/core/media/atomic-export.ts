// Writing products to removable media: temp name, fsync, rename, fsync the folder, then read every
// file back and compare its SHA-256. Manifest last. On any failure, whatever this export wrote is
// removed again, so a medium never holds a partial product set that looks complete.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { mediaErrorCodes, type MediaErrorCode } from '../../../shared/contract/error-codes.ts';
import { sha256Hex } from '../../formats/fingerprint.ts';
import { VigilError } from '../../base/errors.ts';
import { fsyncDirectory, isErrno, writeFileDurably } from '../../base/durable-files.ts';
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
  /** Names relative to `folder`; a name with '/' lands in a subfolder this export creates. */
  files: readonly ProductFile[];
  isRehearsal: boolean;
  /** Written last, so its presence on the medium means "export complete" (default manifest.json). */
  completionFile?: string;
}

/** A relative file name with no empty, '.' or '..' segment. */
function isSafeRelativeName(name: string): boolean {
  const segments = name.split('/');
  return segments.every((s) => s.length > 0 && s !== '.' && s !== '..' && !s.includes('\\'));
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

type ExportPhase = 'check' | 'create-folder' | 'write' | 'read-back';

/** Where the export was when it failed: kept in the error so the journal says how far it got. */
interface ExportStep {
  phase: ExportPhase;
  file: string;
}

function fail(error: unknown, code: MediaErrorCode, context: Record<string, string>): never {
  const detail =
    error instanceof Error && !(error instanceof VigilError) ? ` (${error.message})` : '';
  throw new VigilError(code, `${mediaMessages[code]}${detail}`, context);
}

/** Where ceremony records (transcript, journal, attestation, products) go on a medium. */
export const RECORDS_FOLDER = 'vigil-records';

/** Refuses to put rehearsal and production products (or records) on one medium. */
function checkNoRehearsalMix(root: string, isRehearsal: boolean): void {
  const marked = [
    { folder: PRODUCTS_FOLDER, file: MANIFEST_FILE },
    { folder: RECORDS_FOLDER, file: 'transcript.json' },
  ];
  for (const { folder, file } of marked) {
    const parent = join(root, folder);
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const markerPath = join(parent, entry.name, file);
      if (!existsSync(markerPath)) continue;
      let other: unknown;
      try {
        other = (JSON.parse(readFileSync(markerPath, 'utf8')) as { rehearsal?: unknown }).rehearsal;
      } catch {
        other = undefined;
      }
      if (other !== isRehearsal) {
        throw new VigilError('rehearsal-mix-refused', mediaMessages['rehearsal-mix-refused'], {
          existing: `${folder}/${entry.name}`,
        });
      }
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
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR'))
      throw new VigilError('media-not-found', mediaMessages['media-not-found']);
    fail(error, mediaErrorFor(error), { root, phase: 'check' });
  }
  checkNoRehearsalMix(root, request.isRehearsal);
  if (existsSync(destination)) {
    throw new VigilError('products-exist', mediaMessages['products-exist'], { destination });
  }
  if (!files.every((f) => isSafeRelativeName(f.name))) {
    throw new VigilError('media-io-error', 'a product file name escapes its folder');
  }
  const completionFile = request.completionFile ?? MANIFEST_FILE;
  const manifestLast = [...files].sort(
    (a, b) => Number(a.name === completionFile) - Number(b.name === completionFile),
  );
  // The folders this export creates, outermost first, so a failure removes exactly those and a
  // success fsyncs the parent of each (a new directory entry is durable only then).
  const created: string[] = [];
  const step: ExportStep = { phase: 'create-folder', file: '' };
  try {
    // One level at a time: a recursive mkdir reports EROFS as ENOENT, hiding a read-only medium.
    let folderPath = root;
    for (const segment of relative(root, destination).split(sep)) {
      folderPath = join(folderPath, segment);
      if (existsSync(folderPath)) continue;
      try {
        mkdirSync(folderPath, { mode: 0o755 });
      } catch (error) {
        // fusefat can create the folder and still answer EPERM when the volume is full.
        if (!isErrno(error, 'EEXIST') && existsSync(folderPath)) created.push(folderPath);
        throw error;
      }
      created.push(folderPath);
    }
    step.phase = 'write';
    for (const file of manifestLast) {
      step.file = file.name;
      const finalPath = join(destination, file.name);
      const parent = dirname(finalPath);
      ensureFolders(destination, parent, created);
      const partial = join(parent, `.${file.name.split('/').at(-1) ?? ''}.vigil-partial`);
      writeFileDurably(partial, file.bytes);
      renameSync(partial, finalPath);
      fsyncDirectory(parent);
    }
    for (const folderPath of created) fsyncDirectory(dirname(folderPath));
    step.phase = 'read-back';
    const exported: ExportedFile[] = [];
    for (const file of manifestLast) {
      step.file = file.name;
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
    // Read the evidence before the clean-up frees space again.
    const code = mediaErrorFor(error, {
      isKnownFull: isKnownFull(root),
      hasWritten: created.length > 0,
    });
    // Remove exactly what this export created; a folder someone else made meanwhile is not ours.
    if (created[0] !== undefined) removePartialExport(created[0]);
    fail(error, code, { destination, root, phase: step.phase, file: step.file });
  }
}

/** Creates the subfolders between the export folder and `parent`, remembering each one. */
function ensureFolders(destination: string, parent: string, created: string[]): void {
  let folderPath = destination;
  for (const segment of relative(destination, parent)
    .split(sep)
    .filter((s) => s.length > 0)) {
    folderPath = join(folderPath, segment);
    if (existsSync(folderPath)) continue;
    mkdirSync(folderPath, { mode: 0o755 });
    created.push(folderPath);
  }
}

function removePartialExport(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // The medium may be gone; nothing more can be removed from it.
  }
}
