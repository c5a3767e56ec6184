// YubiHSM 2 attestation verification: key attestation → device attestation certificate (opaque
// object 0) → Yubico YubiHSM Sub-CA → Yubico YubiHSM Root CA, with both Yubico certificates
// pinned from resources/trust. A chain that ends at the rehearsal CA is named as such and never
// passes as production. Certificates are parsed with @peculiar/x509 (extensions) and signatures
// checked with node:crypto, so verification stays synchronous like the rest of `vigil verify`.
import { X509Certificate as NodeCertificate, createHash } from 'node:crypto';
import { KindedError } from '../../base/errors.ts';
import { resourcesDir } from '../../base/resources-dir.ts';
import { bytesToHex } from '../../formats/der.ts';
import { x509 } from '../../formats/x509.ts';
import {
  commonName,
  issuedBy,
  walkPinnedChain,
  type ChainVerdict,
} from '../../formats/x509-chain.ts';
import { decodeAttestationExtensions, type AttestationFacts } from './attestation-extensions.ts';
import { resourceCertificate } from '../pinned-certificates.ts';

/** The rehearsal YubiHSM's root, in resources/rehearsal; see its README. */
export const REHEARSAL_CA_FILE = 'yubihsm2-rehearsal-ca.pem';

export const YUBICO_TRUST_FILES = {
  root: 'yubico-yubihsm-root-ca.pem',
  intermediates: ['yubico-yubihsm-6742036-sub-ca.pem'],
} as const;

export interface YubiHsmTrust {
  roots: NodeCertificate[];
  intermediates: NodeCertificate[];
  rehearsalRoots: NodeCertificate[];
}

export function loadYubiHsmTrust(dir = resourcesDir()): YubiHsmTrust {
  const read = (folder: string, file: string) => resourceCertificate(dir, folder, file);
  return {
    roots: [read('trust', YUBICO_TRUST_FILES.root)],
    intermediates: YUBICO_TRUST_FILES.intermediates.map((f) => read('trust', f)),
    rehearsalRoots: [read('rehearsal', REHEARSAL_CA_FILE)],
  };
}

export type { ChainVerdict };

export interface ChainResult {
  verdict: ChainVerdict;
  /** Subjects from the attested key up to the anchor that was reached. */
  path: string[];
  detail: string;
}

/**
 * Walks device certificate → intermediates → root. The device certificate is given; only pinned
 * intermediates and roots complete the chain, so a forged Sub-CA next to the products is ignored.
 */
export function verifyDeviceCertificateChain(
  deviceCertificate: NodeCertificate,
  trust: YubiHsmTrust,
  at: Date = new Date(),
): ChainResult {
  const walk = walkPinnedChain(deviceCertificate, trust, {
    at,
    maxLinks: 4,
    wording: { pinnedIssuer: 'a pinned Yubico certificate', pki: 'the YubiHSM PKI' },
  });
  const path = [commonName(deviceCertificate), ...walk.path];
  switch (walk.verdict) {
    case 'production':
      return { verdict: 'production', path, detail: `chains to ${commonName(walk.anchor)}` };
    case 'rehearsal':
      return {
        verdict: 'rehearsal',
        path,
        detail: `chains to the REHEARSAL CA ${commonName(walk.anchor)}, not to Yubico`,
      };
    case 'broken':
      return { verdict: 'broken', path, detail: walk.problem };
  }
}

export interface KeyAttestation {
  chain: ChainResult;
  /** Facts from the key attestation certificate's extensions. */
  key: AttestationFacts;
  /** Facts from the device certificate (serial, firmware). */
  device: AttestationFacts;
  /** SPKI DER of the attested key. */
  attestedSpki: Uint8Array;
  /** SHA-256 of the attestation certificate DER, for reports. */
  sha256: string;
}

export class AttestationFormatError extends KindedError<'attestation-malformed'> {
  readonly name = 'AttestationFormatError';
  constructor(message: string) {
    super('attestation-malformed', message);
  }
}

function parse(
  der: Uint8Array,
  what: string,
): { node: NodeCertificate; facts: AttestationFacts; spki: Uint8Array } {
  let node: NodeCertificate;
  let extensions: { oid: string; value: Uint8Array }[];
  let spki: Uint8Array;
  try {
    node = new NodeCertificate(der);
    const peculiar = new x509.X509Certificate(der);
    // @peculiar/x509 reads the extensions and the key when asked: a malformed one throws here.
    extensions = peculiar.extensions.map((e) => ({ oid: e.type, value: new Uint8Array(e.value) }));
    spki = new Uint8Array(peculiar.publicKey.rawData);
  } catch (error) {
    throw new AttestationFormatError(
      `${what} is not an X.509 certificate (${error instanceof Error ? error.message : 'unreadable'})`,
    );
  }
  return { node, facts: decodeAttestationExtensions(extensions), spki };
}

/** Checks the key attestation's signature by the device certificate, then the device's chain. */
export function verifyKeyAttestation(
  attestationDer: Uint8Array,
  deviceCertificateDer: Uint8Array,
  trust: YubiHsmTrust,
  at: Date = new Date(),
): KeyAttestation {
  const attestation = parse(attestationDer, 'the key attestation');
  const device = parse(deviceCertificateDer, 'the device attestation certificate');
  const sha256 = bytesToHex(createHash('sha256').update(attestationDer).digest());
  const base = {
    key: attestation.facts,
    device: device.facts,
    attestedSpki: attestation.spki,
    sha256,
  };
  if (!issuedBy(attestation.node, device.node)) {
    return {
      ...base,
      chain: {
        verdict: 'broken',
        path: [commonName(attestation.node)],
        detail: `the key attestation is not signed by ${commonName(device.node)}`,
      },
    };
  }
  const deviceChain = verifyDeviceCertificateChain(device.node, trust, at);
  return {
    ...base,
    chain: { ...deviceChain, path: [commonName(attestation.node), ...deviceChain.path] },
  };
}
