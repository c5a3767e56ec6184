// Verifies ceremony products on disk, whoever wrote them: finds every device folder, then checks
// SHA256SUMS, the manifest and the key files against each other. Every device folder gets a list
// of named checks. The generic checks (checksums, listing) run on every folder; the rest is chosen
// by the manifest's `kind`, so a later family (YubiHSM attestations, PIV) adds an entry to
// `productCheckers` rather than a new report format.
//
// Where the device folders are: a ceremony-products/ folder (given, or inside the folder given),
// one device folder, a repository of ceremonies (`ceremony/<name>/ceremony-products/`, PSF's
// layout: each ceremony read on its own and every device named with its ceremony), or any folder
// whose children are device folders, whatever its name.
//
// Check names are reason codes scripts rely on: never rename one. Added since issue 23:
//   ceremonies  a repository's ceremony/ entry that holds no products (warning: nothing verified)
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import {
  UntrustedReadError,
  entryKindAt,
  entryWords,
  hashFileIn,
  inReadSession,
  isEntryAt,
  listFolder,
  readFileIn,
  refusalOf,
  walkFolder,
} from '../../base/untrusted-folder.ts';
import { JsonDepthError, parseBoundedJson } from '../../formats/bounded-json.ts';
import { bytesEqual } from '../../formats/der.ts';
import { keyCurves, rawPublicKeyFromSpki } from '../../formats/ec-point.ts';
import { decodePem } from '../../formats/pem.ts';
import {
  MANIFEST_FILE,
  MANIFEST_KIND,
  PRODUCTS_FOLDER,
  SUMS_FILE,
  serialComponent,
} from './token-products.ts';
import {
  PSF_LAYOUT_KIND,
  checkPsfLayout,
  isPsfLayoutFolder,
  type AttestedDevice,
  type AttestedKey,
  type PsfAttestation,
} from './psf-layout.ts';
import {
  VerifyInputError,
  isDir,
  namesWithMore,
  type CheckResult,
  type DeviceFolder,
} from './verify-common.ts';
import { ceremonyFamilies } from '../../ceremony-families.ts';

export type { CheckResult, DeviceFolder };

/**
 * A device folder's check. `isUnverified`: its detail shows fields read from a certificate whose
 * chain failed, each marked "(unverified)": what the certificate claims, not what is proven.
 */
export interface DeviceCheckResult extends CheckResult {
  isUnverified?: boolean;
}

export interface DeviceFolderReport {
  folder: string;
  /** The folder name, which is the device serial as a file-name component. */
  serial: string;
  /** The ceremony the folder belongs to (`ceremony/<name>/ceremony-products/`), null if unnamed. */
  ceremony: string | null;
  /** The manifest's `kind`, null when there is no readable manifest. */
  kind: string | null;
  /** From the manifest; null when it has none readable, so it is never shown as production. */
  isRehearsal: boolean | null;
  /** PSF layout: its keys' attestations chain, one does not, or there is none; null otherwise. */
  attestation: PsfAttestation | null;
  /** PSF layout: what its certificates say, each marked verified or not; null without any. */
  attested: { device: AttestedDevice | null; keys: AttestedKey[] } | null;
  checks: DeviceCheckResult[];
  isOk: boolean;
}

export interface VerifyReport {
  v: 1;
  root: string;
  /** The ceremonies read, in order (`ceremony/<name>/`); empty when the layout names none. */
  ceremonies: string[];
  devices: DeviceFolderReport[];
  /**
   * Findings about the products folder itself: anything in ceremony-products/ that is not a
   * device folder (a stray file, a link, a pipe). Empty when there is nothing to say.
   */
  checks: CheckResult[];
  isOk: boolean;
}

/** The path holds nothing to verify: a usage or I/O problem, not a verification failure. */
export { VerifyInputError, isDir };

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

