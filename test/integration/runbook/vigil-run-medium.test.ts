// `vigil run … --medium` as a person types it, on media prepared against it (issue 18): a medium
// whose ceremony-products is a link to another folder is refused by name and nothing lands in the
// other folder; once the link is gone the same ceremony resumes and the journal holds the real
// folder written (finding 2). Secret backups land 0600 in 0700 folders (finding 10); the NetHSM
// products on the medium and in the record are the same bytes (finding 12).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(import.meta.dirname, '..', '..', '..');
const runbooks = join(root, 'resources', 'runbooks');
const bin = join(root, 'bin', 'vigil.mjs');

function vigilRun(name: string, out: string, medium: string) {
  const result = spawnSync(
    process.execPath,
    [
      bin,
      'run',
      join(runbooks, `${name}.yaml`),
      '--rehearsal',
      '--answers',
      join(runbooks, `${name}.rehearsal.yaml`),
      '--out',
      out,
      '--medium',
      medium,
    ],
    { encoding: 'utf8' },
  );
  return { code: result.status, output: result.stdout + result.stderr };
}

interface Entry {
  kind: string;
  detail: Record<string, unknown> & {
    result?: { kind: string; report?: { destination: string } };
  };
}

const journalOf = (path: string): Entry[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Entry);

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** Every file below `dir`, relative, sorted. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('vigil run --medium on a medium that leads elsewhere', () => {
  it('refuses ceremony-products as a link, writes nothing there, and resumes once it is gone', () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-run-medium-'));
    const medium = join(work, 'medium');
    const elsewhere = join(work, 'elsewhere');
    const out = join(work, 'record');
    mkdirSync(medium);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(medium, 'ceremony-products'));

    const refused = vigilRun('nitrokey-hsm-tuf', out, medium);
    assert.equal(refused.code, 1, refused.output);
    assert.match(
      refused.output,
      /stopped: media-path-refused: ceremony-products on the medium is a symbolic link \(to .*elsewhere\), not a folder\. .*remove or rename ceremony-products on the medium.*Nothing was written\./,
    );
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing was written through the link');
    const live = journalOf(join(out, '.vigil-run', 'journal', 'journal.jsonl'));
    const failed = live.find((e) => e.kind === 'media.exportFailed');
    assert.equal(failed?.detail.code, 'media-path-refused');
    assert.deepEqual(failed?.detail.remaining, []);
    assert.equal(
      live.find((e) => e.kind === 'runbook.actionFailed')?.detail.code,
      'media-path-refused',
    );

    // The operator removes the link; the medium is named through a link of their own this time,
    // which is resolved once, when it is chosen.
    rmSync(join(medium, 'ceremony-products'));
    const named = join(work, 'usb-stick');
    symlinkSync(medium, named);
    const resumed = vigilRun('nitrokey-hsm-tuf', out, named);
    assert.equal(resumed.code, 0, resumed.output);
    assert.match(resumed.output, /resuming ceremony/);
    assert.deepEqual(readdirSync(elsewhere), []);
    const [serial] = readdirSync(join(medium, 'ceremony-products'));
    const exported = journalOf(join(out, 'journal.jsonl'))
      .map((e) => e.detail.result)
      .find((r) => r?.kind === 'products-exported');
    assert.equal(
      exported?.report?.destination,
      join(realpathSync(medium), 'ceremony-products', serial ?? ''),
      'the journal holds the real folder written',
    );
  });
});

describe('vigil run --medium: secret backups and the NetHSM products', () => {
  it('writes the OpenPGP secret backups 0600 in 0700 folders, the public products 0644', () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-run-modes-'));
    const medium = join(work, 'medium');
    mkdirSync(medium);
    const run = vigilRun('gpg-offline-primary', join(work, 'record'), medium);
    assert.equal(run.code, 0, run.output);
    const secretFolders = readdirSync(medium).filter((n) => n.startsWith('openpgp-secret-'));
    assert.ok(secretFolders.length >= 1);
    for (const folder of secretFolders) {
      assert.equal(modeOf(join(medium, folder)), 0o700, folder);
      for (const file of filesBelow(join(medium, folder))) {
        assert.equal(modeOf(join(medium, folder, file)), 0o600, `${folder}/${file}`);
      }
    }
    const products = join(medium, 'ceremony-products');
    for (const file of filesBelow(products)) assert.equal(modeOf(join(products, file)), 0o644);
  });

  it('writes the NetHSM backup 0600 in a 0700 folder, and the same product bytes as the record', () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-run-nethsm-'));
    const medium = join(work, 'medium');
    const out = join(work, 'record');
    mkdirSync(medium);
    const run = vigilRun('nethsm-signstar', out, medium);
    assert.equal(run.code, 0, run.output);
    const [backup] = readdirSync(medium).filter((n) => n.startsWith('nethsm-backup-'));
    assert.ok(backup);
    assert.equal(modeOf(join(medium, backup)), 0o700);
    for (const file of filesBelow(join(medium, backup))) {
      assert.equal(modeOf(join(medium, backup, file)), 0o600, file);
    }
    // Finding 12: the record held products rebuilt after the NetHSM was locked (inventory.json
    // with lockedAt), the medium those written before. Now they are the same, byte for byte.
    const onMedium = join(medium, 'ceremony-products');
    const inRecord = join(out, 'products', 'ceremony-products');
    const names = filesBelow(onMedium);
    assert.ok(names.some((n) => n.endsWith('/inventory.json')));
    assert.deepEqual(filesBelow(inRecord), names);
    for (const name of names) {
      assert.ok(
        readFileSync(join(onMedium, name)).equals(readFileSync(join(inRecord, name))),
        `${name} differs between the medium and the record`,
      );
    }
  });
});
