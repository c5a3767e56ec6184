import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportReport, ExportTarget } from '../../../shared/model/media.ts';
import type { Handlers } from '../dispatcher.ts';
import { VigilError } from '../errors.ts';
import { exportProducts } from '../media/atomic-export.ts';
import { findMount, unmount } from '../media/eject.ts';
import { removableTargetsFromLsblk } from '../media/removable-drives.ts';
import type { VigilCore } from '../vigil-core.ts';

type MediaCalls = 'media.listTargets' | 'media.pickFolder' | 'media.export' | 'media.eject';

function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function mediaHandlers(core: VigilCore): Pick<Handlers, MediaCalls> {
  const picked = new Map<string, ExportTarget>();

  async function listTargets(): Promise<ExportTarget[]> {
    let drives: ExportTarget[] = [];
    try {
      drives = removableTargetsFromLsblk(await core.options.lsblk());
    } catch (error) {
      core.log.warn('lsblk-failed', { error });
    }
    return [...drives, ...picked.values()];
  }

  async function resolveTarget(targetId: string): Promise<ExportTarget> {
    const target = (await listTargets()).find((t) => t.id === targetId);
    if (!target) throw new VigilError('media-not-found', 'That medium is not mounted any more.');
    return target;
  }

  return {
    'media.listTargets': async () => ({ targets: await listTargets() }),
    'media.pickFolder': async () => {
      const path = await core.options.pickFolder();
      if (path === null) throw new VigilError('no-folder-picked', 'No folder was picked.');
      let isDirectory: boolean;
      try {
        isDirectory = statSync(path).isDirectory();
      } catch {
        isDirectory = false;
      }
      if (!isDirectory)
        throw new VigilError('no-folder-picked', 'The picked path is not a folder.');
      const id = `folder:${picked.size + 1}`;
      const target: ExportTarget = {
        id,
        kind: 'picked-folder',
        label: path,
        mountPoint: path,
        device: null,
        sizeBytes: null,
        isReadOnly: !isWritable(path),
      };
      picked.set(id, target);
      core.journal.append('media.folderPicked', { targetId: id, path });
      return target;
    },
    'media.export': async ({ targetId }) => {
      const { set, files } = core.ceremony.products();
      const target = await resolveTarget(targetId);
      core.journal.append('media.exportStarted', {
        targetId,
        mountPoint: target.mountPoint,
        folder: set.folder,
      });
      let exported;
      try {
        exported = await exportProducts({
          root: target.mountPoint,
          folder: set.folder,
          files,
          isRehearsal: set.isRehearsal,
        });
      } catch (error) {
        const code = error instanceof VigilError ? error.code : 'media-io-error';
        core.ceremony.recordExportFailure(
          targetId,
          code,
          error instanceof Error ? error.message : '',
        );
        throw error;
      }
      const report: ExportReport = {
        targetId,
        destination: join(target.mountPoint, set.folder),
        files: exported,
        isVerified: true,
        canEject: target.kind === 'removable-drive',
      };
      core.ceremony.recordExport(report);
      core.events.emit('media.exportVerified', report);
      return report;
    },
    'media.eject': async ({ targetId }) => {
      const target = await resolveTarget(targetId);
      if (target.kind === 'picked-folder' && !findMount(target.mountPoint)) {
        // A plain folder: nothing to unmount here, and the export already synced its files.
        return {
          isEjected: false,
          advice:
            'This folder is not a mount point. Its files are synced; unmount its medium with your system.',
        };
      }
      const result = await unmount(target.mountPoint);
      core.journal.append('media.ejected', { targetId, ...result });
      if (!result.isEjected) throw new VigilError('eject-failed', result.advice);
      return result;
    },
  };
}
