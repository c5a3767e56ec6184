// Real public YubiKey PIV ceremony archives (../shared/ceremony-archives, read in place): Docker's
// TUF ceremony of 2024-06-04 and its test keys, Sigstore's 2021 and 2022 root-signing ceremonies,
// and a 5.7.4 chain through Yubico's new PKI; verified against the pinned Yubico certificates, by
// the library and by `vigil verify` as a user runs it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError, parseCommand } from '../../../electron/core/cli/vigil.ts';
import {
  verifyPivCeremonyArchive,
  type PivArchiveReport,
} from '../../../electron/core/products/piv-ceremony-archive.ts';
import {
  loadPivTrust,
  verifyPivAttestation,
} from '../../../electron/devices/yubikey-piv/attestation.ts';
import {
  issueF9,
  issueSlotAttestation,
  makeFakeYubicoPki,
  pem,
} from '../../helpers/piv-archive-fixtures.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';

const docker = join(ceremonyArchivesDir, 'docker-tuf');
const testKeys = join(docker, 'tools', 'key-verification', 'test-keys');
const sigstore = join(ceremonyArchivesDir, 'sigstore-root-signing');
const sigstore2021 = join(sigstore, 'ceremony', '2021-06-18');
const sigstore2022 = join(sigstore, 'ceremony', '2022-10-18');
const tame = join(ceremonyArchivesDir, 'tamemycerts-yubikey57', 'derived');
const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'vigil.mjs');

const check = (report: PivArchiveReport, name: string) =>
  report.checks.find((c) => c.check === name);
const device = (report: PivArchiveReport, serial: string) => {
  const found = report.devices.find((d) => d.folderSerial === serial);
  assert.ok(found, `device ${serial}`);
  return found;
};
const rolesOf = (report: PivArchiveReport, serial: string) =>
  device(report, serial).rootKeys.flatMap((k) => k.roles);

describe('Docker TUF ceremony 2024-06-04 (12 YubiKey 5C NFC FIPS)', () => {
  const report = verifyPivCeremonyArchive(docker);

  it('verifies every device to the Yubico PIV root with the ceremony’s facts', () => {
    assert.equal(report.devices.length, 12);
    for (const d of report.devices) {
      assert.equal(d.verdict, 'production', d.folder);
      assert.deepEqual(d.path, [
        'YubiKey PIV Attestation 9c',
        'Yubico PIV Attestation',
        'Yubico PIV Root CA Serial 263751',
      ]);
      assert.equal(d.facts?.serial, Number(d.folderSerial));
      assert.equal(d.facts.firmware, '5.4.3');
      assert.equal(d.facts.isFips, true);
      assert.deepEqual(d.facts.formFactor, {
        code: 0x83,
        kind: 'usb-c-keychain',
        hasFipsBit: true,
      });
      assert.equal(d.facts.pinPolicy, 'always');
      assert.equal(d.facts.touchPolicy, 'never');
      assert.equal(d.facts.slot, '9c');
    }
  });

  it('matches 9 attested keys to root.json by public key: 5 root, 4 targets, 3 spares', () => {
    const roles = report.devices.map((d) => [
      d.folderSerial,
      d.isSpare ? 'spare' : rolesOf(report, d.folderSerial).join('+'),
    ]);
    assert.deepEqual(roles, [
      ['25515003', 'targets'],
      ['25515137', 'spare'],
      ['25515139', 'targets'],
      ['25515142', 'root'],
      ['25515264', 'root'],
      ['25515267', 'spare'],
      ['25515985', 'spare'],
      ['25515991', 'root'],
      ['25599865', 'root'],
      ['28751258', 'targets'],
      ['28751259', 'targets'],
      ['28751288', 'root'],
    ]);
    // The keyholder named in each README is the key owner root.json names.
    for (const d of report.devices.filter((x) => !x.isSpare))
      assert.deepEqual(
        d.rootKeys.map((k) => k.owner),
        [d.heldBy],
        d.folder,
      );
  });

  it('reports root.json: threshold met, 9c8e1be7’s keyid, the online key, expiry', () => {
    const meta = report.rootMetadata;
    assert.equal(meta?.file, 'metadata/root.json');
    assert.deepEqual(meta.otherFiles, ['metadata/root_history/1.root.json']);
    assert.equal(meta.isExpired, true);
    const root = meta.roles.find((r) => r.role === 'root');
    assert.deepEqual([root?.threshold, root?.signedBy.length, root?.isThresholdMet], [3, 5, true]);
    assert.deepEqual(
      meta.roles.map((r) => [r.role, r.attestedKeys, r.unattestedKeyids.map((k) => k.slice(0, 8))]),
      [
        ['root', 5, []],
        ['snapshot', 0, ['aef160e0']],
        ['targets', 4, []],
        ['timestamp', 0, ['aef160e0']],
      ],
    );
    assert.deepEqual(
      meta.keys
        .filter((k) => k.keyidStatus !== 'matches')
        .map((k) => [k.keyid.slice(0, 8), k.keyidStatus]),
      [['9c8e1be7', 'matches-without-extensions']],
    );
    assert.equal(check(report, 'keyids')?.isWarning, true);
    assert.equal(check(report, 'online-keys')?.isWarning, true);
    assert.equal(check(report, 'root-expiry')?.isWarning, true);
    assert.equal(report.isOk, true);
  });

  it('meets FIPS, PIN always and touch never as required', () => {
    const strict = verifyPivCeremonyArchive(docker, {
      requireFips: true,
      requirePinPolicy: 'always',
      requireTouchPolicy: 'never',
    });
    assert.equal(strict.isOk, true);
    const touch = verifyPivCeremonyArchive(docker, { requireTouchPolicy: 'always' });
    assert.equal(touch.isOk, false);
  });
});

