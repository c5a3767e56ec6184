// A transcript as the engine would build it, with hostile text where people type, for the page
// and PDF tests. Parsed by the real schema, so it cannot drift from it.
import { createHash } from 'node:crypto';
import { pgpWords } from '../../electron/formats/fingerprint.ts';
import { Transcript } from '../../electron/core/transcript/transcript-schema.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
export const HOSTILE = '<script>alert(1)</script>"onmouseover="x" </style>&amp;';
export const FINAL_HASH = sha('final entry');

export function transcriptFixture(options: { rehearsal: boolean }): Transcript {
  return Transcript.parse({
    v: 1,
    kind: 'vigil.ceremony-transcript',
    rehearsal: options.rehearsal,
    ceremonyId: '6f1d3c2a-0000-4000-8000-00000000c0de',
    runbook: {
      id: 'nitrokey-hsm-tuf',
      title: 'Provision a token',
      sha256: sha('runbook'),
      file: 'runbook.yaml',
    },
    startedAt: '2026-11-22T10:00:00.000Z',
    finishedAt: '2026-11-22T10:42:00.000Z',
    participants: [
      { role: 'ceremony-lead', name: 'Lea Lead' },
      { role: 'witness', name: HOSTILE },
    ],
    signingKeys: [
      {
        algorithm: 'ed25519',
        source: 'ceremony',
        keyId: sha('key'),
        publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n',
        introducedAt: '2026-11-22T10:00:00.000Z',
      },
    ],
    sections: [
      {
        id: 'preparation',
        title: 'Preparation',
        estimateMinutes: 10,
        startedAt: '2026-11-22T10:00:00.000Z',
        finishedAt: '2026-11-22T10:12:30.000Z',
      },
      { id: 'stop', title: 'Stopping', estimateMinutes: 5, startedAt: null, finishedAt: null },
    ],
    devices: [
      {
        family: 'softhsm-rehearsal',
        manufacturer: 'SoftHSM project',
        model: 'SoftHSM v2',
        serial: '1234abcd',
        label: 'practice',
        isRehearsal: true,
      },
    ],
    inputs: [{ id: 'bag-serial', label: 'Bag serial', value: HOSTILE, stepNumber: 2 }],
    steps: [
      {
        number: 1,
        section: { id: 'preparation', title: 'Preparation' },
        text: 'The lead MUST read aloud; witnesses MAY ask.',
        kind: 'confirm',
        level: 'MUST',
        action: null,
        outcome: 'confirmed',
        confirmedBy: { role: 'ceremony-lead', name: 'Lea Lead' },
        at: '2026-11-22T10:01:00.000Z',
        detail: null,
      },
      {
        number: 2,
        section: { id: 'preparation', title: 'Preparation' },
        text: 'Type the bag serial.',
        kind: 'collect',
        level: null,
        action: null,
        outcome: 'confirmed',
        confirmedBy: { role: 'witness', name: HOSTILE },
        at: '2026-11-22T10:02:00.000Z',
        detail: `bag-serial = ${HOSTILE}`,
      },
      {
        number: 3,
        section: { id: 'preparation', title: 'Preparation' },
        text: 'Re-initialise the token.',
        kind: 'action',
        level: 'SHOULD NOT',
        action: 'pkcs11.initToken',
        outcome: 'failed',
        confirmedBy: null,
        at: '2026-11-22T10:03:00.000Z',
        detail: 'pin-incorrect: wrong SO-PIN',
      },
    ],
    exceptions: [
      {
        stepNumber: 2,
        role: 'witness',
        person: 'Wes',
        expected: 'A sealed bag',
        happened: HOSTILE,
        decision: 'Stop',
        at: '2026-11-22T10:05:00.000Z',
      },
    ],
    products: [
      {
        name: 'products/ceremony-products/1234abcd/1234abcd_root_pubkey.pem',
        sha256: sha('pem'),
        sizeBytes: 178,
      },
    ],
    exports: [],
    journal: {
      file: 'journal.jsonl',
      entries: 12,
      firstSeq: 0,
      finalHash: FINAL_HASH,
      finalHashWords: pgpWords(new Uint8Array(Buffer.from(FINAL_HASH, 'hex'))),
    },
  });
}