const TokenManifest = z.object({
  v: z.literal(1),
  kind: z.literal(MANIFEST_KIND),
  rehearsal: z.boolean(),
  ceremonyId: z.string(),
  createdAt: z.string(),
  device: z.object({
    family: z.string(),
    manufacturer: z.string(),
    model: z.string(),
    serial: z.string().min(1),
    label: z.string(),
  }),
  keys: z
    .array(
      z.object({
        label: z.string().regex(/^[a-z0-9-]+$/),
        algorithm: z.enum(keyCurves as [string, ...string[]]),
        rawFile: z.string(),
        pemFile: z.string(),
        spkiSha256: Sha256,
        generatedOnDevice: z.boolean(),
      }),
    )
    .min(1),
  files: z.array(z.object({ name: z.string(), sha256: Sha256, sizeBytes: z.number() })),
});
type TokenManifest = z.infer<typeof TokenManifest>;

/** Product-kind specific checks; the key is the manifest's `kind`. */
export const productCheckers: Record<
  string,
  (
    folder: DeviceFolder,
    manifest: unknown,
  ) => { checks: CheckResult[]; isRehearsal: boolean | null }
> = {
  [MANIFEST_KIND]: checkTokenProvisioning,
  // Families plugged into the engine bring their own checkers.
  ...Object.fromEntries(
    ceremonyFamilies.flatMap((family) =>
      Object.entries(family.productCheckers ?? {}).map(([kind, check]) => [
        kind,
        (folder: DeviceFolder, manifest: unknown) =>
          check(folder, manifest, {
            manifestShapeFailure,
            checkManifestFiles,
            rehearsalAgreement,
          }),
      ]),
    ),
  ),
};

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const looksLikeDeviceFolder = (path: string) =>
  isEntryAt(join(path, SUMS_FILE)) ||
  isEntryAt(join(path, MANIFEST_FILE)) ||
  isPsfLayoutFolder(
    basename(resolve(path)),
    listFolder(path).map((e) => e.name),
  );

export interface VerifyOptions {
  /** A device folder without attestation fails instead of warning. */
  requireAttestation: boolean;
}

const defaultVerifyOptions: VerifyOptions = { requireAttestation: false };

/** One folder of device folders, the ceremony it belongs to, and what sits there that is not one. */
interface ProductsRoot {
  path: string;
  /** Its name as findings show it: ceremony-products, or the name a renamed copy has. */
  shownAs: string;
  ceremony: string | null;
  folders: string[];
  /** Entries that are not device folders, each in words. */
  strays: string[];
}

/** The folders of device folders to verify. */
interface DeviceFolders {
  roots: ProductsRoot[];
  /** Entries of a repository's ceremony/ folder that hold no products, each in words. */
  notCeremonies: string[];
}

/** PSF's repository keeps each ceremony in ceremony/<name>/ (its ceremony-products/ inside). */
const CEREMONIES_FOLDER = 'ceremony';

/** Pure: the ceremony a ceremony-products folder belongs to, when its path says (…/ceremony/<name>/). */
export function ceremonyNameOf(productsFolder: string): string | null {
  const resolved = resolve(productsFolder);
  const ceremonyFolder = dirname(resolved);
  return basename(resolved) === PRODUCTS_FOLDER &&
    basename(dirname(ceremonyFolder)) === CEREMONIES_FOLDER
    ? basename(ceremonyFolder)
    : null;
}

/** Everything in a products folder is meant to be a device folder: anything else is a stray. */
function readProductsRoot(path: string): ProductsRoot {
  const entries = listFolder(path, '');
  return {
    path,
    shownAs: basename(resolve(path)),
    ceremony: ceremonyNameOf(path),
    folders: entries.filter((e) => e.kind === 'folder').map((e) => join(path, e.name)),
    strays: entries
      .filter((e) => e.kind !== 'folder')
      .map((e) => `${e.name} (${entryWords(e.kind)})`),
  };
}

