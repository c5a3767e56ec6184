// What `vigil verify` reports for Yubico attestations found by what they are, in any layout: one
// entry per attested key, with the device's facts, the chain's end and a stable reason code.
// `vigil verify --json` prints this shape; the README documents it; the window shows it as a table.
import type { CheckResult } from './verify-common.ts';

export const ATTESTATION_SCAN_KIND = 'attestation-scan';

/** What a certificate is, told from its content (subject, issuer, Yubico extensions, signatures). */
export type CertificateClass =
  | 'yubikey-piv-attestation'
  | 'yubikey-f9'
  | 'yubikey-openpgp-attestation'
  | 'yubikey-openpgp-attestation-key'
  | 'yubihsm2-key-attestation'
  | 'yubihsm2-device-certificate'
  | 'yubico-intermediate'
  | 'yubico-root'
  | 'other-certificate';

/** One certificate found: where, and what it is. */
export interface FoundCertificate {
  /**
   * Relative to the folder given (or the file's path as given), `#2` for the second certificate
   * of a PEM bundle, `#attestation` / `#f9` for one carried inside a certificate request.
   */
  source: string;
  class: CertificateClass;
  subject: string;
  issuer: string;
  /** SHA-256 of the certificate's DER, hex. */
  sha256: string;
  /** SHA-256 of the certificate's SubjectPublicKeyInfo DER, hex. */
  spkiSha256: string;
}

/**
 * Why an attested key passed or failed; stable across versions (scripts may switch on them).
 * `verified`: the chain ends at a pinned Yubico root; `rehearsal`: at Vigil's rehearsal CA.
 */
export const ATTESTATION_REASONS = [
  'verified',
  'rehearsal',
  'device-certificate-missing',
  'signature-invalid',
  'chain-not-pinned',
  'wrong-pki-for-firmware',
  'not-valid-at-time',
  'firmware-mismatch',
  'serial-mismatch',
  'extension-malformed',
] as const;
export type AttestationReason = (typeof ATTESTATION_REASONS)[number];

export interface AttestationProblem {
  reason: Exclude<AttestationReason, 'verified' | 'rehearsal'>;
  /** One line for a person: what is wrong and what to bring. */
  detail: string;
}

export type AttestedKeyKind = 'yubikey-piv' | 'yubikey-openpgp' | 'yubihsm2';

export interface AttestedKeyReport {
  /** The attestation certificate's source (see FoundCertificate.source). */
  source: string;
  kind: AttestedKeyKind;
  /** 'YubiKey' or 'YubiHSM 2'. */
  device: string;
  /** 'verified' or 'rehearsal' when `problems` is empty, else the first problem's reason. */
  reason: AttestationReason;
  problems: AttestationProblem[];
  /**
   * True only when the chain verified (to Yubico or to the rehearsal CA): every field below was
   * read from a certificate whose chain failed otherwise, and must be shown as unverified.
   */
  isVerified: boolean;
  isRehearsal: boolean;
  serial: number | null;
  firmware: string | null;
  /** PIV slot ('9c') or OpenPGP key ('sig', 'dec', 'aut', 'att'); null for a YubiHSM 2. */
  slot: string | null;
  /** YubiHSM 2 object id (0x0003 → 3) and label; null for a YubiKey. */
  objectId: number | null;
  label: string | null;
  /** 'EC P-256', 'EC P-384', 'EC P-521', 'Ed25519', 'RSA 2048', 'RSA 3072', 'RSA 4096', … */
  keyAlgorithm: string;
  /**
   * In words, each 'name: value': PIV 'pin: always', 'touch: never', 'fips'; YubiHSM 2
   * 'origin: generated', 'capabilities: sign-ecdsa, …', 'domains: 1'; OpenPGP 'touch: …',
   * 'source: generated'.
   */
  policies: string[];
  /** SHA-256 of the attested key's SubjectPublicKeyInfo DER, hex. */
  attestedSpkiSha256: string;
  /** The certificate of the device key that signed the attestation, when one was found. */
  deviceCertificate: string | null;
  /** Subject common names from the attestation up to where the chain ended. */
  chain: string[];
  /** The anchor reached (a pinned Yubico root or the rehearsal CA), null when the chain broke. */
  chainEnd: string | null;
  /** Other certificates (not attestations) and public key files holding the same key. */
  sameKeyIn: string[];
}

export interface AttestationScanReport {
  v: 1;
  kind: typeof ATTESTATION_SCAN_KIND;
  /** The folder given, or the first file given. */
  root: string;
  certificates: FoundCertificate[];
  keys: AttestedKeyReport[];
  /**
   * Checks that need no layout: 'files' (links, pipes, unreadable or oversized files, by name),
   * 'attestations' (none found).
   */
  checks: CheckResult[];
  /** Every attested key chains to the rehearsal CA. */
  isRehearsal: boolean;
  /** At least one attested key, every one verified (or rehearsal), no failed check. */
  isOk: boolean;
}
