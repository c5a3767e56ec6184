// `vigil verify` on the PSF TUF runbook's public archive (../shared/ceremony-archives), pointed
// where an auditor points it: the repository's top, the ceremony folder, ceremony-products, and a
// copy of ceremony-products under another name; then copies tampered one file at a time (issue 23,
// items 2 and 6). What to expect of every certificate — which attestation chains, what serial,
// object id and label it claims — is worked out here with openssl and the pinned Yubico
// certificates, never by reading Vigil's output back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  verifyProducts,
  type DeviceFolderReport,
  type VerifyReport,
} from '../../../electron/core/products/verify-products.ts';
import { folderVerificationOf } from '../../../electron/core/verification/folder-verification.ts';
import { formatReport } from '../../../electron/core/verification/products-report.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';

const repo = join(import.meta.dirname, '..', '..', '..');
const trustDir = join(repo, 'resources', 'trust');
const archiveTop = join(ceremonyArchivesDir, 'psf-tuf-runbook');
const CEREMONY = '2020-10-30';
const ceremonyDir = join(archiveTop, 'ceremony', CEREMONY);
const productsDir = join(ceremonyDir, 'ceremony-products');

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'vigil-psf-layouts-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

const run = (command: string, args: string[]) =>
  spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });

/** `vigil` as a person runs it (the built CLI). */
const vigil = (...args: string[]) =>
  run(process.execPath, [join(repo, 'bin', 'vigil.mjs'), ...args]);

// ---- what openssl says -------------------------------------------------------------------------

let scratchCount = 0;
function scratchFile(text: string): string {
  const file = join(work, `openssl-${scratchCount++}.pem`);
  writeFileSync(file, text);
  return file;
}

/** A DER certificate as PEM, converted by openssl. */
function pemOf(derFile: string): string {
  const out = run('openssl', ['x509', '-inform', 'DER', '-in', derFile]);
  assert.equal(out.status, 0, out.stderr);
  return out.stdout;
}

/** openssl's verdict: the certificate chains to the pinned YubiHSM root through `untrusted`. */
function opensslVerifies(certFile: string, untrusted: string[]): boolean {
  const chain = scratchFile(
    [readFileSync(join(trustDir, 'yubico-yubihsm-6742036-sub-ca.pem'), 'utf8'), ...untrusted].join(
      '',
    ),
  );
  const args = ['verify', '-no-CApath', '-CAfile', join(trustDir, 'yubico-yubihsm-root-ca.pem')];
  return run('openssl', [...args, '-untrusted', chain, certFile]).status === 0;
}

/** One YubiHSM extension's DER element (hex), as openssl's asn1parse shows the certificate. */
function extensionHex(derFile: string, arc: number): string | null {
  const lines = run('openssl', ['asn1parse', '-inform', 'DER', '-in', derFile]).stdout.split('\n');
  const at = lines.findIndex((l) => l.endsWith(`:1.3.6.1.4.1.41482.4.${arc}`));
  return at < 0 ? null : (/\[HEX DUMP\]:([0-9A-F]+)/.exec(lines[at + 1] ?? '')?.[1] ?? null);
}

/** A DER INTEGER or UTF8String element's value. */
const integerOf = (hex: string | null) => (hex === null ? null : parseInt(hex.slice(4), 16));
const utf8Of = (hex: string | null) =>
  hex === null ? null : Buffer.from(hex.slice(4), 'hex').toString('utf8');

interface ExpectedKey {
  role: string;
  chains: boolean;
  serial: number | null;
  objectId: number | null;
  label: string | null;
}
interface ExpectedDevice {
  serial: string;
  /** openssl found a device certificate or attestation file to verify. */
  hasAttestation: boolean;
  deviceChains: boolean | null;
  deviceSerial: number | null;
  keys: ExpectedKey[];
}

