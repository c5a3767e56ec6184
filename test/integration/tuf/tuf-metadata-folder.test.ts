// `vigil verify` on a TUF metadata folder (issue 20): a chain v1→v2 made and signed here, kept as
// tuf-on-ci keeps it (metadata/root.json, metadata/root_history/<N>.root.json), verifies; a
// version a threshold short, root.json behind its history, a file whose name lies about its
// version, and a link in the history each fail by name; real archives: Docker's root verifies
// (expired: a warning), Sigstore's repository folder lacks versions 2 to 4 and fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseTufRoot } from '../../../electron/formats/tuf-root.ts';
import { metadataText, rootSigned } from '../../../electron/formats/tuf-metadata.ts';
import {
  isTufMetadataFolder,
  verifyTufMetadataFolder,
} from '../../../electron/core/products/tuf-metadata-folder.ts';
import { folderKindOf } from '../../../electron/core/verification/verify-folder.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';
import { keyholders, rootPlan, signedBy, targetsSignedBy } from '../../helpers/tuf-signers.ts';
import { targetsSigned } from '../../../electron/formats/tuf-targets.ts';
import { SPEC_VERSION } from '../../../electron/formats/tuf-metadata.ts';

const { online, ada, bo, cy, di } = keyholders();
const v1 = signedBy(
  signedBy(metadataText(rootSigned(rootPlan([ada, bo, cy], 2, online)), []), ada),
  bo,
);
const v2Unsigned = metadataText(
  rootSigned(rootPlan([ada, bo, di], 2, online, 2, '2028-06-04T15:05:22Z')),
  [],
);
const v2 = signedBy(signedBy(v2Unsigned, ada), bo);

/** A repository top with metadata/root.json = the newest and root_history/<N>.root.json. */
function repository(versions: Record<string, string>, current: string): string {
  const top = mkdtempSync(join(tmpdir(), 'vigil-tuf-folder-'));
  mkdirSync(join(top, 'metadata', 'root_history'), { recursive: true });
  for (const [name, text] of Object.entries(versions))
    writeFileSync(join(top, 'metadata', 'root_history', name), text);
  writeFileSync(join(top, 'metadata', 'root.json'), current);
  return top;
}

const failures = (top: string) => {
  const report = verifyTufMetadataFolder(top, new Date('2026-12-06T00:00:00Z'));
  return [
    ...report.checks.filter((c) => !c.isOk).map((c) => `${c.check}: ${c.detail}`),
    ...report.versions.flatMap((v) =>
      v.checks.filter((c) => !c.isOk).map((c) => `v${v.version} ${c.check}: ${c.detail}`),
    ),
  ];
};

