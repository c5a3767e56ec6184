// `vigil verify` of Yubico attestations found by what they are, in any folder layout. Every
// regular file up to 256 KiB is read as PEM (several blocks, a UTF-8 BOM), DER, a PKCS#10 request
// (Yubico tooling carries the slot attestation and the F9 certificate as request extensions) or a
// public key; certificates are classed by content (Yubico extensions, signatures, the pinned
// certificates), never by file name. Each attestation's device certificate is found among those
// present by signature, then walked to the pinned anchors only: a look-alike root or intermediate
// lying in the folder is never consulted. One entry per attestation found (copies included: each is
// a file someone points at), with stable reason codes.
import {
  X509Certificate as NodeCertificate,
  createHash,
  createPublicKey,
  type KeyObject,
} from 'node:crypto';
import { dirname } from 'node:path/posix';
import {
  UntrustedReadError,
  entryKindAt,
  inReadSession,
  isNamedFolder,
  readFileIn,
  readNamedFile,
  walkFolder,
} from '../../base/untrusted-folder.ts';
import {
  YUBIHSM_OID_ARC,
  attestationOid,
  decodeAttestationExtensions,
  type AttestationFacts,
} from '../../devices/yubihsm2/attestation-extensions.ts';
import { loadYubiHsmTrust, type YubiHsmTrust } from '../../devices/yubihsm2/attestation.ts';
import { capabilitiesOf, domainsOf, originNames } from '../../devices/yubihsm2/protocol.ts';
import {
  NEW_PKI_FIRMWARE,
  PivAttestationFormatError,
  compareFirmware,
  decodePivAttestationExtensions,
  formatFirmware,
  loadPivTrust,
  type PivExtensionFacts,
  type PivTrust,
} from '../../devices/yubikey-piv/attestation.ts';
import { PivAttestationOid } from '../../devices/yubikey-piv/protocol.ts';
import {
  OpenPgpAttestationFormatError,
  decodeOpenPgpAttestationExtensions,
  loadOpenPgpTrust,
  openPgpSlotOf,
  walkOpenPgpChain,
  type OpenPgpExtensionFacts,
  type OpenPgpTrust,
} from '../../devices/yubikey-openpgp/attestation.ts';
import { OpenPgpAttestationOid } from '../../devices/yubikey-openpgp/protocol.ts';
import { DerError, DerTag, hexToBytes, readTlv } from '../../formats/der.ts';
import { spkiFromRawPublicKey, type KeyCurve } from '../../formats/ec-point.ts';
import { x509 } from '../../formats/x509.ts';
import {
  commonName,
  isValidAt,
  issuedBy,
  signedBy,
  walkPinnedChain,
  type ChainWalk,
} from '../../formats/x509-chain.ts';
import {
  ATTESTATION_SCAN_KIND,
  type AttestationProblem,
  type AttestationScanReport,
  type AttestedKeyKind,
  type AttestedKeyReport,
  type CertificateClass,
  type FoundCertificate,
} from './attestation-scan-report.ts';
import { VerifyInputError, namesWithMore, type CheckResult } from './verify-common.ts';

/** Files larger than this are not certificates, keys or requests: skipped unless named. */
export const MAX_CANDIDATE_BYTES = 256 * 1024;
/** Certificates are compared pairwise by signature: bounded, so a hostile folder stays quick. */
export const MAX_CERTIFICATES = 512;
/** PEM blocks read from one file; a ceremony file holds a handful. */
export const MAX_PEM_BLOCKS = 256;

export interface AttestationTrust {
  piv: PivTrust;
  yubiHsm: YubiHsmTrust;
  openPgp: OpenPgpTrust;
}

/** The pinned Yubico certificates and the rehearsal CAs of resources/, per device family. */
export function loadAttestationTrust(dir?: string): AttestationTrust {
  return {
    piv: dir === undefined ? loadPivTrust() : loadPivTrust(dir),
    yubiHsm: dir === undefined ? loadYubiHsmTrust() : loadYubiHsmTrust(dir),
    openPgp: dir === undefined ? loadOpenPgpTrust() : loadOpenPgpTrust(dir),
  };
}

export interface AttestationScanOptions {
  /** Injected for tests; the pinned Yubico certificates otherwise. */
  trust?: AttestationTrust;
  at?: Date;
}

// ---- one file's bytes: certificates, requests, public keys (pure) ------------------------------

/** A certificate read from a file or taken out of a request, parsed once. */
export interface ScannedCertificate {
  source: string;
  der: Uint8Array;
  node: NodeCertificate;
  subject: string;
  issuer: string;
  commonName: string;
  extensions: { oid: string; value: Uint8Array }[];
  sha256: string;
  spkiSha256: string;
  keyAlgorithm: string;
}

export interface ScannedRequest {
  source: string;
  spkiSha256: string;
  /** The sources of the attestations it carries (`source#attestation`). */
  attestations: string[];
}

export interface ScannedPublicKey {
  source: string;
  spkiSha256: string;
}

