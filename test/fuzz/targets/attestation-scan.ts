// The layout-free attestation scanner's byte reader (electron/core/products/attestation-scan.ts):
// one file's bytes read as PEM bundles, DER certificates, PKCS#10 requests carrying attestations
// and raw or SPKI public keys, then classed and verified beside real device certificates, so a
// mutated attestation reaches the PIV, YubiHSM 2 and OpenPGP extension decoders and the chains.
import { join } from 'node:path';
import {
  loadAttestationTrust,
  readCandidateFile,
  reportFromInputs,
  type AttestationTrust,
  type CandidateContents,
  MAX_CANDIDATE_BYTES,
} from '../../../electron/core/products/attestation-scan.ts';
import { mutateBytes, previewOf, type FuzzTarget } from '../fuzz-kit.ts';
import { certificateSeeds, readBytes, seedFiles } from '../seeds.ts';

const AT = new Date('2026-12-06T12:00:00Z');

let companions: { trust: AttestationTrust; contents: CandidateContents[] } | null = null;

/** The pinned trust and the real device certificates a mutated attestation is checked against. */
function companionsOnce() {
  if (companions) return companions;
  const devices = [
    ...seedFiles(/_cert\.der$/).slice(0, 2),
    ...seedFiles(/(SlotF9Intermediate|_device_cert)\.pem$/).slice(0, 2),
    ...seedFiles(/\.f9\.pem$/).slice(0, 1),
  ];
  companions = {
    trust: loadAttestationTrust(),
    contents: devices.map((file, i) => readCandidateFile(`device-${i}`, readBytes(file))),
  };
  return companions;
}

function scanSeeds(): Uint8Array[] {
  const files = [
    ...seedFiles(/_attestation\.der$/).slice(0, 3),
    ...seedFiles(/(Slot9CAttestation|_key_cert)\.pem$/).slice(0, 3),
    ...seedFiles(/YubiKeyValidator\/.*\.pem$/),
    ...seedFiles(/\.(cert|pub)$/).slice(0, 6),
  ];
  return [...files.map(readBytes), ...certificateSeeds(10)];
}

export const attestationScanTarget: FuzzTarget<Uint8Array> = {
  name: 'attestation-scan',
  description:
    'core/products/attestation-scan.ts readCandidateFile (PEM, DER, PKCS#10, public keys) and reportFromInputs beside real device certificates',
  sample: 150,
  maxInputBytes: MAX_CANDIDATE_BYTES,
  seeds() {
    companionsOnce();
    return scanSeeds();
  },
  generate: (rng, seeds) => mutateBytes(rng, seeds),
  run(bytes) {
    const { trust, contents } = companionsOnce();
    const input = readCandidateFile(join('fuzz', 'input'), bytes);
    return reportFromInputs(
      { root: 'fuzz', contents: [input, ...contents], filesRead: 1 + contents.length, refused: [] },
      { trust, at: AT },
    );
  },
  show: (bytes) => previewOf(bytes),
};
