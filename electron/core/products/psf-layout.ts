// Device folders in the PSF TUF runbook's layout, whoever wrote them (Vigil, PSF's
// yubihsm-provision, other tools): `<serial>_cert.der` (YubiHSM device attestation certificate),
// `<serial>_<role>_attestation.der`, `<serial>_<role>_pubkey.pub` (raw key; DER SPKI from some
// tools) and `<serial>_<role>_pubkey.pem`. Each key gets named checks: chain, serial, origin,
// capabilities, key match. A folder with no attestation is reported as such, never as valid; one
// whose attestation does not chain is a broken chain, and every field read from a certificate no
// chain vouches for is shown "(unverified)" and flagged `isUnverified` (issue 23, item 6).
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { UntrustedReadError } from '../../base/untrusted-folder.ts';
import { DerError, bytesEqual, bytesToHex } from '../../formats/der.ts';
import { rawPublicKeyFromSpki } from '../../formats/ec-point.ts';
import { decodePem } from '../../formats/pem.ts';
import {
  AttestationFormatError,
  loadYubiHsmTrust,
  verifyDeviceCertificateChain,
  verifyKeyAttestation,
  type ChainResult,
  type ChainVerdict,
  type KeyAttestation,
  type YubiHsmTrust,
} from '../../devices/yubihsm2/attestation.ts';
import type { AttestationFacts } from '../../devices/yubihsm2/attestation-extensions.ts';
import { Origin, capabilitiesOf, originNames } from '../../devices/yubihsm2/protocol.ts';
import type {
  DeviceCheckResult as CheckResult,
  DeviceFolder as ProductFolder,
} from './verify-products.ts';

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