export interface CandidateContents {
  certificates: ScannedCertificate[];
  requests: ScannedRequest[];
  publicKeys: ScannedPublicKey[];
  /** "<source>: why", for certificates and requests that cannot be read. */
  unreadable: string[];
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const messageOf = (error: unknown): string =>
  (error instanceof Error ? error.message : 'unreadable').slice(0, 160);

const CURVE_NAMES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** 'EC P-256', 'Ed25519', 'RSA 2048', … */
function keyAlgorithmOf(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType;
  switch (type) {
    case 'ec': {
      const curve = details.namedCurve ?? '?';
      return `EC ${CURVE_NAMES[curve] ?? curve}`;
    }
    case 'rsa':
    case 'rsa-pss':
      return `RSA ${details.modulusLength ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    case 'x25519':
      return 'X25519';
    case 'x448':
      return 'X448';
    case 'dsa':
      return `DSA ${details.modulusLength ?? '?'}`;
    case undefined:
      return 'unknown';
  }
  // A key type newer than these names (node adds them): its own word.
  return String(type);
}

/**
 * The SHA-256 of a key's SubjectPublicKeyInfo as OpenSSL writes it (re-encoded, so two encodings
 * of one key compare equal), and its algorithm; null for bytes that are not a key node can read.
 */
function publicKeyOf(spki: Uint8Array): { spkiSha256: string; keyAlgorithm: string } | null {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return null; // not a key: the caller tries the next reading of the bytes
  }
  const normal = new Uint8Array(key.export({ type: 'spki', format: 'der' }));
  return { spkiSha256: sha256Hex(normal), keyAlgorithm: keyAlgorithmOf(key) };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function parseCertificate(source: string, der: Uint8Array): Parsed<ScannedCertificate> {
  try {
    const node = new NodeCertificate(der);
    const raw = new Uint8Array(node.raw);
    const cert = new x509.X509Certificate(raw);
    const extensions = cert.extensions.map((e) => ({
      oid: e.type,
      value: new Uint8Array(e.value),
    }));
    const spki = new Uint8Array(cert.publicKey.rawData);
    const key = publicKeyOf(spki);
    return {
      ok: true,
      value: {
        source,
        der: raw,
        node,
        subject: cert.subject,
        issuer: cert.issuer,
        commonName: commonName(node),
        extensions,
        sha256: sha256Hex(raw),
        spkiSha256: key?.spkiSha256 ?? sha256Hex(spki),
        keyAlgorithm: key?.keyAlgorithm ?? 'unknown',
      },
    };
  } catch (error) {
    // node:crypto and @peculiar/x509 throw their own errors on hostile bytes: named, not thrown.
    return {
      ok: false,
      problem: `${source}: not a readable X.509 certificate (${messageOf(error)})`,
    };
  }
}

/** Request extensions Yubico tooling writes: the slot attestation and the F9 certificate. */
const REQUEST_CARRIED: Record<string, 'attestation' | 'f9'> = {
  '1.3.6.1.4.1.41482.3.1': 'attestation',
  '1.3.6.1.4.1.41482.3.11': 'attestation',
  '1.3.6.1.4.1.41482.3.2': 'f9',
};

/** A PKCS#10 request and the certificates it carries; false when the bytes are not one. */
function readRequest(source: string, der: Uint8Array, out: CandidateContents): boolean {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(der);
  } catch {
    return false; // not a request: the caller tries the next reading of the bytes
  }
  let extensions: { oid: string; value: Uint8Array }[];
  let spki: Uint8Array;
  try {
    extensions = request.extensions.map((e) => ({ oid: e.type, value: new Uint8Array(e.value) }));
    spki = new Uint8Array(request.publicKey.rawData);
  } catch (error) {
    out.unreadable.push(
      `${source}: a certificate request that cannot be read (${messageOf(error)})`,
    );
    return true;
  }
  const attestations: string[] = [];
  const used = new Map<string, number>();
  for (const { oid, value } of extensions) {
    const role = REQUEST_CARRIED[oid];
    if (role === undefined) continue;
    const count = (used.get(role) ?? 0) + 1;
    used.set(role, count);
    const carried = `${source}#${role}${count > 1 ? `-${count}` : ''}`;
    const parsed = parseCertificate(carried, value);
    if (!parsed.ok) {
      out.unreadable.push(parsed.problem);
      continue;
    }
    out.certificates.push(parsed.value);
    if (role === 'attestation') attestations.push(carried);
  }
  out.requests.push({
    source,
    spkiSha256: publicKeyOf(spki)?.spkiSha256 ?? sha256Hex(spki),
    attestations,
  });
  return true;
}

/** SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING }: a signed certificate or request, maybe broken. */
function isSignedShape(bytes: Uint8Array): boolean {
  try {
    const outer = readTlv(bytes);
    if (outer.tag !== DerTag.sequence || outer.end !== bytes.length) return false;
    const tags: number[] = [];
    for (let at = 0; at < outer.value.length && tags.length < 4;) {
      const element = readTlv(outer.value, at);
      tags.push(element.tag);
      at = element.end;
    }
    return (
      tags.length === 3 &&
      tags[0] === DerTag.sequence &&
      tags[1] === DerTag.sequence &&
      tags[2] === DerTag.bitString
    );
  } catch (error) {
    if (error instanceof DerError) return false;
    throw error;
  }
}

/** Raw public keys by length: an Ed25519 key, an uncompressed P-256 or P-384 point. */
const RAW_KEY_CURVES = new Map<number, KeyCurve>([
  [32, 'Ed25519'],
  [65, 'P-256'],
  [97, 'P-384'],
]);

/** The bytes as a raw key, binary or hex text (`.pub` files); null when they are neither. */
function rawPublicKey(bytes: Uint8Array): { spkiSha256: string } | null {
  const readings = [bytes];
  if (bytes.length <= 4 * 97) {
    const hex = new TextDecoder().decode(bytes).trim().replace(/^0x/i, '').replace(/\s+/g, '');
    if (/^[0-9a-fA-F]+$/.test(hex) && hex.length % 2 === 0) readings.push(hexToBytes(hex));
  }
  for (const raw of readings) {
    const curve = RAW_KEY_CURVES.get(raw.length);
    if (curve === undefined) continue;
    let spki: Uint8Array;
    try {
      spki = spkiFromRawPublicKey(raw, curve);
    } catch (error) {
      if (error instanceof DerError) continue;
      throw error;
    }
    const key = publicKeyOf(spki);
    if (key !== null) return key;
  }
  return null;
}

/** A certificate or request cut short still starts SEQUENCE, SEQUENCE, both of long length. */
function startsLikeSigned(bytes: Uint8Array): boolean {
  const first = bytes[1] ?? 0;
  if (bytes[0] !== DerTag.sequence || first < 0x81 || first > 0x84) return false;
  const inner = 2 + (first & 0x7f);
  return bytes[inner] === DerTag.sequence && (bytes[inner + 1] ?? 0) >= 0x81;
}

/** A file that holds no PEM: one DER certificate or request, a DER SPKI, or a raw key. */
function readBinary(source: string, bytes: Uint8Array, out: CandidateContents): void {
  if (isSignedShape(bytes) || startsLikeSigned(bytes)) {
    if (readRequest(source, bytes, out)) return;
    const parsed = parseCertificate(source, bytes);
    if (parsed.ok) out.certificates.push(parsed.value);
    else out.unreadable.push(parsed.problem);
    return;
  }
  const key = (bytes[0] === DerTag.sequence ? publicKeyOf(bytes) : null) ?? rawPublicKey(bytes);
  if (key !== null) out.publicKeys.push({ source, spkiSha256: key.spkiSha256 });
}

const PEM_MARKER = /-----(BEGIN|END) ([A-Z0-9 ]{1,40})-----/g;
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);
const REQUEST_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

