// The products of a YubiHSM 2 provisioning: PSF's exact files (`<serial>_cert.der`,
// `<serial>_<role>_attestation.der`, `_pubkey.pub`, `_pubkey.pem`) plus Vigil's SHA256SUMS and
// manifest.json, which marks rehearsal products and completes the export. Pure: bytes in, files out.
import { z } from 'zod';
import type { DeviceSummary } from '../../../../shared/model/device.ts';
import type { ProductKey, ProductSet } from '../../../../shared/model/product.ts';
import { spkiFromRawPublicKey } from '../../../formats/ec-point.ts';
import { spkiFingerprint } from '../../../formats/fingerprint.ts';
import { psfProductFiles, signingCapability, type AttestedKey } from './provisioning.ts';
import {
  PRODUCTS_FOLDER,
  describeProductFile,
  manifestFileOf,
  serialComponent,
  sumsFileOf,
  type ProductFile,
  MANIFEST_FILE,
  SUMS_FILE,
} from '../../../core/products/token-products.ts';
import { checkPsfLayout } from '../../../core/products/psf-layout.ts';
import type { CheckResult, DeviceFolder } from '../../../core/products/verify-common.ts';
import type { ProductCheckKit } from '../../../core/runbook/ceremony-family.ts';

export const YUBIHSM_MANIFEST_KIND = 'vigil.yubihsm2-provisioning';

export interface YubiHsmProductsInput {
  device: DeviceSummary;
  deviceCertificate: Uint8Array;
  keys: readonly AttestedKey[];
  ceremonyId: string;
  createdAt: Date;
}

export function buildYubiHsmProducts(input: YubiHsmProductsInput): {
  files: ProductFile[];
  set: ProductSet;
} {
  const serial = serialComponent(input.device.serial);
  const psfFiles = psfProductFiles(
    Number(input.device.serial),
    input.deviceCertificate,
    input.keys,
  );
  const keys: ProductKey[] = input.keys.map((key) => ({
    role: key.role,
    curve: key.curve,
    rawFile: `${serial}_${key.role}_pubkey.pub`,
    pemFile: `${serial}_${key.role}_pubkey.pem`,
    fingerprint: spkiFingerprint(spkiFromRawPublicKey(key.rawPublicKey, key.curve)),
    isOnDevice: true,
  }));
  const manifest = {
    v: 1,
    kind: YUBIHSM_MANIFEST_KIND,
    rehearsal: input.device.isRehearsal,
    ceremonyId: input.ceremonyId,
    createdAt: input.createdAt.toISOString(),
    device: {
      family: input.device.family,
      manufacturer: input.device.manufacturer,
      model: input.device.model,
      serial: input.device.serial,
      firmware: input.device.slotDescription.replace(/^firmware /, ''),
    },
    deviceCertificateFile: `${serial}_cert.der`,
    keys: input.keys.map((key, i) => ({
      label: key.role,
      algorithm: key.curve,
      objectId: key.objectId,
      attestationFile: `${serial}_${key.role}_attestation.der`,
      rawFile: keys[i]?.rawFile ?? '',
      pemFile: keys[i]?.pemFile ?? '',
      spkiSha256: keys[i]?.fingerprint.hex ?? '',
    })),
    files: psfFiles.map(describeProductFile),
  };
  const manifestFile = manifestFileOf(manifest);
  const files = [...psfFiles, sumsFileOf([...psfFiles, manifestFile]), manifestFile];
  return {
    files,
    set: {
      serial,
      folder: `${PRODUCTS_FOLDER}/${serial}`,
      isRehearsal: input.device.isRehearsal,
      keys,
      files: files.map(describeProductFile),
    },
  };
}

const YubiHsmManifest = z.object({
  v: z.literal(1),
  kind: z.literal(YUBIHSM_MANIFEST_KIND),
  rehearsal: z.boolean(),
  ceremonyId: z.string(),
  device: z.object({ family: z.string(), serial: z.string().min(1) }),
  keys: z.array(z.object({ label: z.string(), algorithm: z.enum(['P-256', 'P-384', 'Ed25519']) })),
  files: z.array(
    z.object({
      name: z.string(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      sizeBytes: z.number(),
    }),
  ),
});

/** YubiHSM 2 provisioning by Vigil: the manifest's files, then every PSF-layout attestation check. */
export function checkYubiHsmProducts(
  folder: DeviceFolder,
  input: unknown,
  kit: ProductCheckKit,
): { checks: CheckResult[]; isRehearsal: boolean | null } {
  const parsed = YubiHsmManifest.safeParse(input);
  if (!parsed.success) return kit.manifestShapeFailure(parsed.error);
  const manifest = parsed.data;
  const serialOk = manifest.device.serial === folder.serial;
  const checks: CheckResult[] = [
    {
      check: 'manifest',
      isOk: serialOk,
      detail: serialOk
        ? `YubiHSM 2 serial ${manifest.device.serial}`
        : `manifest serial ${manifest.device.serial} is not the folder ${folder.serial}`,
    },
    kit.checkManifestFiles(folder, manifest.files),
  ];
  const products = folder.files.filter((f) => f !== MANIFEST_FILE && f !== SUMS_FILE);
  // Vigil's own YubiHSM products always carry attestations: their absence is a failure.
  // Vigil gives each key exactly its signing capability (PSF's rule): anything more fails.
  const expectedCapabilities = Object.fromEntries(
    manifest.keys.map((k) => [k.label, [signingCapability(k.algorithm)]]),
  );
  const psf = checkPsfLayout(
    { ...folder, files: products },
    { requireAttestation: true, expectedCapabilities },
  );
  checks.push(...psf.checks.filter((c) => c.check !== 'rehearsal'));
  // The manifest's word must agree with where the chain ends.
  checks.push(
    kit.rehearsalAgreement(manifest.rehearsal, psf.isRehearsal, 'the attestation chain says'),
  );
  return { checks, isRehearsal: psf.isRehearsal ?? manifest.rehearsal };
}
