// Real public YubiKey PIV ceremony archives (../shared/ceremony-archives, read in place): Docker's
// TUF ceremony of 2024-06-04 and its test keys, Sigstore's 2021 and 2022 root-signing ceremonies,
// and a 5.7.4 chain through Yubico's new PKI; verified against the pinned Yubico certificates, by
// the library and by `vigil verify` as a user runs it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError, parseCommand } from '../../../electron/core/cli/vigil.ts';
import {
  verifyPivCeremonyArchive,
  type PivArchiveReport,
} from '../../../electron/core/products/piv-ceremony-archive.ts';
import { formatPivReport } from '../../../electron/core/verification/piv-report.ts';
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

// Tampered copies of the real archives live here, never in the repository.
const scratch = mkdtempSync(join(tmpdir(), 'vigil-piv-real-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const check = (report: PivArchiveReport, name: string) =>
  report.checks.find((c) => c.check === name);
/** The device with this folder name, in `ceremony` when given (a serial can be in several). */
const device = (report: PivArchiveReport, serial: string, ceremony?: string | null) => {
  const found = report.devices.find(
    (d) => d.folderSerial === serial && (ceremony === undefined || d.ceremony === ceremony),
  );
  assert.ok(found, `device ${serial}`);
  return found;
};
const rolesOf = (report: PivArchiveReport, serial: string, ceremony?: string | null) =>
  device(report, serial, ceremony).rootKeys.flatMap((k) => k.roles);

/** Docker's ceremony and metadata/root.json (no root_history) in a fresh scratch folder. */
function dockerCopy(name: string): string {
  const copy = join(scratch, name);
  cpSync(join(docker, 'ceremony'), join(copy, 'ceremony'), { recursive: true });
  mkdirSync(join(copy, 'metadata'));
  cpSync(join(docker, 'metadata', 'root.json'), join(copy, 'metadata', 'root.json'));
  return copy;
}

/** A PEM certificate with the last byte of its signature flipped (DER stays well-formed). */
function flipSignatureByte(file: string) {
  const der = Buffer.from(readFileSync(file, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  writeFileSync(
    file,
    `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`,
  );
}

type RootJson = {
  signed: { keys: Record<string, { keyval: { public: string } }> };
  signatures: { keyid: string; sig: string }[];
};
const readRoot = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RootJson;

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

  it('from the repository root: each ceremony against its own root.json, both checked', () => {
    const report = verifyPivCeremonyArchive(sigstore);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.deepEqual(report.ceremonies, ['2021-06-18', '2022-10-18']);
    assert.deepEqual(
      report.ceremonyRoots.map((c) => [c.ceremony, c.rootMetadata?.file, c.choice]),
      [
        ['2021-06-18', 'ceremony/2021-06-18/repository/root.json', 'ceremony-folder'],
        ['2022-10-18', 'ceremony/2022-10-18/repository/root.json', 'ceremony-folder'],
      ],
    );
    // The retired 2021 device is no spare: the 2021 root gives it every role, as v1 says.
    assert.deepEqual(
      report.devices.map((d) => [
        d.folder,
        d.rootVersion,
        d.isSpare,
        rolesOf(report, d.folderSerial, d.ceremony),
      ]),
      [
        ...['13078778', '14454335', '14470876', '15938765', '15938791'].map((s) => [
          `ceremony/2021-06-18/keys/${s}`,
          1,
          false,
          ['root', 'snapshot', 'targets', 'timestamp'],
        ]),
        ...['13078778', '14470876', '15938765', '15938791', '18158855'].map((s) => [
          `ceremony/2022-10-18/keys/${s}`,
          5,
          false,
          ['root', 'targets'],
        ]),
      ],
    );
    // Hex keyids for 2021, PEM keyids for 2022: the same physical keys under each root's names.
    assert.equal(
      device(report, '14470876', '2021-06-18').rootKeys[0]?.keyid.slice(0, 8),
      report.ceremonyRoots[0]?.rootMetadata?.keys
        .find((k) => k.attestedBy.includes('ceremony/2021-06-18/keys/14470876'))
        ?.keyid.slice(0, 8),
    );
    assert.ok(report.devices.every((d) => d.isRootTrusted && d.isFactsVerified));
    // Both root.json versions are checked by their own root role; v1's three copies are one.
    assert.deepEqual(
      report.rootVersions.map((v) => [
        v.version,
        v.files.length,
        v.rootSignedBy.length,
        v.rootThreshold,
        v.isTrusted,
        v.usedBy,
      ]),
      [
        [1, 3, 5, 3, true, ['2021-06-18']],
        [5, 1, 4, 3, true, ['2022-10-18']],
      ],
    );
    assert.deepEqual(
      report.checks.filter((c) => c.check === 'root-signatures').map((c) => c.detail),
      [
        'ceremony 2021-06-18: 5 of 5 root keys signed, threshold 3',
        'ceremony 2022-10-18: 4 of 5 root keys signed, threshold 3',
      ],
    );
    // Compatible: `rootMetadata` is still the (last ceremony's) newest root.
    assert.equal(report.rootMetadata?.version, 5);
    const text = formatPivReport(report);
    assert.match(text, /OK\s+2021-06-18\/14454335 .* root\+snapshot\+targets\+timestamp \(v1\)/);
    assert.match(text, /OK\s+2022-10-18\/18158855 .* root\+targets \(v5\)/);
    assert.match(
      text,
      /root\.json for ceremony 2021-06-18: ceremony\/2021-06-18\/repository\/root\.json/,
    );
    assert.match(text, /chosen: it is the root\.json in the ceremony's own folder \(v1\)/);
    assert.doesNotMatch(text, /spare/);
  });

  it('without a root.json of its own, a ceremony takes the newest version naming its keys, not later', () => {
    const repo = join(scratch, 'sigstore-history');
    for (const c of ['2021-06-18', '2022-10-18'])
      cpSync(join(sigstore, 'ceremony', c, 'keys'), join(repo, 'ceremony', c, 'keys'), {
        recursive: true,
      });
    mkdirSync(join(repo, 'metadata', 'root_history'), { recursive: true });
    cpSync(
      join(sigstore2021, 'repository', 'root.json'),
      join(repo, 'metadata', 'root_history', '1.root.json'),
    );
    cpSync(
      join(sigstore2022, 'repository', 'root.json'),
      join(repo, 'metadata', 'root_history', '5.root.json'),
    );
    cpSync(join(sigstore2022, 'repository', 'root.json'), join(repo, 'metadata', 'root.json'));
    const report = verifyPivCeremonyArchive(repo);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    const [of2021, of2022] = report.ceremonyRoots;
    assert.deepEqual(
      [
        of2021?.rootMetadata?.version,
        of2021?.choice,
        of2022?.rootMetadata?.version,
        of2022?.choice,
      ],
      [1, 'ceremony-keys', 5, 'ceremony-keys'],
    );
    assert.match(of2021?.chosenBecause ?? '', /names 5 of the ceremony's 5 attested keys/);
    assert.match(
      of2021?.chosenBecause ?? '',
      /set aside: v5 names a key first attested on 2022-10-18/,
    );
    assert.equal(of2022?.rootMetadata?.file, 'metadata/root.json');
    assert.deepEqual(rolesOf(report, '14454335', '2021-06-18'), [
      'root',
      'snapshot',
      'targets',
      'timestamp',
    ]);
    // --root-metadata still decides for every ceremony.
    const given = verifyPivCeremonyArchive(sigstore, {
      rootMetadata: join(sigstore2022, 'repository', 'root.json'),
    });
    assert.deepEqual(
      given.ceremonyRoots.map((c) => [c.ceremony, c.choice, c.rootMetadata?.version]),
      [
        ['2021-06-18', 'given', 5],
        ['2022-10-18', 'given', 5],
      ],
    );
    assert.equal(device(given, '14454335').isSpare, true);
    assert.equal(given.isOk, false, 'v5 names 18158855, which no 2021 device attests');
  });

  it('2021 devices against the 2022 root: the new device’s key has no attestation', () => {
    const report = verifyPivCeremonyArchive(sigstore2021, {
      rootMetadata: join(sigstore2022, 'repository', 'root.json'),
    });
    assert.equal(check(report, 'unattested-keys')?.isOk, false);
    assert.equal(report.isOk, false);
  });
});

describe('tampered copies of the real archives', () => {
  it('a root.json whose root signatures miss the threshold gives no trusted role (spare swapped in)', () => {
    const copy = dockerCopy('docker-swapped-spare');
    const file = join(copy, 'metadata', 'root.json');
    const root = readRoot(file);
    const spareKey = new X509Certificate(
      readFileSync(
        join(copy, 'ceremony', '2024-06-04', 'keys', '25515137', 'Slot9CAttestation.pem'),
      ),
    ).publicKey.export({ type: 'spki', format: 'pem' });
    // @jeanlaurent's root key replaced by the spare's: every signature now fails.
    const swapped = Object.keys(root.signed.keys).find((id) => id.startsWith('08d6f4ca'));
    assert.ok(swapped);
    root.signed.keys[swapped]!.keyval.public = String(spareKey);
    writeFileSync(file, JSON.stringify(root, null, 2));
    const report = verifyPivCeremonyArchive(copy);
    const spare = device(report, '25515137');
    assert.deepEqual(
      [spare.rootKeys.map((k) => k.roles), spare.isSpare, spare.isRootTrusted],
      [[['root']], false, false],
    );
    assert.ok(report.devices.every((d) => !d.isRootTrusted));
    assert.equal(report.rootMetadata?.isTrusted, false);
    const signatures = check(report, 'root-signatures');
    assert.equal(signatures?.isOk, false);
    assert.match(
      signatures.detail,
      /metadata\/root\.json v1 is NOT trusted: 0 of 5 root keys signed, threshold 3, 5 signature\(s\) do not verify; the roles it gives devices are shown as untrusted/,
    );
    assert.equal(check(report, 'invalid-signatures')?.isOk, false);
    const row = spare.checks.find((c) => c.check === 'root-metadata');
    assert.equal(row?.isWarning, true);
    assert.match(
      row.detail,
      /^unverified: key 08d6f4ca holds root; metadata\/root\.json is not trusted/,
    );
    assert.equal(report.isOk, false);
    const text = formatPivReport(report);
    assert.match(text, /OK\s+2024-06-04\/25515137 .* production\s+root\? \(untrusted root\.json\)/);
    assert.match(text, /2024-06-04\/25515142 .* production\s+root\? \(untrusted root\.json\)/);
    assert.match(text, /FAIL root-signatures: metadata\/root\.json v1 is NOT trusted/);
    assert.match(text, /root\.json: metadata\/root\.json \(version 1, .*\) NOT TRUSTED/);
    assert.doesNotMatch(text, /production\s+root\n/);
  });

  it('signatures dropped below the threshold: untrusted, and the intact copy is still checked', () => {
    // Named as the ceremony is: its folder name is its date.
    const copy = join(scratch, 'sigstore-short', '2021-06-18');
    cpSync(sigstore2021, copy, { recursive: true });
    const file = join(copy, 'repository', 'root.json');
    const root = readRoot(file);
    root.signatures = root.signatures.slice(0, 2);
    writeFileSync(file, JSON.stringify(root));
    const report = verifyPivCeremonyArchive(copy);
    assert.equal(report.rootMetadata?.file, 'repository/root.json');
    assert.match(
      check(report, 'root-signatures')?.detail ?? '',
      /NOT trusted: 2 of 5 root keys signed, threshold 3/,
    );
    assert.ok(report.devices.every((d) => d.isRootTrusted === false && d.rootKeys.length === 1));
    // 1.root.json still holds the five signatures: checked, trusted, compared with nothing.
    assert.deepEqual(
      report.rootVersions.map((v) => [v.files.join(), v.isTrusted, v.usedBy]),
      [
        ['repository/1.root.json', true, []],
        ['repository/root.json', false, ['2021-06-18']],
      ],
    );
    assert.match(
      check(report, 'root-version')?.detail ?? '',
      /^v1 \(repository\/1\.root\.json\), compared with no ceremony here: 5 of 5/,
    );
    assert.equal(check(report, 'root-version')?.isOk, true);
    assert.equal(check(report, 'root-version-conflict'), undefined, 'same signed content');
    assert.match(
      formatPivReport(report),
      /root\+snapshot\+targets\+timestamp\? \(untrusted root\.json\)/,
    );
    assert.equal(report.isOk, false);
  });

  it('a root.json edited beside an intact copy of its version: a conflict, the intact one used', () => {
    const copy = join(scratch, 'docker-conflict');
    cpSync(docker, copy, { recursive: true });
    const file = join(copy, 'metadata', 'root.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"threshold": 3', '"threshold": 1'));
    const report = verifyPivCeremonyArchive(copy);
    assert.equal(report.rootMetadata?.file, 'metadata/root_history/1.root.json');
    assert.equal(report.rootMetadata?.isTrusted, true);
    assert.match(check(report, 'root-version-conflict')?.detail ?? '', /2 different root\.json v1/);
    assert.equal(check(report, 'root-version')?.isOk, false);
    assert.equal(report.isOk, false);
  });

  it('facts from an attestation whose signature was flipped are unverified, in JSON and text', () => {
    const copy = dockerCopy('docker-flipped-attestation');
    const keys = join(copy, 'ceremony', '2024-06-04', 'keys');
    flipSignatureByte(join(keys, '25515003', 'Slot9CAttestation.pem'));
    // Another batch's F9 (28751258's) under 25515139's attestation: not signed by that key.
    cpSync(
      join(keys, '28751258', 'SlotF9Intermediate.pem'),
      join(keys, '25515139', 'SlotF9Intermediate.pem'),
    );
    const report = verifyPivCeremonyArchive(copy, { requirePinPolicy: 'always' });
    for (const serial of ['25515003', '25515139']) {
      const d = device(report, serial);
      assert.equal(d.verdict, 'broken', serial);
      assert.equal(d.isFactsVerified, false, serial);
      assert.equal(d.facts?.serial, Number(serial), 'the facts stay, flagged');
      assert.match(
        d.checks.find((c) => c.check === 'serial')?.detail ?? '',
        /\(unverified: the attestation chain failed\)/,
      );
      assert.equal(
        d.checks.find((c) => c.check === 'require-pin-policy')?.isOk,
        false,
        'not proven',
      );
      assert.equal(d.isOk, false);
    }
    assert.equal(device(report, '25515142').isFactsVerified, true);
    // Their keys attest nothing: root.json's targets keys for them are unattested now.
    assert.match(
      check(report, 'unattested-keys')?.detail ?? '',
      /no attestation for cda750ab \(targets, @whalelines\), f2149d8b \(targets, @mrjoelkamp\)/,
    );
    assert.equal(check(report, 'unattested-keys')?.isOk, false);
    const text = formatPivReport(report);
    assert.match(
      text,
      /FAIL\s+2024-06-04\/25515003\s+25515003 \(unverified\)\s+5\.4\.3\?\s+usb-c-keychain \(0x83\)\?\s+yes\?\s+always\?\s+never\?\s+broken\s+targets\? \(unverified key\)/,
    );
    assert.match(text, /\(unverified\), \?: read from an attestation whose chain failed/);
    assert.match(text, /OK\s+2024-06-04\/25515142\s+25515142\s+5\.4\.3\s+usb-c/);
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
        morePaths: [],
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

  it('reads each Sigstore ceremony against its own root.json; --json lists every version', () => {
    const run = vigil(['verify', sigstore]);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /OK\s+2021-06-18\/14454335 .* root\+snapshot\+targets\+timestamp \(v1\)/);
    assert.match(
      run.out,
      /root\.json for ceremony 2022-10-18: ceremony\/2022-10-18\/repository\/root\.json \(version 5/,
    );
    assert.match(run.out, /ok {3}root-signatures: ceremony 2021-06-18: 5 of 5 root keys signed/);
    const report = JSON.parse(vigil(['verify', sigstore, '--json']).out) as PivArchiveReport;
    assert.deepEqual(
      report.ceremonyRoots.map((c) => [c.ceremony, c.rootMetadata?.version, c.choice]),
      [
        ['2021-06-18', 1, 'ceremony-folder'],
        ['2022-10-18', 5, 'ceremony-folder'],
      ],
    );
    assert.deepEqual(
      report.rootVersions.map((v) => [v.version, v.isTrusted]),
      [
        [1, true],
        [5, true],
      ],
    );
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
