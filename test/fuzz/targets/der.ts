// DER and X.509: the TLV reader and every walk over it in electron/formats (certificate parts,
// OIDs, SPKI, EC points, ECDSA signatures), and the certificate readers that take bytes from a
// device or a products folder: the YubiHSM 2 key attestation and the YubiKey PIV slot
// attestation (node:crypto's and @peculiar/x509's parsers behind the project's own errors).
import { readTlv } from '../../../electron/formats/der.ts';
import {
  ecdsaDerToRaw,
  rawPublicKeyFromEcPoint,
  rawPublicKeyFromSpki,
} from '../../../electron/formats/ec-point.ts';
import { readCertificateParts } from '../../../electron/formats/x509-der.ts';
import { decodeAttestationExtensions } from '../../../electron/devices/yubihsm2/attestation-extensions.ts';
import {
  loadYubiHsmTrust,
  verifyKeyAttestation,
} from '../../../electron/devices/yubihsm2/attestation.ts';
import { isRehearsalF9 } from '../../../electron/devices/yubikey-piv/index.ts';
import { checkAttestationMatches } from '../../../electron/devices/yubikey-piv/ceremony/keyholder.ts';
import {
  decodePivAttestationExtensions,
  loadPivTrust,
  verifyPivAttestation,
} from '../../../electron/devices/yubikey-piv/attestation.ts';
import { mutateBytes, type FuzzTarget, eachParser, previewOf } from '../fuzz-kit.ts';
import { certificateSeeds, pemBlocks, readBytes, readText, repoRoot, seedFiles } from '../seeds.ts';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';

/** Every element, constructed ones opened (bit 6 of the tag), without recursion. */
function walkDer(bytes: Uint8Array): number {
  const stack: Uint8Array[] = [bytes];
  let count = 0;
  while (stack.length > 0) {
    const at = stack.pop() as Uint8Array;
    for (let offset = 0; offset < at.length;) {
      const tlv = readTlv(at, offset);
      count += 1;
      if (tlv.tag & 0x20) stack.push(tlv.value);
      offset = tlv.end;
    }
  }
  return count;
}

function derSeeds(): Uint8Array[] {
  const keys = join(repoRoot, 'test', 'vectors', 'keys');
  return [
    ...certificateSeeds(30),
    ...['P256.spki.der', 'P384.spki.der', 'Ed25519.spki.der', 'ecdsa-p256.sig.der'].map((f) =>
      readBytes(join(keys, f)),
    ),
  ];
}

export const derTarget: FuzzTarget<Uint8Array> = {
  name: 'der',
  description:
    'electron/formats: readTlv (every element), readCertificateParts, SPKI, EC point, ECDSA DER',
  sample: 1000,
  seeds: derSeeds,
  generate: (rng, seeds) => mutateBytes(rng, seeds),
  run(der) {
    eachParser(
      [],
      () => walkDer(der),
      () => readCertificateParts(der),
      () => rawPublicKeyFromSpki(der),
      () => rawPublicKeyFromEcPoint(der, 'P-256'),
      () => rawPublicKeyFromEcPoint(der, 'Ed25519'),
      () => ecdsaDerToRaw(der),
      () => ecdsaDerToRaw(der, 48),
    );
  },
};

/** Which certificate of a pair the mutated bytes stand for. */
type X509Use =
  | 'hsm-attestation'
  | 'hsm-device'
  | 'piv-attestation'
  | 'piv-f9'
  | 'piv-card-attestation'
  | 'piv-card-f9'
  | 'extensions';
const USES: readonly X509Use[] = [
  'hsm-attestation',
  'hsm-device',
  'piv-attestation',
  'piv-f9',
  'piv-card-attestation',
  'piv-card-f9',
  'extensions',
];

interface X509Input {
  use: X509Use;
  der: Uint8Array;
}

interface X509Pairs {
  hsm: { attestation: Uint8Array; device: Uint8Array };
  piv: { attestation: Uint8Array; f9: Uint8Array; spki: Uint8Array };
}

let pairs: X509Pairs | null = null;
let trust: {
  hsm: ReturnType<typeof loadYubiHsmTrust>;
  piv: ReturnType<typeof loadPivTrust>;
} | null = null;
const AT = new Date('2026-12-06T12:00:00Z');

function x509Pairs(): X509Pairs {
  if (pairs) return pairs;
  const hsmDir = seedFiles(/yubihsm2-tuf\/.*_cert\.der$/, { archives: false })[0] ?? '';
  const pivDir =
    seedFiles(/yubikey-keyholder-tuf\/.*Slot9CAttestation\.pem$/, { archives: false })[0] ?? '';
  const pivAttestation = pemBlocks(readText(pivDir))[0] ?? new Uint8Array();
  const spki = new X509Certificate(pivAttestation).publicKey.export({
    type: 'spki',
    format: 'der',
  });
  pairs = {
    hsm: {
      attestation: readBytes(hsmDir.replace(/_cert\.der$/, '_root_attestation.der')),
      device: readBytes(hsmDir),
    },
    piv: {
      attestation: pivAttestation,
      f9:
        pemBlocks(readText(pivDir.replace('Slot9CAttestation', 'SlotF9Intermediate')))[0] ??
        new Uint8Array(),
      spki: new Uint8Array(spki),
    },
  };
  return pairs;
}

function trustOnce() {
  trust ??= { hsm: loadYubiHsmTrust(), piv: loadPivTrust() };
  return trust;
}

export const x509Target: FuzzTarget<X509Input> = {
  name: 'x509',
  description:
    'devices: YubiHSM 2 key attestation + device certificate, YubiKey PIV slot attestation + F9, their extension decoders',
  sample: 300,
  seeds() {
    const p = x509Pairs();
    trustOnce();
    return [
      { use: 'hsm-attestation', der: p.hsm.attestation },
      { use: 'hsm-device', der: p.hsm.device },
      { use: 'piv-attestation', der: p.piv.attestation },
      { use: 'piv-f9', der: p.piv.f9 },
      ...certificateSeeds(20).map((der) => ({ use: 'extensions' as const, der })),
    ];
  },
  generate(rng, seeds) {
    const use = rng.pick(USES);
    const same = seeds.filter((s) => s.use === use);
    const pool = (same.length > 0 && rng.chance(0.8) ? same : seeds).map((s) => s.der);
    return { use, der: mutateBytes(rng, pool) };
  },
  run({ use, der }) {
    const p = x509Pairs();
    const t = trustOnce();
    switch (use) {
      case 'hsm-attestation':
        return verifyKeyAttestation(der, p.hsm.device, t.hsm, AT);
      case 'hsm-device':
        return verifyKeyAttestation(p.hsm.attestation, der, t.hsm, AT);
      case 'piv-attestation':
        return verifyPivAttestation({ attestation: der, f9: p.piv.f9 }, t.piv, AT);
      case 'piv-f9':
        return verifyPivAttestation({ attestation: p.piv.attestation, f9: der }, t.piv, AT);
      // What a keyholder ceremony checks of the card's answers right after GENERATE and ATTEST.
      case 'piv-card-attestation':
        return checkAttestationMatches(der, p.piv.f9, p.piv.spki);
      case 'piv-card-f9':
        isRehearsalF9(der);
        return checkAttestationMatches(p.piv.attestation, der, p.piv.spki);
      case 'extensions': {
        const { extensions } = readCertificateParts(der);
        return eachParser(
          [],
          () => decodeAttestationExtensions(extensions),
          () => decodePivAttestationExtensions(extensions),
        );
      }
    }
  },
  show: (input) => `${input.use} ${previewOf(input.der)}`,
};
