// Reading a folder a stranger made: every hostile entry is tried for real (a FIFO made with
// mkfifo, links to /dev/zero and to a secret file, a socket, 2 GiB sparse files made with
// truncate, 20 levels of folders, too many entries), and each ends at once with a named refusal.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ReadSession,
  UntrustedReadError,
  entryKindAt,
  hashFileIn,
  inReadSession,
  listFolder,
  readFileIn,
  readNamedFile,
  walkFolder,
} from '../../../electron/base/untrusted-folder.ts';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-untrusted-'));
  made.push(dir);
  return dir;
}

const refusedAs = (kind: string, pattern: RegExp) => (e: unknown) =>
  e instanceof UntrustedReadError && e.kind === kind && pattern.test(e.message);

/** Runs `fn` and says how long it took and how much the process grew. */
function measured<T>(fn: () => T): { value: T; ms: number; rssGrowthMb: number } {
  const rss = process.memoryUsage.rss();
  const started = performance.now();
  const value = fn();
  return {
    value,
    ms: performance.now() - started,
    rssGrowthMb: (process.memoryUsage.rss() - rss) / 1024 / 1024,
  };
}

describe('untrusted folder: special files and links', () => {
  let dir = '';
  const secret = 'root:$6$not-a-product:19000:0:99999:7:::\n';
  before(() => {
    dir = folder();
    const outside = folder();
    writeFileSync(join(outside, 'shadow'), secret);
    writeFileSync(join(dir, 'ok.txt'), 'hello');
    execFileSync('mkfifo', [join(dir, 'journal.jsonl')]);
    symlinkSync('/dev/zero', join(dir, 'zero'));
    symlinkSync(join(outside, 'shadow'), join(dir, 'leak'));
    symlinkSync(outside, join(dir, 'linked-folder'));
    mkdirSync(join(dir, 'keys'));
    symlinkSync(join(outside, 'shadow'), join(dir, 'keys', 'leak'));
  });

  it('lists entries without following them, and says what each is', () => {
    assert.deepEqual(
      listFolder(dir).map((e) => `${e.name}:${e.kind}`),
      [
        'journal.jsonl:fifo',
        'keys:folder',
        'leak:symlink',
        'linked-folder:symlink',
        'ok.txt:file',
        'zero:symlink',
      ],
    );
    assert.equal(entryKindAt(join(dir, 'missing')), 'missing');
  });

  it('refuses a FIFO by name at once, never waiting for a writer', () => {
    const { ms } = measured(() =>
      assert.throws(
        () => readFileIn(dir, 'journal.jsonl'),
        refusedAs(
          'special-file',
          /^journal\.jsonl is a named pipe \(FIFO\), not a regular file: refused unopened .* Remove it/,
        ),
      ),
    );
    assert.ok(ms < 1000, `${ms} ms`);
    assert.throws(() => hashFileIn(dir, 'journal.jsonl'), refusedAs('special-file', /FIFO/));
  });

  it('refuses a link to /dev/zero and a link to a secret, never reading either', () => {
    for (const name of ['zero', 'leak']) {
      assert.throws(
        () => hashFileIn(dir, name),
        refusedAs(
          'symlink',
          new RegExp(`^${name} is a symbolic link: refused\\. Vigil never follows`),
        ),
      );
      assert.throws(() => readFileIn(dir, name), refusedAs('symlink', /symbolic link/));
    }
  });

  it('refuses a path through a linked folder or climbing out of the folder', () => {
    assert.throws(
      () => readFileIn(dir, 'linked-folder/shadow'),
      refusedAs('symlink', /^linked-folder is a symbolic link/),
    );
    assert.throws(() => readFileIn(dir, '../x'), refusedAs('outside-folder', /not a plain name/));
    assert.throws(
      () => readFileIn(dir, 'keys//x'),
      refusedAs('outside-folder', /not a plain name/),
    );
  });

  it('refuses a folder swapped for a link between its check and the open, as a racer would', () => {
    // The folder checks pass; then, before the file is opened, keys/ becomes a link to a folder
    // outside that holds a file of the same name. The open goes through the opened folders, so
    // the link is refused by name and the outside file is never read nor hashed.
    const root = folder();
    const outside = folder();
    mkdirSync(join(root, 'keys', 'deeper'), { recursive: true });
    writeFileSync(join(root, 'keys', 'deeper', 'a.pem'), 'inside');
    mkdirSync(join(outside, 'deeper'));
    writeFileSync(join(outside, 'deeper', 'a.pem'), 'SECRET from outside');
    const swapKeysForLink = (rel: string) => {
      assert.equal(rel, 'keys/deeper/a.pem');
      rmSync(join(root, 'keys'), { recursive: true });
      symlinkSync(outside, join(root, 'keys'));
    };
    for (const read of [readFileIn, hashFileIn]) {
      rmSync(join(root, 'keys'), { recursive: true, force: true });
      mkdirSync(join(root, 'keys', 'deeper'), { recursive: true });
      writeFileSync(join(root, 'keys', 'deeper', 'a.pem'), 'inside');
      const session = new ReadSession(undefined, { beforeOpen: swapKeysForLink });
      assert.throws(
        () => inReadSession(() => read(root, 'keys/deeper/a.pem'), session),
        refusedAs('symlink', /^keys is a symbolic link/),
      );
      assert.equal(session.bytesRead, 0);
    }
    // The same swap of the file itself: O_NOFOLLOW refuses it.
    writeFileSync(join(root, 'b.pem'), 'inside');
    const swapFile = () => {
      rmSync(join(root, 'b.pem'));
      symlinkSync(join(outside, 'deeper', 'a.pem'), join(root, 'b.pem'));
    };
    assert.throws(
      () =>
        inReadSession(
          () => readFileIn(root, 'b.pem'),
          new ReadSession(undefined, { beforeOpen: swapFile }),
        ),
      refusedAs('symlink', /^b\.pem is a symbolic link/),
    );
  });

  it('refuses a socket', async () => {
    const server = createServer();
    const path = join(dir, 'agent.sock');
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      assert.throws(() => readFileIn(dir, 'agent.sock'), refusedAs('special-file', /is a socket/));
    } finally {
      server.close();
    }
  });

  it('walks without following, naming every refused entry, and reads a regular file', () => {
    const tree = walkFolder(dir);
    assert.deepEqual(tree.files, ['ok.txt']);
    assert.deepEqual(
      tree.refused.map((r) => `${r.name}:${r.entryKind}:${r.kind}`),
      [
        'journal.jsonl:fifo:special-file',
        'leak:symlink:symlink',
        'linked-folder:symlink:symlink',
        'zero:symlink:symlink',
        'keys/leak:symlink:symlink',
      ],
    );
    assert.equal(new TextDecoder().decode(readFileIn(dir, 'ok.txt')), 'hello');
    assert.equal(
      hashFileIn(dir, 'ok.txt').sha256,
      createHash('sha256').update('hello').digest('hex'),
    );
  });

  it('reads a file a person named through a link, but never a pipe', () => {
    assert.equal(new TextDecoder().decode(readNamedFile(join(dir, 'leak'))), secret);
    assert.throws(
      () => readNamedFile(join(dir, 'journal.jsonl')),
      refusedAs('special-file', /FIFO/),
    );
    assert.throws(
      () => readNamedFile(join(dir, 'zero')),
      refusedAs('special-file', /character device/),
    );
  });
});