/** BEGIN/END pairs in order, one pass over the text (no backtracking on hostile input). */
function pemBlocks(text: string): { blocks: { label: string; body: string }[]; more: boolean } {
  const blocks: { label: string; body: string }[] = [];
  let open: { label: string; start: number } | null = null;
  for (const marker of text.matchAll(PEM_MARKER)) {
    const [whole, edge, label = ''] = marker;
    if (edge === 'BEGIN') open = { label, start: marker.index + whole.length };
    else if (open !== null && open.label === label) {
      if (blocks.length === MAX_PEM_BLOCKS) return { blocks, more: true };
      blocks.push({ label, body: text.slice(open.start, marker.index) });
      open = null;
    }
  }
  return { blocks, more: false };
}

/** Base64 between the markers; `\n` escapes too, for PEM kept inside JSON strings. */
function pemBody(body: string): Uint8Array | null {
  const base64 = body.replace(/\\[nr]/g, '').replace(/\s+/g, '');
  if (base64.length === 0 || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64))
    return null;
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

function readPem(source: string, text: string, out: CandidateContents): void {
  const { blocks, more } = pemBlocks(text);
  let ordinal = 0;
  for (const { label, body } of blocks) {
    const isCertificate = CERTIFICATE_LABELS.has(label);
    const isRequest = REQUEST_LABELS.has(label);
    if (!isCertificate && !isRequest) {
      const der = label === 'PUBLIC KEY' ? pemBody(body) : null;
      const key = der === null ? null : publicKeyOf(der);
      if (key !== null) out.publicKeys.push({ source, spkiSha256: key.spkiSha256 });
      continue;
    }
    ordinal += 1;
    const item = ordinal === 1 ? source : `${source}#${ordinal}`;
    const der = pemBody(body);
    if (der === null) out.unreadable.push(`${item}: the ${label} block is not base64`);
    else if (isRequest) {
      if (!readRequest(item, der, out))
        out.unreadable.push(`${item}: not a readable PKCS#10 certificate request`);
    } else {
      const parsed = parseCertificate(item, der);
      if (parsed.ok) out.certificates.push(parsed.value);
      else out.unreadable.push(parsed.problem);
    }
  }
  if (more)
    out.unreadable.push(`${source}: more than ${MAX_PEM_BLOCKS} PEM blocks, the rest unread`);
}

const PEM_BEGIN = Buffer.from('-----BEGIN ');
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Pure: what one file holds, never throwing on hostile bytes (a certificate that cannot be read
 * is named in `unreadable`; anything that is not a certificate, request or key is ignored).
 */
export function readCandidateFile(source: string, bytes: Uint8Array): CandidateContents {
  const out: CandidateContents = { certificates: [], requests: [], publicKeys: [], unreadable: [] };
  const hasBom = UTF8_BOM.every((b, i) => bytes[i] === b);
  const body = hasBom ? bytes.subarray(3) : bytes;
  if (Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes(PEM_BEGIN))
    readPem(source, new TextDecoder().decode(body), out);
  else readBinary(source, body, out);
  return out;
}

// ---- what each certificate is ------------------------------------------------------------------

type Family = 'piv' | 'yubihsm' | 'openpgp';
const FAMILY_ORDER: readonly Family[] = ['piv', 'yubihsm', 'openpgp'];

interface FamilyFacts {
  kind: AttestedKeyKind;
  device: string;
  leafClass: CertificateClass;
  deviceClass: CertificateClass;
  /** The Yubico extension arc, with its trailing dot. */
  arc: string;
  /** What to bring when the device certificate is missing. */
  deviceWords: string;
}

const arcOf = (oid: string) => oid.replace(/\d+$/, '');

const FAMILIES: Record<Family, FamilyFacts> = {
  piv: {
    kind: 'yubikey-piv',
    device: 'YubiKey',
    leafClass: 'yubikey-piv-attestation',
    deviceClass: 'yubikey-f9',
    arc: arcOf(PivAttestationOid.firmware),
    deviceWords: "the YubiKey's F9 certificate (ykman piv certificates export f9 f9.pem)",
  },
  yubihsm: {
    kind: 'yubihsm2',
    device: 'YubiHSM 2',
    leafClass: 'yubihsm2-key-attestation',
    deviceClass: 'yubihsm2-device-certificate',
    arc: `${YUBIHSM_OID_ARC}.`,
    deviceWords:
      "the YubiHSM 2's device attestation certificate (opaque object 0: yubihsm-shell -a get-opaque -i 0)",
  },
  openpgp: {
    kind: 'yubikey-openpgp',
    device: 'YubiKey',
    leafClass: 'yubikey-openpgp-attestation',
    deviceClass: 'yubikey-openpgp-attestation-key',
    arc: arcOf(OpenPgpAttestationOid.firmware),
    deviceWords:
      "the card's OpenPGP attestation certificate (ykman openpgp certificates export att att.pem)",
  },
};

/** OpenPGP extensions only a slot attestation carries (the card certificate has the firmware). */
const OPENPGP_LEAF_OIDS = new Set<string>(
  Object.values(OpenPgpAttestationOid).filter(
    (oid) => oid !== OpenPgpAttestationOid.firmware && oid !== OpenPgpAttestationOid.formFactor,
  ),
);

const hasOid = (cert: ScannedCertificate, oid: string) =>
  cert.extensions.some((e) => e.oid === oid);
const hasArc = (cert: ScannedCertificate, arc: string) =>
  cert.extensions.some((e) => e.oid.startsWith(arc));

