// What a headless rehearsal reads off its own medium folder for TUF signing (issue 20): the serial
// of the device a keyholder brings to sign — their root key's device as the newest root metadata
// on the medium names it (a signing event's, or a complete root's), or else the first device a
// signing event still waits for. Rehearsal only: the folder is the run's own.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signingProgress } from '../../../formats/tuf-metadata.ts';
import { parseTufRoot, type TufKey, type TufRoot } from '../../../formats/tuf-root.ts';
import { SIGNING_EVENT_SUFFIX } from './medium-layout.ts';

const ROOT_FOLDER = new RegExp(`^tuf-root-v(\\d{1,9})(${SIGNING_EVENT_SUFFIX})?$`);

interface Found {
  root: TufRoot;
  previous: TufRoot | null;
  isEvent: boolean;
}

/** Every root.json Vigil wrote on the medium, newest version first, events before complete roots. */
function rootsOn(mediaDir: string): Found[] {
  const read = (path: string) => parseTufRoot(readFileSync(path, 'utf8'));
  const found: Found[] = [];
  for (const name of readdirSync(mediaDir)) {
    const match = ROOT_FOLDER.exec(name);
    if (!match) continue;
    const isEvent = match[2] !== undefined;
    const folder = join(mediaDir, name);
    const metadata = isEvent
      ? readdirSync(folder).map((c) => join(folder, c, 'metadata'))
      : [join(folder, 'metadata')];
    for (const dir of metadata) {
      if (!existsSync(join(dir, 'root.json'))) continue;
      const root = read(join(dir, 'root.json'));
      const before = join(dir, 'root_history', `${root.version - 1}.root.json`);
      found.push({ root, previous: existsSync(before) ? read(before) : null, isEvent });
    }
  }
  return found.sort(
    (a, b) =>
      b.root.version - a.root.version ||
      Number(b.isEvent) - Number(a.isEvent) ||
      b.root.signatures.length - a.root.signatures.length,
  );
}

const deviceOf = (key: TufKey | undefined) => {
  const device = key?.object['x-vigil-device'];
  return typeof device === 'string' ? device : null;
};

const rootKeys = (root: TufRoot) => {
  const ids = root.roles.find((r) => r.name === 'root')?.keyids ?? [];
  return root.keys.filter((k) => ids.includes(k.keyid));
};

/** The serial of `holder`'s root-key device (or, failing that, one a signing event waits for). */
export function holderDeviceSerial(mediaDir: string, holder: string | null): string | null {
  const roots = rootsOn(mediaDir);
  for (const { root, previous } of roots) {
    const keys = [...rootKeys(root), ...(previous ? rootKeys(previous) : [])];
    const own = deviceOf(keys.find((k) => k.object['x-vigil-keyholder'] === holder));
    if (own !== null) return own;
  }
  const event = roots.find((r) => r.isEvent);
  if (event === undefined) return null;
  const waiting = signingProgress(event.root, event.previous)
    .filter((p) => !p.isMet)
    .flatMap((p) => p.waitingFor);
  return deviceOf(waiting.find((k) => deviceOf(k) !== null));
}
