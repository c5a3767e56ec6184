// The products of a YubiHSM 2 provisioning: PSF's exact files (`<serial>_cert.der`,
// `<serial>_<role>_attestation.der`, `_pubkey.pub`, `_pubkey.pem`) plus Vigil's SHA256SUMS and
// manifest.json, which marks rehearsal products and completes the export. Pure: bytes in, files out.
import type { DeviceSummary } from '../../../shared/model/device.ts';
import type { ProductKey, ProductSet } from '../../../shared/model/product.ts';
import { spkiFromRawPublicKey } from '../../formats/ec-point.ts';
import { spkiFingerprint } from '../../formats/fingerprint.ts';
import { psfProductFiles, type AttestedKey } from '../ceremony/yubihsm-provisioning.ts';
import {
  PRODUCTS_FOLDER,
  describeProductFile,
  manifestFileOf,
  serialComponent,
  sumsFileOf,
  type ProductFile,
} from './token-products.ts';

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