/** What openssl says of one device folder's certificates. */
function expectedOf(folder: string): ExpectedDevice {
  const serial = folder.split('/').at(-1) ?? '';
  const files = readdirSync(folder);
  const certFile = join(folder, `${serial}_cert.der`);
  const hasCert = files.includes(`${serial}_cert.der`);
  const devicePem = hasCert ? pemOf(certFile) : null;
  const keys = files
    .map((f) => /^.+_([a-z]+)_attestation\.der$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const file = join(folder, m[0]);
      return {
        role: m[1] ?? '',
        chains: devicePem !== null && opensslVerifies(file, [devicePem]),
        serial: integerOf(extensionHex(file, 2)),
        objectId: integerOf(extensionHex(file, 6)),
        label: utf8Of(extensionHex(file, 9)),
      };
    })
    .sort((a, b) => a.role.localeCompare(b.role));
  return {
    serial,
    hasAttestation: hasCert || keys.length > 0,
    deviceChains: hasCert ? opensslVerifies(certFile, []) : null,
    deviceSerial: hasCert ? integerOf(extensionHex(certFile, 2)) : null,
    keys,
  };
}

const expectedAll = (folder: string) =>
  readdirSync(folder)
    .sort()
    .map((name) => expectedOf(join(folder, name)));

// ---- copies to tamper --------------------------------------------------------------------------

/** ceremony-products copied file by file (regular files only, writable) to `to`. */
function copyProducts(to: string): string {
  for (const device of readdirSync(productsDir)) {
    mkdirSync(join(to, device), { recursive: true });
    for (const file of readdirSync(join(productsDir, device))) {
      const from = join(productsDir, device, file);
      assert.ok(lstatSync(from).isFile(), `${from} is a regular file`);
      copyFileSync(from, join(to, device, file));
      chmodSync(join(to, device, file), 0o644);
    }
  }
  return to;
}

function flipByte(file: string, fromEnd: number): void {
  const bytes = readFileSync(file);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - fromEnd) ^ 0x01, bytes.length - fromEnd);
  writeFileSync(file, bytes);
}

// ---- what Vigil must say -----------------------------------------------------------------------

/** Vigil's report agrees with openssl on every device: attestation state and every field. */
function assertAgreesWithOpenssl(device: DeviceFolderReport, expected: ExpectedDevice): void {
  const where = device.folder;
  const allChain =
    expected.keys.length > 0 && expected.keys.every((k) => k.chains) && expected.deviceChains;
  assert.equal(
    device.attestation,
    !expected.hasAttestation ? 'none' : allChain ? 'chained' : 'broken-chain',
    where,
  );
  if (!expected.hasAttestation) {
    assert.equal(device.attested, null, where);
    assert.equal(device.isRehearsal, null, `${where}: never production without attestation`);
    return;
  }
  assert.equal(device.isRehearsal, allChain ? false : null, where);
  assert.equal(device.attested?.device?.isVerified, expected.deviceChains, where);
  assert.deepEqual(
    device.attested?.keys.map((k) => [k.role, k.isVerified, k.serial, k.objectId, k.label]),
    expected.keys.map((k) => [k.role, k.chains, k.serial, k.objectId, k.label]),
    where,
  );
  // Every check showing a field of a certificate that does not chain says so.
  for (const c of device.checks.filter((c) =>
    /^(serial|origin|capabilities|label):/.test(c.check),
  )) {
    const role = c.check.split(':')[1];
    const key = expected.keys.find((k) => k.role === role);
    const isTrusted = (key?.chains ?? false) && expected.deviceChains === true;
    assert.equal(c.isUnverified === true, !isTrusted, `${where} ${c.check}`);
    assert.equal(/\(unverified\)/.test(c.detail), !isTrusted, `${where} ${c.check}: ${c.detail}`);
  }
}

