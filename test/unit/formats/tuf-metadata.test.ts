// Making TUF root metadata (issue 20): key objects exactly as tuf-on-ci wrote Docker's (keyids
// reproduced byte for byte), root v1 and a rotation built and signed with P-256, P-384 and
// Ed25519 keys, a signature kept only when it verifies, the change and the threshold progress in
// people's words, and the chain v1→vN on built and on real roots.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodePem } from '../../../electron/formats/pem.ts';
import {
  checkRootSignatures,
  computeKeyid,
  parseTufRoot,
  tufKeySpki,
} from '../../../electron/formats/tuf-root.ts';
import {
  SPEC_VERSION,
  TufMetadataError,
  metadataText,
  progressLine,
  rootChange,
  rootChangeLines,
  rootSigned,
  signingProgress,
  tufKeyObject,
  verifyRootChain,
  withSignature,
} from '../../../electron/formats/tuf-metadata.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';
import { parseTufTargets, targetsSigned } from '../../../electron/formats/tuf-targets.ts';
import { keyholders, rootPlan, signedBy, type Signer } from '../../helpers/tuf-signers.ts';

const archive = (...parts: string[]) => readFileSync(join(ceremonyArchivesDir, ...parts), 'utf8');

const plan = (roots: Signer[], threshold: number, version = 1, expires?: string) =>
  rootPlan(roots, threshold, online, version, expires);

const { online, ada, bo, cy, di } = keyholders();

describe('TUF key objects', () => {
  it("are written as tuf-on-ci wrote Docker's root keys: same object, same keyid", () => {
    const docker = JSON.parse(archive('docker-tuf', 'metadata', 'root.json')) as {
      signed: { keys: Record<string, Record<string, unknown> & { keyval: { public: string } }> };
    };
    let reproduced = 0;
    for (const [keyid, key] of Object.entries(docker.signed.keys)) {
      const extensions = Object.fromEntries(
        Object.entries(key).filter(([name]) => name.startsWith('x-')),
      ) as Record<`x-${string}`, string>;
      const made = tufKeyObject(decodePem(key.keyval.public, 'PUBLIC KEY'), extensions);
      assert.deepEqual(made, key);
      if (computeKeyid(made) === keyid) reproduced++;
    }
    // Nine of Docker's keyids are the sha256 of the object as stored (README, finding 3).
    assert.equal(reproduced, 9);
  });

  it('gives Ed25519 as raw hex, read back to the same public key', () => {
    assert.equal(cy.object.keytype, 'ed25519');
    assert.match(cy.object.keyval.public, /^[0-9a-f]{64}$/);
    const spki = tufKeySpki(cy.object).spki;
    assert.deepEqual(tufKeyObject(spki, { 'x-vigil-keyholder': 'Cy' }), cy.object);
  });

  it('refuses keys TUF signing here does not take', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    assert.throws(
      () => tufKeyObject(new Uint8Array(rsa.export({ type: 'spki', format: 'der' }))),
      TufMetadataError,
    );
    assert.throws(() => tufKeyObject(new Uint8Array([1, 2, 3])), /not a readable/);
  });
});