/** Which family's attestation a certificate is, from its extensions and subject; null if none. */
function leafFamilyOf(cert: ScannedCertificate): Family | null {
  if (
    hasOid(cert, attestationOid.objectId) ||
    /^YubiHSM Attestation id:0x[0-9a-f]+$/i.test(cert.commonName)
  )
    return 'yubihsm';
  if (
    hasOid(cert, PivAttestationOid.serial) ||
    hasOid(cert, PivAttestationOid.policy) ||
    /^YubiKey PIV Attestation [0-9a-f]{2}$/i.test(cert.commonName)
  )
    return 'piv';
  if (
    cert.extensions.some((e) => OPENPGP_LEAF_OIDS.has(e.oid)) ||
    openPgpSlotOf(cert.commonName) !== null
  )
    return 'openpgp';
  return null;
}

interface FamilyTrust {
  roots: NodeCertificate[];
  intermediates: NodeCertificate[];
  rehearsalRoots: NodeCertificate[];
}

function familyTrust(trust: AttestationTrust, family: Family): FamilyTrust {
  switch (family) {
    case 'piv':
      return {
        roots: [...trust.piv.legacyRoots, ...trust.piv.roots],
        intermediates: trust.piv.intermediates,
        rehearsalRoots: trust.piv.rehearsalRoots,
      };
    case 'yubihsm':
      return trust.yubiHsm;
    case 'openpgp':
      return trust.openPgp;
  }
}

/**
 * The pinned certificates that issue device certificates: those that issue no other pinned
 * certificate (PIV Attestation A 1/B 1 and the legacy PIV root, the YubiHSM Sub-CA, OPGP B 1).
 */
function deviceIssuers(pinned: FamilyTrust): NodeCertificate[] {
  const all = [...pinned.roots, ...pinned.intermediates];
  return all.filter((c) => !all.some((o) => o !== c && issuedBy(o, c)));
}

/** The certificates found, each distinct one classed once, with who signed which attestation. */
interface Catalogue {
  /** The first copy of each distinct certificate, in source order. */
  distinct: ScannedCertificate[];
  /** Every source of each distinct certificate, by its SHA-256. */
  sources: Map<string, string[]>;
  classes: Map<string, CertificateClass>;
  families: Map<string, Family>;
  /** For each attestation (by SHA-256), the distinct certificates whose key signed it. */
  signers: Map<string, ScannedCertificate[]>;
}

function catalogue(
  certificates: readonly ScannedCertificate[],
  trust: AttestationTrust,
): Catalogue {
  const sources = new Map<string, string[]>();
  const distinct: ScannedCertificate[] = [];
  for (const cert of certificates) {
    const known = sources.get(cert.sha256);
    if (known) known.push(cert.source);
    else {
      sources.set(cert.sha256, [cert.source]);
      distinct.push(cert);
    }
  }
  const classes = new Map<string, CertificateClass>();
  const pinnedClass = new Map<string, CertificateClass>();
  for (const family of FAMILY_ORDER) {
    const pinned = familyTrust(trust, family);
    for (const r of pinned.roots) pinnedClass.set(sha256Hex(new Uint8Array(r.raw)), 'yubico-root');
    for (const i of pinned.intermediates)
      pinnedClass.set(sha256Hex(new Uint8Array(i.raw)), 'yubico-intermediate');
  }
  const families = new Map<string, Family>();
  for (const cert of distinct) {
    const pinned = pinnedClass.get(cert.sha256);
    if (pinned !== undefined) {
      classes.set(cert.sha256, pinned);
      continue;
    }
    const family = leafFamilyOf(cert);
    if (family === null) continue;
    families.set(cert.sha256, family);
    classes.set(cert.sha256, FAMILIES[family].leafClass);
  }
  // By signature, not by name: the certificates bearing the issuer's name are tried first (the
  // usual case, and cheap), then, when none of them signed it, every other one present.
  const signers = new Map<string, ScannedCertificate[]>();
  for (const leaf of distinct) {
    if (!families.has(leaf.sha256)) continue;
    const others = distinct.filter((c) => c !== leaf);
    const named = others.filter((c) => c.node.subject === leaf.node.issuer);
    const byNamed = named.filter((c) => signedBy(leaf.node, c.node));
    signers.set(
      leaf.sha256,
      byNamed.length > 0
        ? byNamed
        : others.filter((c) => !named.includes(c) && signedBy(leaf.node, c.node)),
    );
  }
  const issuers = deviceIssuersOf(trust);
  for (const cert of distinct) {
    if (classes.has(cert.sha256)) continue;
    classes.set(
      cert.sha256,
      deviceClassOf(cert, families, signers, issuers) ?? 'other-certificate',
    );
  }
  return { distinct, sources, classes, families, signers };
}

/** Per family, who issues its device certificates: the lowest pinned ones, the rehearsal CAs. */
type DeviceIssuers = Record<Family, { pinned: NodeCertificate[]; rehearsal: NodeCertificate[] }>;

/** Worked out once per trust set: it takes a few dozen signature checks. */
const issuersByTrust = new WeakMap<AttestationTrust, DeviceIssuers>();

function deviceIssuersOf(trust: AttestationTrust): DeviceIssuers {
  const known = issuersByTrust.get(trust);
  if (known) return known;
  const of = (family: Family) => {
    const pinned = familyTrust(trust, family);
    return { pinned: deviceIssuers(pinned), rehearsal: pinned.rehearsalRoots };
  };
  const issuers = { piv: of('piv'), yubihsm: of('yubihsm'), openpgp: of('openpgp') };
  issuersByTrust.set(trust, issuers);
  return issuers;
}

/** A device certificate: it signs an attestation present, or a pinned issuer issued it. */
function deviceClassOf(
  cert: ScannedCertificate,
  families: ReadonlyMap<string, Family>,
  signers: ReadonlyMap<string, ScannedCertificate[]>,
  issuers: DeviceIssuers,
): CertificateClass | null {
  for (const family of FAMILY_ORDER) {
    const signs = [...signers].some(
      ([leaf, by]) => families.get(leaf) === family && by.includes(cert),
    );
    if (signs) return FAMILIES[family].deviceClass;
  }
  for (const family of FAMILY_ORDER) {
    const { pinned, rehearsal } = issuers[family];
    if (pinned.some((i) => issuedBy(cert.node, i))) return FAMILIES[family].deviceClass;
    // The rehearsal CAs issue more than device certificates: the family's extensions decide.
    if (hasArc(cert, FAMILIES[family].arc) && rehearsal.some((r) => issuedBy(cert.node, r)))
      return FAMILIES[family].deviceClass;
  }
  return null;
}

