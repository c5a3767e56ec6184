// Device folders in the PSF TUF runbook's layout, whoever wrote them (Vigil, PSF's
// yubihsm-provision, other tools): `<serial>_cert.der` (YubiHSM device attestation certificate),
// `<serial>_<role>_attestation.der`, `<serial>_<role>_pubkey.pub` (raw key; DER SPKI from some
// tools) and `<serial>_<role>_pubkey.pem`. Each key gets named checks: chain, serial, origin,
// capabilities, key match. A folder with no attestation is reported as such, never as valid.
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { bytesEqual, bytesToHex } from '../../formats/der.ts';
import { rawPublicKeyFromSpki } from '../../formats/ec-point.ts';
import { decodePem } from '../../formats/pem.ts';
import {
  AttestationFormatError,
  loadYubiHsmTrust,
  verifyKeyAttestation,
  type YubiHsmTrust,
} from '../../devices/yubihsm2/attestation.ts';
import { Origin, capabilitiesOf, originNames } from '../../devices/yubihsm2/protocol.ts';
import type { CheckResult, DeviceFolder as ProductFolder } from './verify-products.ts';

/** The layout is judged from names and parsed bytes; nothing here hashes a whole file. */
type DeviceFolder = Omit<ProductFolder, 'sha256'>;

export interface PsfLayoutOptions {
  /** "no attestation" fails instead of warning. */
  requireAttestation: boolean;
  trust?: YubiHsmTrust;
  at?: Date;
  /** Per role, the capabilities the ceremony gave the key; others pass with a signing one. */
  expectedCapabilities?: Readonly<Record<string, readonly string[]>>;
}

export const PSF_LAYOUT_KIND = 'psf-layout';

const keyFile = /^(.+)_([a-z0-9-]+)_(pubkey\.pub|pubkey\.pem|attestation\.der)$/;
const PSF_ROLES = ['root', 'targets'] as const;

/** Does the folder hold PSF-layout products named after itself? */
export function isPsfLayoutFolder(serial: string, files: readonly string[]): boolean {
  return files.some((f) => keyFile.exec(f)?.[1] === serial);
}

/** The capabilities a TUF signing key needs; anything else is reported. */
const SIGNING = new Set(['sign-ecdsa', 'sign-eddsa', 'sign-pkcs', 'sign-pss']);

function rawFromPubFile(bytes: Uint8Array): { raw: Uint8Array; form: string } {
  // PSF's YubiHSM folders hold the raw point (65/97 bytes); its Nitrokey folders hold DER SPKI.
  if (bytes[0] === 0x30) {
    try {
      return { raw: rawPublicKeyFromSpki(bytes).raw, form: 'DER SPKI' };
    } catch {
      // Not SPKI after all: compare it as raw bytes below.
    }
  }
  return { raw: bytes, form: 'raw key' };
}