/** `<folder>/ceremony-products` as a products root: a folder is read, anything else is named. */
function innerProductsRoot(folder: string): ProductsRoot | null {
  const inner = join(folder, PRODUCTS_FOLDER);
  const kind = entryKindAt(inner);
  if (kind === 'missing') return null;
  if (kind === 'folder') return readProductsRoot(inner);
  // SECURITY: a ceremony-products that is a link or a pipe is named, never followed or opened.
  return {
    path: folder,
    shownAs: PRODUCTS_FOLDER,
    ceremony: ceremonyNameOf(inner),
    folders: [],
    strays: [refusalOf(PRODUCTS_FOLDER, kind, 'a folder').message],
  };
}

/** A repository's ceremonies, each `<name>/ceremony-products/` read on its own; null if none. */
function ceremoniesIn(folder: string): DeviceFolders | null {
  if (entryKindAt(folder) !== 'folder') return null;
  const roots: ProductsRoot[] = [];
  const notCeremonies: string[] = [];
  for (const entry of listFolder(folder, CEREMONIES_FOLDER)) {
    const root = entry.kind === 'folder' ? innerProductsRoot(join(folder, entry.name)) : null;
    if (root) roots.push(root);
    else
      notCeremonies.push(
        `${CEREMONIES_FOLDER}/${entry.name} (${entry.kind === 'folder' ? `no ${PRODUCTS_FOLDER} folder` : entryWords(entry.kind)})`,
      );
  }
  return roots.length > 0 ? { roots, notCeremonies } : null;
}

/** Does any child folder look like a device folder (a renamed ceremony-products)? */
function holdsDeviceFolders(path: string): boolean {
  return listFolder(path, '').some((entry) => {
    if (entry.kind !== 'folder') return false;
    try {
      return looksLikeDeviceFolder(join(path, entry.name));
    } catch (error) {
      // A child that cannot be listed is no evidence either way: it is judged if the folder is.
      if (error instanceof UntrustedReadError) return false;
      throw error;
    }
  });
}

/**
 * The folder holding ceremony-products/, that folder itself, one device folder, a repository of
 * ceremonies (or its ceremony/ folder), or a folder of device folders under another name.
 */
function locateDeviceFolders(path: string): DeviceFolders {
  if (!isDir(path)) throw new VerifyInputError(`${path} is not a folder`);
  const one = (root: ProductsRoot): DeviceFolders => ({ roots: [root], notCeremonies: [] });
  const inner = innerProductsRoot(path);
  if (inner) return one(inner);
  if (basename(resolve(path)) === PRODUCTS_FOLDER) return one(readProductsRoot(path));
  if (looksLikeDeviceFolder(path))
    return one({
      path,
      shownAs: basename(resolve(path)),
      ceremony: ceremonyNameOf(dirname(resolve(path))),
      folders: [path],
      strays: [],
    });
  const ceremonies =
    ceremoniesIn(join(path, CEREMONIES_FOLDER)) ??
    (basename(resolve(path)) === CEREMONIES_FOLDER ? ceremoniesIn(path) : null);
  if (ceremonies) return ceremonies;
  if (holdsDeviceFolders(path)) return one(readProductsRoot(path));
  throw new VerifyInputError(
    `no ${PRODUCTS_FOLDER} folder and no device folder at ${path} (nor ${CEREMONIES_FOLDER}/<name>/${PRODUCTS_FOLDER}, nor a folder of device folders)`,
  );
}

/** The device folders `verifyProducts` would check, in its order. */
export function findDeviceFolders(path: string): string[] {
  return inReadSession(() => locateDeviceFolders(path).roots.flatMap((r) => r.folders));
}

/** A product name: plain segments separated by '/', nothing that climbs out of the folder. */
function isSafeRelativeName(name: string): boolean {
  return name.split('/').every((s) => s.length > 0 && s !== '.' && s !== '..' && !s.includes('\\'));
}

/**
 * Regular files under `path` as relative names (sub-folders walked, as Docker's keys/<serial>/
 * layout needs), and everything else — links, pipes, devices, empty folders — by name, in words.
 * Nothing is followed or opened.
 */