describe('Docker test keys', () => {
  const report = verifyPivCeremonyArchive(testKeys);

  it('passes 25516106, knows 26551025 is not FIPS, and catches folder 12345678 holding 26551025', () => {
    assert.equal(report.scope, 'keys');
    assert.equal(device(report, '25516106').isOk, true);
    const nonFips = device(report, '26551025');
    assert.equal(nonFips.isOk, true);
    assert.equal(nonFips.facts?.isFips, false);
    assert.equal(nonFips.facts.formFactor?.code, 0x01);
    const mismatch = device(report, '12345678');
    assert.equal(mismatch.verdict, 'production');
    assert.equal(mismatch.facts?.serial, 26551025);
    const serial = mismatch.checks.find((c) => c.check === 'serial');
    assert.equal(serial?.isOk, false);
    assert.match(serial.detail, /attested serial 26551025, but the files are named 12345678/);
    assert.equal(report.rootMetadata, null);
    assert.equal(report.isOk, false);
  });

  it('fails 26551025 under --require-fips and passes 25516106 alone', () => {
    const fips = verifyPivCeremonyArchive(join(testKeys, '26551025'), { requireFips: true });
    assert.equal(fips.isOk, false);
    assert.equal(fips.devices[0]?.checks.find((c) => c.check === 'require-fips')?.isOk, false);
    assert.equal(
      verifyPivCeremonyArchive(join(testKeys, '25516106'), { requireFips: true }).isOk,
      true,
    );
  });
});

describe('Sigstore root-signing ceremonies', () => {
  it('2021-06-18: five devices, root v1 with hex raw points, every role 3 of 5 signed', () => {
    const report = verifyPivCeremonyArchive(sigstore2021);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.deepEqual(
      report.devices.map((d) => d.layout),
      Array(5).fill('sigstore'),
    );
    assert.ok(report.devices.every((d) => d.verdict === 'production'));
    assert.deepEqual(
      report.devices.map((d) => d.facts?.firmware),
      ['5.2.6', '5.2.7', '5.2.7', '5.2.7', '5.2.7'],
    );
    assert.ok(report.devices.every((d) => d.facts?.touchPolicy === 'always'));
    assert.ok(
      report.devices.every((d) => d.checks.some((c) => c.check === 'public-key' && c.isOk)),
    );
    assert.deepEqual(
      report.rootMetadata?.keys.map((k) => k.form),
      Array(5).fill('hex'),
    );
    assert.deepEqual(rolesOf(report, '13078778'), ['root', 'snapshot', 'targets', 'timestamp']);
    assert.equal(report.rootMetadata?.file, 'repository/root.json');
  });

  it('2022-10-18: PEM keys of the same devices, 4 of 5 root signatures, old keyids not counted', () => {
    const report = verifyPivCeremonyArchive(sigstore2022);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.equal(report.rootMetadata?.version, 5);
    assert.deepEqual(
      report.rootMetadata.keys.map((k) => k.form),
      Array(7).fill('pem'),
    );
    assert.equal(report.rootMetadata.roles.find((r) => r.role === 'root')?.signedBy.length, 4);
    assert.match(check(report, 'unknown-signers')?.detail ?? '', /2f64fb5e/);
    assert.equal(device(report, '18158855').facts?.firmware, '5.4.3');
    assert.ok(
      report.devices.every((d) => rolesOf(report, d.folderSerial).join() === 'root,targets'),
    );
  });

  it('from the repository root: the newest root.json (v5) decides, the retired 2021 device is a spare', () => {
    const report = verifyPivCeremonyArchive(sigstore);
    assert.deepEqual(report.ceremonies, ['2021-06-18', '2022-10-18']);
    assert.equal(report.rootMetadata?.file, 'ceremony/2022-10-18/repository/root.json');
    assert.deepEqual(
      report.devices.filter((d) => d.isSpare).map((d) => d.folder),
      ['ceremony/2021-06-18/keys/14454335'],
    );
    assert.equal(report.isOk, true);
  });

  it('2021 devices against the 2022 root: the new device’s key has no attestation', () => {
    const report = verifyPivCeremonyArchive(sigstore2021, {
      rootMetadata: join(sigstore2022, 'repository', 'root.json'),
    });
    assert.equal(check(report, 'unattested-keys')?.isOk, false);
    assert.equal(report.isOk, false);
  });
});

