// A shareholder's own medium (issue 24): one share written as products are (0600 in a 0700
// folder, fsynced, read back), never over another file, never through a link; read back bounded,
// with damaged files, links and pipes named as problems for the shareholder; a medium turning
// read-only (ext4 on a loop device) names what remains; and a 3-of-5 set spread over five media
// gives the credentials back from any three and never from two.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { MediaExportError } from '../../../electron/core/media/atomic-export.ts';
import {
  CredentialSharingError,
  combineShares,
  generateCredentials,
  splitCredentials,
  type CredentialBundle,
} from '../../../electron/core/shares/credential-shares.ts';
import {
  MAX_SHARE_FILES,
  SHARES_FOLDER,
  readSharesFromMedium,
  shareFileName,
  writeShareToMedium,
  type ShareFileProblemKind,
  type SharesOnMedium,
} from '../../../electron/core/shares/share-medium.ts';
import type { CredentialShare } from '../../../electron/formats/credential-share.ts';
import { ext4Volume, run, snapshot, type Volume } from '../media/real-volumes.ts';

const tempMedium = () => mkdtempSync(join(tmpdir(), 'vigil-share-medium-'));
const mode = (path: string) => statSync(path).mode & 0o777;

async function refusal(promise: Promise<unknown>, code: string): Promise<MediaExportError> {
  let caught: unknown = null;
  await promise.catch((error: unknown) => {
    caught = error;
  });
  assert.ok(
    caught instanceof MediaExportError,
    `expected a MediaExportError, got ${String(caught)}`,
  );
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** No message, context or journal value may carry any piece of a share. */
function assertNoShare(text: string, shares: readonly CredentialShare[]): void {
  for (const share of shares) {
    const groups = share.toText().split('-');
    for (let i = 0; i + 2 < groups.length; i += 1) {
      assert.ok(!text.includes(groups.slice(i, i + 3).join('-')), `a share leaked into: ${text}`);
    }
  }
}

function problemsOf(read: SharesOnMedium): { file: string; kind: ShareFileProblemKind }[] {
  return read.problems.map(({ file, kind }) => ({ file, kind }));
}

const wipeAll = (read: SharesOnMedium) => {
  for (const { share } of read.shares) share.wipe();
};

/** The file's lines with the share line changed by `edit`. */
function editShareLine(path: string, edit: (shareText: string) => string): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  const at = lines.findIndex((line) => line.startsWith('share: '));
  lines[at] = `share: ${edit((lines[at] ?? '').slice('share: '.length))}`;
  writeFileSync(path, lines.join('\n'));
}

const samePassphrases = (a: CredentialBundle, b: CredentialBundle) =>
  a.unlock.equals(b.unlock) &&
  a.backup.equals(b.backup) &&
  a.administrators.length === b.administrators.length &&
  a.administrators.every((admin, i) => {
    const other = b.administrators[i];
    return other?.userId === admin.userId && other.passphrase.equals(admin.passphrase);
  });

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  return items.flatMap((item, i) =>
    subsets(items.slice(i + 1), size - 1).map((rest) => [item, ...rest]),
  );
}