function listProducts(path: string): { files: string[]; others: string[]; refused: string[] } {
  const tree = walkFolder(path);
  return {
    files: tree.files,
    refused: tree.refused.map((r) => r.name),
    others: [
      ...tree.refused.map((r) =>
        r.kind === 'too-deep'
          ? `${r.name} (a folder nested too deep)`
          : `${r.name} (${entryWords(r.entryKind)})`,
      ),
      ...tree.emptyFolders.map((name) => `${name} (an empty folder)`),
    ],
  };
}

/** What a person does about entries that are not regular files. */
const REFUSED_ADVICE =
  'never followed or opened: Vigil reads only regular files in a folder it verifies';

/** GNU sha256sum lines: "<64 hex>  <name>" (a '*' instead of the second space marks binary mode). */
export function parseSums(text: string): { entries: Map<string, string>; badLines: number[] } {
  const entries = new Map<string, string>();
  const badLines: number[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.length === 0) continue;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match?.[1] || !match[2] || !isSafeRelativeName(match[2]) || entries.has(match[2]))
      badLines.push(index + 1);
    else entries.set(match[2], match[1]);
  }
  return { entries, badLines };
}

/** A listed file's SHA-256, or why it could not be read (too large, swapped for a link). */
function hashOrRefusal(
  folder: DeviceFolder,
  name: string,
): { sha256: string } | { refusal: string } {
  try {
    return { sha256: folder.sha256(name) };
  } catch (error) {
    if (!(error instanceof UntrustedReadError)) throw error;
    return { refusal: error.message };
  }
}

function checkSums(
  folder: DeviceFolder,
  others: readonly string[],
  refused: readonly string[],
): CheckResult[] {
  const files = new Set(folder.files);
  if (!files.has(SUMS_FILE))
    return [{ check: 'sha256sums', isOk: false, detail: `${SUMS_FILE} is missing` }];
  let sums: ReturnType<typeof parseSums>;
  try {
    sums = parseSums(new TextDecoder().decode(folder.read(SUMS_FILE)));
  } catch (error) {
    if (!(error instanceof UntrustedReadError)) throw error;
    return [{ check: 'sha256sums', isOk: false, detail: error.message }];
  }
  const { entries, badLines } = sums;
  const notRegular = new Set(refused);
  const missing = [...entries.keys()].filter((name) => !files.has(name) && !notRegular.has(name));
  const listedRefused = [...entries.keys()].filter((name) => notRegular.has(name));
  const differing: string[] = [];
  const unread: string[] = [];
  for (const [name, hash] of entries) {
    if (!files.has(name)) continue;
    const found = hashOrRefusal(folder, name);
    if ('refusal' in found) unread.push(found.refusal);
    else if (found.sha256 !== hash) differing.push(name);
  }
  const problems = [
    badLines.length > 0 ? `malformed line(s) ${namesWithMore(badLines.map(String))}` : '',
    missing.length > 0 ? `listed but missing: ${namesWithMore(missing)}` : '',
    listedRefused.length > 0
      ? `listed but not a regular file, never read: ${namesWithMore(listedRefused)}`
      : '',
    differing.length > 0 ? `mismatch: ${namesWithMore(differing)}` : '',
    ...unread.slice(0, 3).map((u) => u.replace(/\.$/, '')),
    unread.length > 3 ? `and ${unread.length - 3} more file(s) not read` : '',
  ].filter(Boolean);
  const unlisted = folder.files.filter((f) => f !== SUMS_FILE && !entries.has(f));
  const listingProblems = [
    unlisted.length > 0 ? `not in ${SUMS_FILE}: ${namesWithMore(unlisted)}` : '',
    others.length > 0 ? `not a regular file: ${namesWithMore(others)}, ${REFUSED_ADVICE}` : '',
  ].filter(Boolean);
  return [
    {
      check: 'sha256sums',
      isOk: problems.length === 0,
      detail: problems.length === 0 ? `${entries.size} files match` : problems.join('; '),
    },
    {
      check: 'all-files-listed',
      isOk: listingProblems.length === 0,
      detail: listingProblems.length === 0 ? 'every file is listed' : listingProblems.join('; '),
    },
  ];
}