describe('YubiKey 5.7.4 through Yubico Attestation Root 1 (TameMyCerts, derived)', () => {
  const trust = loadPivTrust();
  const read = (name: string) => new Uint8Array(readFileSync(join(tame, name)));

  it('chains attestation → F9 → PIV Attestation B 1 → Intermediate B 1 → Root 1', () => {
    const result = verifyPivAttestation(
      {
        attestation: read('csr_5_7_4_standard.attestation.pem'),
        f9: read('csr_5_7_4_standard.f9.pem'),
      },
      trust,
    );
    assert.deepEqual(result.problems, []);
    assert.equal(result.verdict, 'production');
    assert.deepEqual(result.path, [
      'YubiKey PIV Attestation 9a',
      'YubiKey PIV Attestation',
      'Yubico PIV Attestation B 1',
      'Yubico Attestation Intermediate B 1',
      'Yubico Attestation Root 1',
    ]);
    assert.deepEqual(result.facts.firmware, [5, 7, 4]);
    assert.equal(result.facts.serial, 33064031);
    assert.equal(result.facts.pinPolicy, 'once');
    assert.equal(result.facts.touchPolicy, 'cached');
  });

  it('5.7.2 Bio stays on the legacy root; pairing it with the 5.7.4 F9 is broken', () => {
    const legacy = verifyPivAttestation(
      { attestation: read('5_7_2.attestation.pem'), f9: read('5_7_2.f9.pem') },
      trust,
    );
    assert.equal(legacy.verdict, 'production');
    assert.equal(legacy.path.at(-1), 'Yubico PIV Root CA Serial 263751');
    assert.equal(legacy.facts.formFactor?.kind, 'usb-c-bio');
    const mixed = verifyPivAttestation(
      { attestation: read('5_7_2.attestation.pem'), f9: read('csr_5_7_4_standard.f9.pem') },
      trust,
    );
    assert.equal(mixed.verdict, 'broken');
  });
});