// ---- one attested key --------------------------------------------------------------------------

type Problem = AttestationProblem;
const problem = (reason: Problem['reason'], detail: string): Problem => ({ reason, detail });

/** What the attestation itself says, before any signature is checked. */
interface LeafReading {
  serial: number | null;
  firmware: readonly number[] | null;
  slot: string | null;
  objectId: number | null;
  label: string | null;
  policies: string[];
  problems: Problem[];
}

/** What the device certificate says that bears on the key. */
interface DeviceReading {
  serial: number | null;
  firmware: readonly number[] | null;
  policies: string[];
  problems: Problem[];
}

const malformed = (what: string, error: { message: string }) =>
  problem('extension-malformed', `${what}: ${error.message}`);

function readPivFacts(
  cert: ScannedCertificate,
  what: string,
): { facts: PivExtensionFacts | null; problems: Problem[] } {
  try {
    return { facts: decodePivAttestationExtensions(cert.extensions), problems: [] };
  } catch (error) {
    if (!(error instanceof PivAttestationFormatError)) throw error;
    return { facts: null, problems: [malformed(what, error)] };
  }
}

function readHsmFacts(
  cert: ScannedCertificate,
  what: string,
): { facts: AttestationFacts | null; problems: Problem[] } {
  try {
    return { facts: decodeAttestationExtensions(cert.extensions), problems: [] };
  } catch (error) {
    if (!(error instanceof DerError)) throw error;
    return { facts: null, problems: [malformed(what, error)] };
  }
}

function readOpenPgpFacts(
  cert: ScannedCertificate,
  what: string,
): { facts: OpenPgpExtensionFacts | null; problems: Problem[] } {
  try {
    return { facts: decodeOpenPgpAttestationExtensions(cert.extensions), problems: [] };
  } catch (error) {
    if (!(error instanceof OpenPgpAttestationFormatError)) throw error;
    return { facts: null, problems: [malformed(what, error)] };
  }
}

const missing = (what: string, oid: string) =>
  problem('extension-malformed', `${what} carries no ${oid}`);

function readLeaf(family: Family, cert: ScannedCertificate): LeafReading {
  const reading: LeafReading = {
    serial: null,
    firmware: null,
    slot: null,
    objectId: null,
    label: null,
    policies: [],
    problems: [],
  };
  switch (family) {
    case 'piv': {
      const { facts, problems } = readPivFacts(cert, 'the slot attestation');
      reading.problems.push(...problems);
      reading.slot =
        /^YubiKey PIV Attestation ([0-9a-f]{2})$/i.exec(cert.commonName)?.[1]?.toLowerCase() ??
        null;
      if (facts === null) return reading;
      reading.serial = facts.serial;
      reading.firmware = facts.firmware;
      if (facts.pinPolicy !== null) reading.policies.push(`pin: ${facts.pinPolicy}`);
      if (facts.touchPolicy !== null) reading.policies.push(`touch: ${facts.touchPolicy}`);
      if (facts.formFactor !== null) reading.policies.push(`form factor: ${facts.formFactor.kind}`);
      const what = 'the slot attestation';
      if (facts.serial === null) reading.problems.push(missing(what, PivAttestationOid.serial));
      if (facts.firmware === null) reading.problems.push(missing(what, PivAttestationOid.firmware));
      if (facts.pinPolicy === null) reading.problems.push(missing(what, PivAttestationOid.policy));
      return reading;
    }
    case 'yubihsm': {
      const { facts, problems } = readHsmFacts(cert, 'the key attestation');
      reading.problems.push(...problems);
      const fromName = /^YubiHSM Attestation id:0x([0-9a-f]+)$/i.exec(cert.commonName)?.[1];
      reading.objectId = fromName !== undefined ? parseInt(fromName.slice(0, 8), 16) : null;
      if (facts === null) return reading;
      reading.serial = facts.serial ?? null;
      reading.firmware = facts.firmware?.split('.').map(Number) ?? null;
      reading.objectId = facts.objectId ?? reading.objectId;
      reading.label = facts.label ?? null;
      if (facts.origin !== undefined)
        reading.policies.push(`origin: ${originNames(facts.origin).join('+') || facts.origin}`);
      if (facts.capabilities !== undefined)
        reading.policies.push(
          `capabilities: ${capabilitiesOf(facts.capabilities).join(', ') || 'none'}`,
        );
      if (facts.domains !== undefined)
        reading.policies.push(`domains: ${domainsOf(facts.domains).join(', ') || 'none'}`);
      if (facts.fipsApproved === true) reading.policies.push('fips');
      if (facts.serial === undefined)
        reading.problems.push(missing('the key attestation', attestationOid.serial));
      return reading;
    }
    case 'openpgp': {
      const { facts, problems } = readOpenPgpFacts(cert, 'the slot attestation');
      reading.problems.push(...problems);
      reading.slot = openPgpSlotOf(cert.commonName);
      if (facts === null) return reading;
      reading.serial = facts.serial;
      reading.firmware = facts.firmware;
      if (facts.touchPolicy !== null) reading.policies.push(`touch: ${facts.touchPolicy}`);
      if (facts.keySource !== null) reading.policies.push(`source: ${facts.keySource}`);
      if (facts.formFactor !== null) reading.policies.push(`form factor: ${facts.formFactor.kind}`);
      if (facts.serial === null)
        reading.problems.push(missing('the slot attestation', OpenPgpAttestationOid.serial));
      return reading;
    }
  }
}

function readDevice(family: Family, cert: ScannedCertificate): DeviceReading {
  switch (family) {
    case 'piv': {
      const { facts, problems } = readPivFacts(cert, 'the F9 certificate');
      const policies = [...(facts?.isFips ? ['fips'] : []), ...(facts?.isCspn ? ['cspn'] : [])];
      return {
        serial: facts?.serial ?? null,
        firmware: facts?.firmware ?? null,
        policies,
        problems,
      };
    }
    case 'yubihsm': {
      const { facts, problems } = readHsmFacts(cert, 'the device certificate');
      const firmware = facts?.firmware?.split('.').map(Number) ?? null;
      return { serial: facts?.serial ?? null, firmware, policies: [], problems };
    }
    case 'openpgp': {
      const { facts, problems } = readOpenPgpFacts(cert, 'the card attestation certificate');
      return { serial: null, firmware: facts?.firmware ?? null, policies: [], problems };
    }
  }
}

