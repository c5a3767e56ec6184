// Verifies ceremony products on disk, whoever wrote them: finds every device folder, then checks
// SHA256SUMS, the manifest and the key files against each other. Every device folder gets a list
// of named checks. The generic checks (checksums, listing) run on every folder; the rest is chosen
// by the manifest's `kind`, so a later family (YubiHSM attestations, PIV) adds an entry to
// `productCheckers` rather than a new report format.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
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
import { PSF_LAYOUT_KIND, checkPsfLayout, isPsfLayoutFolder } from './psf-layout.ts';
import { VerifyInputError, isDir, type CheckResult, type DeviceFolder } from './verify-common.ts';
import { ceremonyFamilies } from '../../ceremony-families.ts';

export type { CheckResult, DeviceFolder };

export interface DeviceFolderReport {
  folder: string;
  /** The folder name, which is the device serial as a file-name component. */
  serial: string;
  /** The manifest's `kind`, null when there is no readable manifest. */
  kind: string | null;
  /** From the manifest; null when it has none readable, so it is never shown as production. */
  isRehearsal: boolean | null;
  checks: CheckResult[];
  isOk: boolean;
}

export interface VerifyReport {
  v: 1;
  root: string;
  devices: DeviceFolderReport[];
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
  existsSync(join(path, SUMS_FILE)) ||
  existsSync(join(path, MANIFEST_FILE)) ||
  isPsfLayoutFolder(basename(resolve(path)), readdirSync(path));

export interface VerifyOptions {
  /** A device folder without attestation fails instead of warning. */
  requireAttestation: boolean;
}

const defaultVerifyOptions: VerifyOptions = { requireAttestation: false };

/** The folder holding ceremony-products/, that folder itself, or one device folder. */
export function findDeviceFolders(path: string): string[] {
  if (!isDir(path)) throw new VerifyInputError(`${path} is not a folder`);
  let productsRoot: string;
  if (isDir(join(path, PRODUCTS_FOLDER))) productsRoot = join(path, PRODUCTS_FOLDER);
  else if (basename(resolve(path)) === PRODUCTS_FOLDER) productsRoot = path;
  else if (looksLikeDeviceFolder(path)) return [path];
  else throw new VerifyInputError(`no ${PRODUCTS_FOLDER} folder and no device folder at ${path}`);
  // Everything in ceremony-products is meant to be a device folder: a stray one is a failure.
  return readdirSync(productsRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(productsRoot, e.name))
    .sort();
}

/** A product name: plain segments separated by '/', nothing that climbs out of the folder. */
function isSafeRelativeName(name: string): boolean {
  return name.split('/').every((s) => s.length > 0 && s !== '.' && s !== '..' && !s.includes('\\'));
}

/**
 * Regular files under `path` as relative names (sub-folders walked, as Docker's keys/<serial>/
 * layout needs), and everything else — links, devices, empty folders — by name.
 */
function listProducts(path: string, prefix = ''): { files: string[]; others: string[] } {
  const files: string[] = [];
  const others: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const name = prefix + entry.name;
    if (entry.isFile()) files.push(name);
    else if (entry.isDirectory()) {
      const inner = listProducts(join(path, entry.name), `${name}/`);
      if (inner.files.length === 0 && inner.others.length === 0) others.push(name);
      files.push(...inner.files);
      others.push(...inner.others);
    } else others.push(name);
  }
  return { files, others };
}

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

function checkSums(folder: DeviceFolder, others: string[]): CheckResult[] {
  if (!folder.files.includes(SUMS_FILE))
    return [{ check: 'sha256sums', isOk: false, detail: `${SUMS_FILE} is missing` }];
  const { entries, badLines } = parseSums(new TextDecoder().decode(folder.read(SUMS_FILE)));
  const missing = [...entries.keys()].filter((name) => !folder.files.includes(name));
  const differing = [...entries].filter(
    ([name, hash]) => folder.files.includes(name) && sha256(folder.read(name)) !== hash,
  );
  const problems = [
    badLines.length > 0 ? `malformed line(s) ${badLines.join(', ')}` : '',
    missing.length > 0 ? `listed but missing: ${missing.join(', ')}` : '',
    differing.length > 0 ? `mismatch: ${differing.map(([n]) => n).join(', ')}` : '',
  ].filter(Boolean);
  const unlisted = folder.files.filter((f) => f !== SUMS_FILE && !entries.has(f));
  const listingProblems = [
    unlisted.length > 0 ? `not in ${SUMS_FILE}: ${unlisted.join(', ')}` : '',
    others.length > 0 ? `not a regular file: ${others.join(', ')}` : '',
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

export function verifyDeviceFolder(
  path: string,
  options: VerifyOptions = defaultVerifyOptions,
): DeviceFolderReport {
  const { files, others } = listProducts(path);
  // A link, device or empty folder is never a product; listing it keeps it from passing unseen.
  const folder: DeviceFolder = {
    path,
    serial: basename(path),
    files,
    read: (name) => new Uint8Array(readFileSync(join(path, name))),
  };
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
        detail: `not regular files: ${others.join(', ')}`,
      });
    }
    return {
      folder: path,
      serial: folder.serial,
      kind: PSF_LAYOUT_KIND,
      isRehearsal: result.isRehearsal,
      checks: result.checks,
      isOk: result.checks.every((c) => c.isOk),
    };
  }
  const checks = checkSums(folder, others);
  let kind: string | null = null;
  let isRehearsal: boolean | null = null;
  if (!folder.files.includes(MANIFEST_FILE)) {
    checks.push({ check: 'manifest', isOk: false, detail: `${MANIFEST_FILE} is missing` });
  } else {
    let manifest: unknown;
    try {
      manifest = JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(folder.read(MANIFEST_FILE)),
      );
    } catch {
      manifest = undefined;
    }
    const found = (manifest as { kind?: unknown } | null | undefined)?.kind;
    const checker = typeof found === 'string' ? productCheckers[found] : undefined;
    if (manifest === undefined) {
      checks.push({ check: 'manifest', isOk: false, detail: `${MANIFEST_FILE} is not JSON` });
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
    kind,
    isRehearsal,
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
  const expected = folder.files.filter((f) => f !== MANIFEST_FILE && f !== SUMS_FILE).sort();
  const listed = files.map((f) => f.name);
  const bad = files.filter(
    (f) => !folder.files.includes(f.name) || sha256(folder.read(f.name)) !== f.sha256,
  );
  const unlisted = expected.filter((f) => !listed.includes(f));
  return {
    check: 'manifest-files',
    isOk: bad.length === 0 && unlisted.length === 0,
    detail:
      bad.length > 0
        ? `differ from the manifest: ${bad.map((f) => f.name).join(', ')}`
        : unlisted.length > 0
          ? `not in the manifest: ${unlisted.join(', ')}`
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

export function verifyProducts(
  path: string,
  options: VerifyOptions = defaultVerifyOptions,
): VerifyReport {
  const folders = findDeviceFolders(path);
  if (folders.length === 0) throw new VerifyInputError(`no device folder found under ${path}`);
  let devices: DeviceFolderReport[];
  try {
    devices = folders.map((folder) => verifyDeviceFolder(folder, options));
  } catch (error) {
    // A folder or file that cannot be read at all is an I/O problem, not a verdict.
    throw new VerifyInputError(
      `cannot read the products: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return { v: 1, root: path, devices, isOk: devices.every((d) => d.isOk) };
}