describe('root metadata made and signed offline', () => {
  it('refuses a plan a client could never trust', () => {
    assert.throws(
      () => rootSigned(plan([ada, bo], 3)),
      /root threshold 3 needs more keys than its 2/,
    );
    assert.throws(() => rootSigned(plan([], 1)), /the root role has no key/);
    assert.throws(() => rootSigned(plan([ada], 1, 0)), /version 0/);
    assert.throws(() => rootSigned(plan([ada], 1, 1, '2027-06-04')), /expiry 2027-06-04/);
  });

  it('builds v1, keeps only signatures that verify, and says who is still to sign', () => {
    const v1 = metadataText(rootSigned(plan([ada, bo, cy], 2)), []);
    const empty = parseTufRoot(v1);
    assert.equal(empty.specVersion, SPEC_VERSION);
    assert.deepEqual(
      empty.roles.map((r) => [r.name, r.keyids.length, r.threshold]),
      [
        ['root', 3, 2],
        ['snapshot', 1, 1],
        ['targets', 2, 1],
        ['timestamp', 1, 1],
      ],
    );
    assert.deepEqual(signingProgress(empty, null).map(progressLine), [
      'root keys of version 1: signed 0 of 2 needed — waiting for Ada, Bo, Cy',
    ]);
    // PKCS#11 and PIV give ECDSA as raw r‖s: stored as DER.
    const once = signedBy(v1, ada, true);
    const sig = parseTufRoot(once).signatures[0]?.sig ?? '';
    assert.match(sig, /^30/);
    // A signature over other bytes is refused, and the metadata is unchanged.
    const other = metadataText(rootSigned(plan([ada, bo, cy], 2, 1, '2028-01-01T00:00:00Z')), []);
    const foreign = parseTufRoot(signedBy(other, bo)).signatures[0];
    assert.ok(foreign);
    assert.throws(() => withSignature(once, foreign), /signature by Bo does not verify/);
    assert.throws(
      () => withSignature(once, { keyid: computeKeyid(di.object), sig: foreign.sig }),
      /no key with keyid/,
    );
    const twice = signedBy(signedBy(once, cy), cy);
    assert.equal(
      parseTufRoot(twice).signatures.length,
      2,
      'a second signature by Cy replaces the first',
    );
    const root = parseTufRoot(twice);
    assert.deepEqual(signingProgress(root, null).map(progressLine), [
      'root keys of version 1: signed 2 of 2 needed: Ada, Cy',
    ]);
    assert.deepEqual(
      checkRootSignatures(root).roles.map((r) => [r.role, r.isMet]),
      [
        ['root', true],
        ['snapshot', false],
        ['targets', true],
        ['timestamp', false],
      ],
    );
    assert.deepEqual(
      verifyRootChain([root], new Date('2026-12-06T00:00:00Z')).map((l) => [l.problems, l.expired]),
      [[[], null]],
    );
  });

  it('rotates: v2 shows its change and needs the threshold of v1 and of itself', () => {
    let v1 = metadataText(rootSigned(plan([ada, bo, cy], 2)), []);
    v1 = signedBy(signedBy(v1, ada), bo);
    const trusted = parseTufRoot(v1);
    let v2 = metadataText(rootSigned(plan([ada, bo, di], 3, 2, '2028-06-04T15:05:22Z')), []);
    assert.deepEqual(rootChangeLines(rootChange(trusted, parseTufRoot(v2))), [
      'Version 1 → 2',
      'Expiry 2027-06-04T15:05:22Z → 2028-06-04T15:05:22Z',
      'root: threshold 2 → 3 of 3 keys',
      '  + root key added: Di',
      '  − root key removed: Cy',
      'targets: threshold 1 of 2 keys',
      'snapshot: threshold 1 of 1 key',
      'timestamp: threshold 1 of 1 key',
    ]);
    // Di is new: its signature counts for v2 only.
    v2 = signedBy(signedBy(v2, di), ada);
    assert.deepEqual(signingProgress(parseTufRoot(v2), trusted).map(progressLine), [
      'root keys of version 1: signed 1 of 2 needed: Ada — waiting for Bo, Cy',
      'root keys of version 2: signed 2 of 3 needed: Ada, Di — waiting for Bo',
    ]);
    const now = new Date('2026-12-06T00:00:00Z');
    assert.match(
      verifyRootChain([trusted, parseTufRoot(v2)], now)[1]?.problems.join() ?? '',
      /version 1: signed 1 of 2/,
    );
    // Cy, a key of v1 only, signs v2 with v1's key (keysFrom): it counts for v1's threshold.
    v2 = signedBy(v2, cy, false, trusted);
    v2 = signedBy(v2, bo);
    assert.deepEqual(
      verifyRootChain([parseTufRoot(v2), trusted], now).map((l) => [l.version, l.problems]),
      [
        [1, []],
        [2, []],
      ],
    );
    // A chain not starting at 1 is named; an expired newest version is told apart from trust.
    assert.match(
      verifyRootChain([parseTufRoot(v2)], now)[0]?.problems[0] ?? '',
      /starts at version 2/,
    );
    const later = verifyRootChain([trusted, parseTufRoot(v2)], new Date('2029-01-01T00:00:00Z'));
    assert.deepEqual(
      later.map((l) => [l.problems, l.expired]),
      [
        [[], null],
        [[], '2028-06-04T15:05:22Z'],
      ],
    );
  });

  it('walks real chains: Docker v1 trusted until it expired, Sigstore v1 then v5 has a gap', () => {
    const docker = parseTufRoot(archive('docker-tuf', 'metadata', 'root_history', '1.root.json'));
    assert.deepEqual(verifyRootChain([docker], new Date('2025-01-01T00:00:00Z'))[0], {
      version: 1,
      problems: [],
      expired: null,
    });
    assert.deepEqual(verifyRootChain([docker], new Date('2026-12-06T00:00:00Z'))[0], {
      version: 1,
      problems: [],
      expired: '2025-06-04T15:05:22Z',
    });
    const repository = ['sigstore-root-signing', 'ceremony', '2022-10-18', 'repository'];
    const first = parseTufRoot(archive(...repository, '1.root.json'));
    const fifth = parseTufRoot(archive(...repository, 'root.json'));
    const links = verifyRootChain([first, fifth], new Date('2022-11-01T00:00:00Z'));
    assert.deepEqual(links[0]?.problems, []);
    assert.match(links[1]?.problems[0] ?? '', /version 5 follows 1: a version is missing/);
  });
});

describe('targets metadata made offline', () => {
  const file = (path: string) => ({ path, bytes: new TextEncoder().encode(path) });
  const targets = (files: { path: string; bytes: Uint8Array }[]) =>
    targetsSigned({
      version: 1,
      expires: '2027-01-01T00:00:00Z',
      specVersion: SPEC_VERSION,
      files,
    });

  it('lists each file with its length and SHA-256, as python-tuf writes target file info', () => {
    assert.deepEqual(targets([file('a/b.txt')]).targets, {
      'a/b.txt': {
        length: 7,
        // sha256sum of the 7 bytes "a/b.txt".
        hashes: { sha256: '5550000d3b1cf1ff9d8ad3380f759f84f8abda4b5032ee735bdfef6766d6919f' },
      },
    });
    const parsed = parseTufTargets(metadataText(targets([file('a/b.txt')]), []));
    assert.deepEqual(parsed.targets, [
      {
        path: 'a/b.txt',
        length: 7,
        sha256: '5550000d3b1cf1ff9d8ad3380f759f84f8abda4b5032ee735bdfef6766d6919f',
      },
    ]);
  });

  it('refuses paths a client would not resolve, and a path listed twice', () => {
    for (const path of ['', '/abs', 'a//b', '../up', 'a/./b'])
      assert.throws(() => targets([file(path)]), /is not a target path/);
    assert.throws(() => targets([file('x'), file('x')]), /x is listed twice/);
  });
});