/** A device folder as its checkers see it: listed once, each file hashed once (the session keeps it). */
function openDeviceFolder(path: string, files: string[]): DeviceFolder {
  const listed = new Set(files);
  const mustBeListed = (name: string) => {
    // SECURITY: a checker reads only what the walk found as a regular file, never a name a
    // manifest made up (which could climb out of the folder or name a link).
    if (!listed.has(name)) throw refusalOf(name, 'missing');
  };
  return {
    path,
    serial: basename(path),
    files,
    read: (name) => {
      mustBeListed(name);
      return readFileIn(path, name);
    },
    sha256: (name) => {
      mustBeListed(name);
      return hashFileIn(path, name).sha256;
    },
  };
}

export function verifyDeviceFolder(
  path: string,
  options: VerifyOptions = defaultVerifyOptions,
  ceremony: string | null = null,
): DeviceFolderReport {
  return inReadSession(() => {
    try {
      return checkDeviceFolder(path, options, ceremony);
    } catch (error) {
      // What could not be read is a failure of this folder, named; the others are still checked.
      if (!(error instanceof UntrustedReadError)) throw error;
      return {
        folder: path,
        serial: basename(path),
        ceremony,
        kind: null,
        isRehearsal: null,
        attestation: null,
        attested: null,
        checks: [{ check: 'read', isOk: false, detail: error.message }],
        isOk: false,
      };
    }
  });
}

function checkDeviceFolder(
  path: string,
  options: VerifyOptions,
  ceremony: string | null,
): DeviceFolderReport {
  const { files, others, refused } = listProducts(path);
  // A link, device or empty folder is never a product; listing it keeps it from passing unseen.
  const folder = openDeviceFolder(path, files);
  // Products in the PSF layout without Vigil's manifest: other tools' ceremonies.
  if (
    !folder.files.includes(MANIFEST_FILE) &&
    !folder.files.includes(SUMS_FILE) &&
    isPsfLayoutFolder(folder.serial, folder.files)
  ) {
    const result = checkPsfLayout(folder, options);
    if (others.length > 0) {
      result.checks.unshift({
        check: 'layout',
        isOk: false,
        detail: `not a regular file: ${namesWithMore(others)}, ${REFUSED_ADVICE}`,
      });
    }
    return {
      folder: path,
      serial: folder.serial,
      ceremony,
      kind: PSF_LAYOUT_KIND,
      isRehearsal: result.isRehearsal,
      attestation: result.attestation,
      attested: result.attested,
      checks: result.checks,
      isOk: result.checks.every((c) => c.isOk),
    };
  }
  const checks = checkSums(folder, others, refused);
  let kind: string | null = null;
  let isRehearsal: boolean | null = null;
  if (!folder.files.includes(MANIFEST_FILE)) {
    checks.push({ check: 'manifest', isOk: false, detail: `${MANIFEST_FILE} is missing` });
  } else {
    let manifest: unknown;
    let unreadable: string | null = null;
    try {
      manifest = parseBoundedJson(
        new TextDecoder('utf-8', { fatal: true }).decode(folder.read(MANIFEST_FILE)),
      );
    } catch (error) {
      manifest = undefined;
      unreadable =
        error instanceof UntrustedReadError
          ? error.message
          : error instanceof JsonDepthError
            ? `${MANIFEST_FILE}: ${error.message}`
            : `${MANIFEST_FILE} is not JSON`;
    }
    const found = (manifest as { kind?: unknown } | null | undefined)?.kind;
    const checker = typeof found === 'string' ? productCheckers[found] : undefined;
    if (manifest === undefined) {
      checks.push({ check: 'manifest', isOk: false, detail: unreadable ?? '' });
    } else if (!checker) {
      checks.push({
        check: 'manifest',
        isOk: false,
        detail: `unknown product kind ${JSON.stringify(found ?? null)}`,
      });
    } else {
      kind = found as string;
      const result = checker(folder, manifest);
      checks.push(...result.checks);
      isRehearsal = result.isRehearsal;
    }
  }
  return {
    folder: path,
    serial: folder.serial,
    ceremony,
    kind,
    isRehearsal,
    attestation: null,
    attested: null,
    checks,
    isOk: checks.every((c) => c.isOk),
  };
}