function vigil(args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('vigil verify on PIV ceremony archives', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-piv-cli-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('parses the PIV options only when given', () => {
    assert.equal('piv' in parseCommand(['verify', 'x']), false);
    assert.deepEqual(
      parseCommand([
        'verify',
        'x',
        '--root-metadata',
        'r.json',
        '--require-fips',
        '--require-pin-policy',
        'always',
        '--require-touch-policy',
        'never',
        '--min-firmware',
        '5.4.3',
      ]),
      {
        command: 'verify',
        path: 'x',
        isJson: false,
        trustKeys: [],
        requireAttestation: false,
        piv: {
          rootMetadata: 'r.json',
          requireFips: true,
          requirePinPolicy: 'always',
          requireTouchPolicy: 'never',
          minFirmware: [5, 4, 3],
        },
      },
    );
    for (const argv of [
      ['verify', 'x', '--require-pin-policy', 'sometimes'],
      ['verify', 'x', '--require-touch-policy', 'yes'],
      ['verify', 'x', '--min-firmware', '5.4'],
      ['run', 'r.yaml', '--require-fips'],
    ])
      assert.throws(() => parseCommand(argv), UsageError, argv.join(' '));
  });

  it('exits 0 on Docker’s archive with a device table and the root.json findings', () => {
    const { code, out } = vigil([
      'verify',
      docker,
      '--require-fips',
      '--require-pin-policy',
      'always',
    ]);
    assert.equal(code, 0, out);
    assert.match(
      out,
      /DEVICE\s+SERIAL\s+FIRMWARE\s+FORM FACTOR\s+FIPS\s+PIN\s+TOUCH\s+CHAIN\s+ROOT\.JSON/,
    );
    assert.match(
      out,
      /OK\s+2024-06-04\/25515142\s+25515142\s+5\.4\.3\s+usb-c-keychain \(0x83\)\s+yes\s+always\s+never\s+production\s+root/,
    );
    assert.match(out, /2024-06-04\/25515137 .* spare/);
    assert.match(out, /root\s+3\s+5\s+5 \(threshold met\)/);
    assert.match(out, /WARN keyids: 9c8e1be7 reproduces only without the x-… fields/);
    assert.match(out, /verified 12 device\(s\), 3 spare/);
  });

  it('prints the report as JSON with --json', () => {
    const { code, out } = vigil(['verify', sigstore2022, '--json']);
    assert.equal(code, 0);
    const report = JSON.parse(out) as PivArchiveReport;
    assert.equal(report.kind, 'piv-ceremony-archive');
    assert.equal(report.devices.length, 5);
    assert.equal(report.rootMetadata?.version, 5);
    assert.equal(report.isOk, true);
  });

  it('exits 1 on Docker’s test keys (serial mismatch) and on a non-FIPS key under --require-fips', () => {
    const mismatch = vigil(['verify', testKeys]);
    assert.equal(mismatch.code, 1);
    assert.match(
      mismatch.out,
      /FAIL serial: attested serial 26551025, but the files are named 12345678/,
    );
    assert.match(mismatch.out, /verification FAILED/);
    assert.equal(vigil(['verify', join(testKeys, '26551025'), '--require-fips']).code, 1);
    assert.equal(vigil(['verify', join(testKeys, '25516106'), '--require-fips']).code, 0);
  });

  it('exits 1 with --root-metadata naming a root.json the devices do not attest', () => {
    const run = vigil([
      'verify',
      sigstore2021,
      '--root-metadata',
      join(sigstore2022, 'repository', 'root.json'),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.out, /FAIL unattested-keys/);
  });

  it('exits 2 for PIV options on other folders, other options on PIV archives, and bad input', () => {
    const products = join(scratch, 'ceremony-products', 'a1b2');
    mkdirSync(products, { recursive: true });
    writeFileSync(join(products, 'SHA256SUMS'), '');
    for (const args of [
      ['verify', join(scratch, 'ceremony-products'), '--require-fips'],
      ['verify', docker, '--trust-key', 'w.pem'],
      ['verify', docker, '--require-attestation'],
      ['verify', docker, '--root-metadata', join(scratch, 'absent.json')],
      ['verify', docker, '--require-pin-policy', 'sometimes'],
    ]) {
      const run = vigil(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.err, /^vigil: /);
    }
  });

  it('leaves Vigil’s own products to their manifest checker unless a PIV option is given', async () => {
    const pki = await makeFakeYubicoPki();
    const f9 = await issueF9({ issuer: pki.rehearsal });
    const slot = await issueSlotAttestation(f9, { serial: 31000001 });
    const products = join(scratch, 'yubikey-31000001');
    mkdirSync(join(products, 'keys', '31000001'), { recursive: true });
    writeFileSync(
      join(products, 'keys', '31000001', 'Slot9CAttestation.pem'),
      pem(slot.attestation),
    );
    writeFileSync(
      join(products, 'keys', '31000001', 'SlotF9Intermediate.pem'),
      pem(f9.certificate),
    );
    writeFileSync(join(products, 'manifest.json'), JSON.stringify({ v: 1, rehearsal: true }));
    const plain = JSON.parse(vigil(['verify', products, '--json']).out) as { kind?: string };
    assert.equal(plain.kind, undefined);
    const piv = vigil(['verify', products, '--json', '--require-pin-policy', 'always']);
    const report = JSON.parse(piv.out) as PivArchiveReport;
    assert.equal(report.kind, 'piv-ceremony-archive');
    assert.equal(report.isRehearsal, true);
    assert.equal(piv.code, 0);
  });

  it('still routes the PSF YubiHSM layout to the products verifier', () => {
    const psf = join(ceremonyArchivesDir, 'psf-tuf-runbook', 'ceremony', '2020-10-30');
    const run = vigil(['verify', psf, '--json']);
    const report = JSON.parse(run.out) as { kind?: string; devices: { kind: string }[] };
    assert.equal(report.kind, undefined);
    assert.ok(report.devices.some((d) => d.kind === 'psf-layout'));
  });
});
