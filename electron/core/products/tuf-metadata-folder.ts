// A TUF metadata folder (issue 20): root.json and the versions before it, as tuf-on-ci keeps them
// (`metadata/root.json`, `metadata/root_history/<N>.root.json`) or as Sigstore's repository does
// (`<N>.root.json` beside `root.json`), checked as a client walks them: each version by the
// previous version's root threshold and its own (tuf-metadata.ts), root.json the newest, the
// newest version's expiry, targets.json (if there) by the newest root's targets threshold, and,
// beside the devices' products, every root key on a device whose folder verifies.
// Every read is bounded and follows no link (untrusted-folder.ts).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  entryWords,
  inReadSession,
  isFileAt,
  isEntryAt,
  isFolderAt,
  listFolder,
  readFileIn,
  UntrustedReadError,
} from '../../base/untrusted-folder.ts';
import { TufRootError, parseTufRoot, type TufRoot } from '../../formats/tuf-root.ts';
import {
  REHEARSAL_MARK,
  TufMetadataError,
  ownerOf,
  progressLine,
  signingProgress,
  verifyRootChain,
} from '../../formats/tuf-metadata.ts';
import { parseTufTargets, targetsProgress } from '../../formats/tuf-targets.ts';
import { VerifyInputError, type CheckResult } from './verify-common.ts';
import {
  attestedDevicesOf,
  deviceKeysOf,
  type AttestedDevice,
  type DeviceKey,
} from './tuf-keys.ts';
import { parseSums, verifyProducts } from './verify-products.ts';
import { SUMS_FILE } from './token-products.ts';

/** A root.json is small: Docker's five root keys and signatures take 12 KiB. */
const MAX_ROOT_BYTES = 512 * 1024;
const HISTORY = 'root_history';
const VERSION_FILE = /^(\d{1,9})\.root\.json$/;

export interface TufVersionReport {
  version: number;
  /** Where it was read, relative to the metadata folder. */
  file: string;
  expires: string;
  /** "root 3 of 5, targets 2 of 4, …": each role's threshold and keys. */
  roles: string;
  checks: CheckResult[];
  isOk: boolean;
}

export interface TufMetadataReport {
  /** The metadata folder read (the given folder, or its `metadata/`). */
  root: string;
  /** Checks of the folder as a whole: root.json against the history, the newest expiry. */
  checks: CheckResult[];
  versions: TufVersionReport[];
  isOk: boolean;
}

/** Vigil's root folders on a medium: `tuf-root-v<N>/metadata/root.json` (see medium-layout.ts). */
const VIGIL_ROOT_FOLDER = /^tuf-root-v(\d{1,9})$/;

/** The newest `tuf-root-v<N>` folder holding metadata/root.json in `path` (a medium), if any. */
function newestVigilRootFolder(path: string): string | null {
  const found = listFolder(path)
    .filter((e) => e.kind === 'folder' && VIGIL_ROOT_FOLDER.test(e.name))
    .filter((e) => isFileAt(join(path, e.name, 'metadata', 'root.json')))
    .map((e) => ({ name: e.name, n: Number(VIGIL_ROOT_FOLDER.exec(e.name)?.[1]) }))
    .sort((a, b) => b.n - a.n);
  return found[0] ? join(path, found[0].name) : null;
}

/**
 * The folder holding root.json: the one given, or its `metadata/` (a TUF repository's top, or
 * Vigil's `tuf-root-v<N>/`), or on a medium Vigil wrote the newest `tuf-root-v<N>/metadata/`.
 */
function metadataFolderOf(path: string): string {
  const inner = join(path, 'metadata');
  if (isFileAt(join(inner, 'root.json'))) return inner;
  if (isFileAt(join(path, 'root.json'))) return path;
  const vigil = newestVigilRootFolder(path);
  return vigil === null ? path : join(vigil, 'metadata');
}