/** A manifest that does not have its kind's shape: where it differs, and no verdict on rehearsal. */
function rehearsalAgreement(
  manifestSays: boolean,
  evidenceSays: boolean | null,
  evidence: string,
): CheckResult {
  const word = (says: boolean | null) =>
    says === true ? 'rehearsal' : says === false ? 'production' : 'neither, or both';
  const agrees = evidenceSays === manifestSays;
  return {
    check: 'rehearsal',
    isOk: agrees,
    detail: !agrees
      ? `the manifest says ${word(manifestSays)}, ${evidence}: ${word(evidenceSays)}`
      : manifestSays
        ? 'REHEARSAL products: not for production use'
        : 'production products',
  };
}

function manifestShapeFailure(error: z.ZodError): {
  checks: CheckResult[];
  isRehearsal: null;
} {
  const where = error.issues.map((i) => i.path.join('.') || '(top)').join(', ');
  return {
    checks: [{ check: 'manifest', isOk: false, detail: `unexpected shape at ${where}` }],
    isRehearsal: null,
  };
}

/** PKCS#11 token provisioning: manifest shape, serial, listed files, and every key. */
function checkTokenProvisioning(
  folder: DeviceFolder,
  input: unknown,
): { checks: CheckResult[]; isRehearsal: boolean | null } {
  const parsed = TokenManifest.safeParse(input);
  if (!parsed.success) return manifestShapeFailure(parsed.error);
  const manifest = parsed.data;
  const checks: CheckResult[] = [];
  const add = (check: string, isOk: boolean, detail: string) =>
    checks.push({ check, isOk, detail });
  const serialOk = serialComponent(manifest.device.serial) === folder.serial;
  const labels = manifest.keys.map((k) => k.label);
  const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
  add(
    'manifest',
    serialOk && duplicate === undefined,
    !serialOk
      ? `manifest serial ${manifest.device.serial} is not the folder ${folder.serial}`
      : duplicate !== undefined
        ? `key ${duplicate} appears twice`
        : `${manifest.device.manufacturer} ${manifest.device.model}, serial ${manifest.device.serial}`,
  );
  checks.push(checkManifestFiles(folder, manifest.files));
  for (const key of manifest.keys) add(`key:${key.label}`, ...checkKey(folder, key));
  // Rehearsal is a property of the device: a rehearsal family can never sign off production.
  const contradiction = !manifest.rehearsal && manifest.device.family.includes('rehearsal');
  add(
    'rehearsal',
    !contradiction,
    contradiction
      ? `device family ${manifest.device.family} is a rehearsal device, but the manifest claims production`
      : manifest.rehearsal
        ? 'REHEARSAL products: not for production use'
        : 'production products',
  );
  return { checks, isRehearsal: contradiction ? true : manifest.rehearsal };
}

/** The manifest lists every product file except itself and SHA256SUMS, and each must match. */
function checkManifestFiles(
  folder: DeviceFolder,
  files: readonly { name: string; sha256: string }[],
): CheckResult {
  const present = new Set(folder.files);
  const expected = folder.files.filter((f) => f !== MANIFEST_FILE && f !== SUMS_FILE).sort();
  const listed = new Set(files.map((f) => f.name));
  const bad = files.filter((f) => {
    if (!present.has(f.name)) return true;
    const found = hashOrRefusal(folder, f.name);
    return !('sha256' in found) || found.sha256 !== f.sha256;
  });
  const unlisted = expected.filter((f) => !listed.has(f));
  return {
    check: 'manifest-files',
    isOk: bad.length === 0 && unlisted.length === 0,
    detail:
      bad.length > 0
        ? `differ from the manifest: ${namesWithMore(bad.map((f) => f.name))}`
        : unlisted.length > 0
          ? `not in the manifest: ${namesWithMore(unlisted)}`
          : `${files.length} files match the manifest`,
  };
}

