// The media a ceremony can write to: removable drives from lsblk and folders the operator picked
// in main's dialog. The runbook engine and the record export both go through here.
import { createHash } from 'node:crypto';
import { accessSync, constants, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, normalize, sep } from 'node:path';
import type { ExportReport, ExportTarget } from '../../../shared/model/media.ts';
import { VigilError } from '../../base/errors.ts';
import type { Journal } from '../journal/journal.ts';
import type { VigilLog } from '../log.ts';
import type { ProductFile } from '../products/token-products.ts';
import {
  exportProducts,
  MediaExportError,
  type ExportOutcome,
  type ExportRequest,
} from './atomic-export.ts';
import { MediumFolder, readMediumFile, safeSegments } from './medium-folders.ts';
import { findMount, unmount } from './eject.ts';
import { removableTargetsFromLsblk, type LsblkSource } from './removable-drives.ts';

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ExportTargetsDeps {
  lsblk: LsblkSource;
  pickFolder: () => Promise<string | null>;
  journal: Journal;
  log: VigilLog;
}

export class ExportTargets {
  readonly #deps: ExportTargetsDeps;
  readonly #picked = new Map<string, ExportTarget>();

  constructor(deps: ExportTargetsDeps) {
    this.#deps = deps;
  }

  async list(): Promise<ExportTarget[]> {
    let drives: ExportTarget[] = [];
    try {
      drives = removableTargetsFromLsblk(await this.#deps.lsblk());
    } catch (error) {
      this.#deps.log.warn('lsblk-failed', { error });
    }
    return [...drives, ...this.#picked.values()];
  }

  async resolve(targetId: string): Promise<ExportTarget> {
    const target = (await this.list()).find((t) => t.id === targetId);
    if (!target) throw new VigilError('media-not-found', 'That medium is not mounted any more.');
    return target;
  }

  /**
   * Adds a folder as a target; main chose the path (dialog, or the headless runner). The same
   * folder picked again (by any path that resolves to it) is the same target, not a new one.
   */
  addFolder(path: string): ExportTarget {
    let real: string;
    try {
      if (!statSync(path).isDirectory()) throw new Error('not a directory');
      real = realpathSync(path);
    } catch {
      throw new VigilError('no-folder-picked', 'The picked path is not a folder.');
    }
    const known = [...this.#picked.values()].find((t) => t.mountPoint === real);
    if (known) {
      // Its write permission may have changed since: read it again, keep the id.
      const again: ExportTarget = { ...known, isReadOnly: !isWritable(real) };
      this.#picked.set(known.id, again);
      return again;
    }
    const id = `folder:${this.#picked.size + 1}`;
    const target: ExportTarget = {
      id,
      kind: 'picked-folder',
      label: real,
      mountPoint: real,
      device: null,
      sizeBytes: null,
      isReadOnly: !isWritable(real),
    };
    this.#picked.set(id, target);
    this.#deps.journal.append('media.folderPicked', { targetId: id, path: real });
    return target;
  }

  /** A folder from main's dialog; a removable drive's mount point picked this way is that drive. */
  async pickFolder(): Promise<ExportTarget> {
    const path = await this.#deps.pickFolder();
    if (path === null) throw new VigilError('no-folder-picked', 'No folder was picked.');
    let real: string | null = null;
    try {
      real = realpathSync(path);
    } catch {
      // addFolder says why.
    }
    const drive = (await this.list()).find(
      (t) => t.kind === 'removable-drive' && real !== null && t.mountPoint === real,
    );
    return drive ?? this.addFolder(path);
  }

  /**
   * Atomic, fsynced, read-back export of `files` into `folder` on the target. The journal gets the
   * real path written (also in the report); a failure journals exactly what remains on the medium.
   */
  async exportFiles(
    targetId: string,
    folder: string,
    files: readonly ProductFile[],
    options: Pick<ExportRequest, 'isRehearsal' | 'completionFile' | 'isSecret' | 'onFileWritten'>,
  ): Promise<ExportReport> {
    const target = await this.resolve(targetId);
    this.#deps.journal.append('media.exportStarted', {
      targetId,
      mountPoint: target.mountPoint,
      folder,
    });
    let outcome: ExportOutcome;
    try {
      outcome = await exportProducts({ root: target.mountPoint, folder, files, ...options });
    } catch (error) {
      if (error instanceof MediaExportError) {
        this.#deps.journal.append('media.exportFailed', {
          targetId,
          mountPoint: target.mountPoint,
          folder,
          code: error.code,
          phase: error.context.phase ?? null,
          file: error.context.file ?? null,
          remaining: [...error.remaining],
        });
      }
      throw error;
    }
    if (outcome.found.length > 0) {
      // Files an earlier, failed attempt had left, byte for byte this export's: kept, not written.
      this.#deps.journal.append('media.exportResumed', {
        targetId,
        destination: outcome.destination,
        found: outcome.found,
      });
    }
    return {
      targetId,
      destination: outcome.destination,
      files: outcome.files,
      isVerified: true,
      canEject: target.kind === 'removable-drive',
    };
  }

  /**
   * A file the ceremony reads from a medium (an encrypted key backup, someone's public key): a
   * relative path inside the medium, through real folders only (no link anywhere on the way), a
   * regular file, at most `maxBytes`.
   */
  async readFile(targetId: string, path: string, maxBytes: number): Promise<Uint8Array> {
    const { cleaned, bytes } = await this.#inFolderOf(targetId, path, (folder, name, cleaned) => {
      const read = readMediumFile(folder, name, maxBytes);
      if (read === null)
        throw new VigilError('media-not-found', `${cleaned} is not on the medium.`);
      if (read.bytes === null) {
        throw new VigilError('media-io-error', `${cleaned} is larger than ${maxBytes} bytes.`);
      }
      return { cleaned, bytes: new Uint8Array(read.bytes) };
    });
    this.#deps.journal.append('media.fileRead', {
      targetId,
      path: cleaned,
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    return bytes;
  }

  /**
   * The entries of a folder the ceremony reads from a medium (a signing event's contributions),
   * reached as `readFile` reaches a file: real folders only, no link on the way; at most `max`.
   */
  async listFolder(
    targetId: string,
    path: string,
    max = 256,
  ): Promise<{ name: string; kind: 'file' | 'folder' | 'other' }[]> {
    return this.#inFolderOf(targetId, `${path.trim()}/.`, (folder, _name, cleaned) => {
      const entries = readdirSync(folder.at('.'), { withFileTypes: true });
      if (entries.length > max)
        throw new VigilError('media-io-error', `${cleaned} holds more than ${max} entries.`);
      return entries
        .map((e) => ({
          name: e.name,
          kind: e.isFile()
            ? ('file' as const)
            : e.isDirectory()
              ? ('folder' as const)
              : ('other' as const),
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  /**
   * Runs `use` in the folder holding the last segment of `path` (relative, inside the medium),
   * each folder on the way opened without following a link; `.` as the last segment: the folder.
   */
  async #inFolderOf<T>(
    targetId: string,
    path: string,
    use: (folder: MediumFolder, name: string, cleaned: string) => T,
  ): Promise<T> {
    const target = await this.resolve(targetId);
    const cleaned = normalize(path.trim());
    const segments = isAbsolute(cleaned) ? null : safeSegments(cleaned.split(sep).join('/'));
    const isFolder = path.trim().endsWith('/.');
    const name = isFolder ? '.' : segments?.at(-1);
    if (cleaned === '' || cleaned === '.' || segments === null || name === undefined) {
      throw new VigilError('media-not-found', `"${path}" is not a path inside the medium.`);
    }
    const opened: MediumFolder[] = [];
    try {
      let folder = MediumFolder.openRoot(target.mountPoint);
      opened.push(folder);
      for (const segment of isFolder ? segments : segments.slice(0, -1)) {
        const next = folder.child(segment, null)?.folder;
        if (!next) throw new VigilError('media-not-found', `${cleaned} is not on the medium.`);
        opened.push(next);
        folder = next;
      }
      return use(folder, name, cleaned);
    } catch (error) {
      if (error instanceof VigilError) throw error;
      throw new VigilError('media-not-found', `${cleaned} cannot be read from the medium.`);
    } finally {
      for (const folder of opened) folder.close();
    }
  }

  async eject(targetId: string): Promise<{ isEjected: boolean; advice: string }> {
    const target = await this.resolve(targetId);
    if (target.kind === 'picked-folder' && !findMount(target.mountPoint)) {
      // A plain folder: nothing to unmount here, and the export already synced its files.
      return {
        isEjected: false,
        advice:
          'This folder is not a mount point. Its files are synced; unmount its medium with your system.',
      };
    }
    const result = await unmount(target.mountPoint);
    this.#deps.journal.append('media.ejected', { targetId, ...result });
    if (!result.isEjected) throw new VigilError('eject-failed', result.advice);
    return result;
  }
}
