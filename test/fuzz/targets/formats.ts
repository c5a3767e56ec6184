// PEM armour, OpenPGP packets and TUF root metadata: the text and bytes `vigil verify` reads from
// products folders and published archives (electron/formats).
import { decodePem } from '../../../electron/formats/pem.ts';
import {
  PacketTag,
  dearmor,
  publicKeyFacts,
  readPackets,
  v4Fingerprint,
} from '../../../electron/formats/openpgp-packets.ts';
import {
  decodePublicKeyPacketBody,
  ecdsaIntegersFromDer,
} from '../../../electron/formats/openpgp-packet-builder.ts';
import { checkRootSignatures, parseTufRoot } from '../../../electron/formats/tuf-root.ts';
import {
  inTotoKeyFromFile,
  isGpgSignature,
  parseLayout,
  verifyKeySignature,
} from '../../../electron/formats/in-toto-layout.ts';
import { parseTufTargets, targetsProgress } from '../../../electron/formats/tuf-targets.ts';
import {
  eachParser,
  mutateBytes,
  mutateJsonText,
  mutateText,
  previewOf,
  type FuzzTarget,
} from '../fuzz-kit.ts';
import { readText, seedFiles } from '../seeds.ts';

export const pemTarget: FuzzTarget<string> = {
  name: 'pem',
  description: 'electron/formats/pem.ts decodePem (CERTIFICATE, PUBLIC KEY)',
  sample: 800,
  seeds: () =>
    seedFiles(/\.pem$/)
      .slice(0, 40)
      .map(readText),
  generate: (rng, seeds) => mutateText(rng, seeds),
  run(text) {
    eachParser(
      [],
      () => decodePem(text, 'CERTIFICATE'),
      () => decodePem(text, 'PUBLIC KEY'),
    );
  },
};

type OpenPgpInput = { armored: string } | { packets: Uint8Array };

export const openPgpTarget: FuzzTarget<OpenPgpInput> = {
  name: 'openpgp',
  description:
    'electron/formats: dearmor, readPackets, publicKeyFacts, v4Fingerprint, decodePublicKeyPacketBody, ecdsaIntegersFromDer',
  sample: 800,
  seeds() {
    const armored = seedFiles(/\.(asc)$/).map(readText);
    return [
      ...armored.map((a) => ({ armored: a })),
      ...armored.filter((a) => a.includes('PUBLIC KEY')).map((a) => ({ packets: dearmor(a) })),
    ];
  },
  generate(rng, seeds) {
    if (rng.chance(0.5)) {
      const texts = seeds.flatMap((s) => ('armored' in s ? [s.armored] : []));
      return { armored: mutateText(rng, texts) };
    }
    const bytes = seeds.flatMap((s) => ('packets' in s ? [s.packets] : []));
    return { packets: mutateBytes(rng, bytes) };
  },
  run(input) {
    if ('armored' in input) {
      eachParser(
        [],
        () => publicKeyFacts(input.armored),
        () => dearmor(input.armored),
      );
      return;
    }
    const packets = readPackets(input.packets);
    for (const packet of packets) {
      if (packet.tag === PacketTag.publicKey || packet.tag === PacketTag.publicSubkey) {
        eachParser(
          [],
          () => decodePublicKeyPacketBody(packet.body),
          () => v4Fingerprint(packet.body),
          () => ecdsaIntegersFromDer(packet.body),
        );
      }
    }
  },
  show: (input) => ('armored' in input ? previewOf(input.armored) : previewOf(input.packets)),
};

/** A root.json kept small and in the repository, for a checkout without ../shared. */
const SMALL_ROOT = JSON.stringify({
  signed: {
    _type: 'root',
    version: 1,
    expires: '2030-01-01T00:00:00Z',
    spec_version: '1.0.31',
    consistent_snapshot: true,
    keys: {
      a1: {
        keytype: 'ed25519',
        scheme: 'ed25519',
        keyval: { public: '9d8a3e6f10a0b1b3a4b2f0c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405' },
      },
      b2: {
        keytype: 'ecdsa',
        scheme: 'ecdsa-sha2-nistp256',
        keyval: {
          public:
            '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhZ0DUd3dS/JFmlXqq3KcgKLtd6aEd5Pq\nPc9B3H1AgS2UjUaHM7cRo24ajdW0wHLYUjWAGL3T+tZOIbhuqLXJ/Q==\n-----END PUBLIC KEY-----\n',
        },
        'x-tuf-on-ci-keyowner': '@someone',
      },
    },
    roles: {
      root: { keyids: ['a1', 'b2'], threshold: 1 },
      targets: { keyids: ['b2'], threshold: 1 },
    },
  },
  signatures: [{ keyid: 'a1', sig: '00'.repeat(64) }],
});