describe('a share on its shareholder’s medium', () => {
  let bundle: CredentialBundle;
  let shares: CredentialShare[];
  let otherSet: CredentialShare[];
  let medium: string;
  const share = (index: number) => shares[index - 1] as CredentialShare;

  before(async () => {
    bundle = generateCredentials({ namespaces: ['payments'] });
    shares = await splitCredentials(bundle, { threshold: 3, count: 5 });
    otherSet = await splitCredentials(bundle, { threshold: 2, count: 3 });
  });
  beforeEach(() => {
    medium = tempMedium();
  });

  it('writes one file 0600 in a 0700 vigil-shares folder, readable by a person, and reads it back', async () => {
    const written = await writeShareToMedium(medium, share(2), {
      holder: 'Ada Lovelace',
      ceremonyId: 'nethsm-2026-11-22',
    });
    const name = `set-${share(2).setId.slice(0, 8)}-share-2-of-5.vshare`;
    assert.equal(shareFileName(share(2)), name);
    assert.deepEqual(written, {
      path: `${SHARES_FOLDER}/${name}`,
      index: 2,
      holder: 'Ada Lovelace',
    });
    assertNoShare(JSON.stringify(written) + inspect(written), shares);
    assert.equal(mode(join(medium, SHARES_FOLDER)), 0o700);
    assert.equal(mode(join(medium, written.path)), 0o600);
    assert.deepEqual(readdirSync(join(medium, SHARES_FOLDER)), [name], 'no temp file left');

    const text = readFileSync(join(medium, written.path), 'utf8');
    const lines = text.split('\n');
    assert.equal(lines[0], 'Vigil credential share file, format 1');
    assert.equal(lines[1], 'KEEP THIS MEDIUM PRIVATE; NEVER PHOTOGRAPH IT.');
    assert.match(text, /This is share 2 of 5 of a NetHSM's administrative credentials \(set /);
    assert.match(text, /Any 3 of the 5 shares give the credentials back/);
    for (const line of [
      'index: 2',
      'count: 5',
      'threshold: 3',
      `set: ${share(2).setId}`,
      'holder: Ada Lovelace',
      'ceremony: nethsm-2026-11-22',
      `share: ${share(2).toText()}`,
      `qr: ${share(2).toQrPayload()}`,
    ]) {
      assert.ok(lines.includes(line), `missing line: ${line.slice(0, 30)}`);
    }
    // The share twice (typed and QR forms), and no other form of it: no words, no receipt.
    assert.equal(text.split(share(2).toText()).length, 3);
    assert.ok(!text.includes(share(2).toWords().slice(0, 3).join(' ')));
    assert.ok(!text.includes(share(2).receiptWords().join(' ')));

    const read = readSharesFromMedium(medium);
    assert.deepEqual(read.problems, []);
    assert.equal(read.shares.length, 1);
    const [found] = read.shares;
    assert.equal(found?.file, written.path);
    assert.equal(found?.holder, 'Ada Lovelace');
    assert.equal(found?.ceremonyId, 'nethsm-2026-11-22');
    assert.ok(found?.share.equals(share(2)));
    assertNoShare(JSON.stringify(read) + inspect(read, { depth: 5 }), shares);
    wipeAll(read);
  });

  it('refuses a holder name that would forge a header line, before touching the medium', async () => {
    for (const holder of ['', 'Ada\nshare: 0000', 'Ada\u202eecalovoL', 'x'.repeat(101)]) {
      await assert.rejects(writeShareToMedium(medium, share(1), { holder }), {
        code: 'input-invalid',
      });
    }
    assert.deepEqual(readdirSync(medium), []);
  });

  it('refuses vigil-shares as a symbolic link by name, writing nothing anywhere', async () => {
    const elsewhere = tempMedium();
    symlinkSync(elsewhere, join(medium, SHARES_FOLDER));
    const before = snapshot(medium);
    const error = await refusal(
      writeShareToMedium(medium, share(1), { holder: 'Grace' }),
      'media-path-refused',
    );
    assert.equal(error.context.component, SHARES_FOLDER);
    assert.match(error.message, /^vigil-shares on the medium is a symbolic link \(to \//);
    assert.match(error.message, /write the share again\. Nothing was written\.$/);
    assert.deepEqual(error.remaining, []);
    assert.deepEqual(readdirSync(elsewhere), []);
    assert.deepEqual(snapshot(medium), before);

    // Reading does not follow it either, even to a real share.
    await writeShareToMedium(elsewhere, share(1), { holder: 'Grace' });
    const read = readSharesFromMedium(medium);
    assert.deepEqual(read.shares, []);
    assert.deepEqual(problemsOf(read), [{ file: SHARES_FOLDER, kind: 'share-folder-refused' }]);
    assert.match(read.problems[0]?.message ?? '', /it is a symbolic link\): nothing was read/);
  });

  it('refuses to write over the share already there, and leaves the file unchanged', async () => {
    const written = await writeShareToMedium(medium, share(3), { holder: 'Hedy' });
    const before = snapshot(medium);
    const again = await refusal(
      writeShareToMedium(medium, share(3), { holder: 'Someone else' }),
      'products-exist',
    );
    assert.match(
      again.message,
      /already holds share 3 of set .* \(held by Hedy\)\. Vigil never overwrites a share/,
    );
    assert.match(again.message, /Nothing was written\.$/);
    assert.deepEqual(again.remaining, []);
    assert.deepEqual(snapshot(medium), before);
    assertNoShare(again.message + JSON.stringify(again.context), shares);

    // Nor another share of the same set: one medium must not hold two shareholders' parts.
    const second = await refusal(
      writeShareToMedium(medium, share(4), { holder: 'Hedy' }),
      'products-exist',
    );
    assert.match(second.message, /holds share 3 of set .*One medium carries one share of a set/);
    assert.deepEqual(snapshot(medium), before);

    // Nor anything else at its name, a damaged share of its own included.
    rmSync(join(medium, written.path));
    writeFileSync(join(medium, written.path), 'a note');
    const before2 = snapshot(medium);
    const other = await refusal(
      writeShareToMedium(medium, share(3), { holder: 'Hedy' }),
      'products-exist',
    );
    assert.match(
      other.message,
      /is already on the medium and is not share 3 of set .*it is not a Vigil share file/,
    );
    assert.deepEqual(snapshot(medium), before2);
  });

  it('writes beside a share of another set, leaving it alone', async () => {
    const first = await writeShareToMedium(medium, otherSet[0] as CredentialShare, {
      holder: 'Alan',
    });
    const before = snapshot(medium);
    const second = await writeShareToMedium(medium, share(1), { holder: 'Alan' });
    assert.notEqual(first.path, second.path);
    const after = snapshot(medium);
    assert.equal(after[first.path], before[first.path]);
    const read = readSharesFromMedium(medium);
    assert.deepEqual(read.problems, []);
    assert.deepEqual(read.shares.map((s) => s.file).sort(), [first.path, second.path].sort());
    wipeAll(read);
  });

  it('reports a damaged file as a typed problem, worded for the shareholder, naming the group', async () => {
    const written = await writeShareToMedium(medium, share(2), { holder: 'Katherine' });
    const path = join(medium, written.path);
    const name = written.path.slice(SHARES_FOLDER.length + 1);
    const pristine = readFileSync(path);
    // One character of group 7 changed, as a failing stick or a careless edit would.
    editShareLine(path, (text) => {
      const groups = text.split('-');
      const group = groups[6] ?? '';
      groups[6] = `${group[0] === 'A' ? 'B' : 'A'}${group.slice(1)}`;
      return groups.join('-');
    });
    const read = readSharesFromMedium(medium);
    assert.deepEqual(read.shares, []);
    assert.deepEqual(problemsOf(read), [{ file: written.path, kind: 'share-file-damaged' }]);
    assert.equal(
      read.problems[0]?.message,
      `${name}: group 7 does not match its check — this medium's share is damaged; ask the shareholder for their sheet`,
    );
    assert.equal(read.problems[0]?.holder, 'Katherine');

    const cases: { damage: () => void; kind: ShareFileProblemKind; message: RegExp }[] = [
      {
        damage: () => writeFileSync(path, pristine.subarray(0, pristine.length - 400)),
        kind: 'share-file-damaged',
        message: /: its QR line: .* — this medium's share is damaged/,
      },
      {
        damage: () =>
          writeFileSync(
            path,
            Buffer.from(pristine.toString('utf8').replace('index: 2', 'index: 4')),
          ),
        kind: 'share-file-mismatch',
        message: /its header does not describe the share in it \(share 2 of 5, set /,
      },
      {
        damage: () => {
          writeFileSync(path, pristine);
          editShareLine(path, () => share(4).toText());
        },
        kind: 'share-file-mismatch',
        message: /its share line and its QR line hold different shares/,
      },
      {
        damage: () => writeFileSync(path, Buffer.from([0xff, 0xfe, 0x00, 0x41])),
        kind: 'share-file-damaged',
        message: /: it is not text — this medium's share is damaged/,
      },
      {
        damage: () =>
          writeFileSync(path, pristine.toString('utf8').replace('format 1', 'format 2')),
        kind: 'share-file-unknown-version',
        message: /use the Vigil version that wrote it$/,
      },
      {
        damage: () => writeFileSync(path, Buffer.alloc(9000, 0x41)),
        kind: 'share-file-too-large',
        message: /is larger than any share file/,
      },
    ];
    for (const { damage, kind, message } of cases) {
      damage();
      const again = readSharesFromMedium(medium);
      assert.deepEqual(problemsOf(again), [{ file: written.path, kind }], kind);
      assert.match(again.problems[0]?.message ?? '', message);
      assertNoShare(JSON.stringify(again), shares);
    }
  });

  it(
    'refuses a named pipe or a link named .vshare without blocking or following it',
    { timeout: 20_000 },
    async () => {
      const folder = join(medium, SHARES_FOLDER);
      mkdirSync(folder, { mode: 0o700 });
      const pipe = join(folder, shareFileName(share(5)));
      execFileSync('mkfifo', [pipe]);
      const elsewhere = tempMedium();
      await writeShareToMedium(elsewhere, share(1), { holder: 'Barbara' });
      const real = join(elsewhere, SHARES_FOLDER, shareFileName(share(1)));
      symlinkSync(real, join(folder, 'linked.vshare'));
      mkdirSync(join(folder, 'folder.vshare'));
      // Not a share file: ignored (macOS's `._` copies, Vigil's own temp names start with '.').
      writeFileSync(join(folder, '._linked.vshare'), 'resource fork');

      const read = readSharesFromMedium(medium);
      assert.deepEqual(read.shares, []);
      assert.deepEqual(problemsOf(read), [
        { file: 'vigil-shares/folder.vshare', kind: 'share-file-refused' },
        { file: 'vigil-shares/linked.vshare', kind: 'share-file-refused' },
        { file: `vigil-shares/${shareFileName(share(5))}`, kind: 'share-file-refused' },
      ]);
      assert.match(
        read.problems[1]?.message ?? '',
        /is a symbolic link, not a share file: not followed/,
      );
      assert.match(
        read.problems[2]?.message ?? '',
        /is a named pipe \(FIFO\), not a share file: refused unopened/,
      );

      // The writer does not open the pipe at its own name either, and leaves it.
      const error = await refusal(
        writeShareToMedium(medium, share(5), { holder: 'Barbara' }),
        'products-exist',
      );
      assert.match(
        error.message,
        /is already on the medium and is not share 5 of set .*named pipe/,
      );
      assert.ok(statSync(pipe).isFIFO());
    },
  );

  it('reads at most 64 share files from one medium, saying so', () => {
    const folder = join(medium, SHARES_FOLDER);
    mkdirSync(folder);
    for (let i = 0; i < MAX_SHARE_FILES + 6; i += 1) {
      writeFileSync(join(folder, `junk-${String(i).padStart(3, '0')}.vshare`), 'junk');
    }
    const read = readSharesFromMedium(medium);
    assert.equal(read.problems[0]?.kind, 'too-many-share-files');
    assert.match(read.problems[0]?.message ?? '', /holds 70 share files, more than the 64/);
    assert.equal(
      read.problems.filter((p) => p.kind === 'share-file-damaged').length,
      MAX_SHARE_FILES,
    );
  });

  it('reads no share from a medium without vigil-shares', () => {
    assert.deepEqual(readSharesFromMedium(medium), { shares: [], problems: [] });
  });

  it('spreads a 3-of-5 set over five media: any three give the credentials back, two do not', async () => {
    const holders = ['Ada', 'Grace', 'Hedy', 'Katherine', 'Barbara'];
    const media = holders.map(() => tempMedium());
    for (const [i, holder] of holders.entries()) {
      const written = await writeShareToMedium(media[i] ?? '', share(i + 1), { holder });
      assert.equal(written.index, i + 1);
    }
    // Each medium holds its shareholder's share and nothing of anyone else's.
    for (const [i, root] of media.entries()) {
      const read = readSharesFromMedium(root);
      assert.deepEqual(
        read.shares.map((s) => [s.share.index, s.holder]),
        [[i + 1, holders[i]]],
      );
      wipeAll(read);
    }
    for (const three of subsets(media, 3)) {
      const collected = three.flatMap((root) => readSharesFromMedium(root).shares);
      const combined = await combineShares(collected.map((s) => s.share));
      assert.ok(samePassphrases(combined, bundle), 'the same credentials');
      combined.wipe();
      for (const { share: s } of collected) s.wipe();
    }
    const two = media.slice(1, 3).flatMap((root) => readSharesFromMedium(root).shares);
    await assert.rejects(combineShares(two.map((s) => s.share)), (error: unknown) => {
      assert.ok(error instanceof CredentialSharingError);
      assert.equal(error.kind, 'shares-too-few');
      assert.match(error.message, /3 of 5 needed, 2 given: bring one more shareholder/);
      return true;
    });
  });

  after(() => {
    for (const s of [...shares, ...otherSet]) s.wipe();
    bundle.wipe();
  });
});

describe('a share medium that is or turns read-only (ext4 on a loop device)', () => {
  let shares: CredentialShare[];
  let volume: Volume;
  const medium = () => volume.mountPoint;
  const share = (index: number) => shares[index - 1] as CredentialShare;

  before(async () => {
    shares = await splitCredentials(generateCredentials({ namespaces: [] }), {
      threshold: 2,
      count: 3,
    });
    volume = ext4Volume({ sizeKiB: 2048 });
    volume.mount();
  });
  after(() => {
    volume.destroy();
    for (const s of shares) s.wipe();
  });
  beforeEach(() => {
    if (volume.isMounted()) run('mount', ['-o', 'remount,rw', medium()]);
    for (const entry of readdirSync(medium())) {
      if (entry !== 'lost+found') rmSync(join(medium(), entry), { recursive: true, force: true });
    }
  });

  it('writes nothing to a read-only medium, and says so', async () => {
    run('mount', ['-o', 'remount,ro', medium()]);
    const before = snapshot(medium());
    const error = await refusal(
      writeShareToMedium(medium(), share(1), { holder: 'Ada' }),
      'media-read-only',
    );
    assert.match(error.message, /^The medium is read-only \(check its write-protect switch\)\./);
    assert.match(error.message, /Nothing was written\.$/);
    assert.deepEqual(error.remaining, []);
    assert.deepEqual(snapshot(medium()), before);
  });

  it('names the empty folder left when the medium turns read-only before the file', async () => {
    const error = await refusal(
      writeShareToMedium(medium(), share(1), {
        holder: 'Ada',
        onStep: (step) => {
          if (step === 'folder') run('mount', ['-o', 'remount,ro', medium()]);
        },
      }),
      'media-read-only',
    );
    assert.deepEqual(error.remaining, ['vigil-shares/']);
    assert.match(
      error.message,
      /These remain on the medium: vigil-shares\/\. Write the share again/,
    );
    assert.doesNotMatch(error.message, /may hold part of the share/);
    assert.deepEqual(readdirSync(join(medium(), SHARES_FOLDER)), [], 'nothing half-written');
  });

  it('names the temp file left when it turns read-only before the rename, and cleans it up once writable', async () => {
    const name = shareFileName(share(2));
    const error = await refusal(
      writeShareToMedium(medium(), share(2), {
        holder: 'Grace',
        onStep: (step) => {
          if (step === 'temp-file') run('mount', ['-o', 'remount,ro', medium()]);
        },
      }),
      'media-read-only',
    );
    const temp = `vigil-shares/.${name}.vigil-partial`;
    assert.deepEqual(error.remaining, ['vigil-shares/', temp]);
    assert.match(
      error.message,
      new RegExp(
        `${temp.replace(/\./g, '\\.')} may hold part of the share: keep the medium private`,
      ),
    );
    assertNoShare(error.message + JSON.stringify(error.context), shares);
    // No file under the share's own name: a reader never takes the half-done write for a share.
    assert.deepEqual(readdirSync(join(medium(), SHARES_FOLDER)), [`.${name}.vigil-partial`]);
    const read = readSharesFromMedium(medium());
    assert.deepEqual(problemsOf(read), [{ file: temp, kind: 'share-file-partial' }]);

    run('mount', ['-o', 'remount,rw', medium()]);
    const written = await writeShareToMedium(medium(), share(2), { holder: 'Grace' });
    assert.deepEqual(readdirSync(join(medium(), SHARES_FOLDER)), [name]);
    assert.equal(mode(join(medium(), SHARES_FOLDER)), 0o700);
    assert.equal(mode(join(medium(), written.path)), 0o600);
    const again = readSharesFromMedium(medium());
    assert.deepEqual(again.problems, []);
    assert.ok(again.shares[0]?.share.equals(share(2)));
    wipeAll(again);
  });
});