/** A device certificate or a key attestation named after the folder: something to chain. */
export function hasAttestationFiles(serial: string, files: readonly string[]): boolean {
  return files.some(
    (f) =>
      f === `${serial}_cert.der` ||
      (keyFile.exec(f)?.[1] === serial && f.endsWith('_attestation.der')),
  );
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

/**
 * What a certificate says about the device, and whether a chain to a pinned root vouches for it:
 * when `isVerified` is false every field is the certificate's own, unverified claim.
 */
export interface AttestedDevice {
  isVerified: boolean;
  subject: string;
  serial: number | null;
  firmware: string | null;
}

/** What a key attestation says; `isVerified` is false when its chain failed (see AttestedDevice). */
export interface AttestedKey {
  role: string;
  isVerified: boolean;
  serial: number | null;
  firmware: string | null;
  objectId: number | null;
  label: string | null;
  /** Origin names ('generated', 'imported', …); null when the attestation names none. */
  origin: string[] | null;
  capabilities: string[];
}

/**
 * Whether the folder's keys are attested: every key's attestation chains (`chained`), a file of
 * an attestation is there but some chain fails or cannot be completed (`broken-chain`), or the
 * folder holds no attestation file at all (`none`, as PSF's Nitrokey folders).
 */
export type PsfAttestation = 'chained' | 'broken-chain' | 'none';

export interface PsfLayoutResult {
  checks: CheckResult[];
  isRehearsal: boolean | null;
  attestation: PsfAttestation;
  /** The certificates' fields, each marked verified or not; null when there is no attestation. */
  attested: { device: AttestedDevice | null; keys: AttestedKey[] } | null;
}

/** A value read from a certificate, as a report shows it: marked when no chain vouches for it. */
export const claimed = (value: string | number, isVerified: boolean): string =>
  isVerified ? String(value) : `${value} (unverified)`;

const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

/** The device certificate parsed and walked to a pinned root, once per folder. */
type DeviceCertificate =
  | { isPresent: false }
  | { isPresent: true; problem: string }
  | { isPresent: true; subject: string; chain: ChainResult };

function readDeviceCertificate(
  folder: DeviceFolder,
  name: string,
  trust: YubiHsmTrust,
  at: Date | undefined,
): DeviceCertificate {
  if (!folder.files.includes(name)) return { isPresent: false };
  let cert: NodeCertificate;
  try {
    cert = new NodeCertificate(folder.read(name));
  } catch (error) {
    if (error instanceof UntrustedReadError) throw error;
    return { isPresent: true, problem: `${name} is not an X.509 certificate` };
  }
  return {
    isPresent: true,
    subject: cert.subject.replace(/\n/g, ', '),
    chain: verifyDeviceCertificateChain(cert, trust, at),
  };
}

/** The device certificate's own check: present, parsed, and chaining to a pinned root. */
function deviceCertificateCheck(name: string, device: DeviceCertificate): CheckResult {
  if (!device.isPresent)
    return {
      check: 'device-certificate',
      isOk: false,
      detail: `${name} is missing: the chain cannot be completed`,
    };
  if ('problem' in device)
    return { check: 'device-certificate', isOk: false, detail: device.problem };
  if (device.chain.verdict === 'broken')
    return {
      check: 'device-certificate',
      isOk: false,
      detail: `${claimed(device.subject, false)}: ${device.chain.detail}`,
      isUnverified: true,
    };
  return { check: 'device-certificate', isOk: true, detail: device.subject };
}

/** One role's checks and what its attestation says; `verdict` null when none was checked. */
interface RoleOutcome {
  checks: CheckResult[];
  verdict: ChainVerdict | null;
  key: AttestedKey | null;
  device: AttestationFacts | null;
}

function checkRole(
  folder: DeviceFolder,
  role: string,
  device: DeviceCertificate,
  context: { trust: YubiHsmTrust; options: PsfLayoutOptions },
): RoleOutcome {
  const attestationName = `${folder.serial}_${role}_attestation.der`;
  const keyOnly = (checks: CheckResult[]): RoleOutcome => ({
    checks: [...checks, keyCheck(role, checkKeyFiles(folder, role, null))],
    verdict: null,
    key: null,
    device: null,
  });
  if (!folder.files.includes(attestationName))
    return keyOnly([
      { check: `chain:${role}`, isOk: false, detail: `${attestationName} is missing` },
    ]);
  if (!device.isPresent) return keyOnly([]);
  let attested: KeyAttestation;
  try {
    attested = verifyKeyAttestation(
      folder.read(attestationName),
      folder.read(`${folder.serial}_cert.der`),
      context.trust,
      context.options.at,
    );
  } catch (error) {
    // A certificate that does not parse, or whose YubiHSM extensions do not, is a broken chain.
    if (!(error instanceof AttestationFormatError) && !(error instanceof DerError)) throw error;
    return {
      checks: [{ check: `chain:${role}`, isOk: false, detail: error.message }],
      verdict: 'broken',
      key: null,
      device: null,
    };
  }
  const isKeyVerified = attested.chain.verdict !== 'broken';
  const isDeviceVerified = 'chain' in device && device.chain.verdict !== 'broken';
  const key = attestedKeyOf(role, attested.key, isKeyVerified);
  return {
    checks: attestationChecks(folder, key, attested, { isKeyVerified, isDeviceVerified }, context),
    verdict: attested.chain.verdict,
    key,
    device: attested.device,
  };
}

function attestedKeyOf(role: string, facts: AttestationFacts, isVerified: boolean): AttestedKey {
  return {
    role,
    isVerified,
    serial: facts.serial ?? null,
    firmware: facts.firmware ?? null,
    objectId: facts.objectId ?? null,
    label: facts.label ?? null,
    origin: facts.origin === undefined ? null : originNames(facts.origin),
    capabilities: capabilitiesOf(facts.capabilities ?? 0n),
  };
}

const keyCheck = (role: string, [isOk, detail]: [boolean, string]): CheckResult => ({
  check: `key:${role}`,
  isOk,
  detail,
});

/**
 * The checks of one key attestation: chain, serials, origin, capabilities, key, label. Fields from
 * a certificate whose chain failed are still compared (a mismatch is worth knowing), but each is
 * shown as "(unverified)" and its check carries `isUnverified`.
 */
function attestationChecks(
  folder: DeviceFolder,
  key: AttestedKey,
  attested: KeyAttestation,
  trusted: { isKeyVerified: boolean; isDeviceVerified: boolean },
  context: { options: PsfLayoutOptions },
): CheckResult[] {
  const { isKeyVerified, isDeviceVerified } = trusted;
  const { role } = key;
  const checks: CheckResult[] = [];
  const add = (
    check: string,
    isOk: boolean,
    detail: string,
    marks: { isUnverified?: boolean; isWarning?: boolean } = {},
  ) =>
    checks.push({
      check,
      isOk,
      detail,
      ...(marks.isWarning === true ? { isWarning: true } : {}),
      ...(marks.isUnverified === true ? { isUnverified: true } : {}),
    });
  const fromKey = { isUnverified: !isKeyVerified };
  const { chain, device } = attested;
  add(`chain:${role}`, chain.verdict !== 'broken', `${chain.detail} (${chain.path.join(' → ')})`);
  const folderSerial = /^\d+$/.test(folder.serial) ? Number(folder.serial) : null;
  const serials = [key.serial, device.serial ?? null, folderSerial];
  add(
    `serial:${role}`,
    serials.every((s) => s !== null && s === key.serial),
    `key attestation ${key.serial === null ? 'none' : claimed(key.serial, isKeyVerified)}, device certificate ${device.serial === undefined ? 'none' : claimed(device.serial, isDeviceVerified)}, folder ${folder.serial}`,
    { isUnverified: !isKeyVerified || !isDeviceVerified },
  );
  const origin = attested.key.origin;
  add(
    `origin:${role}`,
    origin === Origin.generated,
    origin === undefined
      ? 'the attestation names no origin'
      : origin === Origin.generated
        ? claimed('generated on the device', isKeyVerified)
        : `origin ${claimed(originNames(origin).join('+') || origin, isKeyVerified)}: NOT generated on the device`,
    fromKey,
  );
  const { capabilities } = key;
  const signing = capabilities.filter((c) => SIGNING.has(c));
  const expected = context.options.expectedCapabilities?.[role];
  const isExpected =
    expected === undefined ||
    (expected.length === capabilities.length && expected.every((c) => capabilities.includes(c)));
  add(
    `capabilities:${role}`,
    signing.length > 0 && isExpected,
    claimed(capabilities.join(', ') || 'none', isKeyVerified) +
      (signing.length === 0 ? ': no signing capability' : '') +
      (isExpected ? '' : `: the ceremony asked for exactly ${expected?.join(', ') ?? ''}`),
    fromKey,
  );
  if (capabilities.includes('exportable-under-wrap'))
    add(
      `policy:${role}`,
      true,
      `${claimed('exportable-under-wrap', isKeyVerified)}: the key can leave the device wrapped; a ceremony key should not`,
      { ...fromKey, isWarning: true },
    );
  const attestedAs = claimed('the attested key', isKeyVerified);
  add(`key:${role}`, ...checkKeyFiles(folder, role, attested.attestedSpki, attestedAs), fromKey);
  if (key.label !== null) {
    const firmware =
      key.firmware !== null
        ? claimed(key.firmware, isKeyVerified)
        : device.firmware !== undefined
          ? claimed(device.firmware, isDeviceVerified)
          : 'unknown';
    add(
      `label:${role}`,
      true,
      `object ${claimed(hex4(key.objectId ?? 0), isKeyVerified)} ${claimed(`"${key.label}"`, isKeyVerified)}, firmware ${firmware}`,
      { isUnverified: !isKeyVerified || (key.firmware === null && !isDeviceVerified) },
    );
  }
  return checks;
}

/** Rehearsal if any chain ends at the rehearsal CA; production only if every key's chain is. */
function rehearsalOf(
  verdicts: readonly (ChainVerdict | null)[],
  device: DeviceCertificate,
): boolean | null {
  const deviceVerdict = 'chain' in device ? device.chain.verdict : null;
  if ([...verdicts, deviceVerdict].includes('rehearsal')) return true;
  return verdicts.length > 0 && verdicts.every((v) => v === 'production') ? false : null;
}

export function checkPsfLayout(folder: DeviceFolder, options: PsfLayoutOptions): PsfLayoutResult {
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
  if (!hasAttestationFiles(folder.serial, folder.files)) {
    add(
      'attestation',
      !options.requireAttestation,
      'no attestation: nothing proves these keys were generated on a device',
      !options.requireAttestation,
    );
    for (const role of roles) checks.push(keyCheck(role, checkKeyFiles(folder, role, null)));
    return { checks, isRehearsal: null, attestation: 'none', attested: null };
  }
  const trust = options.trust ?? loadYubiHsmTrust();
  const device = readDeviceCertificate(folder, deviceCertName, trust, options.at);
  if (!device.isPresent) checks.push(deviceCertificateCheck(deviceCertName, device));
  const outcomes = roles.map((role) => checkRole(folder, role, device, { trust, options }));
  for (const outcome of outcomes) checks.push(...outcome.checks);
  if (device.isPresent) checks.push(deviceCertificateCheck(deviceCertName, device));
  const isRehearsal = rehearsalOf(
    outcomes.map((o) => o.verdict),
    device,
  );
  const isChained =
    outcomes.length > 0 &&
    outcomes.every((o) => o.verdict === 'production' || o.verdict === 'rehearsal');
  add(
    'rehearsal',
    true,
    isRehearsal === true
      ? 'REHEARSAL products: the chain ends at the rehearsal CA, not at Yubico'
      : isRehearsal === false
        ? 'production: chains to the pinned Yubico root'
        : 'no complete chain: neither production nor rehearsal',
  );
  return {
    checks,
    isRehearsal,
    attestation: isChained ? 'chained' : 'broken-chain',
    attested: {
      device: attestedDeviceOf(device, outcomes),
      keys: outcomes.flatMap((o) => (o.key ? [o.key] : [])),
    },
  };
}

/** The device certificate's fields, as its first readable key attestation decoded them. */
function attestedDeviceOf(
  device: DeviceCertificate,
  outcomes: readonly RoleOutcome[],
): AttestedDevice | null {
  if (!('chain' in device)) return null;
  const facts = outcomes.find((o) => o.device !== null)?.device;
  return {
    isVerified: device.chain.verdict !== 'broken',
    subject: device.subject,
    serial: facts?.serial ?? null,
    firmware: facts?.firmware ?? null,
  };
}

/** The .pem and .pub of a role hold the same key, and it is the attested one when there is one. */
function checkKeyFiles(
  folder: DeviceFolder,
  role: string,
  attestedSpki: Uint8Array | null,
  attestedAs = 'the attested key',
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
      if (!bytesEqual(attested.raw, pub.raw)) return [false, `${pubName} is not ${attestedAs}`];
      return [true, `${attested.curve} ${pub.form} equals ${attestedAs}`];
    }
  }
  if (attestedSpki !== null && spki !== null && !bytesEqual(attestedSpki, spki)) {
    return [
      false,
      `${pemName} is not ${attestedAs} (attested SPKI ${bytesToHex(attestedSpki).slice(0, 16)}…)`,
    ];
  }
  const curve = parsed?.curve ?? 'key';
  return [
    true,
    `${curve}${pubForm ? `, ${pubForm} matches the PEM` : ''}${attestedSpki !== null ? `, equals ${attestedAs}` : ''}`,
  ];
}
