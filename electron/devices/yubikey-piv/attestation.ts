// YubiKey PIV slot attestation: the slot's attestation certificate is signed by the device's F9
// key; the F9 certificate chains to Yubico. Firmware < 5.7.4: F9 → Yubico PIV Root CA Serial
// 263751. Firmware ≥ 5.7.4: F9 → Yubico PIV Attestation A 1/B 1 → Yubico Attestation Intermediate
// A 1/B 1 → Yubico Attestation Root 1. Every Yubico certificate is pinned from resources/trust; a
// chain that ends at the rehearsal CA is named as such and never passes as production.
// Extension encodings per piv-attestation.md §4 (raw bytes, except the serial: DER INTEGER).
// Signatures are checked with node:crypto so verification stays synchronous, as for the YubiHSM.
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { KindedError } from '../../base/errors.ts';
import { resourcesDir } from '../../base/resources-dir.ts';
import { DerError, DerTag, readSingleTlv } from '../../formats/der.ts';
import { readCertificateParts, type CertificateParts } from '../../formats/x509-der.ts';
import {
  commonName,
  isValidAt,
  signedBy,
  walkPinnedChain,
  type ChainVerdict,
  type ChainWalk,
} from '../../formats/x509-chain.ts';
import {
  PinPolicy,
  PivAttestationOid,
  TouchPolicy,
  policyName,
  type PinPolicyName,
  type TouchPolicyName,
} from './protocol.ts';
import { resourceCertificate } from '../pinned-certificates.ts';

/** The rehearsal YubiKey's F9 issuer, in resources/rehearsal; see its README. */
export const PIV_REHEARSAL_CA_FILE = 'yubikey-piv-rehearsal-ca.pem';

export const PIV_TRUST_FILES = {
  /** Firmware < 5.7.4. */
  legacyRoots: ['yubico-piv-root-ca-serial-263751.pem'],
  /** Firmware ≥ 5.7.4. */
  roots: ['yubico-attestation-root-1.pem'],
  intermediates: [
    'yubico-piv-attestation-a-1.pem',
    'yubico-piv-attestation-b-1.pem',
    'yubico-attestation-intermediate-a-1.pem',
    'yubico-attestation-intermediate-b-1.pem',
  ],
} as const;

/** The first firmware whose F9 certificate is issued under Yubico Attestation Root 1. */
export const NEW_PKI_FIRMWARE: readonly [number, number, number] = [5, 7, 4];

export interface PivTrust {
  /** Anchors for firmware < 5.7.4: the F9 certificate is issued directly by one of them. */
  legacyRoots: NodeCertificate[];
  /** Anchors for firmware ≥ 5.7.4. */
  roots: NodeCertificate[];
  /** Pinned intermediates of the ≥ 5.7.4 PKI; never certificates found next to the products. */
  intermediates: NodeCertificate[];
  /** A chain ending here is a rehearsal product. */
  rehearsalRoots: NodeCertificate[];
}

export function loadPivTrust(dir = resourcesDir()): PivTrust {
  const read = (folder: string, file: string) => resourceCertificate(dir, folder, file);
  return {
    legacyRoots: PIV_TRUST_FILES.legacyRoots.map((f) => read('trust', f)),
    roots: PIV_TRUST_FILES.roots.map((f) => read('trust', f)),
    intermediates: PIV_TRUST_FILES.intermediates.map((f) => read('trust', f)),
    rehearsalRoots: [read('rehearsal', PIV_REHEARSAL_CA_FILE)],
  };
}

/** A certificate that is not one, or an extension whose bytes are not what Yubico writes. */
export type PivAttestationFailure =
  'piv-attestation-malformed' | 'piv-attestation-extension-malformed';

export class PivAttestationFormatError extends KindedError<PivAttestationFailure> {
  readonly name = 'PivAttestationFormatError';
  constructor(message: string, kind: PivAttestationFailure = 'piv-attestation-malformed') {
    super(kind, message);
  }
}

export type PivExtensionName = keyof typeof PivAttestationOid;

export class PivAttestationExtensionError extends PivAttestationFormatError {
  constructor(
    readonly extension: PivExtensionName,
    reason: string,
  ) {
    super(
      `extension ${extension} (${PivAttestationOid[extension]}): ${reason}`,
      'piv-attestation-extension-malformed',
    );
  }
}

export type PivFirmware = [number, number, number];

/** Low nibble of the .3.9 byte (yubikit management.FORM_FACTOR). */
export const PIV_FORM_FACTORS = [
  'unknown',
  'usb-a-keychain',
  'usb-a-nano',
  'usb-c-keychain',
  'usb-c-nano',
  'usb-c-lightning',
  'usb-a-bio',
  'usb-c-bio',
] as const;
export type PivFormFactorKind = (typeof PIV_FORM_FACTORS)[number];

export interface PivFormFactor {
  /** The byte as the device wrote it. */
  code: number;
  kind: PivFormFactorKind;
  /** Bit 0x80: set exactly on FIPS devices in the archives we checked. */
  hasFipsBit: boolean;
}