describe('untrusted folder: sizes', () => {
  let dir = '';
  before(() => {
    dir = folder();
    // Sparse: 2 GiB each, and no disk used.
    execFileSync('truncate', ['-s', '2G', join(dir, 'huge.bin')]);
    execFileSync('truncate', ['-s', '2G', join(dir, 'huge.json')]);
    for (let i = 0; i < 4; i += 1) execFileSync('truncate', ['-s', '40M', join(dir, `part${i}`)]);
  });

  it('refuses a 2 GiB file from its size, before reading a byte', () => {
    const { ms, rssGrowthMb } = measured(() => {
      assert.throws(
        () => hashFileIn(dir, 'huge.bin'),
        refusedAs(
          'file-too-large',
          /^huge\.bin is 2\.0 GiB, over the 64 MiB a ceremony file may be: not read/,
        ),
      );
      assert.throws(
        () => readFileIn(dir, 'huge.json'),
        refusedAs('file-too-large', /over the 16 MiB a file read for its content may be/),
      );
    });
    assert.ok(ms < 500, `${ms} ms`);
    assert.ok(rssGrowthMb < 50, `${rssGrowthMb} MB`);
  });

  it('hashes a large file streamed, never holding it whole', () => {
    const { value, rssGrowthMb } = measured(() => hashFileIn(dir, 'part0'));
    assert.equal(value.sizeBytes, 40 * 1024 * 1024);
    assert.equal(
      value.sha256,
      createHash('sha256')
        .update(new Uint8Array(40 * 1024 * 1024))
        .digest('hex'),
    );
    assert.ok(rssGrowthMb < 30, `${rssGrowthMb} MB for a 40 MiB file`);
  });

  it('hashes a file once per verification however often it is asked', () => {
    const session = new ReadSession();
    inReadSession(() => {
      hashFileIn(dir, 'part1');
      hashFileIn(dir, 'part1');
    }, session);
    assert.equal(session.filesRead, 1);
    assert.equal(session.bytesRead, 40 * 1024 * 1024);
  });

  it('stops a verification whose reads together pass its budget', () => {
    const session = new ReadSession({
      maxDepth: 16,
      maxEntries: 1000,
      maxParsedFileBytes: 1024,
      maxHashedFileBytes: 64 * 1024 * 1024,
      maxTotalBytes: 100 * 1024 * 1024,
    });
    inReadSession(() => {
      hashFileIn(dir, 'part0');
      hashFileIn(dir, 'part1');
      assert.throws(
        () => hashFileIn(dir, 'part2'),
        refusedAs(
          'total-too-large',
          /^part2 would take the bytes read in this verification past 100 MiB/,
        ),
      );
    }, session);
  });
});

describe('untrusted folder: depth and entries', () => {
  it('does not look into folders more than 16 deep, and names the first one', () => {
    const dir = folder();
    const deep = Array.from({ length: 20 }, (_, i) => `d${i}`);
    mkdirSync(join(dir, ...deep), { recursive: true });
    writeFileSync(join(dir, ...deep, 'bottom.txt'), 'x');
    const tree = walkFolder(dir);
    assert.deepEqual(tree.files, []);
    assert.equal(tree.refused.length, 1);
    assert.equal(tree.refused[0]?.kind, 'too-deep');
    assert.equal(tree.refused[0]?.name, deep.slice(0, 17).join('/'));
  });

  it('stops listing at the entry limit, at once, with what to do', () => {
    const dir = folder();
    for (let i = 0; i < 300; i += 1) writeFileSync(join(dir, `f${i}`), '');
    const session = new ReadSession({
      maxDepth: 16,
      maxEntries: 250,
      maxParsedFileBytes: 1024,
      maxHashedFileBytes: 1024,
      maxTotalBytes: 1024,
    });
    assert.throws(
      () => inReadSession(() => walkFolder(dir), session),
      refusedAs(
        'too-many-entries',
        /^more than 250 files and folders .* verify its device folders one at a time/,
      ),
    );
  });
});
