// The products of a YubiKey keyholder provisioning, named exactly as Docker's TUF ceremony archives
// them: keys/<serial>/SlotF9Intermediate.pem, keys/<serial>/Slot9CAttestation.pem and
// keys/<serial>/README.md ("held by: @handle"), a README.md table of keyholder, serial and role,
// plus Vigil's SHA256SUMS and manifest.json. Pure: bytes in, files out.
import type { DeviceSummary, KeyCurve } from '../../../shared/model/device.ts';
import type { ProductKey, ProductSet } from '../../../shared/model/product.ts';
import { spkiFromRawPublicKey } from '../../formats/ec-point.ts';
import { spkiFingerprint } from '../../formats/fingerprint.ts';
import { encodePem } from '../../formats/pem.ts';
import { x509 } from '../../formats/x509.ts';
import { decodePivAttestationExtensions } from '../../devices/yubikey-piv/attestation.ts';
import {
  PRODUCTS_FOLDER,
  describeProductFile,
  manifestFileOf,
  serialComponent,
  sumsFileOf,
  type ProductFile,
} from './token-products.ts';

export const YUBIKEY_MANIFEST_KIND = 'vigil.yubikey-piv-keyholders';

export interface KeyholderKey {
  device: DeviceSummary;
  holder: string;
  role: 'root' | 'targets';
  curve: KeyCurve;
  rawPublicKey: Uint8Array;
  /** PIV slot of the key (0x9c). */
  slot: number;
  attestation: Uint8Array;
  deviceCertificate: Uint8Array;
}

export interface YubiKeyProductsInput {
  keys: readonly KeyholderKey[];
  ceremonyId: string;
  createdAt: Date;
  isRehearsal: boolean;
}

const text = (s: string) => new TextEncoder().encode(s);
const slotName = (slot: number) => slot.toString(16).toUpperCase();

/** The folder of one device inside the products: keys/<serial>. */
export const keyFolderOf = (serial: string) => `keys/${serialComponent(serial)}`;

export function keyholderFiles(key: KeyholderKey): ProductFile[] {
  const folder = keyFolderOf(key.device.serial);
  return [
    {
      name: `${folder}/SlotF9Intermediate.pem`,
      bytes: text(encodePem('CERTIFICATE', key.deviceCertificate)),
    },
    {
      name: `${folder}/Slot${slotName(key.slot)}Attestation.pem`,
      bytes: text(encodePem('CERTIFICATE', key.attestation)),
    },
    { name: `${folder}/README.md`, bytes: text(`held by: ${key.holder}\n`) },
  ];
}

/** Markdown cells cannot hold a pipe or a line break. */
const cell = (s: string) => s.replace(/[|\r\n]/g, ' ');

export function keyholderTable(keys: readonly KeyholderKey[], isRehearsal: boolean): string {
  return [
    `# YubiKey keyholders${isRehearsal ? ' — REHEARSAL, not for production' : ''}`,
    '',
    '| Keyholder | Serial | Role |',
    '| --- | --- | --- |',
    ...keys.map((k) => `| ${cell(k.holder)} | ${cell(k.device.serial)} | ${k.role} |`),
    '',
  ].join('\n');
}

/** One line a camera audience can read (and scan): what the YubiKey attested about the key. */
export function attestationSummaryOf(key: KeyholderKey): string {
  const certificate = new x509.X509Certificate(key.attestation);
  const facts = decodePivAttestationExtensions(
    certificate.extensions.map((e) => ({ oid: e.type, value: new Uint8Array(e.value) })),
  );
  return [
    `YubiKey ${facts.serial ?? key.device.serial}`,
    `firmware ${facts.firmware?.join('.') ?? '?'}`,
    `slot ${slotName(key.slot)}`,
    key.curve,
    `PIN ${facts.pinPolicy ?? '?'}`,
    `touch ${facts.touchPolicy ?? '?'}`,
    `attested by ${certificate.issuer.replace(/^.*CN=/, '')}`,
  ].join(' · ');
}

export function buildYubiKeyProducts(input: YubiKeyProductsInput): {
  files: ProductFile[];
  set: ProductSet;
} {
  const first = input.keys[0];
  if (!first) throw new RangeError('no keyholder keys');
  const serial = serialComponent(first.device.serial);
  const deviceFiles = input.keys.flatMap(keyholderFiles);
  const readme: ProductFile = {
    name: 'README.md',
    bytes: text(keyholderTable(input.keys, input.isRehearsal)),
  };
  const keys: ProductKey[] = input.keys.map((key) => {
    const attestationFile = `${keyFolderOf(key.device.serial)}/Slot${slotName(key.slot)}Attestation.pem`;
    return {
      role: key.role,
      curve: key.curve,
      // Docker's layout has no separate public-key files: the key is in the attestation.
      rawFile: attestationFile,
      pemFile: attestationFile,
      fingerprint: spkiFingerprint(spkiFromRawPublicKey(key.rawPublicKey, key.curve)),
      isOnDevice: true,
      attestationSummary: attestationSummaryOf(key),
    };
  });
  const manifest = {
    v: 1,
    kind: YUBIKEY_MANIFEST_KIND,
    rehearsal: input.isRehearsal,
    ceremonyId: input.ceremonyId,
    createdAt: input.createdAt.toISOString(),
    keyholders: input.keys.map((key, i) => ({
      holder: key.holder,
      role: key.role,
      serial: key.device.serial,
      firmware: key.device.slotDescription.replace(/^firmware /, ''),
      slot: slotName(key.slot),
      algorithm: key.curve,
      spkiSha256: keys[i]?.fingerprint.hex ?? '',
    })),
    files: [...deviceFiles, readme].map(describeProductFile),
  };
  const manifestFile = manifestFileOf(manifest);
  const files = [
    ...deviceFiles,
    readme,
    sumsFileOf([...deviceFiles, readme, manifestFile]),
    manifestFile,
  ];
  return {
    files,
    set: {
      serial,
      folder: `${PRODUCTS_FOLDER}/yubikey-${serial}`,
      isRehearsal: input.isRehearsal,
      keys,
      files: files.map(describeProductFile),
    },
  };
}