export function checkPsfLayout(
  folder: DeviceFolder,
  options: PsfLayoutOptions,
): { checks: CheckResult[]; isRehearsal: boolean | null } {
  const checks: CheckResult[] = [];
  const add = (check: string, isOk: boolean, detail: string, isWarning = false) =>
    checks.push(isWarning ? { check, isOk, detail, isWarning } : { check, isOk, detail });
  const roles = [
    ...new Set(
      folder.files
        .map((f) => keyFile.exec(f))
        .filter((m): m is RegExpExecArray => m !== null && m[1] === folder.serial)
        .map((m) => m[2] ?? ''),
    ),
  ].sort();
  const strays = folder.files.filter(
    (f) => f !== `${folder.serial}_cert.der` && keyFile.exec(f)?.[1] !== folder.serial,
  );
  // PSF's runbook puts a root and a targets key, each as .pub and .pem, on every device: a folder
  // with less is an export cut short (issue 18, finding 5), not another tool's products.
  const missing = PSF_ROLES.flatMap((role) =>
    ['pubkey.pub', 'pubkey.pem']
      .map((ending) => `${folder.serial}_${role}_${ending}`)
      .filter((name) => !folder.files.includes(name)),
  );
  add(
    'layout',
    strays.length === 0 && missing.length === 0,
    strays.length > 0
      ? `files outside the layout: ${strays.join(', ')}`
      : missing.length > 0
        ? `incomplete: ${missing.join(', ')} missing (PSF's layout has a root and a targets key, each as .pub and .pem; an export cut short leaves a folder like this)`
        : `keys: ${roles.join(', ')}`,
  );
  const deviceCertName = `${folder.serial}_cert.der`;
  const hasDeviceCert = folder.files.includes(deviceCertName);
  const hasAttestations = roles.some((r) =>
    folder.files.includes(`${folder.serial}_${r}_attestation.der`),
  );
  if (!hasDeviceCert && !hasAttestations) {
    add(
      'attestation',
      !options.requireAttestation,
      'no attestation: nothing proves these keys were generated on a device',
      !options.requireAttestation,
    );
    for (const role of roles) add(`key:${role}`, ...checkKeyFiles(folder, role, null));
    return { checks, isRehearsal: null };
  }
  if (!hasDeviceCert) {
    add('device-certificate', false, `${deviceCertName} is missing: the chain cannot be completed`);
  }
  const trust = options.trust ?? loadYubiHsmTrust();
  let isRehearsal: boolean | null = null;
  const folderSerial = /^\d+$/.test(folder.serial) ? Number(folder.serial) : null;
  for (const role of roles) {
    const attestationName = `${folder.serial}_${role}_attestation.der`;
    if (!folder.files.includes(attestationName)) {
      add(`chain:${role}`, false, `${attestationName} is missing`);
      add(`key:${role}`, ...checkKeyFiles(folder, role, null));
      continue;
    }
    if (!hasDeviceCert) {
      add(`key:${role}`, ...checkKeyFiles(folder, role, null));
      continue;
    }
    let attested;
    try {
      attested = verifyKeyAttestation(
        folder.read(attestationName),
        folder.read(deviceCertName),
        trust,
        options.at,
      );
    } catch (error) {
      if (!(error instanceof AttestationFormatError)) throw error;
      add(`chain:${role}`, false, error.message);
      continue;
    }
    const { chain, key, device } = attested;
    add(`chain:${role}`, chain.verdict !== 'broken', `${chain.detail} (${chain.path.join(' → ')})`);
    if (chain.verdict === 'rehearsal') isRehearsal = true;
    else if (chain.verdict === 'production' && isRehearsal === null) isRehearsal = false;
    const serials = [key.serial, device.serial, folderSerial];
    add(
      `serial:${role}`,
      serials.every((s) => s !== undefined && s !== null && s === key.serial),
      `key attestation ${key.serial ?? 'none'}, device certificate ${device.serial ?? 'none'}, folder ${folder.serial}`,
    );
    add(
      `origin:${role}`,
      key.origin === Origin.generated,
      key.origin === undefined
        ? 'the attestation names no origin'
        : key.origin === Origin.generated
          ? 'generated on the device'
          : `origin ${originNames(key.origin).join('+') || key.origin}: NOT generated on the device`,
    );
    const capabilities = capabilitiesOf(key.capabilities ?? 0n);
    const signing = capabilities.filter((c) => SIGNING.has(c));
    const expected = options.expectedCapabilities?.[role];
    const isExpected =
      expected === undefined ||
      (expected.length === capabilities.length && expected.every((c) => capabilities.includes(c)));
    add(
      `capabilities:${role}`,
      signing.length > 0 && isExpected,
      `${capabilities.join(', ') || 'none'}` +
        (signing.length === 0 ? ': no signing capability' : '') +
        (isExpected ? '' : `: the ceremony asked for exactly ${expected?.join(', ') ?? ''}`),
    );
    if (capabilities.includes('exportable-under-wrap')) {
      add(
        `policy:${role}`,
        true,
        'exportable-under-wrap: the key can leave the device wrapped; a ceremony key should not',
        true,
      );
    }
    add(`key:${role}`, ...checkKeyFiles(folder, role, attested.attestedSpki));
    if (key.label !== undefined)
      add(
        `label:${role}`,
        true,
        `object 0x${(key.objectId ?? 0).toString(16).padStart(4, '0')} "${key.label}", firmware ${key.firmware ?? device.firmware ?? 'unknown'}`,
      );
  }
  if (hasDeviceCert) {
    try {
      const cert = new NodeCertificate(folder.read(deviceCertName));
      add('device-certificate', true, cert.subject.replace(/\n/g, ', '));
    } catch {
      add('device-certificate', false, `${deviceCertName} is not an X.509 certificate`);
    }
  }
  add(
    'rehearsal',
    true,
    isRehearsal === true
      ? 'REHEARSAL products: the chain ends at the rehearsal CA, not at Yubico'
      : isRehearsal === false
        ? 'production: chains to the pinned Yubico root'
        : 'no complete chain: neither production nor rehearsal',
  );
  return { checks, isRehearsal };
}

/** The .pem and .pub of a role hold the same key, and it is the attested one when there is one. */
function checkKeyFiles(
  folder: DeviceFolder,
  role: string,
  attestedSpki: Uint8Array | null,
): [boolean, string] {
  const pemName = `${folder.serial}_${role}_pubkey.pem`;
  const pubName = `${folder.serial}_${role}_pubkey.pub`;
  const present = [pemName, pubName].filter((n) => folder.files.includes(n));
  if (present.length === 0) return [false, `neither ${pemName} nor ${pubName} is present`];
  let spki: Uint8Array | null = null;
  let parsed: ReturnType<typeof rawPublicKeyFromSpki> | null = null;
  if (folder.files.includes(pemName)) {
    try {
      spki = decodePem(
        new TextDecoder('utf-8', { fatal: true }).decode(folder.read(pemName)),
        'PUBLIC KEY',
      );
      parsed = rawPublicKeyFromSpki(spki);
    } catch (error) {
      return [false, `${pemName}: ${error instanceof Error ? error.message : 'unreadable'}`];
    }
  }
  let pubForm = '';
  if (folder.files.includes(pubName)) {
    const pub = rawFromPubFile(folder.read(pubName));
    pubForm = pub.form;
    if (parsed !== null && !bytesEqual(pub.raw, parsed.raw)) {
      return [false, `${pubName} (${pub.form}) is not the key in ${pemName}`];
    }
    if (attestedSpki !== null && parsed === null) {
      const attested = rawPublicKeyFromSpki(attestedSpki);
      if (!bytesEqual(attested.raw, pub.raw)) return [false, `${pubName} is not the attested key`];
      return [true, `${attested.curve} ${pub.form} equals the attested key`];
    }
  }
  if (attestedSpki !== null && spki !== null && !bytesEqual(attestedSpki, spki)) {
    return [
      false,
      `${pemName} is not the attested key (attested SPKI ${bytesToHex(attestedSpki).slice(0, 16)}…)`,
    ];
  }
  const curve = parsed?.curve ?? 'key';
  return [
    true,
    `${curve}${pubForm ? `, ${pubForm} matches the PEM` : ''}${attestedSpki !== null ? ', equals the attested key' : ''}`,
  ];
}
