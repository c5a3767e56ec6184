// Verifies ceremony products on disk, whoever wrote them: finds every device folder, then checks
// SHA256SUMS, the manifest and the key files against each other. Each device folder gets a list
// of named checks, so later families (attestations) add checks rather than new reports.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { bytesEqual } from '../../formats/der.ts';
import { rawPublicKeyFromSpki, keyCurves } from '../../formats/ec-point.ts';
import { decodePem } from '../../formats/pem.ts';
import {
  MANIFEST_FILE,
  MANIFEST_KIND,
  PRODUCTS_FOLDER,
  SUMS_FILE,
  serialComponent,
} from './token-products.ts';

export interface CheckResult {
  check: string;
  isOk: boolean;
  detail: string;
}

export interface DeviceFolderReport {
  folder: string;
  serial: string;
  /** null when the folder has no readable manifest. */
  isRehearsal: boolean | null;
  checks: CheckResult[];
  isOk: boolean;
}

export interface VerifyReport {
  root: string;
  devices: DeviceFolderReport[];
  isOk: boolean;
}

export class VerifyInputError extends Error {}

const Manifest = z.object({
  v: z.literal(1),
  kind: z.literal(MANIFEST_KIND),
  rehearsal: z.boolean(),
  ceremonyId: z.string(),
  createdAt: z.string(),
  device: z.object({
    family: z.string(),
    manufacturer: z.string(),
    model: z.string(),
    serial: z.string(),
    label: z.string(),
  }),
  keys: z.array(
    z.object({
      label: z.string(),
      algorithm: z.enum(keyCurves as [string, ...string[]]),
      rawFile: z.string(),
      pemFile: z.string(),
      spkiSha256: z.string().regex(/^[0-9a-f]{64}$/),
      generatedOnDevice: z.boolean(),
    }),
  ),
  files: z.array(z.object({ name: z.string(), sha256: z.string(), sizeBytes: z.number() })),
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();
const looksLikeDeviceFolder = (path: string) =>
  existsSync(join(path, SUMS_FILE)) || existsSync(join(path, MANIFEST_FILE));

/** The folder holding ceremony-products/, that folder itself, or one device folder. */
export function findDeviceFolders(path: string): string[] {
  if (!isDir(path)) throw new VerifyInputError(`${path} is not a folder`);
  const productsRoot = isDir(join(path, PRODUCTS_FOLDER)) ? join(path, PRODUCTS_FOLDER) : path;
  if (productsRoot === path && looksLikeDeviceFolder(path)) return [path];
  return readdirSync(productsRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => join(productsRoot, e.name))
    .sort();
}

/** GNU sha256sum lines: "<64 hex>  <name>" (a '*' instead of the second space marks binary mode). */
export function parseSums(text: string): { entries: Map<string, string>; badLines: number[] } {
  const entries = new Map<string, string>();
  const badLines: number[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.length === 0) continue;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match?.[1] || !match[2] || match[2].includes('/') || entries.has(match[2]))
      badLines.push(index + 1);
    else entries.set(match[2], match[1]);
  }
  return { entries, badLines };
}