/** What the device certificate and the attestation must agree on. */
function compareReadings(family: Family, leaf: LeafReading, device: DeviceReading): Problem[] {
  const problems: Problem[] = [];
  if (
    leaf.firmware !== null &&
    device.firmware !== null &&
    compareFirmware(leaf.firmware, device.firmware) !== 0
  )
    problems.push(
      problem(
        'firmware-mismatch',
        `firmware ${formatFirmware(leaf.firmware)} in the attestation, ${formatFirmware(device.firmware)} in the device certificate`,
      ),
    );
  // SECURITY: a YubiHSM 2 device certificate is per device: its serial must be the key's.
  if (family === 'yubihsm' && leaf.serial !== null && device.serial !== null)
    if (leaf.serial !== device.serial)
      problems.push(
        problem(
          'serial-mismatch',
          `serial ${leaf.serial} in the key attestation, ${device.serial} in the device certificate`,
        ),
      );
  return problems;
}

const PIV_WORDING = { pinnedIssuer: 'a pinned Yubico certificate', pki: 'the Yubico PIV PKI' };
const HSM_WORDING = { pinnedIssuer: 'a pinned Yubico certificate', pki: 'the YubiHSM PKI' };

/** Why a broken walk broke, as a reason code. */
function chainProblem(walk: Extract<ChainWalk, { verdict: 'broken' }>): Problem {
  return walk.cause === 'not-valid-at-time'
    ? problem('not-valid-at-time', walk.problem)
    : problem(
        'chain-not-pinned',
        `${walk.problem}: only Yubico's pinned certificates complete a chain, never one found beside the attestation`,
      );
}

/**
 * Device certificate → pinned anchors. A PIV F9 must chain to the PKI of the attested firmware
 * (NEW_PKI_FIRMWARE); one that chains to the other PKI is named as such.
 */
function walkDevice(
  family: Family,
  device: NodeCertificate,
  firmware: readonly number[] | null,
  trust: AttestationTrust,
  at: Date,
): { walk: ChainWalk; problems: Problem[] } {
  if (family === 'openpgp') {
    const walk = walkOpenPgpChain(device, trust.openPgp, at);
    return { walk, problems: walk.verdict === 'broken' ? [chainProblem(walk)] : [] };
  }
  if (family === 'yubihsm') {
    const walk = walkPinnedChain(device, trust.yubiHsm, { at, maxLinks: 4, wording: HSM_WORDING });
    return { walk, problems: walk.verdict === 'broken' ? [chainProblem(walk)] : [] };
  }
  const { piv } = trust;
  const walkPki = (isNewPki: boolean, withRehearsal: boolean) =>
    walkPinnedChain(
      device,
      {
        roots: isNewPki ? piv.roots : piv.legacyRoots,
        intermediates: isNewPki ? piv.intermediates : [],
        rehearsalRoots: withRehearsal ? piv.rehearsalRoots : [],
      },
      { at, maxLinks: 4, wording: PIV_WORDING },
    );
  const isNewPki = firmware === null || compareFirmware(firmware, NEW_PKI_FIRMWARE) >= 0;
  const walk = walkPki(isNewPki, true);
  if (walk.verdict !== 'broken') return { walk, problems: [] };
  const other = walkPki(!isNewPki, false);
  if (other.verdict === 'broken') return { walk, problems: [chainProblem(walk)] };
  // Unknown firmware (its extension is malformed, already a problem): whichever PKI it reaches.
  if (firmware === null) return { walk: other, problems: [] };
  const anchor = (isNewPki ? piv.roots : piv.legacyRoots)[0];
  return {
    // The path shows where the F9 does lead; the walk stays broken.
    walk: { ...walk, path: other.path },
    problems: [
      problem(
        'wrong-pki-for-firmware',
        `firmware ${formatFirmware(firmware)} must chain to ${anchor ? commonName(anchor) : 'its own PKI'}, this F9 chains to ${other.path.at(-1) ?? '?'}`,
      ),
    ],
  };
}

interface DeviceOutcome {
  device: ScannedCertificate;
  reading: DeviceReading;
  walk: ChainWalk;
  problems: Problem[];
}

function deviceOutcome(
  family: Family,
  leaf: ScannedCertificate,
  leafReading: LeafReading,
  device: ScannedCertificate,
  trust: AttestationTrust,
  at: Date,
): DeviceOutcome {
  const reading = readDevice(family, device);
  const problems: Problem[] = [];
  if (leaf.node.issuer !== device.node.subject)
    problems.push(
      problem(
        'signature-invalid',
        `signed by the key of ${device.source} (${device.commonName}), but it names another issuer (${leaf.issuer})`,
      ),
    );
  const chain = walkDevice(family, device.node, leafReading.firmware, trust, at);
  problems.push(
    ...chain.problems,
    ...reading.problems,
    ...compareReadings(family, leafReading, reading),
  );
  return { device, reading, walk: chain.walk, problems };
}

