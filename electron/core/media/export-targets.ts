// The media a ceremony can write to: removable drives from lsblk and folders the operator picked
// in main's dialog. The wizard, the runbook engine and the record export all go through here.
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportReport, ExportTarget } from '../../../shared/model/media.ts';
import { VigilError } from '../errors.ts';
import type { Journal } from '../journal/journal.ts';
import type { VigilLog } from '../log.ts';
import type { ProductFile } from '../products/token-products.ts';
import { exportProducts } from './atomic-export.ts';
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

  /** Adds a folder as a target; main chose the path (dialog, or the headless runner). */
  addFolder(path: string): ExportTarget {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      isDirectory = false;
    }
    if (!isDirectory) throw new VigilError('no-folder-picked', 'The picked path is not a folder.');
    const id = `folder:${this.#picked.size + 1}`;
    const target: ExportTarget = {
      id,
      kind: 'picked-folder',
      label: path,
      mountPoint: path,
      device: null,
      sizeBytes: null,
      isReadOnly: !isWritable(path),
    };
    this.#picked.set(id, target);
    this.#deps.journal.append('media.folderPicked', { targetId: id, path });
    return target;
  }

  async pickFolder(): Promise<ExportTarget> {
    const path = await this.#deps.pickFolder();
    if (path === null) throw new VigilError('no-folder-picked', 'No folder was picked.');
    return this.addFolder(path);
  }

  /** Atomic, fsynced, read-back export of `files` into `folder` on the target. */
  async exportFiles(
    targetId: string,
    folder: string,
    files: readonly ProductFile[],
    isRehearsal: boolean,
    completionFile?: string,
  ): Promise<ExportReport> {
    const target = await this.resolve(targetId);
    this.#deps.journal.append('media.exportStarted', {
      targetId,
      mountPoint: target.mountPoint,
      folder,
    });
    const exported = await exportProducts({
      root: target.mountPoint,
      folder,
      files,
      isRehearsal,
      ...(completionFile === undefined ? {} : { completionFile }),
    });
    return {
      targetId,
      destination: join(target.mountPoint, folder),
      files: exported,
      isVerified: true,
      canEject: target.kind === 'removable-drive',
    };
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
