// What a headless rehearsal reads off a runbook and its medium: the device actions it names (so
// the families' rehearsal devices are made), and the newest OpenPGP or NetHSM backup an earlier
// rehearsal wrote (answers that say `fromMedium`). Shared by `vigil run` and the window ring's walker.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Runbook, Step } from '../runbook/runbook-schema.ts';

/** Every device action a runbook names, in any branch. */
export function actionsOf(runbook: Runbook): string[] {
  const names: string[] = [];
  const walk = (steps: readonly Step[]) => {
    for (const step of steps) {
      if (typeof step.do === 'object') names.push(step.do.action);
      walk(step.then ?? []);
      walk(step.else ?? []);
    }
  };
  for (const section of runbook.sections) walk(section.steps);
  return names;
}

const BACKUP_SUFFIX = '.secret-backup.asc';
const NETHSM_BACKUP_SUFFIX = '.backup';

/** What an answer may read off the newest backup on the medium. */
export type MediumBackupAnswer = 'backup-path' | 'backup-fingerprint' | 'appliance-backup-path';

/**
 * The newest backup a rehearsal wrote to the medium (export folders end in their UTC write time):
 * an OpenPGP backup's path inside the medium or the fingerprint its name carries, or the path of
 * a network appliance's backup; null if none.
 */
export function newestBackup(mediaDir: string, what: MediumBackupAnswer): string | null {
  const isAppliance = what === 'appliance-backup-path';
  const [prefix, suffix] = isAppliance
    ? ['nethsm-backup-', NETHSM_BACKUP_SUFFIX]
    : ['openpgp-secret-', BACKUP_SUFFIX];
  const writtenAt = (folder: string) => folder.slice(folder.lastIndexOf('-') + 1);
  const folders = existsSync(mediaDir)
    ? readdirSync(mediaDir)
        .filter((name) => name.startsWith(prefix))
        .sort((a, b) => writtenAt(a).localeCompare(writtenAt(b)))
    : [];
  for (const folder of folders.reverse()) {
    const file = readdirSync(join(mediaDir, folder)).find((name) => name.endsWith(suffix));
    if (file === undefined) continue;
    return what === 'backup-fingerprint' ? file.slice(0, -suffix.length) : `${folder}/${file}`;
  }
  return null;
}