export const tufRootTarget: FuzzTarget<string> = {
  name: 'tuf-root',
  description: 'electron/formats/tuf-root.ts parseTufRoot, then checkRootSignatures',
  // The PIV archive verifier reads root.json up to 16 MiB (piv-ceremony-archive.ts).
  maxInputBytes: 16 * 1024 * 1024,
  sample: 250,
  seeds: () => [SMALL_ROOT, ...seedFiles(/root\.json$/).map(readText)],
  generate: (rng, seeds) => mutateJsonText(rng, seeds),
  run(text) {
    checkRootSignatures(parseTufRoot(text));
  },
};

const SMALL_TARGETS = JSON.stringify({
  signed: {
    _type: 'targets',
    spec_version: '1.0.31',
    version: 1,
    expires: '2030-01-01T00:00:00Z',
    targets: { 'a/b.txt': { length: 7, hashes: { sha256: '00'.repeat(32) } } },
  },
  signatures: [{ keyid: 'b2', sig: '00'.repeat(64) }],
});

export const tufTargetsTarget: FuzzTarget<string> = {
  name: 'tuf-targets',
  description:
    'electron/formats/tuf-targets.ts parseTufTargets, then its signatures against a root’s targets role',
  // The TUF folder verifier reads targets.json up to 512 KiB (tuf-metadata-folder.ts).
  maxInputBytes: 512 * 1024,
  sample: 250,
  seeds: () => [SMALL_TARGETS],
  generate: (rng, seeds) => mutateJsonText(rng, seeds),
  run(text) {
    targetsProgress(parseTufTargets(text), parseTufRoot(SMALL_ROOT));
  },
};

const SMALL_LAYOUT = JSON.stringify({
  signed: {
    _type: 'layout',
    expires: '2030-01-01T00:00:00Z',
    readme: 'a layout',
    keys: {
      a1: {
        keyid: 'a1',
        keytype: 'ed25519',
        scheme: 'ed25519',
        keyid_hash_algorithms: ['sha256', 'sha512'],
        keyval: { public: '9d8a3e6f10a0b1b3a4b2f0c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405' },
      },
    },
    steps: [
      {
        _type: 'step',
        name: 'tag',
        threshold: 1,
        pubkeys: ['a1'],
        expected_command: [],
        expected_materials: [],
        expected_products: [],
      },
    ],
    inspect: [
      {
        _type: 'inspection',
        name: 'final',
        run: ['true'],
        expected_materials: [],
        expected_products: [],
      },
    ],
  },
  signatures: [
    { keyid: 'a1', sig: '00'.repeat(64) },
    { keyid: 'ff'.repeat(20), other_headers: '04000108', signature: '00'.repeat(64) },
  ],
});

export const inTotoLayoutTarget: FuzzTarget<string> = {
  name: 'in-toto-layout',
  description:
    'electron/formats/in-toto-layout.ts parseLayout, its step keys, and every signature checked against them',
  // The layout verifier reads root.layout up to 4 MiB (in-toto-layout-folder.ts).
  maxInputBytes: 4 * 1024 * 1024,
  sample: 250,
  seeds: () => [SMALL_LAYOUT],
  generate: (rng, seeds) => mutateJsonText(rng, seeds),
  run(text) {
    const layout = parseLayout(text);
    for (const [keyid, key] of Object.entries(layout.keys)) {
      const read = inTotoKeyFromFile(JSON.stringify(key), keyid);
      for (const s of layout.signatures)
        if (!isGpgSignature(s)) verifyKeySignature(read, s.sig, layout.signedBytes);
    }
  },
};