export function verifyDeviceFolder(folder: string): DeviceFolderReport {
  const checks: CheckResult[] = [];
  const add = (check: string, isOk: boolean, detail: string) =>
    checks.push({ check, isOk, detail });
  const serial = basename(folder);
  const files = readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
  const read = (name: string) => new Uint8Array(readFileSync(join(folder, name)));

  // SHA256SUMS: present, well formed, every listed file matches, every file listed.
  if (!files.includes(SUMS_FILE)) {
    add('sha256sums', false, `${SUMS_FILE} is missing`);
  } else {
    const { entries, badLines } = parseSums(readFileSync(join(folder, SUMS_FILE), 'utf8'));
    if (badLines.length > 0) add('sha256sums', false, `malformed line(s) ${badLines.join(', ')}`);
    const mismatched = [...entries].filter(
      ([name, hash]) => !files.includes(name) || sha256(read(name)) !== hash,
    );
    add(
      'sha256sums',
      mismatched.length === 0 && badLines.length === 0,
      mismatched.length === 0
        ? `${entries.size} files match`
        : `mismatch or missing: ${mismatched.map(([n]) => n).join(', ')}`,
    );
    const unlisted = files.filter((f) => f !== SUMS_FILE && !entries.has(f));
    add(
      'all-files-listed',
      unlisted.length === 0,
      unlisted.length === 0
        ? 'every file is listed'
        : `not in ${SUMS_FILE}: ${unlisted.join(', ')}`,
    );
  }

  // manifest.json: shape, serial, and the files it lists.
  let manifest: z.infer<typeof Manifest> | null = null;
  if (!files.includes(MANIFEST_FILE)) {
    add('manifest', false, `${MANIFEST_FILE} is missing`);
  } else {
    try {
      const parsed = Manifest.safeParse(
        JSON.parse(readFileSync(join(folder, MANIFEST_FILE), 'utf8')),
      );
      if (parsed.success) manifest = parsed.data;
      else
        add(
          'manifest',
          false,
          `unexpected shape at ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
        );
    } catch {
      add('manifest', false, `${MANIFEST_FILE} is not JSON`);
    }
  }
  if (manifest) {
    const serialOk = serialComponent(manifest.device.serial) === serial;
    add(
      'manifest',
      serialOk,
      serialOk
        ? `${manifest.device.manufacturer} ${manifest.device.model}, serial ${manifest.device.serial}`
        : `manifest serial ${manifest.device.serial} is not the folder ${serial}`,
    );
    const listedBad = manifest.files.filter(
      (f) => !files.includes(f.name) || sha256(read(f.name)) !== f.sha256,
    );
    add(
      'manifest-files',
      listedBad.length === 0,
      listedBad.length === 0
        ? `${manifest.files.length} files match the manifest`
        : `differ from the manifest: ${listedBad.map((f) => f.name).join(', ')}`,
    );
    for (const key of manifest.keys)
      add(`key:${key.label}`, ...checkKey(folder, serial, files, key));
    add(
      'rehearsal',
      true,
      manifest.rehearsal ? 'REHEARSAL products: not for production use' : 'production products',
    );
  }
  return {
    folder,
    serial,
    isRehearsal: manifest?.rehearsal ?? null,
    checks,
    isOk: checks.every((c) => c.isOk),
  };
}

function checkKey(
  folder: string,
  serial: string,
  files: string[],
  key: z.infer<typeof Manifest>['keys'][number],
): [boolean, string] {
  const expected = [`${serial}_${key.label}_pubkey.pub`, `${serial}_${key.label}_pubkey.pem`];
  if (key.rawFile !== expected[0] || key.pemFile !== expected[1])
    return [false, `file names are not ${expected.join(' and ')}`];
  if (!files.includes(key.rawFile) || !files.includes(key.pemFile))
    return [false, 'key file missing'];
  let spki: Uint8Array;
  let parsed: ReturnType<typeof rawPublicKeyFromSpki>;
  try {
    spki = decodePem(readFileSync(join(folder, key.pemFile), 'utf8'), 'PUBLIC KEY');
    parsed = rawPublicKeyFromSpki(spki);
  } catch (error) {
    return [false, `${key.pemFile}: ${error instanceof Error ? error.message : 'unreadable'}`];
  }
  if (parsed.curve !== key.algorithm)
    return [
      false,
      `${key.pemFile} holds a ${parsed.curve} key, the manifest says ${key.algorithm}`,
    ];
  if (!bytesEqual(parsed.raw, new Uint8Array(readFileSync(join(folder, key.rawFile)))))
    return [false, `${key.rawFile} is not the key in ${key.pemFile}`];
  const fingerprint = sha256(spki);
  if (fingerprint !== key.spkiSha256)
    return [false, `SPKI SHA-256 ${fingerprint} differs from the manifest`];
  return [
    true,
    `${key.algorithm}, SPKI SHA-256 ${fingerprint}${key.generatedOnDevice ? ', generated on device' : ''}`,
  ];
}

export function verifyProducts(path: string): VerifyReport {
  const folders = findDeviceFolders(path);
  if (folders.length === 0) throw new VerifyInputError(`no device folder found under ${path}`);
  const devices = folders.map(verifyDeviceFolder);
  return { root: path, devices, isOk: devices.every((d) => d.isOk) };
}