function checkKey(folder: DeviceFolder, key: TokenManifest['keys'][number]): [boolean, string] {
  const rawName = `${folder.serial}_${key.label}_pubkey.pub`;
  const pemName = `${folder.serial}_${key.label}_pubkey.pem`;
  if (key.rawFile !== rawName || key.pemFile !== pemName)
    return [false, `file names are not ${rawName} and ${pemName}`];
  const missing = [rawName, pemName].filter((n) => !folder.files.includes(n));
  if (missing.length > 0) return [false, `key file missing: ${missing.join(', ')}`];
  let spki: Uint8Array;
  let parsed: ReturnType<typeof rawPublicKeyFromSpki>;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(folder.read(pemName));
    spki = decodePem(text, 'PUBLIC KEY');
    parsed = rawPublicKeyFromSpki(spki);
  } catch (error) {
    return [false, `${pemName}: ${error instanceof Error ? error.message : 'unreadable'}`];
  }
  if (parsed.curve !== key.algorithm)
    return [false, `${pemName} holds a ${parsed.curve} key, the manifest says ${key.algorithm}`];
  if (!bytesEqual(parsed.raw, folder.read(rawName)))
    return [false, `${rawName} is not the key in ${pemName}`];
  const fingerprint = sha256(spki);
  if (fingerprint !== key.spkiSha256)
    return [false, `SPKI SHA-256 ${fingerprint} differs from the manifest`];
  return [
    true,
    `${key.algorithm}, SPKI SHA-256 ${fingerprint}${key.generatedOnDevice ? ', generated on device' : ''}`,
  ];
}

/** What sits beside the device folders of one products folder, as one failing check. */
function strayCheck(root: ProductsRoot, isOneOfMany: boolean): CheckResult {
  const where = isOneOfMany && root.ceremony !== null ? `ceremony ${root.ceremony}: ` : '';
  return {
    check: 'products-folder',
    isOk: false,
    detail: `${where}not a device folder: ${namesWithMore(root.strays)}; only device folders belong in ${root.shownAs}/, and Vigil opens nothing else there`,
  };
}

/** Pure: the folder-level checks: strays (failures), then ceremony/ entries with no products. */
function folderChecks(located: DeviceFolders): CheckResult[] {
  const isOneOfMany = located.roots.length > 1;
  return [
    // SECURITY: a stray file, link or pipe beside the device folders is reported, never skipped.
    ...located.roots.filter((r) => r.strays.length > 0).map((r) => strayCheck(r, isOneOfMany)),
    ...(located.notCeremonies.length > 0
      ? [
          {
            check: 'ceremonies',
            isOk: true,
            isWarning: true,
            detail: `not verified, no ${PRODUCTS_FOLDER} there: ${namesWithMore(located.notCeremonies)}`,
          },
        ]
      : []),
  ];
}

export function verifyProducts(
  path: string,
  options: VerifyOptions = defaultVerifyOptions,
): VerifyReport {
  return inReadSession(() => {
    let located: DeviceFolders;
    try {
      located = locateDeviceFolders(path);
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      throw new VerifyInputError(`cannot read ${path}: ${error.message}`);
    }
    const { roots } = located;
    if (roots.every((r) => r.folders.length === 0 && r.strays.length === 0))
      throw new VerifyInputError(`no device folder found under ${path}`);
    let devices: DeviceFolderReport[];
    try {
      devices = roots.flatMap((root) =>
        root.folders.map((folder) => verifyDeviceFolder(folder, options, root.ceremony)),
      );
    } catch (error) {
      // A folder or file that cannot be read at all is an I/O problem, not a verdict.
      throw new VerifyInputError(
        `cannot read the products: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const checks = folderChecks(located);
    return {
      v: 1,
      root: path,
      ceremonies: [...new Set(roots.flatMap((r) => (r.ceremony === null ? [] : [r.ceremony])))],
      devices,
      checks,
      isOk: devices.every((d) => d.isOk) && checks.every((c) => c.isOk),
    };
  });
}
