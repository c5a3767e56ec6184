// What a headless rehearsal reads off a runbook and its medium: the device actions it names (so
// the families' rehearsal devices are made), and the newest OpenPGP backup an earlier rehearsal
// wrote (answers that say `fromMedium`). Shared by `vigil run` and the window ring's walker.
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

/**
 * The newest OpenPGP backup a rehearsal wrote to the medium (export folders end in their UTC
 * write time): its path inside the medium, or the fingerprint its name carries; null if none.
 */
export function newestBackup(
  mediaDir: string,
  what: 'backup-path' | 'backup-fingerprint',
): string | null {
  const writtenAt = (folder: string) => folder.slice(folder.lastIndexOf('-') + 1);
  const folders = existsSync(mediaDir)
    ? readdirSync(mediaDir)
        .filter((name) => name.startsWith('openpgp-secret-'))
        .sort((a, b) => writtenAt(a).localeCompare(writtenAt(b)))
    : [];
  for (const folder of folders.reverse()) {
    const file = readdirSync(join(mediaDir, folder)).find((name) => name.endsWith(BACKUP_SUFFIX));
    if (file === undefined) continue;
    return what === 'backup-path' ? `${folder}/${file}` : file.slice(0, -BACKUP_SUFFIX.length);
  }
  return null;
}
