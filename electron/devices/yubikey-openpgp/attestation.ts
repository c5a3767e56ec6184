// YubiKey OpenPGP key attestation: a slot's attestation certificate (`ykman openpgp keys attest`)
// is signed by the card's attestation key (ATT), whose certificate (DO FC, `ykman openpgp
// certificates export att`) chains to Yubico: card certificate → Yubico OPGP Attestation B 1 →
// Yubico Attestation Intermediate B 1 → Yubico Attestation Root 1, all pinned from
// resources/trust. The legacy "Yubico OpenPGP Attestation CA" is not pinned (no verified copy), so
// a card certificate issued by it is a chain that is not pinned, never a valid one. A chain ending
// at the rehearsal OpenPGP CA is named as such and never passes as production.
// Extension values are DER (Yubico's OpenPGP attestation arc, see protocol.ts), unlike PIV's raw
// bytes. Signatures are checked with node:crypto so verification stays synchronous.
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { KindedError } from '../../base/errors.ts';
import { resourcesDir } from '../../base/resources-dir.ts';
import { DerError, DerTag, bytesToHex, readSingleTlv } from '../../formats/der.ts';
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
  PIV_FORM_FACTORS,
  compareFirmware,
  formatFirmware,
  type PivFirmware,
  type PivFormFactor,
} from '../yubikey-piv/attestation.ts';
import { OpenPgpAttestationOid, touchPolicyOf, type TouchPolicyName } from './protocol.ts';
import { resourceCertificate } from '../pinned-certificates.ts';

export const OPENPGP_TRUST_FILES = {
  roots: ['yubico-attestation-root-1.pem'],
  intermediates: ['yubico-opgp-attestation-b-1.pem', 'yubico-attestation-intermediate-b-1.pem'],
} as const;

/**
 * The rehearsal cards' OpenPGP attestation CA in resources/rehearsal (its file name is also in
 * rehearsal-attestation.ts, which this light module does not load); see that folder's README.
 */
export const OPENPGP_REHEARSAL_CA_FILE = 'yubikey-openpgp-rehearsal-ca.pem';

export interface OpenPgpTrust {
  roots: NodeCertificate[];
  /** Pinned intermediates; never certificates found next to the products. */
  intermediates: NodeCertificate[];
  /** A chain ending here is a rehearsal product. */
  rehearsalRoots: NodeCertificate[];
}

export function loadOpenPgpTrust(dir = resourcesDir()): OpenPgpTrust {
  const read = (folder: string, file: string) => resourceCertificate(dir, folder, file);
  return {
    roots: OPENPGP_TRUST_FILES.roots.map((f) => read('trust', f)),
    intermediates: OPENPGP_TRUST_FILES.intermediates.map((f) => read('trust', f)),
    rehearsalRoots: [read('rehearsal', OPENPGP_REHEARSAL_CA_FILE)],
  };
}

export type OpenPgpAttestationFailure =
  'openpgp-attestation-malformed' | 'openpgp-attestation-extension-malformed';

/** A certificate that is not one, or an extension whose bytes are not what Yubico writes. */
export class OpenPgpAttestationFormatError extends KindedError<OpenPgpAttestationFailure> {
  readonly name = 'OpenPgpAttestationFormatError';
  constructor(message: string, kind: OpenPgpAttestationFailure = 'openpgp-attestation-malformed') {
    super(kind, message);
  }
}

export type OpenPgpExtensionName = keyof typeof OpenPgpAttestationOid;

export class OpenPgpAttestationExtensionError extends OpenPgpAttestationFormatError {
  constructor(
    readonly extension: OpenPgpExtensionName,
    reason: string,
  ) {
    super(
      `extension ${extension} (${OpenPgpAttestationOid[extension]}): ${reason}`,
      'openpgp-attestation-extension-malformed',
    );
  }
}

/** The key an attestation is about: the three card slots, or the attestation key itself. */
export type OpenPgpAttestedSlot = 'sig' | 'dec' | 'aut' | 'att';

export interface OpenPgpExtensionFacts {
  cardholderName: string | null;
  keySource: 'generated' | 'imported' | null;
  firmware: PivFirmware | null;
  /** The OpenPGP v4 fingerprint of the key, hex. */
  fingerprint: string | null;
  /** Key generation time, seconds since 1970 (the card's DO CE–D0). */
  generatedAt: number | null;
  signatureCounter: number | null;
  serial: number | null;
  touchPolicy: TouchPolicyName | null;
  formFactor: PivFormFactor | null;
}

const UTF8_STRING = 0x0c;

function extensionBody(name: OpenPgpExtensionName, value: Uint8Array, tag: number): Uint8Array {
  try {
    return readSingleTlv(value, tag);
  } catch (error) {
    throw new OpenPgpAttestationExtensionError(
      name,
      error instanceof DerError ? error.message : 'not DER',
    );
  }
}

