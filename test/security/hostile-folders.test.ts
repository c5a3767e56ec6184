// `vigil verify` reads folders strangers publish. Each attack from issue 18 is tried for real on a
// copy of a real record (the golden nitrokey-hsm-tuf record `vigil run` wrote) or real products:
// a FIFO, links to /dev/zero and to a secret, 2 GiB sparse files, names that rewrite a terminal,
// a 100,000-deep JSON line, strays beside the device folders, and tens of thousands of findings.
// Each must end promptly, with bounded memory, a named failure, a non-zero exit code, and no
// "verified" anywhere in what is printed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contract } from '../../shared/contract/index.ts';
import type { FolderVerification } from '../../shared/model/verification.ts';
import { VerificationJob } from '../../electron/core/verification/verification-job.ts';
import type { VerifyFolderOptions } from '../../electron/core/verification/verify-folder.ts';
import { VigilCore } from '../../electron/core/vigil-core.ts';
import { productSet, writeProductFolder } from '../helpers/product-fixtures.ts';
import { BARE_VERIFY_REQUEST } from '../helpers/verify-request.ts';

const root = join(import.meta.dirname, '..', '..');
const golden = join(root, 'test', 'vectors', 'golden-journals');
const goldenRecord = join(golden, 'nitrokey-hsm-tuf', 'record');
const goldenPivProducts = join(golden, 'yubikey-keyholder-tuf', 'record', 'products');
const noOptions: VerifyFolderOptions = { trustKeys: [], requireAttestation: false };

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function workDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vigil-hostile-${label}-`));
  made.push(dir);
  return dir;
}
function copyOf(source: string, label: string): string {
  const dir = join(workDir(label), 'folder');
  cpSync(source, dir, { recursive: true });
  return dir;
}
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

interface Outcome {
  exitCode: number;
  text: string;
  ms: number;
  rssGrowthMb: number;
}

/** `vigil verify` as the worker runs it (same job, this thread): exit code, text, time, memory. */
async function verify(
  path: string,
  options: VerifyFolderOptions = noOptions,
  output: 'text' | 'json' = 'text',
): Promise<Outcome> {
  const rss = process.memoryUsage.rss();
  const started = performance.now();
  const job = new VerificationJob({ path, hasPivOptions: options.piv !== undefined });
  const kind = job.kind();
  const result =
    'problem' in kind
      ? ({ ok: false, message: kind.problem } as const)
      : await job.run({ options, output });
  return {
    exitCode: result.ok ? result.exitCode : 2,
    text: result.ok ? result.text : result.message,
    ms: performance.now() - started,
    rssGrowthMb: (process.memoryUsage.rss() - rss) / 1024 / 1024,
  };
}

/** A character a terminal acts on: C0 but the newline, DEL, C1, a right-to-left override. */
const hasTerminalControl = (text: string) =>
  [...text].some((c) => {
    const n = c.codePointAt(0) ?? 0;
    return (n < 0x20 && n !== 0x0a) || (n >= 0x7f && n <= 0x9f) || n === 0x202e;
  });

/** Failed, promptly, in bounded memory, with `named` in a FAIL line and no "verified" line. */
function assertRefused(outcome: Outcome, named: RegExp): void {
  assert.equal(outcome.exitCode, 1, outcome.text);
  assert.ok(outcome.ms < 10_000, `${Math.round(outcome.ms)} ms`);
  assert.ok(outcome.rssGrowthMb < 200, `RSS grew ${Math.round(outcome.rssGrowthMb)} MB`);
  const lines = outcome.text.split('\n');
  assert.ok(
    lines.some((l) => /FAIL/.test(l) && named.test(l)),
    `no FAIL line matching ${String(named)}:\n${outcome.text}`,
  );
  assert.equal(lines.at(-1), 'verification FAILED');
  assert.ok(!lines.some((l) => /^verified/.test(l)), outcome.text);
}

before(async () => {
  // The copies below are meaningful only if the original verifies.
  const intact = await verify(goldenRecord);
  assert.equal(intact.exitCode, 0, intact.text);
});

describe('attack: a FIFO in place of a record’s journal.jsonl', () => {
  it('names the pipe, never opens it, and fails at once (it used to hang forever)', async () => {
    const record = copyOf(goldenRecord, 'fifo');
    rmSync(join(record, 'journal.jsonl'));
    execFileSync('mkfifo', [join(record, 'journal.jsonl')]);
    const outcome = await verify(record);
    assertRefused(outcome, /journal: journal\.jsonl is a named pipe \(FIFO\), not a regular file/);
    assert.match(outcome.text, /FAIL subjects: journal\.jsonl is a named pipe/);
  });
});

describe('attack: links to /dev/zero and to a secret inside a record', () => {
  it('refuses the links by name and reads neither (/dev/zero once grew to 16.9 GB)', async () => {
    const record = copyOf(goldenRecord, 'zero');
    rmSync(join(record, 'journal.jsonl'));
    symlinkSync('/dev/zero', join(record, 'journal.jsonl'));
    const secret = join(workDir('secret'), 'shadow');
    writeFileSync(secret, 'root:$6$secret:19000:0:99999:7:::\n');
    symlinkSync(secret, join(record, 'products', 'notes.txt'));
    const outcome = await verify(record);
    assertRefused(outcome, /journal\.jsonl is a symbolic link: refused/);
    assert.match(outcome.text, /products\/notes\.txt is a symbolic link: refused/);
    assert.doesNotMatch(outcome.text, /secret/);
  });
});

describe('attack: a PIV archive with keys/<serial>/leak -> a secret, listed in SHA256SUMS', () => {
  let archive = '';
  before(() => {
    archive = join(copyOf(goldenPivProducts, 'piv'), 'ceremony-products', 'yubikey-93861214');
    const secret = join(workDir('piv-secret'), 'shadow');
    writeFileSync(secret, 'root:$6$secret:19000:0:99999:7:::\n');
    symlinkSync(secret, join(archive, 'keys', '93861214', 'leak'));
    // The hash of what the link points at is listed: a verifier that follows it says "match".
    writeFileSync(
      join(archive, 'SHA256SUMS'),
      `${readFileSync(join(archive, 'SHA256SUMS'), 'utf8')}${sha256(readFileSync(secret))}  keys/93861214/leak\n`,
    );
  });

  it('fails the archive as a PIV archive, naming the link (it was reported "verified")', async () => {
    // --min-firmware 1.0.0 sends Vigil's keyholder products to the PIV verifier, where it passed.
    const outcome = await verify(archive, { ...noOptions, piv: { minFirmware: [1, 0, 0] } });
    assertRefused(outcome, /keys\/93861214\/leak is a symbolic link: refused/);
    assert.match(outcome.text, /FAIL refused: not a regular file: leak \(a symbolic link\)/);
  });

  it('fails it as Vigil products too', async () => {
    const outcome = await verify(archive);
    assertRefused(outcome, /leak \(a symbolic link\)/);
    assert.match(outcome.text, /listed but not a regular file, never read: keys\/93861214\/leak/);
  });
});

describe('attack: 2 GiB files listed in SHA256SUMS, and as a record’s named file', () => {
  it('refuses a listed 2 GiB file from its size, reading none of it (it took 3.27 GB)', async () => {
    const { files, set } = productSet();
    const { root: products, deviceFolder } = writeProductFolder(files, set.folder, workDir('big'));
    execFileSync('truncate', ['-s', '2G', join(deviceFolder, 'big.bin')]);
    const zeroes = createHash('sha256');
    // The hash a patient verifier would find: 2 GiB of zeroes.
    const chunk = new Uint8Array(64 * 1024 * 1024);
    for (let i = 0; i < 32; i += 1) zeroes.update(chunk);
    writeFileSync(
      join(deviceFolder, 'SHA256SUMS'),
      `${readFileSync(join(deviceFolder, 'SHA256SUMS'), 'utf8')}${zeroes.digest('hex')}  big.bin\n`,
    );
    const outcome = await verify(products);
    assertRefused(
      outcome,
      /big\.bin is 2\.0 GiB, over the 64 MiB a ceremony file may be: not read/,
    );
    assert.ok(outcome.ms < 2000, `${Math.round(outcome.ms)} ms`);
  });

  it('refuses a record’s journal.jsonl of 2 GiB (named files bypassed the 64 MiB cap)', async () => {
    const record = copyOf(goldenRecord, 'big-journal');
    execFileSync('truncate', ['-s', '2G', join(record, 'journal.jsonl')]);
    const outcome = await verify(record);
    assertRefused(outcome, /journal: journal\.jsonl is 2\.0 GiB, over the 16 MiB/);
    assert.ok(outcome.ms < 2000, `${Math.round(outcome.ms)} ms`);
  });
});

describe('attack: file and folder names that rewrite the terminal', () => {
  const fake = 'x\x1b[2K\rOK   everything\nverified 1 device folder(s)\x1b[8m\u202e';
  it('prints every such name escaped: no ESC, CR or bidi override, no injected line', async () => {
    const { files, set } = productSet();
    const { root: products, deviceFolder } = writeProductFolder(files, set.folder, workDir('esc'));
    writeFileSync(join(deviceFolder, fake), 'hidden');
    mkdirSync(join(products, 'ceremony-products', `evil\n${fake}`));
    const outcome = await verify(products);
    assertRefused(
      outcome,
      /not in SHA256SUMS: x\\x1b\[2K\\rOK {3}everything\\nverified 1 device folder\(s\)\\x1b\[8m\\u\{202e\}/,
    );
    assert.ok(!hasTerminalControl(outcome.text), outcome.text);
    assert.ok(!outcome.text.split('\n').includes('verified 1 device folder(s)'));
    const json = await verify(products, noOptions, 'json');
    assert.ok(!hasTerminalControl(json.text), json.text);
    assert.match(json.text, /x\\u001b\[2K\\rOK/);
  });
});

describe('attack: a 100,000-deep JSON line in a record, manifest or transcript', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  it('fails the journal check by line, with a report (it was "Maximum call stack size exceeded")', async () => {
    const record = copyOf(goldenRecord, 'deep');
    const lines = readFileSync(join(record, 'journal.jsonl'), 'utf8').split('\n');
    lines[2] = `{"v":1,"detail":${deep(100_000)}}`;
    writeFileSync(join(record, 'journal.jsonl'), lines.join('\n'));
    const outcome = await verify(record);
    assertRefused(outcome, /journal: journal line 3: its JSON is nested deeper than 64 levels/);
  });

  it('fails a deep transcript.json and a deep manifest.json by name', async () => {
    const record = copyOf(goldenRecord, 'deep-transcript');
    writeFileSync(join(record, 'transcript.json'), deep(100_000));
    assertRefused(await verify(record), /transcript: transcript\.json: its JSON is nested deeper/);
    const { files, set } = productSet();
    const { root: products, deviceFolder } = writeProductFolder(files, set.folder, workDir('dm'));
    writeFileSync(join(deviceFolder, 'manifest.json'), `{"kind":${deep(100_000)}}`);
    assertRefused(await verify(products), /manifest: manifest\.json: its JSON is nested deeper/);
  });

  it('answers a record with a journal line `null` with a failed check, not a TypeError', async () => {
    const record = copyOf(goldenRecord, 'null-line');
    const lines = readFileSync(join(record, 'journal.jsonl'), 'utf8').split('\n');
    lines[1] = 'null';
    writeFileSync(join(record, 'journal.jsonl'), lines.join('\n'));
    assertRefused(await verify(record), /journal: journal line 2 is not a journal entry/);
  });
});

describe('attack: strays directly in ceremony-products/', () => {
  it('names a FIFO, a file and a link beside the device folders (they were ignored)', async () => {
    const { files, set } = productSet();
    const { root: products } = writeProductFolder(files, set.folder, workDir('strays'));
    const folder = join(products, 'ceremony-products');
    execFileSync('mkfifo', [join(folder, 'pipe')]);
    writeFileSync(join(folder, 'stray.txt'), 'x');
    symlinkSync('/etc', join(folder, 'etc'));
    const outcome = await verify(products);
    assertRefused(
      outcome,
      /products-folder: not a device folder: etc \(a symbolic link\), pipe \(a named pipe \(FIFO\)\), stray\.txt \(a regular file\)/,
    );
  });

  it('fails a ceremony-products that is itself a link, without following it', async () => {
    const dir = workDir('linked-products');
    const { files, set } = productSet();
    const { root: elsewhere } = writeProductFolder(files, set.folder, workDir('elsewhere'));
    symlinkSync(join(elsewhere, 'ceremony-products'), join(dir, 'ceremony-products'));
    assertRefused(await verify(dir), /ceremony-products is a symbolic link: refused/);
  });
});

describe('attack: a folder with tens of thousands of findings, verified in the window', () => {
  let products = '';
  before(() => {
    products = workDir('many');
    const folder = join(products, 'ceremony-products');
    mkdirSync(folder);
    // 20,000 stray files beside 600 device folders, each with a long-named missing file listed.
    for (let i = 0; i < 20_000; i += 1) writeFileSync(join(folder, `stray-${i}`), '');
    const longName = (i: number) => `${'n'.repeat(180)}-${i}.pem`;
    for (let d = 0; d < 600; d += 1) {
      const device = join(folder, `device-${String(d).padStart(4, '0')}`);
      mkdirSync(device);
      const sums = Array.from({ length: 40 }, (_, i) => `${'0'.repeat(64)}  ${longName(i)}`);
      writeFileSync(join(device, 'SHA256SUMS'), `${sums.join('\n')}\n`);
      for (let i = 0; i < 30; i += 1) writeFileSync(join(device, `unlisted-${longName(i)}`), '');
    }
    // And one device folder whose manifest names 700 keys: 700 failing rows in one table.
    const many = join(folder, 'a-many-keys');
    mkdirSync(many);
    const manifest = {
      v: 1,
      kind: 'vigil.pkcs11-token-provisioning',
      rehearsal: true,
      ceremonyId: 'x',
      createdAt: 'x',
      device: {
        family: 'softhsm-rehearsal',
        manufacturer: 'm',
        model: 'm',
        serial: 'a-many-keys',
        label: 'l',
      },
      keys: Array.from({ length: 700 }, (_, i) => ({
        label: `k${i}`,
        algorithm: 'P-256',
        rawFile: 'x',
        pemFile: 'y',
        spkiSha256: '0'.repeat(64),
        generatedOnDevice: true,
      })),
      files: [],
    };
    writeFileSync(join(many, 'manifest.json'), JSON.stringify(manifest));
  });

  it('reaches the window within the contract’s bounds, counting everything', async () => {
    const core = new VigilCore({
      dataDir: workDir('many-data'),
      lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      pickFolder: () => Promise.resolve(products),
      useUsbYubiHsm: false,
      usePcsc: false,
    });
    try {
      const dispatcher = core.dispatcher(() => true);
      const started = performance.now();
      const envelope = await dispatcher.dispatch(
        null,
        'verification.verifyFolder',
        BARE_VERIFY_REQUEST,
      );
      const ms = performance.now() - started;
      assert.ok(envelope.ok, JSON.stringify(envelope).slice(0, 500));
      const view = envelope.value as FolderVerification;
      // The dispatcher checked it already; checked again here to say so.
      contract['verification.verifyFolder'].response.parse(view);
      assert.ok(ms < 60_000, `${Math.round(ms)} ms`);
      assert.equal(view.outcome, 'failed', view.problem ?? '');
      assert.equal(view.exitCode, 1);
      assert.equal(view.groups.length, 500);
      assert.equal(view.groups[0]?.title, 'Products folder');
      assert.match(
        view.groups[0]?.checks[0]?.detail ?? '',
        /and 19,980 more; only device folders belong/,
      );
      const last = view.groups.at(-1);
      assert.match(last?.title ?? '', /^103 more folders not shown$/);
      assert.match(last?.checks[0]?.detail ?? '', /vigil verify/);
      const manyKeys = view.groups.find((g) => g.title === 'Device folder a-many-keys');
      assert.equal(manyKeys?.checks.length, 500);
      assert.match(
        manyKeys?.checks.at(-1)?.detail ?? '',
        /^and \d+ more checks not shown here \(\d+ FAIL/,
      );
      // Every check is counted, shown or not.
      assert.ok(view.counts.fail > 1800, JSON.stringify(view.counts));
      assert.ok(view.report.length <= 1_000_000, `${view.report.length} characters`);
      assert.match(
        view.report,
        /more lines not shown here: `vigil verify` on this folder prints the whole report$/,
      );
    } finally {
      core.close();
    }
  });
});

describe('the intact golden records still verify', () => {
  it('passes every golden record and its products', async () => {
    for (const name of readdirSync(golden)) {
      const outcome = await verify(join(golden, name, 'record'));
      assert.ok(outcome.exitCode === 0, `${name}: ${outcome.text}`);
    }
  });
});