function assertArchiveReport(report: VerifyReport, ceremony: string | null): void {
  const expected = expectedAll(productsDir);
  assert.deepEqual(
    report.devices.map((d) => d.serial).sort(),
    expected.map((e) => e.serial),
  );
  assert.deepEqual(report.ceremonies, ceremony === null ? [] : [ceremony]);
  for (const device of report.devices) {
    assert.equal(device.ceremony, ceremony, device.folder);
    const want = expected.find((e) => e.serial === device.serial);
    assert.ok(want);
    assertAgreesWithOpenssl(device, want);
  }
  assert.equal(report.isOk, true);
}

describe('the PSF archive as it was published (openssl: 3 YubiHSMs chain, 3 Nitrokeys carry none)', () => {
  it('openssl finds what this test expects of the archive', () => {
    const expected = expectedAll(productsDir);
    assert.deepEqual(
      expected.map((e) => [e.serial, e.hasAttestation, e.keys.every((k) => k.chains)]),
      [
        ['0013200460', true, true],
        ['0013200461', true, true],
        ['0013200462', true, true],
        ['DENK0102947', false, true],
        ['DENK0103189', false, true],
        ['DENK0200473', false, true],
      ],
    );
  });

  it('reads the repository top per ceremony, every device named with its ceremony', () => {
    assertArchiveReport(verifyProducts(archiveTop), CEREMONY);
  });

  it('reads the ceremony folder, ceremony/ itself and ceremony-products as before', () => {
    for (const path of [ceremonyDir, join(archiveTop, 'ceremony'), productsDir])
      assertArchiveReport(verifyProducts(path), CEREMONY);
  });

  it('reads a copy of ceremony-products under another name, with no ceremony', () => {
    const renamed = copyProducts(join(work, 'renamed', 'psf-devices'));
    assertArchiveReport(verifyProducts(renamed), null);
  });

  it('names a stray beside the device folders of a renamed copy by that folder’s name', () => {
    const renamed = copyProducts(join(work, 'renamed-stray', 'psf-devices'));
    writeFileSync(join(renamed, 'notes.txt'), 'x');
    const report = verifyProducts(renamed);
    assert.equal(report.isOk, false);
    assert.match(
      report.checks.find((c) => c.check === 'products-folder')?.detail ?? '',
      /not a device folder: notes\.txt \(a regular file\); only device folders belong in psf-devices\//,
    );
  });

  it('still calls a Nitrokey folder "no attestation", a warning and never valid', () => {
    const report = verifyProducts(productsDir);
    const text = formatReport(report);
    for (const serial of ['DENK0102947', 'DENK0103189', 'DENK0200473']) {
      assert.match(text, new RegExp(`${serial} \\[no attestation\\] \\(ceremony ${CEREMONY}\\)`));
      const device = report.devices.find((d) => d.serial === serial);
      assert.equal(device?.attestation, 'none');
      assert.deepEqual(
        device.checks.filter((c) => c.check === 'attestation').map((c) => [c.isOk, c.isWarning]),
        [[true, true]],
      );
    }
    const view = folderVerificationOf({ kind: 'products', report });
    const nitrokey = view.groups.find((g) => g.title === 'Device folder DENK0102947');
    assert.equal(nitrokey?.status, 'warn');
    assert.equal(nitrokey.marking, 'unmarked');
    assert.match(nitrokey.facts.find((f) => f.label === 'Attestation')?.value ?? '', /^none/);
    assert.deepEqual(
      nitrokey.facts.find((f) => f.label === 'Ceremony'),
      {
        label: 'Ceremony',
        value: CEREMONY,
      },
    );
  });
});

describe('check names are reason codes: unchanged on the genuine archive', () => {
  it('gives a YubiHSM folder and a Nitrokey folder the checks they always had, in order', () => {
    const report = verifyProducts(productsDir);
    const names = (serial: string) =>
      report.devices.find((d) => d.serial === serial)?.checks.map((c) => c.check);
    const perRole = (role: string) =>
      ['chain', 'serial', 'origin', 'capabilities', 'key', 'label'].map((c) => `${c}:${role}`);
    assert.deepEqual(names('0013200460'), [
      'layout',
      ...perRole('root'),
      ...perRole('targets'),
      'device-certificate',
      'rehearsal',
    ]);
    assert.deepEqual(names('DENK0102947'), ['layout', 'attestation', 'key:root', 'key:targets']);
    // Nothing on the genuine archive is unverified.
    assert.ok(report.devices.every((d) => d.checks.every((c) => c.isUnverified !== true)));
  });
});