/** Same file (a request's carried pair) first, then the same folder, then the rest. */
function nearness(leafSource: string, source: string): number {
  const file = (s: string) => s.replace(/#.*$/, '');
  if (file(source) === file(leafSource)) return 0;
  return dirname(file(source)) === dirname(file(leafSource)) ? 1 : 2;
}

const REASON_ORDER: readonly Problem['reason'][] = [
  'device-certificate-missing',
  'signature-invalid',
  'chain-not-pinned',
  'wrong-pki-for-firmware',
  'extension-malformed',
  'firmware-mismatch',
  'serial-mismatch',
  'not-valid-at-time',
];

const byReason = (a: Problem, b: Problem) =>
  REASON_ORDER.indexOf(a.reason) - REASON_ORDER.indexOf(b.reason);

interface SameKeyHolders {
  /** Sources by SPKI SHA-256. */
  bySpki: Map<string, string[]>;
}

function attestedKey(
  leaf: ScannedCertificate,
  family: Family,
  cat: Catalogue,
  holders: SameKeyHolders,
  trust: AttestationTrust,
  at: Date,
): AttestedKeyReport {
  const facts = FAMILIES[family];
  const reading = readLeaf(family, leaf);
  const closest = (c: ScannedCertificate) =>
    Math.min(...(cat.sources.get(c.sha256) ?? [c.source]).map((s) => nearness(leaf.source, s)));
  const sourceNearest = (c: ScannedCertificate) =>
    [...(cat.sources.get(c.sha256) ?? [c.source])].sort(
      (a, b) => nearness(leaf.source, a) - nearness(leaf.source, b),
    )[0] ?? c.source;
  const signers = [...(cat.signers.get(leaf.sha256) ?? [])].sort((a, b) => closest(a) - closest(b));
  const outcomes = signers.map((d) => deviceOutcome(family, leaf, reading, d, trust, at));
  const chosen =
    outcomes.find((o) => o.problems.length === 0) ??
    outcomes.find((o) => o.walk.verdict !== 'broken') ??
    outcomes[0];
  const problems: Problem[] = [...reading.problems];
  if (chosen === undefined) problems.push(noSigner(leaf, family, cat));
  else problems.push(...chosen.problems);
  if (!isValidAt(leaf.node, at))
    problems.push(
      problem('not-valid-at-time', `the attestation is not valid on ${at.toISOString()}`),
    );
  problems.sort(byReason);
  const walk = chosen?.walk;
  const isChainGood = walk !== undefined && walk.verdict !== 'broken';
  const isRehearsal = walk?.verdict === 'rehearsal';
  const policies = [...reading.policies, ...(chosen?.reading.policies ?? [])];
  if (family === 'piv' && chosen === undefined) policies.push('fips: unknown (no F9 certificate)');
  return {
    source: leaf.source,
    kind: facts.kind,
    device: facts.device,
    reason: problems[0]?.reason ?? (isRehearsal ? 'rehearsal' : 'verified'),
    problems,
    isVerified: problems.length === 0 && isChainGood,
    isRehearsal,
    serial: reading.serial,
    firmware: reading.firmware === null ? null : formatFirmware(reading.firmware),
    slot: reading.slot,
    objectId: reading.objectId,
    label: reading.label,
    keyAlgorithm: leaf.keyAlgorithm,
    policies,
    attestedSpkiSha256: leaf.spkiSha256,
    deviceCertificate: chosen === undefined ? null : sourceNearest(chosen.device),
    chain: [
      leaf.commonName,
      ...(chosen === undefined ? [] : [chosen.device.commonName, ...chosen.walk.path]),
    ],
    chainEnd: walk !== undefined && walk.verdict !== 'broken' ? commonName(walk.anchor) : null,
    sameKeyIn: holders.bySpki.get(leaf.spkiSha256) ?? [],
  };
}

/**
 * No certificate present signs the attestation: one that bears its issuer's name did not sign it
 * (altered, or another device's certificate), or the device certificate is not there at all.
 */
function noSigner(leaf: ScannedCertificate, family: Family, cat: Catalogue): Problem {
  const named = cat.distinct.filter(
    (c) => c.sha256 !== leaf.sha256 && c.node.subject === leaf.node.issuer,
  );
  if (named.length > 0)
    return problem(
      'signature-invalid',
      `${namesWithMore(
        named.flatMap((c) => cat.sources.get(c.sha256) ?? []),
        3,
      )} bears the issuer's name (${leaf.issuer}), but its key did not sign the attestation: the attestation was altered, or paired with another device's certificate`,
    );
  const others = cat.distinct.filter(
    (c) => cat.classes.get(c.sha256) === FAMILIES[family].deviceClass,
  );
  return problem(
    'device-certificate-missing',
    `no certificate here signs it${
      others.length > 0
        ? ` (${namesWithMore(
            others.map((c) => c.source),
            3,
          )} belong${others.length === 1 ? 's' : ''} to other devices)`
        : ''
    }: bring ${FAMILIES[family].deviceWords}, subject ${leaf.issuer}`,
  );
}

// ---- reading the paths given -------------------------------------------------------------------

/** What was read from the paths given, before anything is verified. */
export interface ScanInputs {
  root: string;
  contents: CandidateContents[];
  filesRead: number;
  /** Links, pipes, unreadable or oversized files, by name. */
  refused: string[];
}

function readFolder(root: string): ScanInputs {
  let tree;
  try {
    tree = walkFolder(root);
  } catch (error) {
    if (!(error instanceof UntrustedReadError)) throw error;
    throw new VerifyInputError(`cannot read ${root}: ${error.message}`);
  }
  // SECURITY: links, pipes, sockets and devices are named, never followed or opened.
  const refused = tree.refused.map((r) => r.message);
  const contents: CandidateContents[] = [];
  let filesRead = 0;
  for (const name of tree.files) {
    let bytes: Uint8Array;
    try {
      bytes = readFileIn(root, name, MAX_CANDIDATE_BYTES);
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      // Large files are not certificates: skipped unless a person named them.
      if (error.kind === 'file-too-large') continue;
      refused.push(error.message);
      if (error.kind === 'total-too-large') break;
      continue;
    }
    filesRead += 1;
    contents.push(readCandidateFile(name, bytes));
  }
  return { root, contents, filesRead, refused };
}

function readFiles(paths: readonly string[]): ScanInputs {
  const refused: string[] = [];
  const contents: CandidateContents[] = [];
  let filesRead = 0;
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      bytes = readNamedFile(path, MAX_CANDIDATE_BYTES);
    } catch (error) {
      if (!(error instanceof UntrustedReadError)) throw error;
      refused.push(error.message);
      continue;
    }
    filesRead += 1;
    contents.push(readCandidateFile(path, bytes));
  }
  return { root: paths[0] ?? '', contents, filesRead, refused };
}

function isMissing(path: string): boolean {
  try {
    return entryKindAt(path) === 'missing';
  } catch (error) {
    if (!(error instanceof UntrustedReadError)) throw error;
    throw new VerifyInputError(error.message);
  }
}