/** A DER INTEGER that fits 32 bits unsigned (serials, counters, the key source). */
function smallInteger(name: OpenPgpExtensionName, value: Uint8Array): number {
  const body = extensionBody(name, value, DerTag.integer);
  const first = body[0];
  if (first === undefined) throw new OpenPgpAttestationExtensionError(name, 'empty INTEGER');
  if (first & 0x80) throw new OpenPgpAttestationExtensionError(name, 'negative INTEGER');
  if (first === 0 && body.length > 1 && ((body[1] ?? 0) & 0x80) === 0)
    throw new OpenPgpAttestationExtensionError(name, 'INTEGER not minimally encoded');
  if (body.length > 5) throw new OpenPgpAttestationExtensionError(name, 'INTEGER too large');
  return body.reduce((n, b) => n * 256 + b, 0);
}

function octets(name: OpenPgpExtensionName, value: Uint8Array, length?: number): Uint8Array {
  const body = extensionBody(name, value, DerTag.octetString);
  if (length !== undefined && body.length !== length)
    throw new OpenPgpAttestationExtensionError(name, `${body.length} bytes, expected ${length}`);
  return body;
}

function decodeOne(
  facts: OpenPgpExtensionFacts,
  name: OpenPgpExtensionName,
  value: Uint8Array,
): void {
  switch (name) {
    case 'cardholderName':
      try {
        facts.cardholderName = new TextDecoder('utf-8', { fatal: true }).decode(
          extensionBody(name, value, UTF8_STRING),
        );
      } catch (error) {
        if (error instanceof OpenPgpAttestationExtensionError) throw error;
        throw new OpenPgpAttestationExtensionError(name, 'not UTF-8');
      }
      return;
    case 'keySource': {
      const source = smallInteger(name, value);
      if (source > 1) throw new OpenPgpAttestationExtensionError(name, `unknown source ${source}`);
      facts.keySource = source === 1 ? 'generated' : 'imported';
      return;
    }
    case 'firmware': {
      const body = octets(name, value, 3);
      facts.firmware = [body[0] ?? 0, body[1] ?? 0, body[2] ?? 0];
      return;
    }
    case 'fingerprint':
      facts.fingerprint = bytesToHex(octets(name, value));
      return;
    case 'generationDate': {
      const body = octets(name, value, 4);
      facts.generatedAt = body.reduce((n, b) => n * 256 + b, 0);
      return;
    }
    case 'signatureCounter':
      facts.signatureCounter = smallInteger(name, value);
      return;
    case 'serial':
      facts.serial = smallInteger(name, value);
      return;
    case 'touchPolicy': {
      // The slot's UIF data object: the policy byte, then the button feature byte.
      const body = octets(name, value);
      const policy = touchPolicyOf(body[0] ?? -1);
      if (body.length < 1 || policy === null)
        throw new OpenPgpAttestationExtensionError(name, `unknown touch policy ${body[0]}`);
      facts.touchPolicy = policy;
      return;
    }
    case 'formFactor': {
      const code = octets(name, value, 1)[0] ?? 0;
      facts.formFactor = {
        code,
        kind: PIV_FORM_FACTORS[code & 0x0f] ?? 'unknown',
        hasFipsBit: (code & 0x80) !== 0,
      };
      return;
    }
  }
}

const NAME_OF_OID = new Map<string, OpenPgpExtensionName>(
  Object.entries(OpenPgpAttestationOid).map(([name, oid]) => [oid, name as OpenPgpExtensionName]),
);

/** Decodes whichever Yubico OpenPGP extensions are present; a malformed one throws, naming it. */
export function decodeOpenPgpAttestationExtensions(
  extensions: readonly { oid: string; value: Uint8Array }[],
): OpenPgpExtensionFacts {
  const facts: OpenPgpExtensionFacts = {
    cardholderName: null,
    keySource: null,
    firmware: null,
    fingerprint: null,
    generatedAt: null,
    signatureCounter: null,
    serial: null,
    touchPolicy: null,
    formFactor: null,
  };
  const seen = new Set<string>();
  for (const { oid, value } of extensions) {
    const name = NAME_OF_OID.get(oid);
    if (name === undefined) continue;
    if (seen.has(oid)) throw new OpenPgpAttestationExtensionError(name, 'appears more than once');
    seen.add(oid);
    decodeOne(facts, name, value);
  }
  return facts;
}

/** From the subject "YubiKey OPGP Attestation SIG" (ENC is an older spelling of DEC). */
export function openPgpSlotOf(subjectCommonName: string): OpenPgpAttestedSlot | null {
  const word = /^YubiKey OPGP Attestation (SIG|DEC|ENC|AUT|ATT)$/i.exec(subjectCommonName)?.[1];
  if (word === undefined) return null;
  const lower = word.toLowerCase();
  return lower === 'enc' ? 'dec' : (lower as OpenPgpAttestedSlot);
}

/** Card certificate → pinned intermediates → pinned root, in the OpenPGP PKI's words. */
export function walkOpenPgpChain(
  cardCertificate: NodeCertificate,
  trust: OpenPgpTrust,
  at: Date,
): ChainWalk {
  return walkPinnedChain(cardCertificate, trust, {
    at,
    maxLinks: 4,
    wording: { pinnedIssuer: 'a pinned Yubico certificate', pki: 'the Yubico OpenPGP PKI' },
  });
}