describe('a repository of several ceremonies', () => {
  it('verifies each ceremony on its own and says which one a failing device belongs to', () => {
    const top = join(work, 'repository');
    copyProducts(join(top, 'ceremony', '2020-10-30', 'ceremony-products'));
    const later = copyProducts(join(top, 'ceremony', '2021-01-01', 'ceremony-products'));
    mkdirSync(join(top, 'ceremony', 'notes'));
    copyFileSync(
      join(later, '0013200461', '0013200461_cert.der'),
      join(later, '0013200460', '0013200460_cert.der'),
    );
    const report = verifyProducts(top);
    assert.deepEqual(report.ceremonies, ['2020-10-30', '2021-01-01']);
    assert.equal(report.devices.length, 12);
    const failing = report.devices.filter((d) => !d.isOk);
    assert.deepEqual(
      failing.map((d) => [d.ceremony, d.serial, d.attestation]),
      [['2021-01-01', '0013200460', 'broken-chain']],
    );
    assert.deepEqual(
      report.checks.map((c) => [c.check, c.isOk, c.isWarning]),
      [['ceremonies', true, true]],
    );
    assert.match(report.checks[0]?.detail ?? '', /ceremony\/notes \(no ceremony-products folder\)/);
    assert.match(
      formatReport(report),
      /FAIL \S+\/ceremony\/2021-01-01\/ceremony-products\/0013200460 \[broken chain\] \(ceremony 2021-01-01\)/,
    );
  });
});

describe('tampered copies: a broken chain, its fields unverified', () => {
  const tampers: [string, (products: string) => void][] = [
    [
      'another device’s certificate',
      (products) =>
        copyFileSync(
          join(products, '0013200461', '0013200461_cert.der'),
          join(products, '0013200460', '0013200460_cert.der'),
        ),
    ],
    [
      'a flipped signature byte in the root key attestation',
      (products) => flipByte(join(products, '0013200460', '0013200460_root_attestation.der'), 10),
    ],
    [
      'a flipped signature byte in the device certificate',
      (products) => flipByte(join(products, '0013200460', '0013200460_cert.der'), 10),
    ],
  ];
  for (const [what, tamper] of tampers) {
    it(`${what}: openssl refuses it, and Vigil says broken chain`, () => {
      const top = join(work, `tampered-${tampers.findIndex(([w]) => w === what)}`);
      const products = copyProducts(join(top, 'ceremony', CEREMONY, 'ceremony-products'));
      tamper(products);
      const expected = expectedOf(join(products, '0013200460'));
      assert.ok(
        expected.keys.some((k) => !k.chains),
        'openssl: some key attestation does not chain',
      );
      const report = verifyProducts(top);
      assert.equal(report.isOk, false);
      const device = report.devices.find((d) => d.serial === '0013200460');
      assert.ok(device);
      assert.equal(device.isOk, false);
      assertAgreesWithOpenssl(device, expected);
      assert.equal(device.attestation, 'broken-chain');
      const unverified = expected.keys.find((k) => !k.chains);
      assert.equal(unverified?.serial, 13200460, 'the attestation claims 13200460');
      // The text: a broken chain (never "no attestation"), each claimed field marked.
      const text = formatReport(report);
      const heading = text.split('\n').find((l) => l.includes('/0013200460 '));
      assert.match(heading ?? '', /^FAIL \S+ \[broken chain\] \(ceremony 2020-10-30\)$/);
      assert.doesNotMatch(text, /0013200460 \[no attestation\]/);
      assert.match(text, /serial:root: key attestation 13200460 \(unverified\)/);
      // The window: failing, unmarked, the broken chain and the unverified fields as facts.
      const view = folderVerificationOf({ kind: 'products', report });
      const group = view.groups.find((g) => g.path === device.folder);
      assert.equal(group?.status, 'fail');
      assert.equal(group.marking, 'unmarked');
      assert.match(
        group.facts.find((f) => f.label === 'Attestation')?.value ?? '',
        /^broken chain/,
      );
      assert.match(
        group.facts.find((f) => f.label === 'Key root')?.value ?? '',
        /^serial 13200460 \(unverified\), object 0x0003 \(unverified\) "tuf-root" \(unverified\)/,
      );
      assert.equal(view.exitCode, 1);
      // The other devices are untouched.
      for (const other of report.devices.filter((d) => d !== device)) assert.ok(other.isOk);
    });
  }
});

