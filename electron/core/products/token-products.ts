// The products of a PKCS#11 token provisioning, named as in the PSF TUF runbook:
// ceremony-products/<serial>/<serial>_<role>_pubkey.{pub,pem}, plus SHA256SUMS and manifest.json.
// Pure: bytes in, files out.
import type { DeviceSummary } from '../../../shared/model/device.ts';
import type { ProductKey, ProductSet } from '../../../shared/model/product.ts';
import { spkiFingerprint, sha256Hex } from '../../formats/fingerprint.ts';
import { spkiFromRawPublicKey } from '../../formats/ec-point.ts';
import { encodePem } from '../../formats/pem.ts';
import type { GeneratedKey } from '../../devices/pkcs11/driver.ts';

export const PRODUCTS_FOLDER = 'ceremony-products';
export const MANIFEST_FILE = 'manifest.json';
export const SUMS_FILE = 'SHA256SUMS';
export const MANIFEST_KIND = 'vigil.pkcs11-token-provisioning';

export interface ProductFile {
  name: string;
  bytes: Uint8Array;
}

export interface TokenProductsInput {
  device: DeviceSummary;
  keys: readonly GeneratedKey[];
  ceremonyId: string;
  createdAt: Date;
}

/** Serial as a safe folder and file-name component. */
export function serialComponent(serial: string): string {
  const safe = serial.replace(/[^A-Za-z0-9._-]/g, '_');
  if (safe.length === 0 || safe === '.' || safe === '..') throw new RangeError('unusable serial');
  return safe;
}

export interface Manifest {
  v: 1;
  kind: typeof MANIFEST_KIND;
  rehearsal: boolean;
  ceremonyId: string;
  createdAt: string;
  device: { family: string; manufacturer: string; model: string; serial: string; label: string };
  keys: {
    label: string;
    algorithm: string;
    rawFile: string;
    pemFile: string;
    spkiSha256: string;
    generatedOnDevice: boolean;
  }[];
  files: { name: string; sha256: string; sizeBytes: number }[];
}

export function describeProductFile(file: ProductFile): {
  name: string;
  sha256: string;
  sizeBytes: number;
} {
  return { name: file.name, sha256: sha256Hex(file.bytes), sizeBytes: file.bytes.length };
}

export function manifestFileOf(manifest: object): ProductFile {
  return {
    name: MANIFEST_FILE,
    bytes: new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'),
  };
}

/** GNU coreutils format, so `sha256sum -c SHA256SUMS` works in the device folder. */
export function sumsFileOf(files: readonly ProductFile[]): ProductFile {
  const sums = files.map((f) => `${sha256Hex(f.bytes)}  ${f.name}\n`).join('');
  return { name: SUMS_FILE, bytes: new TextEncoder().encode(sums) };
}

/**
 * A folder of files as Vigil writes them: the files, SHA256SUMS over them, then the manifest (the
 * fields given, and every file with its hash and size), in write order.
 */
export function withSumsAndManifest(
  files: readonly ProductFile[],
  manifest: Record<string, unknown>,
): ProductFile[] {
  const sums = sumsFileOf(files);
  return [
    ...files,
    sums,
    manifestFileOf({
      ...manifest,
      files: [...files, sums].map((f) => ({
        name: f.name,
        sha256: sha256Hex(f.bytes),
        sizeBytes: f.bytes.length,
      })),
    }),
  ];
}

/**
 * Builds every product file. Order is the write order: keys, then SHA256SUMS, then the manifest,
 * whose presence on the medium means "export complete".
 */
export function buildTokenProducts(input: TokenProductsInput): {
  files: ProductFile[];
  set: ProductSet;
} {
  const serial = serialComponent(input.device.serial);
  const keyFiles: ProductFile[] = [];
  const productKeys: ProductKey[] = [];
  for (const key of input.keys) {
    const spki = spkiFromRawPublicKey(key.rawPublicKey, key.curve);
    const rawFile = `${serial}_${key.role}_pubkey.pub`;
    const pemFile = `${serial}_${key.role}_pubkey.pem`;
    keyFiles.push({ name: rawFile, bytes: key.rawPublicKey });
    keyFiles.push({
      name: pemFile,
      bytes: new TextEncoder().encode(encodePem('PUBLIC KEY', spki)),
    });
    productKeys.push({
      role: key.role,
      curve: key.curve,
      rawFile,
      pemFile,
      fingerprint: spkiFingerprint(spki),
      isOnDevice: key.isOnDevice,
    });
  }
  const describe = describeProductFile;
  const manifest: Manifest = {
    v: 1,
    kind: MANIFEST_KIND,
    rehearsal: input.device.isRehearsal,
    ceremonyId: input.ceremonyId,
    createdAt: input.createdAt.toISOString(),
    device: {
      family: input.device.family,
      manufacturer: input.device.manufacturer,
      model: input.device.model,
      serial: input.device.serial,
      label: input.device.label,
    },
    keys: productKeys.map((k) => ({
      label: k.role,
      algorithm: k.curve,
      rawFile: k.rawFile,
      pemFile: k.pemFile,
      spkiSha256: k.fingerprint.hex,
      generatedOnDevice: k.isOnDevice,
    })),
    files: keyFiles.map(describe),
  };
  const manifestFile = manifestFileOf(manifest);
  const files = [...keyFiles, sumsFileOf([...keyFiles, manifestFile]), manifestFile];
  return {
    files,
    set: {
      serial,
      folder: `${PRODUCTS_FOLDER}/${serial}`,
      isRehearsal: input.device.isRehearsal,
      keys: productKeys,
      files: files.map(describe),
    },
  };
}