/** Stable words for what is wrong, the same as `vigil verify`'s attestation reasons. */
export type OpenPgpAttestationProblemKind =
  | 'signature-invalid'
  | 'chain-not-pinned'
  | 'not-valid-at-time'
  | 'firmware-mismatch'
  | 'extension-malformed';

export interface OpenPgpAttestationProblem {
  kind: OpenPgpAttestationProblemKind;
  detail: string;
}

export interface OpenPgpAttestationResult {
  verdict: ChainVerdict;
  /** Null when an extension of the slot attestation is malformed (see `problems`). */
  facts: OpenPgpExtensionFacts | null;
  slot: OpenPgpAttestedSlot | null;
  /** SPKI DER of the attested key. */
  publicKeySpki: Uint8Array;
  /** Subject common names from the slot attestation up to the anchor reached. */
  path: string[];
  /** Empty unless the verdict is 'broken'. */
  problems: OpenPgpAttestationProblem[];
}

function parseCertificate(
  bytes: Uint8Array,
  what: string,
): { node: NodeCertificate; parts: CertificateParts } {
  try {
    const node = new NodeCertificate(bytes);
    return { node, parts: readCertificateParts(new Uint8Array(node.raw)) };
  } catch (error) {
    throw new OpenPgpAttestationFormatError(
      `${what} is not an X.509 certificate (${error instanceof Error ? error.message : 'unreadable'})`,
    );
  }
}

/** The facts of a certificate's extensions, or the problem that names the malformed one. */
function factsOf(
  parts: CertificateParts,
  what: string,
): { facts: OpenPgpExtensionFacts | null; problem: OpenPgpAttestationProblem | null } {
  try {
    return { facts: decodeOpenPgpAttestationExtensions(parts.extensions), problem: null };
  } catch (error) {
    if (!(error instanceof OpenPgpAttestationExtensionError)) throw error;
    return {
      facts: null,
      problem: { kind: 'extension-malformed', detail: `${what}: ${error.message}` },
    };
  }
}

/**
 * Verifies a slot attestation: its signature by the card's attestation key, then the card
 * certificate's chain to the pinned anchors. Throws OpenPgpAttestationFormatError only for input
 * that is not a certificate; everything else is a 'broken' verdict with coded problems.
 */
export function verifyOpenPgpAttestation(
  input: { attestation: Uint8Array; cardCertificate: Uint8Array },
  trust: OpenPgpTrust,
  at: Date = new Date(),
): OpenPgpAttestationResult {
  const attestation = parseCertificate(input.attestation, 'the slot attestation');
  const card = parseCertificate(input.cardCertificate, 'the card attestation certificate');
  const leaf = factsOf(attestation.parts, 'the slot attestation');
  const device = factsOf(card.parts, 'the card attestation certificate');
  const problems: OpenPgpAttestationProblem[] = [];
  // SECURITY: the card's attestation key must have signed the slot attestation, whatever names
  // the two certificates carry; the chain above is walked from the card certificate only.
  if (!signedBy(attestation.node, card.node))
    problems.push({
      kind: 'signature-invalid',
      detail: `the slot attestation is not signed by the card's attestation key (${commonName(card.node)})`,
    });
  else if (attestation.node.issuer !== card.node.subject)
    problems.push({
      kind: 'signature-invalid',
      detail: 'the slot attestation names another issuer than the card attestation certificate',
    });
  const walk = walkOpenPgpChain(card.node, trust, at);
  if (walk.verdict === 'broken')
    problems.push({
      kind: walk.cause === 'not-valid-at-time' ? 'not-valid-at-time' : 'chain-not-pinned',
      detail: walk.problem,
    });
  for (const problem of [leaf.problem, device.problem]) if (problem) problems.push(problem);
  const firmware = leaf.facts?.firmware ?? null;
  const cardFirmware = device.facts?.firmware ?? null;
  if (firmware !== null && cardFirmware !== null && compareFirmware(firmware, cardFirmware) !== 0)
    problems.push({
      kind: 'firmware-mismatch',
      detail: `firmware ${formatFirmware(firmware)} in the attestation, ${formatFirmware(cardFirmware)} in the card certificate`,
    });
  if (leaf.facts !== null && leaf.facts.serial === null)
    problems.push({
      kind: 'extension-malformed',
      detail: `the slot attestation carries no serial (${OpenPgpAttestationOid.serial})`,
    });
  if (!isValidAt(attestation.node, at))
    problems.push({
      kind: 'not-valid-at-time',
      detail: `the slot attestation is not valid on ${at.toISOString()}`,
    });
  return {
    verdict: problems.length > 0 ? 'broken' : walk.verdict,
    facts: leaf.facts,
    slot: openPgpSlotOf(commonName(attestation.node)),
    publicKeySpki: attestation.parts.spki,
    path: [commonName(attestation.node), commonName(card.node), ...walk.path],
    problems,
  };
}