describe('attestation files without their device certificate', () => {
  it('are a broken chain (the chain cannot be completed), never "no attestation"', () => {
    const products = copyProducts(join(work, 'no-device-cert', 'ceremony-products'));
    rmSync(join(products, '0013200460', '0013200460_cert.der'));
    const expected = expectedOf(join(products, '0013200460'));
    assert.ok(expected.hasAttestation && expected.keys.every((k) => !k.chains));
    const report = verifyProducts(products);
    const device = report.devices.find((d) => d.serial === '0013200460');
    assert.equal(device?.attestation, 'broken-chain');
    assert.equal(device.isRehearsal, null);
    assert.match(
      device.checks.find((c) => c.check === 'device-certificate')?.detail ?? '',
      /0013200460_cert\.der is missing: the chain cannot be completed/,
    );
    assert.match(formatReport(report), /\/0013200460 \[broken chain\]\n/);
  });
});

describe('vigil verify (the built CLI) on the PSF archive', () => {
  // The other paths go through the same verifier in process above; the CLI adds exit codes.
  it('exits 0 on the repository top and a renamed copy', () => {
    const renamed = copyProducts(join(work, 'cli-renamed', 'psf-devices'));
    for (const [path, ceremony] of [
      [archiveTop, CEREMONY],
      [renamed, null],
    ] as const) {
      const text = vigil('verify', path);
      assert.equal(text.status, 0, `${path}\n${text.stdout}${text.stderr}`);
      assert.equal(text.stdout.match(/\[production\]/g)?.length, 3, path);
      assert.equal(text.stdout.match(/\[no attestation\]/g)?.length, 3, path);
      const json = vigil('verify', path, '--json');
      assert.equal(json.status, 0, json.stderr);
      assertArchiveReport(JSON.parse(json.stdout) as VerifyReport, ceremony);
    }
  });

  it('exits 1 on a flipped signature byte', () => {
    for (const [name, tamper] of [
      [
        'flipped',
        (products: string) =>
          flipByte(join(products, '0013200460', '0013200460_targets_attestation.der'), 10),
      ],
    ] as const) {
      const top = join(work, `cli-${name}`);
      const products = copyProducts(join(top, 'ceremony', CEREMONY, 'ceremony-products'));
      tamper(products);
      const text = vigil('verify', top);
      assert.equal(text.status, 1, text.stdout + text.stderr);
      assert.match(text.stdout, /0013200460 \[broken chain\] \(ceremony 2020-10-30\)/);
      assert.match(text.stdout, /key attestation 13200460 \(unverified\)/);
      const json = vigil('verify', top, '--json');
      assert.equal(json.status, 1);
      const device = (JSON.parse(json.stdout) as VerifyReport).devices.find(
        (d) => d.serial === '0013200460',
      );
      assert.equal(device?.attestation, 'broken-chain');
      assertAgreesWithOpenssl(device, expectedOf(join(products, '0013200460')));
    }
  });
});
