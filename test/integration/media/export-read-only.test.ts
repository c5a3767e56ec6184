// The medium turning read-only in the middle of an export (issue 18, finding 5), on ext4 on a
// loop device remounted read-only after the first file: the error names exactly what remains
// (never "Nothing was written"), the journal says it too, and once the medium is writable again
// the same export finishes around its own files. Leftovers that are not exactly this export's are
// refused by name. Secret exports are 0600 files in 0700 folders (finding 10).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportProducts, MediaExportError } from '../../../electron/core/media/atomic-export.ts';
import { ExportTargets } from '../../../electron/core/media/export-targets.ts';
import { Journal } from '../../../electron/core/journal/journal.ts';
import { createLog } from '../../../electron/core/log.ts';
import { verifyProducts } from '../../../electron/core/products/verify-products.ts';
import { ext4Volume, productSetFor, run, snapshot, type Volume } from './real-volumes.ts';

function targetsOn(folder: string) {
  const journal = Journal.open(join(mkdtempSync(join(tmpdir(), 'vigil-ro-')), 'journal.jsonl'));
  const targets = new ExportTargets({
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    pickFolder: () => Promise.resolve(folder),
    journal,
    log: createLog(() => undefined),
  });
  return { targets, journal, target: targets.addFolder(folder) };
}

describe('a medium that turns read-only during the export', () => {
  const serial = '5e5e5e5e5e5e5e5e';
  const { files, set } = productSetFor(serial);
  const first = files[0]?.name ?? '';
  let volume: Volume;

  before(() => {
    volume = ext4Volume({ sizeKiB: 2048 });
    volume.mount();
  });
  after(() => volume.destroy());

  it('names the files that remain, in the error and in the journal', async () => {
    const { targets, journal, target } = targetsOn(volume.mountPoint);
    let written = 0;
    const error = await targets
      .exportFiles(target.id, set.folder, files, {
        isRehearsal: true,
        onFileWritten: () => {
          // After the first file, as a write-protect switch or a failing stick would.
          if (written++ === 0) run('mount', ['-o', 'remount,ro', volume.mountPoint]);
        },
      })
      .catch((e: unknown) => e);
    assert.ok(error instanceof MediaExportError, String(error));
    assert.equal(error.code, 'media-read-only');
    assert.doesNotMatch(error.message, /Nothing was written|Nothing of this export/);
    const left = [
      'ceremony-products/',
      `ceremony-products/${serial}/`,
      `ceremony-products/${serial}/${first}`,
    ];
    assert.deepEqual(error.remaining, left);
    assert.match(error.message, new RegExp(`remain on the medium: ${left.join(', ')}\\.`));
    assert.deepEqual(Object.keys(snapshot(volume.mountPoint)).sort(), [
      'ceremony-products',
      `ceremony-products/${serial}`,
      `ceremony-products/${serial}/${first}`,
      'lost+found',
    ]);
    const failed = journal.entries().findLast((e) => e.kind === 'media.exportFailed');
    assert.deepEqual(failed?.detail, {
      targetId: target.id,
      mountPoint: volume.mountPoint,
      folder: set.folder,
      code: 'media-read-only',
      phase: 'write',
      file: files[1]?.name ?? '',
      remaining: left,
    });
  });

  // The verifying half of finding 5: what a cut-short export leaves is not a PSF-layout folder.
  it('a partial export left behind is not reported as verified products', () => {
    const report = verifyProducts(join(volume.mountPoint, 'ceremony-products'));
    assert.equal(report.isOk, false, JSON.stringify(report.devices));
  });

  it('finishes the same export once the medium is writable, keeping its own file', async () => {
    run('mount', ['-o', 'remount,rw', volume.mountPoint]);
    const { targets, journal, target } = targetsOn(volume.mountPoint);
    const report = await targets.exportFiles(target.id, set.folder, files, { isRehearsal: true });
    assert.equal(report.destination, join(volume.mountPoint, set.folder));
    assert.equal(report.files.length, files.length);
    const resumed = journal.entries().find((e) => e.kind === 'media.exportResumed');
    assert.deepEqual(resumed?.detail, {
      targetId: target.id,
      destination: report.destination,
      found: [first],
    });
    run('sha256sum', ['-c', 'SHA256SUMS'], report.destination);
    assert.equal(verifyProducts(join(volume.mountPoint, 'ceremony-products')).isOk, true);
  });

  it('finishes an export cut off mid-file: the temp file of its own name goes', async () => {
    const cut = productSetFor('7a7a7a7a7a7a7a7a');
    const folder = join(volume.mountPoint, cut.set.folder);
    const [done, half] = cut.files;
    run('mkdir', ['-p', folder]);
    writeFileSync(join(folder, done?.name ?? ''), done?.bytes ?? new Uint8Array());
    writeFileSync(join(folder, `.${half?.name ?? ''}.vigil-partial`), 'half of it');
    const outcome = await exportProducts({
      root: volume.mountPoint,
      folder: cut.set.folder,
      files: cut.files,
      isRehearsal: true,
    });
    assert.deepEqual(outcome.found, [done?.name]);
    assert.deepEqual(
      Object.keys(snapshot(folder)).sort(),
      cut.files.map((f) => f.name).sort(),
      'every file, and no temp file',
    );
  });

  it('refuses leftovers that are not exactly this export, naming them', async () => {
    const other = productSetFor('6f6f6f6f6f6f6f6f');
    const folder = join(volume.mountPoint, other.set.folder);
    // A complete export is never overwritten; a partial one with another key or a stranger's file
    // is not this export's either.
    run('mkdir', ['-p', folder]);
    const [pub, pem] = other.files;
    writeFileSync(join(folder, pub?.name ?? ''), Buffer.from(pub?.bytes ?? []).reverse());
    writeFileSync(join(folder, 'notes.txt'), 'someone else');
    writeFileSync(join(folder, `.${pem?.name ?? ''}.vigil-partial`), 'half');
    const before = snapshot(volume.mountPoint);
    const error = await exportProducts({
      root: volume.mountPoint,
      folder: other.set.folder,
      files: other.files,
      isRehearsal: true,
    }).catch((e: unknown) => e);
    assert.ok(error instanceof MediaExportError);
    assert.equal(error.code, 'products-exist');
    assert.match(error.message, /not this export's: .*\(differs\), notes\.txt\./);
    assert.match(error.message, /Nothing was written\.$/);
    assert.deepEqual(snapshot(volume.mountPoint), before);
  });

  it('writes secret backups 0600 in 0700 folders, public products 0644 in 0755', async () => {
    const secret = await exportProducts({
      root: volume.mountPoint,
      folder: 'openpgp-secret-0123/inner',
      files: [{ name: 'KEY.secret-backup.asc', bytes: new TextEncoder().encode('secret') }],
      isRehearsal: true,
      isSecret: true,
    });
    const mode = (path: string) => statSync(path).mode & 0o777;
    assert.equal(mode(join(volume.mountPoint, 'openpgp-secret-0123')), 0o700);
    assert.equal(mode(secret.destination), 0o700);
    assert.equal(mode(join(secret.destination, 'KEY.secret-backup.asc')), 0o600);
    const folder = join(volume.mountPoint, set.folder);
    assert.equal(mode(folder), 0o755);
    assert.equal(mode(join(folder, 'manifest.json')), 0o644);
    assert.equal(readFileSync(join(secret.destination, 'KEY.secret-backup.asc'), 'utf8'), 'secret');
  });
});
