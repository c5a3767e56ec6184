// What a headless rehearsal reads off its own medium folder for a signing event (issue 20): the
// serial of a device whose root key the newest signing event still waits for — what the keyholder
// who comes to sign reads off their device. Rehearsal only: the folder is the run's own.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signingProgress } from '../../../formats/tuf-metadata.ts';
import { parseTufRoot } from '../../../formats/tuf-root.ts';
import { SIGNING_EVENT_SUFFIX } from './medium-layout.ts';

const EVENT_FOLDER = new RegExp(`^tuf-root-v(\\d{1,9})${SIGNING_EVENT_SUFFIX}$`);

/**
 * The serial of a device the newest signing event in `mediaDir` waits for: the one the metadata
 * names as `holder`'s when there is one, else the first; null when it waits for none.
 */
export function waitingDeviceSerial(mediaDir: string, holder: string | null = null): string | null {
  const events = readdirSync(mediaDir)
    .map((name) => ({ name, version: Number(EVENT_FOLDER.exec(name)?.[1] ?? NaN) }))
    .filter((e) => !Number.isNaN(e.version))
    .sort((a, b) => b.version - a.version);
  const newest = events[0];
  if (newest === undefined) return null;
  const folder = join(mediaDir, newest.name);
  // The contribution with the most signatures says best who is still to sign.
  const contributions = readdirSync(folder)
    .map((name) => join(folder, name, 'metadata', 'root.json'))
    .filter((path) => existsSync(path))
    .map((path) => parseTufRoot(readFileSync(path, 'utf8')))
    .sort((a, b) => b.signatures.length - a.signatures.length);
  const root = contributions[0];
  if (root === undefined) return null;
  const history = join(folder, readdirSync(folder)[0] ?? '', 'metadata', 'root_history');
  const previousPath = join(history, `${root.version - 1}.root.json`);
  const previous = existsSync(previousPath)
    ? parseTufRoot(readFileSync(previousPath, 'utf8'))
    : null;
  const waiting = signingProgress(root, previous)
    .filter((p) => !p.isMet)
    .flatMap((p) => p.waitingFor)
    .filter((key) => typeof key.object['x-vigil-device'] === 'string');
  const own = waiting.find((key) => key.object['x-vigil-keyholder'] === holder);
  const device = (own ?? waiting[0])?.object['x-vigil-device'];
  return typeof device === 'string' ? device : null;
}