/** root.json with the versions before it kept beside it or in root_history/. */
export function isTufMetadataFolder(path: string): boolean {
  return inReadSession(() => {
    if (isFileAt(join(path, 'metadata', 'root.json'))) return true;
    if (!isFileAt(join(path, 'root.json')))
      return isFolderAt(path) && newestVigilRootFolder(path) !== null;
    return (
      isFolderAt(join(path, HISTORY)) ||
      listFolder(path).some((e) => e.kind === 'file' && VERSION_FILE.test(e.name))
    );
  });
}

const ok = (check: string, detail: string): CheckResult => ({ check, isOk: true, detail });
const fail = (check: string, detail: string): CheckResult => ({ check, isOk: false, detail });

/** One metadata file read bounded and parsed; a refusal or a bad shape is a failed check. */
function readMetadata<T>(folder: string, rel: string, parse: (text: string) => T): T | CheckResult {
  try {
    return parse(new TextDecoder().decode(readFileIn(folder, rel, MAX_ROOT_BYTES)));
  } catch (error) {
    if (error instanceof TufRootError || error instanceof UntrustedReadError)
      return fail(`file:${rel}`, error.message);
    throw error;
  }
}

const readRoot = (folder: string, rel: string) => readMetadata(folder, rel, parseTufRoot);

/** The YubiKeys whose slot attestations sit in the products (keyholder ceremonies'), if any. */
function attestedOrNone(top: string, now: Date): AttestedDevice[] {
  try {
    return attestedDevicesOf(top, now);
  } catch (error) {
    if (error instanceof TufMetadataError) return [];
    throw error;
  }
}

/**
 * Where the metadata sits beside the devices' products (`ceremony-products/`, PSF's and Vigil's
 * layout), every key of the newest root's root role must be a device's key (same public key) in a
 * device folder that verifies — its attestation, where the device has one, checked there. A
 * YubiKey's key is its slot attestation's (Docker's `keys/<serial>/`), whose chain must verify.
 */
function deviceChecks(top: string, root: TufRoot, now: Date): CheckResult[] {
  const products = join(top, 'ceremony-products');
  if (!isFolderAt(products)) return [];
  const attested = attestedOrNone(top, now);
  let keys: DeviceKey[];
  try {
    keys = deviceKeysOf(top, { allowNone: attested.length > 0 });
  } catch (error) {
    if (error instanceof TufMetadataError) return [fail('device-keys', error.message)];
    throw error;
  }
  let devices: ReturnType<typeof verifyProducts>['devices'];
  try {
    devices = verifyProducts(products).devices;
  } catch (error) {
    if (error instanceof VerifyInputError) return [fail('device-folders', error.message)];
    throw error;
  }
  const rootIds = root.roles.find((r) => r.name === 'root')?.keyids ?? [];
  return root.keys
    .filter((k) => rootIds.includes(k.keyid))
    .map((key) => {
      const check = `root-key:${ownerOf(key)}`;
      const held = keys.find((d) => key.spki !== null && Buffer.from(d.spki).equals(key.spki));
      const yubikey = attested.find(
        (d) => key.spki !== null && d.spki !== null && Buffer.from(d.spki).equals(key.spki),
      );
      if (!held && yubikey) {
        const where = `the slot attestation of YubiKey ${yubikey.serial} (${yubikey.folder})`;
        if (yubikey.verdict === 'broken' || yubikey.problems.length > 0)
          return fail(check, `${where}, which fails: ${yubikey.problems.join('; ')}`);
        return ok(
          check,
          `${where}, which chains to ${yubikey.verdict === 'rehearsal' ? "Vigil's REHEARSAL CA" : 'Yubico'}`,
        );
      }
      if (!held)
        return fail(check, `in no device folder of ${products}: nothing attests this root key`);
      const device = devices.find((d) => d.serial === held.serial);
      const where = `the ${held.role} key of device ${held.serial}`;
      return device?.isOk
        ? ok(check, `${where}, whose folder verifies (${device.kind ?? 'no manifest'})`)
        : fail(check, `${where}, whose folder fails verification`);
    });
}