export function decodeFirmware(value: Uint8Array): PivFirmware {
  if (value.length !== 3)
    throw new PivAttestationExtensionError('firmware', `${value.length} bytes, expected 3`);
  return [value[0] ?? 0, value[1] ?? 0, value[2] ?? 0];
}

/** DER INTEGER, positive and minimal; YubiKey serials are 32-bit. */
export function decodeSerial(value: Uint8Array): number {
  let body: Uint8Array;
  try {
    body = readSingleTlv(value, DerTag.integer);
  } catch (error) {
    throw new PivAttestationExtensionError(
      'serial',
      error instanceof DerError ? error.message : 'not a DER INTEGER',
    );
  }
  const first = body[0];
  if (first === undefined) throw new PivAttestationExtensionError('serial', 'empty INTEGER');
  if (first & 0x80) throw new PivAttestationExtensionError('serial', 'negative INTEGER');
  if (first === 0 && body.length > 1 && ((body[1] ?? 0) & 0x80) === 0)
    throw new PivAttestationExtensionError('serial', 'INTEGER not minimally encoded');
  if (body.length > 6) throw new PivAttestationExtensionError('serial', 'INTEGER too large');
  return body.reduce((n, b) => n * 256 + b, 0);
}

export function decodePolicy(value: Uint8Array): {
  pinPolicy: PinPolicyName;
  touchPolicy: TouchPolicyName;
} {
  if (value.length !== 2)
    throw new PivAttestationExtensionError('policy', `${value.length} bytes, expected 2`);
  const pinPolicy = policyName(PinPolicy, value[0] ?? -1);
  const touchPolicy = policyName(TouchPolicy, value[1] ?? -1);
  if (pinPolicy === undefined)
    throw new PivAttestationExtensionError('policy', `unknown PIN policy ${value[0]}`);
  if (touchPolicy === undefined)
    throw new PivAttestationExtensionError('policy', `unknown touch policy ${value[1]}`);
  return { pinPolicy, touchPolicy };
}

export function decodeFormFactor(value: Uint8Array): PivFormFactor {
  const code = value[0];
  if (value.length !== 1 || code === undefined)
    throw new PivAttestationExtensionError('formFactor', `${value.length} bytes, expected 1`);
  return {
    code,
    kind: PIV_FORM_FACTORS[code & 0x0f] ?? 'unknown',
    hasFipsBit: (code & 0x80) !== 0,
  };
}

export interface PivExtensionFacts {
  firmware: PivFirmware | null;
  serial: number | null;
  pinPolicy: PinPolicyName | null;
  touchPolicy: TouchPolicyName | null;
  formFactor: PivFormFactor | null;
  /** .3.10 present (meaningful on the F9 certificate). */
  isFips: boolean;
  /** .3.11 present (meaningful on the F9 certificate). */
  isCspn: boolean;
}

/** Decodes whichever Yubico PIV extensions are present; a malformed one throws, naming it. */
export function decodePivAttestationExtensions(
  extensions: readonly { oid: string; value: Uint8Array }[],
): PivExtensionFacts {
  const find = (name: PivExtensionName) => {
    const found = extensions.filter((e) => e.oid === PivAttestationOid[name]);
    if (found.length > 1) throw new PivAttestationExtensionError(name, 'appears more than once');
    return found[0]?.value;
  };
  const firmware = find('firmware');
  const serial = find('serial');
  const policy = find('policy');
  const formFactor = find('formFactor');
  const policies = policy ? decodePolicy(policy) : null;
  return {
    firmware: firmware ? decodeFirmware(firmware) : null,
    serial: serial ? decodeSerial(serial) : null,
    pinPolicy: policies?.pinPolicy ?? null,
    touchPolicy: policies?.touchPolicy ?? null,
    formFactor: formFactor ? decodeFormFactor(formFactor) : null,
    isFips: find('fips') !== undefined,
    isCspn: find('cspn') !== undefined,
  };
}