describe('vigil verify on a TUF metadata folder', () => {
  it('verifies the chain v1→v2 as tuf-on-ci keeps it, and says who signed each', () => {
    const top = repository({ '1.root.json': v1, '2.root.json': v2 }, v2);
    assert.equal(isTufMetadataFolder(top), true);
    assert.equal(folderKindOf(top, false), 'tuf-metadata');
    const report = verifyTufMetadataFolder(top, new Date('2026-12-06T00:00:00Z'));
    assert.equal(report.isOk, true, JSON.stringify(report));
    assert.deepEqual(
      report.versions.map((v) => [v.version, v.file, v.roles, v.checks[0]?.detail]),
      [
        [
          1,
          'root_history/1.root.json',
          'root 2 of 3, snapshot 1 of 1, targets 1 of 2, timestamp 1 of 1',
          'root keys of version 1: signed 2 of 2 needed: Ada, Bo',
        ],
        [
          2,
          'root_history/2.root.json',
          'root 2 of 3, snapshot 1 of 1, targets 1 of 2, timestamp 1 of 1',
          'root keys of version 1: signed 2 of 2 needed: Ada, Bo; root keys of version 2: signed 2 of 2 needed: Ada, Bo',
        ],
      ],
    );
    // The CLI gives the same verdict and exit 0.
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'vigil.mjs');
    const cli = spawnSync(process.execPath, [bin, 'verify', top], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /verified the root chain 1 to 2 \(2 version\(s\)\)/);
  });

  it('fails a version a threshold short, root.json behind, a lying name, and a link', () => {
    // v2 signed by Di alone: v1's threshold (Ada, Bo, Cy: 2) is not met.
    const short = signedBy(v2Unsigned, di);
    assert.deepEqual(failures(repository({ '1.root.json': v1, '2.root.json': short }, short)), [
      'v2 trusted: not trusted: root keys of version 1: signed 0 of 2 needed — waiting for Ada, Bo, Cy; not trusted: root keys of version 2: signed 1 of 2 needed: Di — waiting for Ada, Bo',
    ]);
    assert.deepEqual(failures(repository({ '1.root.json': v1, '2.root.json': v2 }, v1)), [
      'root.json: root.json is version 1, the history goes to 2',
    ]);
    assert.deepEqual(failures(repository({ '1.root.json': v1, '3.root.json': v2 }, v2)), [
      'file:root_history/3.root.json: root_history/3.root.json holds version 2',
    ]);
    const linked = repository({ '1.root.json': v1 }, v1);
    symlinkSync('/etc/passwd', join(linked, 'metadata', 'root_history', '2.root.json'));
    assert.match(failures(linked).join('\n'), /^file:root_history\/2\.root\.json: .*link/);
    // A tampered signature is a version not trusted, never an exception.
    const tampered = v1.replace(/"sig": "3/, '"sig": "4');
    assert.equal(parseTufRoot(tampered).signatures.length, 2);
    assert.match(
      failures(repository({ '1.root.json': tampered }, tampered)).join(),
      /signed 1 of 2/,
    );
  });

  it('checks targets.json beside the root by its targets threshold and expiry', () => {
    const unsigned = metadataText(
      targetsSigned({
        version: 1,
        expires: '2027-01-01T00:00:00Z',
        specVersion: SPEC_VERSION,
        files: [{ path: 'vigil/vigil-1.0.tar.gz', bytes: new TextEncoder().encode('release') }],
      }),
      [],
    );
    const withTargets = (text: string) => {
      const top = repository({ '1.root.json': v1 }, v1);
      writeFileSync(join(top, 'metadata', 'targets.json'), text);
      return top;
    };
    // Ada holds a targets key of v1 (threshold 1): signed, it verifies.
    const signed = targetsSignedBy(unsigned, ada, parseTufRoot(v1));
    const report = verifyTufMetadataFolder(withTargets(signed), new Date('2026-12-06T00:00:00Z'));
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.deepEqual(
      report.checks.filter((c) => c.check.startsWith('targets')).map((c) => c.detail),
      [
        "version 1, 1 target(s): signed 1 of 1 needed by root version 1's targets keys: Ada",
        'targets version 1 expires 2027-01-01T00:00:00Z',
      ],
    );
    // Cy signs the root but holds no targets key: his signature is refused, not kept.
    assert.throws(() => targetsSignedBy(unsigned, cy, parseTufRoot(v1)), /no targets key/);
    assert.deepEqual(failures(withTargets(unsigned)), [
      "targets.json: not trusted: version 1, 1 target(s): signed 0 of 1 needed by root version 1's targets keys — waiting for Ada, Bo",
    ]);
    // A target changed after signing no longer verifies.
    assert.match(
      failures(withTargets(signed.replace('"length": 7', '"length": 8'))).join(),
      /signed 0 of 1/,
    );
  });

  it("reads real archives: Docker's root verifies with its expiry noted, Sigstore's folder has a gap", () => {
    const docker = verifyTufMetadataFolder(
      join(ceremonyArchivesDir, 'docker-tuf'),
      new Date('2026-12-06T00:00:00Z'),
    );
    assert.equal(docker.isOk, true);
    assert.deepEqual(
      docker.checks.map((c) => [c.check, c.isOk, c.isWarning ?? false]),
      [
        ['root.json', true, false],
        ['expiry', true, true],
      ],
    );
    assert.match(
      docker.versions[0]?.checks[0]?.detail ?? '',
      /signed 5 \(3 needed\): @jeanlaurent/,
    );
    const sigstore = ['sigstore-root-signing', 'ceremony', '2022-10-18', 'repository'];
    assert.equal(isTufMetadataFolder(join(ceremonyArchivesDir, ...sigstore)), true);
    assert.deepEqual(failures(join(ceremonyArchivesDir, ...sigstore)), [
      'v5 trusted: version 5 follows 1: a version is missing',
    ]);
  });
});
