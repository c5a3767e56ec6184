// The products of a YubiKey keyholder provisioning, named exactly as Docker's TUF ceremony archives
// them: keys/<serial>/SlotF9Intermediate.pem, keys/<serial>/Slot9CAttestation.pem and
// keys/<serial>/README.md ("held by: @handle"), a README.md table of keyholder, serial and role,
// plus Vigil's SHA256SUMS and manifest.json. Pure: bytes in, files out.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { DeviceSummary, KeyCurve } from '../../../../shared/model/device.ts';
import type { ProductKey, ProductSet } from '../../../../shared/model/product.ts';
import { spkiFromRawPublicKey } from '../../../formats/ec-point.ts';
import { spkiFingerprint } from '../../../formats/fingerprint.ts';
import { decodePem, encodePem } from '../../../formats/pem.ts';
import { x509 } from '../../../formats/x509.ts';
import {
  decodePivAttestationExtensions,
  loadPivTrust,
  verifyPivAttestation,
  type PivTrust,
} from '../attestation.ts';
import type { CheckResult, DeviceFolder } from '../../../core/products/verify-common.ts';
import type { ProductCheckKit } from '../../../core/runbook/ceremony-family.ts';
import {
  PRODUCTS_FOLDER,
  describeProductFile,
  manifestFileOf,
  serialComponent,
  sumsFileOf,
  type ProductFile,
} from '../../../core/products/token-products.ts';

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

const YubiKeyManifest = z.object({
  v: z.literal(1),
  kind: z.literal(YUBIKEY_MANIFEST_KIND),
  rehearsal: z.boolean(),
  ceremonyId: z.string(),
  keyholders: z
    .array(
      z.object({
        holder: z.string().min(1),
        role: z.enum(['root', 'targets']),
        serial: z.string().regex(/^\d+$/),
        slot: z.string().regex(/^[0-9A-F]{2}$/),
        algorithm: z.enum(['P-256', 'P-384', 'Ed25519']),
        spkiSha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .min(1),
  files: z.array(
    z.object({
      name: z.string(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      sizeBytes: z.number(),
    }),
  ),
});

let pivTrust: PivTrust | null = null;

/** One keyholder's device folder: Docker's file names, the attestation chain, serial and key. */
function checkKeyholder(
  folder: DeviceFolder,
  keyholder: z.infer<typeof YubiKeyManifest>['keyholders'][number],
): { result: [boolean, string]; verdict: 'production' | 'rehearsal' | 'broken' } {
  const dir = keyFolderOf(keyholder.serial);
  const names = {
    f9: `${dir}/SlotF9Intermediate.pem`,
    attestation: `${dir}/Slot${keyholder.slot}Attestation.pem`,
    readme: `${dir}/README.md`,
  };
  const missing = Object.values(names).filter((n) => !folder.files.includes(n));
  if (missing.length > 0)
    return { result: [false, `missing: ${missing.join(', ')}`], verdict: 'broken' };
  const pem = (name: string) =>
    decodePem(new TextDecoder('utf-8', { fatal: true }).decode(folder.read(name)), 'CERTIFICATE');
  let verified: ReturnType<typeof verifyPivAttestation>;
  try {
    pivTrust ??= loadPivTrust();
    verified = verifyPivAttestation(
      { attestation: pem(names.attestation), f9: pem(names.f9) },
      pivTrust,
    );
  } catch (error) {
    // Not PEM, not a certificate, or a malformed Yubico extension: the folder fails, named.
    const reason = error instanceof Error ? error.message : 'unreadable';
    return { result: [false, reason], verdict: 'broken' };
  }
  const { facts } = verified;
  const problems = [
    ...verified.problems,
    String(facts.serial) !== keyholder.serial
      ? `the attestation names serial ${facts.serial}, the folder ${keyholder.serial}`
      : '',
    sha256(facts.publicKeySpki) !== keyholder.spkiSha256
      ? 'the attested key is not the key in the manifest'
      : '',
    new TextDecoder().decode(folder.read(names.readme)).trim() !== `held by: ${keyholder.holder}`
      ? `${names.readme} does not say "held by: ${keyholder.holder}"`
      : '',
  ].filter(Boolean);
  return {
    result: [
      problems.length === 0,
      problems.length > 0
        ? problems.join('; ')
        : `${keyholder.holder}: ${keyholder.role} ${keyholder.algorithm} in slot ${keyholder.slot}, serial ${facts.serial}, firmware ${facts.firmware.join('.')}, PIN ${facts.pinPolicy} / touch ${facts.touchPolicy}, ${verified.path.join(' → ')}`,
    ],
    verdict: verified.verdict,
  };
}

/** YubiKey keyholders provisioned by Vigil (Docker's layout), each attestation checked. */
export function checkYubiKeyProducts(
  folder: DeviceFolder,
  input: unknown,
  kit: ProductCheckKit,
): { checks: CheckResult[]; isRehearsal: boolean | null } {
  const parsed = YubiKeyManifest.safeParse(input);
  if (!parsed.success) return kit.manifestShapeFailure(parsed.error);
  const manifest = parsed.data;
  const checks: CheckResult[] = [kit.checkManifestFiles(folder, manifest.files)];
  const verdicts = manifest.keyholders.map((keyholder) => {
    const { result, verdict } = checkKeyholder(folder, keyholder);
    checks.push({ check: `keyholder:${keyholder.serial}`, isOk: result[0], detail: result[1] });
    return verdict;
  });
  // The manifest's word must agree with where every attestation chain ends.
  const chainsSay = verdicts.every((v) => v === 'rehearsal')
    ? true
    : verdicts.every((v) => v === 'production')
      ? false
      : null;
  checks.push(kit.rehearsalAgreement(manifest.rehearsal, chainsSay, 'the attestation chains say'));
  return { checks, isRehearsal: chainsSay ?? manifest.rehearsal };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