export function compareFirmware(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const formatFirmware = (f: readonly number[]) => f.join('.');

export type PivChainVerdict = ChainVerdict;

export interface PivAttestationFacts {
  serial: number;
  firmware: PivFirmware;
  pinPolicy: PinPolicyName;
  touchPolicy: TouchPolicyName;
  formFactor: PivFormFactor | null;
  /** From the F9 certificate (.3.10). */
  isFips: boolean;
  /** From the F9 certificate (.3.11). */
  isCspn: boolean;
  /** From the subject "YubiKey PIV Attestation 9c", lowercase hex; null if the name differs. */
  slot: string | null;
  /** SPKI DER of the attested key. */
  publicKeySpki: Uint8Array;
}

export interface PivAttestationResult {
  verdict: PivChainVerdict;
  facts: PivAttestationFacts;
  /** Subject common names from the attestation up to the anchor reached. */
  path: string[];
  /** Empty unless the verdict is 'broken'. */
  problems: string[];
}

function parseCertificate(
  bytes: Uint8Array,
  what: string,
): { node: NodeCertificate; parts: CertificateParts } {
  try {
    const node = new NodeCertificate(bytes);
    return { node, parts: readCertificateParts(new Uint8Array(node.raw)) };
  } catch (error) {
    throw new PivAttestationFormatError(
      `${what} is not an X.509 certificate (${error instanceof Error ? error.message : 'unreadable'})`,
    );
  }
}

/** F9 → pinned intermediates → pinned anchor, with the PIV PKI's words for what is wrong. */
function walkChain(
  f9: NodeCertificate,
  anchors: readonly NodeCertificate[],
  intermediates: readonly NodeCertificate[],
  rehearsalRoots: readonly NodeCertificate[],
  at: Date,
): ChainWalk {
  return walkPinnedChain(
    f9,
    { roots: anchors, intermediates, rehearsalRoots },
    {
      at,
      maxLinks: 4,
      wording: { pinnedIssuer: 'a pinned certificate', pki: 'the Yubico PIV PKI' },
    },
  );
}

/**
 * Verifies a slot attestation: its signature by the F9 key (the F9 certificate is used as a key,
 * whatever its basicConstraints say), then F9 → the pinned anchors for the attested firmware.
 * Throws PivAttestationFormatError for input that is not a certificate or carries a malformed or
 * missing Yubico extension; every other failure is a 'broken' verdict with its problems.
 */
export function verifyPivAttestation(
  input: { attestation: Uint8Array; f9: Uint8Array },
  trust: PivTrust,
  at: Date = new Date(),
): PivAttestationResult {
  const attestation = parseCertificate(input.attestation, 'the slot attestation');
  const f9 = parseCertificate(input.f9, 'the F9 attestation certificate');
  const leaf = decodePivAttestationExtensions(attestation.parts.extensions);
  const device = decodePivAttestationExtensions(f9.parts.extensions);
  if (leaf.firmware === null)
    throw new PivAttestationExtensionError('firmware', 'missing from the slot attestation');
  if (leaf.serial === null)
    throw new PivAttestationExtensionError('serial', 'missing from the slot attestation');
  if (leaf.pinPolicy === null || leaf.touchPolicy === null)
    throw new PivAttestationExtensionError('policy', 'missing from the slot attestation');
  const slot = /^YubiKey PIV Attestation ([0-9a-f]{2})$/i.exec(commonName(attestation.node))?.[1];
  const facts: PivAttestationFacts = {
    serial: leaf.serial,
    firmware: leaf.firmware,
    pinPolicy: leaf.pinPolicy,
    touchPolicy: leaf.touchPolicy,
    formFactor: leaf.formFactor,
    isFips: device.isFips,
    isCspn: device.isCspn,
    slot: slot?.toLowerCase() ?? null,
    publicKeySpki: attestation.parts.spki,
  };
  const problems: string[] = [];
  const path = [commonName(attestation.node), commonName(f9.node)];
  // SECURITY: the F9 key must have signed the attestation; the F9 is shared by a production batch,
  // so this proves "a genuine key of that batch", and the serial comes from the attestation only.
  if (!signedBy(attestation.node, f9.node))
    problems.push(`the slot attestation is not signed by the F9 key (${commonName(f9.node)})`);
  else if (attestation.node.issuer !== f9.node.subject)
    problems.push('the slot attestation names another issuer than the F9 certificate');
  if (!isValidAt(attestation.node, at))
    problems.push(`the slot attestation is not valid on ${at.toISOString()}`);
  if (device.firmware !== null && compareFirmware(device.firmware, leaf.firmware) !== 0)
    problems.push(
      `firmware ${formatFirmware(leaf.firmware)} in the attestation, ${formatFirmware(device.firmware)} in the F9 certificate`,
    );
  const isNewPki = compareFirmware(leaf.firmware, NEW_PKI_FIRMWARE) >= 0;
  const chain = walkChain(
    f9.node,
    isNewPki ? trust.roots : trust.legacyRoots,
    isNewPki ? trust.intermediates : [],
    trust.rehearsalRoots,
    at,
  );
  path.push(...chain.path);
  if (chain.problem !== null) {
    // Name the cause when the chain is Yubico's but for the other firmware range.
    const other = walkChain(
      f9.node,
      isNewPki ? trust.legacyRoots : trust.roots,
      isNewPki ? [] : trust.intermediates,
      [],
      at,
    );
    problems.push(
      other.verdict === 'production'
        ? `firmware ${formatFirmware(leaf.firmware)} must chain to ${isNewPki ? 'Yubico Attestation Root 1' : 'Yubico PIV Root CA Serial 263751'}, this F9 chains to ${other.path.at(-1) ?? '?'}`
        : chain.problem,
    );
  }
  return {
    verdict: problems.length > 0 ? 'broken' : chain.verdict,
    facts,
    path,
    problems,
  };
}