function readInputs(paths: readonly string[]): ScanInputs {
  const [first] = paths;
  if (first === undefined) throw new VerifyInputError('give a folder, or one or more files');
  if (paths.length === 1 && isNamedFolder(first)) return readFolder(first);
  const folder = paths.find((p) => isNamedFolder(p));
  if (folder !== undefined)
    throw new VerifyInputError(`${folder} is a folder: give one folder, or files only`);
  if (paths.length === 1 && isMissing(first)) throw new VerifyInputError(`${first} does not exist`);
  return readFiles(paths);
}

// ---- the report --------------------------------------------------------------------------------

function sameKeyHolders(cat: Catalogue, contents: readonly CandidateContents[]): SameKeyHolders {
  const bySpki = new Map<string, string[]>();
  const add = (spki: string, source: string) => {
    const list = bySpki.get(spki) ?? [];
    if (!list.includes(source)) list.push(source);
    bySpki.set(spki, list);
  };
  for (const cert of cat.distinct)
    if (cat.classes.get(cert.sha256) === 'other-certificate')
      for (const source of cat.sources.get(cert.sha256) ?? []) add(cert.spkiSha256, source);
  for (const file of contents) {
    for (const key of file.publicKeys) add(key.spkiSha256, key.source);
    for (const request of file.requests) add(request.spkiSha256, request.source);
  }
  return { bySpki };
}

/** A request must be for the key its carried attestation attests, or it proves nothing. */
function checkRequests(
  contents: readonly CandidateContents[],
  certificates: readonly ScannedCertificate[],
): CheckResult | null {
  const requests = contents.flatMap((c) => c.requests).filter((r) => r.attestations.length > 0);
  if (requests.length === 0) return null;
  const wrong = requests.filter((r) =>
    r.attestations.some(
      (source) => certificates.find((c) => c.source === source)?.spkiSha256 !== r.spkiSha256,
    ),
  );
  return {
    check: 'request-key',
    isOk: wrong.length === 0,
    detail:
      wrong.length === 0
        ? `${requests.length} certificate request(s) carry the attestation of their own key`
        : `the attestation carried by ${namesWithMore(wrong.map((r) => r.source))} is for another key than the request's`,
  };
}

function filesCheck(inputs: ScanInputs, found: number, unreadable: string[]): CheckResult {
  const problems = [...inputs.refused, ...unreadable];
  if (problems.length > 0)
    return { check: 'files', isOk: false, detail: namesWithMore(problems, 10) };
  const requests = inputs.contents.reduce((n, c) => n + c.requests.length, 0);
  const keys = inputs.contents.reduce((n, c) => n + c.publicKeys.length, 0);
  return {
    check: 'files',
    isOk: true,
    detail: `${inputs.filesRead} file(s) read: ${found} certificate(s), ${requests} certificate request(s), ${keys} public key(s)`,
  };
}

/**
 * Scans one folder (walked without following anything) or the files given, and verifies every
 * Yubico attestation found. Throws VerifyInputError only for paths that cannot be scanned at all.
 */
export function scanAttestations(
  paths: readonly string[],
  options: AttestationScanOptions = {},
): AttestationScanReport {
  return inReadSession(() => scan(paths, options));
}

function scan(paths: readonly string[], options: AttestationScanOptions): AttestationScanReport {
  return reportFromInputs(readInputs(paths), options);
}

/** Pure but for the trust files: the report on what was read (the fuzz ring feeds it directly). */
export function reportFromInputs(
  inputs: ScanInputs,
  options: AttestationScanOptions = {},
): AttestationScanReport {
  const at = options.at ?? new Date();
  const trust = options.trust ?? loadAttestationTrust();
  const unreadable = inputs.contents.flatMap((c) => c.unreadable);
  let certificates = inputs.contents.flatMap((c) => c.certificates);
  if (certificates.length > MAX_CERTIFICATES) {
    unreadable.push(
      `${certificates.length} certificates, more than the ${MAX_CERTIFICATES} compared: from ${certificates[MAX_CERTIFICATES]?.source ?? '?'} on, not looked at`,
    );
    certificates = certificates.slice(0, MAX_CERTIFICATES);
  }
  const cat = catalogue(certificates, trust);
  const holders = sameKeyHolders(cat, inputs.contents);
  // One entry per attestation found, copies included: each is a file someone will point at.
  const keys: AttestedKeyReport[] = [];
  for (const leaf of certificates) {
    const family = cat.families.get(leaf.sha256);
    if (family !== undefined) keys.push(attestedKey(leaf, family, cat, holders, trust, at));
  }
  const found: FoundCertificate[] = certificates.map((c) => ({
    source: c.source,
    class: cat.classes.get(c.sha256) ?? 'other-certificate',
    subject: c.subject,
    issuer: c.issuer,
    sha256: c.sha256,
    spkiSha256: c.spkiSha256,
  }));
  const checks: CheckResult[] = [filesCheck(inputs, certificates.length, unreadable)];
  checks.push(
    keys.length > 0
      ? { check: 'attestations', isOk: true, detail: `${keys.length} attested key(s)` }
      : {
          check: 'attestations',
          isOk: false,
          detail:
            'no Yubico attestation found (a YubiKey PIV or OpenPGP slot attestation, a YubiHSM 2 key attestation)',
        },
  );
  const requestCheck = checkRequests(inputs.contents, certificates);
  if (requestCheck !== null) checks.push(requestCheck);
  const rehearsals = keys.filter((k) => k.isRehearsal).length;
  const productions = keys.filter((k) => k.isVerified && !k.isRehearsal).length;
  // SECURITY: a rehearsal device never signs off a production ceremony (STYLE example 9).
  if (rehearsals > 0 && productions > 0)
    checks.push({
      check: 'rehearsal-mix',
      isOk: false,
      detail: `${rehearsals} rehearsal and ${productions} production attested key(s) together`,
    });
  return {
    v: 1,
    kind: ATTESTATION_SCAN_KIND,
    root: inputs.root,
    certificates: found,
    keys,
    checks,
    isRehearsal: keys.length > 0 && rehearsals === keys.length,
    isOk: keys.length > 0 && keys.every((k) => k.isVerified) && checks.every((c) => c.isOk),
  };
}
