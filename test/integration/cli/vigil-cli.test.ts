// `vigil` as a user runs it: a subprocess through bin/vigil.mjs, on products made by a real
// SoftHSM2 ceremony and on a data folder holding a real rehearsal token.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatTable } from '../../../electron/formats/text-table.ts';
import { UsageError, parseCommand } from '../../../electron/core/cli/vigil.ts';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import type { VerifyReport } from '../../../electron/core/products/verify-products.ts';
import { freshDataDir } from '../../helpers/softhsm-token.ts';

const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'vigil.mjs');

function vigil(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('parseCommand (pure)', () => {
  it('reads the three commands and --json', () => {
    assert.deepEqual(parseCommand(['devices']), { command: 'devices', isJson: false });
    assert.deepEqual(parseCommand(['devices', '--json']), { command: 'devices', isJson: true });
    assert.deepEqual(parseCommand(['--json', 'verify', '/media/usb']), {
      command: 'verify',
      path: '/media/usb',
      morePaths: [],
      isJson: true,
      trustKeys: [],
      requireAttestation: false,
    });
    assert.deepEqual(parseCommand(['verify', '/media/usb', '--require-attestation']), {
      command: 'verify',
      path: '/media/usb',
      morePaths: [],
      isJson: false,
      trustKeys: [],
      requireAttestation: true,
    });
    // Several paths: certificate files (or folders) scanned for attestations together.
    assert.deepEqual(parseCommand(['verify', 'att.pem', 'f9.der']), {
      command: 'verify',
      path: 'att.pem',
      morePaths: ['f9.der'],
      isJson: false,
      trustKeys: [],
      requireAttestation: false,
    });
    assert.deepEqual(parseCommand(['--help']), { command: 'help' });
    assert.deepEqual(parseCommand(['verify', '-h']), { command: 'help' });
  });

  it('refuses what it does not know, with a reason', () => {
    for (const [argv, reason] of [
      [[], /no command given/],
      [['format-disk'], /unknown command "format-disk"/],
      [['verify'], /a folder, or one or more attestation files/],
      [['verify', 'a', ''], /a folder, or one or more attestation files/],
      [['run', 'r.yaml', '--require-attestation'], /run takes no --require-attestation/],
      [['devices', 'extra'], /takes no arguments/],
      [['devices', '--frobnicate'], /frobnicate/],
    ] as const) {
      assert.throws(
        () => parseCommand(argv),
        (e: unknown) => e instanceof UsageError && reason.test(e.message),
      );
    }
  });

  it('lays out tables in aligned columns', () => {
    assert.equal(
      formatTable([
        ['A', 'BB', 'C'],
        ['ccc', 'd', 'e'],
      ]),
      'A    BB  C\nccc  d   e',
    );
  });
});

describe('vigil verify on products made by a real SoftHSM2 ceremony', () => {
  let work: string;
  let record: string;
  let exportDir: string;
  let deviceFolder: string;

  before(() => {
    // The PSF token ceremony as a keyholder rehearses it: `vigil run` of the bundled runbook.
    work = mkdtempSync(join(tmpdir(), 'vigil-cli-ceremony-'));
    const runbooks = join(import.meta.dirname, '..', '..', '..', 'resources', 'runbooks');
    const run = vigil([
      'run',
      join(runbooks, 'nitrokey-hsm-tuf.yaml'),
      '--rehearsal',
      '--answers',
      join(runbooks, 'nitrokey-hsm-tuf.rehearsal.yaml'),
      '--out',
      join(work, 'record'),
    ]);
    assert.equal(run.code, 0, run.out + run.err);
    record = join(work, 'record');
    exportDir = join(work, 'record', 'products');
    const [serial] = readdirSync(join(exportDir, 'ceremony-products'));
    deviceFolder = join(exportDir, 'ceremony-products', serial ?? '');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('exits 0 and marks the device folder as REHEARSAL', () => {
    const { code, out, err } = vigil(['verify', exportDir]);
    assert.equal(code, 0, out + err);
    assert.match(out, /^OK {3}.*\[REHEARSAL\]$/m);
    assert.doesNotMatch(out, /\[production\]/);
    assert.match(out, /ok {3}key:root: P-256, SPKI SHA-256 [0-9a-f]{64}, generated on device/);
    assert.match(out, /verified 1 device folder/);
  });

  it('shows its progress on a terminal, and clears it before the report; never in a pipe', () => {
    // A real pseudo-terminal (util-linux script), as a person at a console sees vigil verify.
    const pty = spawnSync(
      'script',
      ['-qec', `stty cols 200; ${process.execPath} ${bin} verify ${record}`, '/dev/null'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(pty.status, 0, pty.stdout + pty.stderr);
    const ESC = String.fromCharCode(0x1b);
    // Each progress line: CR, the text, erase to the end of the line.
    const shown = pty.stdout
      .split('\r')
      .filter((part) => part.startsWith('verifying: '))
      .map((part) => part.slice(0, part.indexOf(`${ESC}[K`)));
    assert.ok(shown.length >= 1, JSON.stringify(pty.stdout.slice(0, 400)));
    for (const line of shown)
      assert.match(
        line ?? '',
        /^verifying: \d+ files, \d+\.\d MB read, \d+\.\d s(; reading \S.*)?$/,
      );
    // Cleared, then the report: the report's first line starts at the line's start.
    const cleared = pty.stdout.lastIndexOf(`\r${ESC}[K`);
    assert.ok(cleared > pty.stdout.lastIndexOf('verifying: '));
    assert.ok(pty.stdout.startsWith(`\r${ESC}[Kceremony record `, cleared));
    assert.match(pty.stdout.slice(cleared + 4), /^ceremony record [0-9a-f-]{36} \[REHEARSAL/);
    const piped = vigil(['verify', record]);
    assert.equal(piped.code, 0);
    assert.doesNotMatch(piped.out + piped.err, /verifying: /);
  });

  it('accepts the device folder itself and ceremony-products as the path', () => {
    assert.equal(vigil(['verify', deviceFolder]).code, 0);
    assert.equal(vigil(['verify', join(exportDir, 'ceremony-products')]).code, 0);
  });

  it('prints a machine-readable report with --json', () => {
    const { code, out } = vigil(['verify', exportDir, '--json']);
    assert.equal(code, 0);
    const report = JSON.parse(out) as VerifyReport;
    assert.equal(report.isOk, true);
    assert.equal(report.devices.length, 1);
    assert.equal(report.devices[0]?.isRehearsal, true);
    assert.equal(report.devices[0]?.kind, 'vigil.pkcs11-token-provisioning');
    assert.deepEqual(
      report.devices[0]?.checks.filter((c) => !c.isOk),
      [],
    );
  });

  it('wrote .pem files that openssl accepts, with the fingerprint the manifest states', () => {
    const manifest = JSON.parse(readFileSync(join(deviceFolder, 'manifest.json'), 'utf8')) as {
      keys: { pemFile: string; spkiSha256: string }[];
    };
    assert.equal(manifest.keys.length, 2);
    for (const key of manifest.keys) {
      const pem = join(deviceFolder, key.pemFile);
      execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-noout'], { stdio: 'pipe' });
      const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER']);
      assert.equal(createHash('sha256').update(der).digest('hex'), key.spkiSha256, key.pemFile);
    }
  });

  it('exits 1 with the reason once a product is altered', () => {
    const pem = readdirSync(deviceFolder).find((f) => f.endsWith('_targets_pubkey.pem')) ?? '';
    appendFileSync(join(deviceFolder, pem), '\n');
    const { code, out } = vigil(['verify', exportDir]);
    assert.equal(code, 1);
    assert.match(out, /^FAIL .*\[REHEARSAL\]$/m);
    assert.match(out, /FAIL sha256sums: mismatch: .*_targets_pubkey\.pem/);
    assert.match(out, /verification FAILED/);
    const json = vigil(['verify', exportDir, '--json']);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.out) as VerifyReport).isOk, false);
  });
});

describe('vigil usage and I/O errors', () => {
  it('exits 2 for an unknown command, with one line on stderr', () => {
    const { code, out, err } = vigil(['format-disk']);
    assert.equal(code, 2);
    assert.equal(out, '');
    assert.equal(err, 'vigil: unknown command "format-disk" (see vigil --help)\n');
  });

  it('exits 2 for a missing folder', () => {
    const { code, err } = vigil(['verify', '/nonexistent/vigil-products']);
    assert.equal(code, 2);
    assert.match(err, /^vigil: \/nonexistent\/vigil-products does not exist: check the path$/m);
  });

  it('exits 2 for a folder that holds no products', () => {
    const empty = mkdtempSync(join(tmpdir(), 'vigil-cli-empty-'));
    try {
      const { code, err } = vigil(['verify', empty]);
      assert.equal(code, 2);
      assert.match(err, /no ceremony-products folder and no device folder/);
    } finally {
      rmSync(empty, { recursive: true });
    }
  });

  it('exits 2 for verify without a folder and for an unknown option', () => {
    assert.equal(vigil(['verify']).code, 2);
    assert.equal(vigil(['devices', '--frobnicate']).code, 2);
  });

  it('prints usage with --help and exits 0', () => {
    const { code, out } = vigil(['--help']);
    assert.equal(code, 0);
    assert.match(out, /vigil verify <dir>/);
    assert.match(out, /vigil devices \[--json\]/);
  });
});

describe('vigil devices', () => {
  let dataDir: string;
  let serial: string;

  before(async () => {
    dataDir = freshDataDir('vigil-cli-devices-');
    const core = new VigilCore({ dataDir, lsblk: () => Promise.resolve('{"blockdevices":[]}') });
    try {
      const created = await core
        .dispatcher(() => true)
        .dispatch(null, 'devices.createRehearsalToken', { label: 'cli-test' });
      assert.ok(created.ok, JSON.stringify(created));
      serial = (created.value as { serial: string }).serial;
    } finally {
      core.close();
    }
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lists the rehearsal token of VIGIL_DATA_DIR in a table', () => {
    const { code, out, err } = vigil(['devices'], { VIGIL_DATA_DIR: dataDir });
    assert.equal(code, 0, err);
    assert.match(out, /^MODULE +STATE +PATH$/m);
    assert.match(out, /^SoftHSM2 +loaded /m);
    assert.match(
      out,
      new RegExp(`^REHEARSAL +Rehearsal token \\(SoftHSM2\\) +${serial} +cli-test `, 'm'),
    );
  });

  it('prints the same list as JSON with --json', () => {
    const { code, out } = vigil(['devices', '--json'], { VIGIL_DATA_DIR: dataDir });
    assert.equal(code, 0);
    const list = JSON.parse(out) as {
      devices: { serial: string; label: string; isRehearsal: boolean }[];
      modules: { name: string; isLoaded: boolean }[];
    };
    assert.deepEqual(
      list.devices.map((d) => [d.serial, d.label, d.isRehearsal]),
      [[serial, 'cli-test', true]],
    );
    assert.ok(list.modules.some((m) => m.name === 'SoftHSM2' && m.isLoaded));
  });

  it('reports no token for an empty data folder', () => {
    const empty = freshDataDir('vigil-cli-empty-data-');
    try {
      const { code, out } = vigil(['devices'], { VIGIL_DATA_DIR: empty });
      assert.equal(code, 0);
      assert.match(out, /no token attached/);
      assert.doesNotMatch(out, new RegExp(serial));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('bin/vigil.mjs', () => {
  it('runs the built CLI in plain Node, with no TypeScript loader', () => {
    const text = readFileSync(bin, 'utf8');
    assert.ok(!text.includes('tsx'), 'bin/vigil.mjs loads no TypeScript');
    const { code, out } = vigil(['--help']);
    assert.equal(code, 0);
    assert.match(out, /^Usage:/);
  });

  it('says to run npm run build when the CLI is not built, instead of a stack trace', () => {
    // The same script in a copy of the repository's layout that has no out/.
    const copy = mkdtempSync(join(tmpdir(), 'vigil-unbuilt-'));
    mkdirSync(join(copy, 'bin'));
    copyFileSync(bin, join(copy, 'bin', 'vigil.mjs'));
    const result = spawnSync(process.execPath, [join(copy, 'bin', 'vigil.mjs'), '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /not built yet \(out\/main\/cli\.js is missing\)/);
    assert.match(result.stderr, /Run `npm run build`/);
    assert.ok(!/\n\s+at /.test(result.stderr), 'no stack trace');
  });
});