/**
 * Vigil's folder around metadata/ (`tuf-root-v<N>/`): SHA256SUMS lists every file with its hash,
 * and nothing under metadata/ is left out. Other layouts have neither file: no check.
 */
function vigilFolderChecks(top: string): CheckResult[] {
  if (!isFileAt(join(top, SUMS_FILE))) return [];
  let entries: Map<string, string>;
  try {
    entries = parseSums(new TextDecoder().decode(readFileIn(top, SUMS_FILE, 64 * 1024))).entries;
  } catch (error) {
    if (error instanceof UntrustedReadError) return [fail('sha256sums', error.message)];
    throw error;
  }
  const problems: string[] = [];
  for (const [name, hash] of entries) {
    try {
      const bytes = readFileIn(top, name, MAX_ROOT_BYTES);
      if (createHash('sha256').update(bytes).digest('hex') !== hash)
        problems.push(`${name} differs`);
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      problems.push(`${name}: ${error.message}`);
    }
  }
  const listed = (rel: string) => entries.has(rel);
  const history = isFolderAt(join(top, 'metadata', HISTORY))
    ? listFolder(join(top, 'metadata', HISTORY)).map((e) => `metadata/${HISTORY}/${e.name}`)
    : [];
  const unlisted = ['metadata/root.json', ...history].filter((rel) => !listed(rel));
  if (unlisted.length > 0) problems.push(`not in ${SUMS_FILE}: ${unlisted.join(', ')}`);
  return [
    problems.length === 0
      ? ok('sha256sums', `${entries.size} files match ${SUMS_FILE}`)
      : fail('sha256sums', problems.join('; ')),
  ];
}

/** targets.json beside root.json: signed by the newest root's targets threshold, not expired. */
function targetsChecks(folder: string, root: TufRoot, now: Date): CheckResult[] {
  if (!isEntryAt(join(folder, 'targets.json'))) return [];
  const targets = readMetadata(folder, 'targets.json', parseTufTargets);
  if (!('targets' in targets)) return [targets];
  const progress = targetsProgress(targets, root);
  const names = progress.signedBy.map(ownerOf).join(', ');
  const signed = `version ${targets.version}, ${targets.targets.length} target(s): signed ${progress.signedBy.length} of ${progress.needed} needed by root version ${root.version}'s targets keys${names ? `: ${names}` : ''}`;
  return [
    progress.isMet
      ? ok('targets.json', signed)
      : fail(
          'targets.json',
          `not trusted: ${signed}${progress.waitingFor.length ? ` — waiting for ${progress.waitingFor.map(ownerOf).join(', ')}` : ''}`,
        ),
    Date.parse(targets.expires) > now.getTime()
      ? ok('targets-expiry', `targets version ${targets.version} expires ${targets.expires}`)
      : {
          check: 'targets-expiry',
          isOk: true,
          isWarning: true,
          detail: `targets version ${targets.version} expired ${targets.expires}: a TUF client refuses it now`,
        },
  ];
}

/** The numbered versions (`<N>.root.json`) in one folder, relative to the metadata folder. */
function numberedFiles(folder: string, rel: string): { rel: string; named: number }[] {
  const dir = rel === '' ? folder : join(folder, rel);
  return listFolder(dir, rel || '.').flatMap((entry) => {
    const match = VERSION_FILE.exec(entry.name);
    if (!match) return [];
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.kind !== 'file') return [{ rel: `${path} (${entryWords(entry.kind)})`, named: -1 }];
    return [{ rel: path, named: Number(match[1]) }];
  });
}

export function verifyTufMetadataFolder(path: string, now = new Date()): TufMetadataReport {
  return inReadSession(() => {
    const folder = metadataFolderOf(path);
    const checks: CheckResult[] = [];
    const files = [
      ...(isFolderAt(join(folder, HISTORY)) ? numberedFiles(folder, HISTORY) : []),
      ...numberedFiles(folder, ''),
    ];
    const byVersion = new Map<number, { rel: string; root: TufRoot }>();
    for (const file of files) {
      if (file.named < 0) {
        checks.push(
          fail(`file:${file.rel.split(' ')[0] ?? ''}`, `${file.rel}: not a regular file`),
        );
        continue;
      }
      const root = readRoot(folder, file.rel);
      if (!('version' in root)) {
        checks.push(root);
        continue;
      }
      if (root.version !== file.named) {
        checks.push(fail(`file:${file.rel}`, `${file.rel} holds version ${root.version}`));
        continue;
      }
      const seen = byVersion.get(root.version);
      if (seen && !sameRoot(seen.root, root))
        checks.push(fail(`file:${file.rel}`, `${file.rel} differs from ${seen.rel}`));
      else if (!seen) byVersion.set(root.version, { rel: file.rel, root });
    }
    const current = readRoot(folder, 'root.json');
    if (!('version' in current)) checks.push(current);
    else {
      const newest = Math.max(0, ...byVersion.keys());
      const same = byVersion.get(current.version);
      if (current.version < newest)
        checks.push(
          fail(
            'root.json',
            `root.json is version ${current.version}, the history goes to ${newest}`,
          ),
        );
      else if (same && !sameRoot(same.root, current))
        checks.push(fail('root.json', `root.json differs from ${same.rel}, the same version`));
      else {
        checks.push(ok('root.json', `the newest version, ${current.version}`));
        if (!same) byVersion.set(current.version, { rel: 'root.json', root: current });
      }
    }
    const ordered = [...byVersion.values()].sort((a, b) => a.root.version - b.root.version);
    const chain = verifyRootChain(
      ordered.map((v) => v.root),
      now,
    );
    const newest = ordered.at(-1);
    const expired = chain.at(-1)?.expired ?? null;
    if (newest)
      checks.push(
        expired === null
          ? ok('expiry', `version ${newest.root.version} expires ${newest.root.expires}`)
          : {
              check: 'expiry',
              isOk: true,
              isWarning: true,
              detail: `version ${newest.root.version} expired ${expired}: a TUF client refuses it now`,
            },
      );
    else checks.push(fail('root.json', 'no readable root metadata'));
    if (newest) checks.push(...targetsChecks(folder, newest.root, now));
    if (newest) checks.push(...deviceChecks(path, newest.root, now));
    checks.push(...vigilFolderChecks(join(folder, '..')));
    if (newest && newest.root.signedFieldNames.includes(REHEARSAL_MARK))
      checks.push({
        check: 'rehearsal',
        isOk: true,
        isWarning: true,
        detail: `REHEARSAL metadata (${REHEARSAL_MARK} in the signed part): not for production`,
      });
    const versions = ordered.map(({ rel, root }, i): TufVersionReport => {
      const problems = chain[i]?.problems ?? [];
      const signed = signingProgress(root, ordered[i - 1]?.root ?? null).map(progressLine);
      return {
        version: root.version,
        file: rel,
        expires: root.expires,
        roles: root.roles.map((r) => `${r.name} ${r.threshold} of ${r.keyids.length}`).join(', '),
        checks: [
          problems.length === 0
            ? ok('trusted', signed.join('; '))
            : fail('trusted', problems.join('; ')),
        ],
        isOk: problems.length === 0,
      };
    });
    return {
      root: folder,
      checks,
      versions,
      isOk: checks.every((c) => c.isOk) && versions.length > 0 && versions.every((v) => v.isOk),
    };
  });
}

/** Two copies of one version: the same signed bytes and the same signatures. */
function sameRoot(a: TufRoot, b: TufRoot): boolean {
  const key = (r: TufRoot) =>
    JSON.stringify([
      Buffer.from(r.signedBytes).toString('hex'),
      [...r.signatures].sort((x, y) => (x.keyid < y.keyid ? -1 : 1)),
    ]);
  return key(a) === key(b);
}
