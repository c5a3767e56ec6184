// verifyPivCeremonyArchive on synthetic archives (Docker layout, Vigil's own layout) built at test
// time under a fake Yubico PKI: what passes, and each way a ceremony archive can be wrong.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  isPivArchive,
  verifyPivCeremonyArchive,
  type PivArchiveReport,
} from '../../../../electron/core/products/piv-ceremony-archive.ts';
import { VerifyInputError } from '../../../../electron/core/products/verify-products.ts';
import {
  buildRootJson,
  issueF9,
  issueSlotAttestation,
  makeFakeYubicoPki,
  pem,
  writeDockerArchive,
  type DockerArchive,
  type FakeYubicoPki,
} from '../../../helpers/piv-archive-fixtures.ts';

const scratch = mkdtempSync(join(tmpdir(), 'vigil-piv-archive-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const copyOf = (dir: string) => {
  const target = join(scratch, `copy-${counter++}`);
  cpSync(dir, target, { recursive: true });
  return target;
};
const check = (report: PivArchiveReport, name: string) =>
  report.checks.find((c) => c.check === name);
const deviceCheck = (report: PivArchiveReport, serial: number, name: string) =>
  report.devices
    .find((d) => d.folderSerial === String(serial))
    ?.checks.find((c) => c.check === name);

describe('verifyPivCeremonyArchive (synthetic Docker layout)', () => {
  let pki: FakeYubicoPki;
  let archive: DockerArchive;
  const verify = (path: string, options = {}) =>
    verifyPivCeremonyArchive(path, { trust: pki.trust, ...options });
  const keysDir = (path: string) => join(path, 'ceremony', '2026-06-04', 'keys');

  before(async () => {
    pki = await makeFakeYubicoPki();
    // 3 root (2 of 3), 2 targets (1 of 2), 1 spare.
    archive = await writeDockerArchive(join(scratch, 'docker'), {
      issuer: pki.legacyRoot,
      keyholders: 6,
      rootCount: 3,
      rootThreshold: 2,
      targetsCount: 2,
      targetsThreshold: 1,
      signers: [0, 2],
    });
  });

  it('passes: production chains, roles by public key, one spare, root threshold met', () => {
    const report = verify(archive.dir);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.equal(report.scope, 'repository');
    assert.deepEqual(report.ceremonies, ['2026-06-04']);
    assert.deepEqual(
      report.devices.map((d) => [
        d.folderSerial,
        d.verdict,
        d.isSpare,
        d.rootKeys.flatMap((k) => k.roles),
      ]),
      [
        ['25515000', 'production', false, ['root']],
        ['25515001', 'production', false, ['root']],
        ['25515002', 'production', false, ['root']],
        ['25515003', 'production', false, ['targets']],
        ['25515004', 'production', false, ['targets']],
        ['25515005', 'production', true, []],
      ],
    );
    assert.equal(report.rootMetadata?.file, 'metadata/root.json');
    const root = report.rootMetadata?.roles.find((r) => r.role === 'root');
    assert.deepEqual(root?.signedBy, [archive.rootKeyids[0], archive.rootKeyids[2]]);
    assert.equal(root?.isThresholdMet, true);
    assert.equal(check(report, 'online-keys')?.isWarning, true);
    assert.equal(report.devices[0]?.facts?.isFips, true);
    // The report is plain JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });

  it('finds the archive from the ceremony folder and the keys folder too', () => {
    const ceremony = verify(join(archive.dir, 'ceremony', '2026-06-04'));
    assert.equal(ceremony.scope, 'ceremony');
    assert.equal(ceremony.isOk, true);
    assert.equal(ceremony.rootMetadata?.version, 1);
    const one = verify(join(keysDir(archive.dir), '25515003'));
    assert.equal(one.scope, 'device');
    assert.equal(one.devices.length, 1);
    // The other keyholders are out of scope: named, not failed.
    assert.equal(check(one, 'unattested-keys')?.isOk, true);
    assert.equal(check(one, 'unattested-keys')?.isWarning, true);
    assert.equal(one.isOk, true);
  });

  it('fails a device whose folder name is not the attested serial', () => {
    const copy = copyOf(archive.dir);
    renameSync(join(keysDir(copy), '25515005'), join(keysDir(copy), '12345678'));
    const report = verify(copy);
    assert.equal(report.isOk, false);
    assert.match(
      deviceCheck(report, 12345678, 'serial')?.detail ?? '',
      /attested serial 25515005, but the files are named 12345678/,
    );
    assert.equal(deviceCheck(report, 12345678, 'serial')?.isOk, false);
  });

  it('fails when another device’s attestation is in a keyholder’s folder (the F9 is shared)', () => {
    const copy = copyOf(archive.dir);
    cpSync(
      join(keysDir(copy), '25515004', 'Slot9CAttestation.pem'),
      join(keysDir(copy), '25515003', 'Slot9CAttestation.pem'),
    );
    const report = verify(copy);
    assert.equal(deviceCheck(report, 25515003, 'attestation')?.isOk, true);
    assert.equal(deviceCheck(report, 25515003, 'serial')?.isOk, false);
    assert.equal(check(report, 'duplicate-keys'), undefined, 'same serial twice is one device');
    assert.equal(report.isOk, false);
  });

  it('fails a device folder without its F9 certificate', () => {
    const copy = copyOf(archive.dir);
    rmSync(join(keysDir(copy), '25515001', 'SlotF9Intermediate.pem'));
    const report = verify(copy);
    assert.match(
      deviceCheck(report, 25515001, 'files')?.detail ?? '',
      /SlotF9Intermediate\.pem is missing/,
    );
    assert.equal(report.devices.find((d) => d.folderSerial === '25515001')?.verdict, 'broken');
    // Its key is then unattested in root.json.
    assert.match(check(report, 'unattested-keys')?.detail ?? '', /root, @keyholder-1/);
    assert.equal(report.isOk, false);
  });

  it('fails an attestation with one flipped signature bit', () => {
    const copy = copyOf(archive.dir);
    const file = join(keysDir(copy), '25515002', 'Slot9CAttestation.pem');
    const der = Buffer.from(
      readFileSync(file, 'utf8').replace(/-----[^-]+-----|\n/g, ''),
      'base64',
    );
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    writeFileSync(
      file,
      `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`,
    );
    const report = verify(copy);
    assert.equal(deviceCheck(report, 25515002, 'attestation')?.isOk, false);
    assert.match(
      deviceCheck(report, 25515002, 'attestation')?.detail ?? '',
      /not signed by the F9 key/,
    );
    assert.equal(report.isOk, false);
  });

  it('fails when root.json holds a key no device attests (key swapped), the device turning spare', async () => {
    const copy = copyOf(archive.dir);
    const [r0, r1, r2, t0, t1] = archive.keyholders;
    assert.ok(r0 && r1 && r2 && t0 && t1);
    const impostor = await issueSlotAttestation(archive.keyholders[0]!.f9, { serial: 99 });
    const swapped = await buildRootJson({
      rootKeys: [r0, r1, r2].map((k) => ({ keys: k.slot.keys })),
      rootThreshold: 2,
      targetsKeys: [{ keys: t0.slot.keys }, { keys: impostor.keys, owner: '@swapped' }],
      targetsThreshold: 1,
      onlineKey: { keys: impostor.keys, onlineUri: 'awskms:x' },
      signers: [0, 1],
    });
    writeFileSync(join(copy, 'metadata', 'root.json'), swapped.json);
    const report = verify(copy);
    assert.equal(report.devices.find((d) => d.folderSerial === '25515004')?.isSpare, true);
    assert.equal(check(report, 'unattested-keys')?.isOk, false);
    assert.match(check(report, 'unattested-keys')?.detail ?? '', /targets, @swapped/);
    assert.equal(report.isOk, false);
  });

  it('fails when fewer root keys signed than the threshold', async () => {
    const copy = copyOf(archive.dir);
    const [r0, r1, r2, t0, t1] = archive.keyholders;
    assert.ok(r0 && r1 && r2 && t0 && t1);
    const short = await buildRootJson({
      rootKeys: [r0, r1, r2].map((k) => ({ keys: k.slot.keys })),
      rootThreshold: 2,
      targetsKeys: [t0, t1].map((k) => ({ keys: k.slot.keys })),
      targetsThreshold: 1,
      onlineKey: { keys: t0.slot.keys },
      signers: [1],
    });
    writeFileSync(join(copy, 'metadata', 'root.json'), short.json);
    const report = verify(copy);
    assert.equal(check(report, 'root-signatures')?.isOk, false);
    assert.match(
      check(report, 'root-signatures')?.detail ?? '',
      /1 of 3 root keys signed, threshold 2/,
    );
    assert.equal(report.isOk, false);
  });

  it('fails when root.json is edited after signing', () => {
    const copy = copyOf(archive.dir);
    const file = join(copy, 'metadata', 'root.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"threshold": 2', '"threshold": 1'));
    const report = verify(copy);
    assert.equal(check(report, 'invalid-signatures')?.isOk, false);
    assert.equal(check(report, 'root-signatures')?.isOk, false);
  });

  it('uses --root-metadata over the one in the archive, and the newest version otherwise', async () => {
    const copy = copyOf(archive.dir);
    const [r0, r1, r2] = archive.keyholders;
    assert.ok(r0 && r1 && r2);
    const other = await buildRootJson({
      rootKeys: [r0, r1].map((k) => ({ keys: k.slot.keys })),
      rootThreshold: 1,
      targetsKeys: [{ keys: r2.slot.keys }],
      targetsThreshold: 1,
      onlineKey: { keys: r2.slot.keys },
      signers: [0],
    });
    const v2 = other.json.replace('"version": 1', '"version": 2');
    mkdirSync(join(copy, 'metadata', 'root_history'));
    writeFileSync(join(copy, 'metadata', 'root_history', '2.root.json'), v2);
    const newest = verify(copy);
    assert.equal(newest.rootMetadata?.file, 'metadata/root_history/2.root.json');
    assert.deepEqual(newest.rootMetadata?.otherFiles, ['metadata/root.json']);
    const explicit = join(scratch, `explicit-${counter++}.json`);
    writeFileSync(explicit, other.json);
    const chosen = verify(copy, { rootMetadata: explicit });
    assert.equal(chosen.rootMetadata?.file, explicit);
    assert.equal(chosen.rootMetadata?.version, 1);
    assert.throws(
      () => verify(copy, { rootMetadata: join(scratch, 'absent.json') }),
      VerifyInputError,
    );
  });

  it('applies the ceremony policy: FIPS, PIN and touch policy, minimum firmware', () => {
    const strict = verify(archive.dir, {
      requireFips: true,
      requirePinPolicy: 'always',
      requireTouchPolicy: 'never',
      minFirmware: [5, 4, 3],
    });
    assert.equal(strict.isOk, true);
    const stricter = verify(archive.dir, {
      requirePinPolicy: 'once',
      requireTouchPolicy: 'always',
      minFirmware: [5, 7, 0],
    });
    assert.equal(stricter.isOk, false);
    const first = stricter.devices[0]?.checks.filter((c) => !c.isOk).map((c) => c.check);
    assert.deepEqual(first, ['require-pin-policy', 'require-touch-policy', 'min-firmware']);
  });

  it('fails --require-fips for a device whose F9 lacks the FIPS extension', async () => {
    const copy = copyOf(archive.dir);
    const f9 = await issueF9({ issuer: pki.legacyRoot });
    const slot = await issueSlotAttestation(f9, { serial: 25515005, formFactor: 0x01 });
    writeFileSync(join(keysDir(copy), '25515005', 'Slot9CAttestation.pem'), pem(slot.attestation));
    writeFileSync(join(keysDir(copy), '25515005', 'SlotF9Intermediate.pem'), pem(f9.certificate));
    assert.equal(verify(copy).isOk, true);
    const report = verify(copy, { requireFips: true });
    assert.equal(deviceCheck(report, 25515005, 'require-fips')?.isOk, false);
    assert.equal(report.isOk, false);
  });

  it('fails one public key attested by two different devices', async () => {
    const copy = copyOf(archive.dir);
    const f9 = archive.keyholders[0]!.f9;
    const clone = await issueSlotAttestation(f9, {
      serial: 25515005,
      keys: archive.keyholders[0]!.slot.keys,
    });
    writeFileSync(join(keysDir(copy), '25515005', 'Slot9CAttestation.pem'), pem(clone.attestation));
    const report = verify(copy);
    assert.match(check(report, 'duplicate-keys')?.detail ?? '', /25515000 and 25515005/);
    assert.equal(report.isOk, false);
  });

  it('refuses a rehearsal device mixed into a production ceremony', async () => {
    const copy = copyOf(archive.dir);
    const f9 = await issueF9({ issuer: pki.rehearsal });
    const slot = await issueSlotAttestation(f9, { serial: 25515005 });
    writeFileSync(join(keysDir(copy), '25515005', 'Slot9CAttestation.pem'), pem(slot.attestation));
    writeFileSync(join(keysDir(copy), '25515005', 'SlotF9Intermediate.pem'), pem(f9.certificate));
    const report = verify(copy);
    assert.equal(report.devices.find((d) => d.folderSerial === '25515005')?.verdict, 'rehearsal');
    assert.equal(check(report, 'rehearsal-mix')?.isOk, false);
    assert.equal(report.isOk, false);
  });
});

describe('verifyPivCeremonyArchive (Vigil keyholder products, no root.json)', () => {
  let pki: FakeYubicoPki;
  let dir: string;

  const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
  before(async () => {
    pki = await makeFakeYubicoPki();
    dir = join(scratch, 'vigil-products');
    const f9 = await issueF9({ issuer: pki.rehearsal });
    const lines: string[] = [];
    for (const serial of [31000001, 31000002]) {
      const slot = await issueSlotAttestation(f9, { serial });
      const folder = join(dir, 'keys', String(serial));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'Slot9CAttestation.pem'), pem(slot.attestation));
      writeFileSync(join(folder, 'SlotF9Intermediate.pem'), pem(f9.certificate));
      writeFileSync(join(folder, 'README.md'), `Keyholder device ${serial}\n`);
      for (const name of ['Slot9CAttestation.pem', 'SlotF9Intermediate.pem', 'README.md'])
        lines.push(`${sha(join(folder, name))}  keys/${serial}/${name}`);
    }
    writeFileSync(join(dir, 'README.md'), 'Vigil rehearsal\n');
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ v: 1, rehearsal: true }));
    writeFileSync(join(dir, 'SHA256SUMS'), `${lines.join('\n')}\n`);
  });

  it('verifies attestations and SHA256SUMS, notes the missing root.json, marks rehearsal', () => {
    const report = verifyPivCeremonyArchive(dir, { trust: pki.trust });
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.equal(report.isRehearsal, true);
    assert.equal(report.rootMetadata, null);
    assert.match(check(report, 'root-metadata')?.detail ?? '', /no root\.json/);
    assert.equal(check(report, 'sha256sums')?.detail, '6 files match');
    assert.equal(check(report, 'manifest')?.isOk, true);
    assert.ok(report.devices.every((d) => d.verdict === 'rehearsal' && !d.isSpare));
  });

  it('fails a product file changed after SHA256SUMS, or one not listed', () => {
    const copy = copyOf(dir);
    appendFileSync(join(copy, 'keys', '31000001', 'README.md'), 'edited\n');
    writeFileSync(join(copy, 'keys', '31000002', 'extra.txt'), 'x');
    const report = verifyPivCeremonyArchive(copy, { trust: pki.trust });
    assert.match(check(report, 'sha256sums')?.detail ?? '', /mismatch: keys\/31000001\/README\.md/);
    assert.match(
      check(report, 'sha256sums')?.detail ?? '',
      /not in SHA256SUMS: keys\/31000002\/extra\.txt/,
    );
    assert.equal(report.isOk, false);
  });

  it('fails a manifest that claims production for rehearsal chains', () => {
    const copy = copyOf(dir);
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify({ v: 1, rehearsal: false }));
    const report = verifyPivCeremonyArchive(copy, { trust: pki.trust });
    assert.equal(check(report, 'manifest')?.isOk, false);
    assert.equal(report.isOk, false);
  });
});

describe('isPivArchive and locating', () => {
  it('recognises the layouts and nothing else', async () => {
    const pki = await makeFakeYubicoPki();
    const base = join(scratch, 'detect');
    const f9 = await issueF9({ issuer: pki.legacyRoot });
    const slot = await issueSlotAttestation(f9, { serial: 1 });
    const sigstore = join(base, 'repo', 'ceremony', '2021-06-18', 'keys', '1');
    mkdirSync(sigstore, { recursive: true });
    writeFileSync(join(sigstore, '1_key_cert.pem'), pem(slot.attestation));
    writeFileSync(join(sigstore, '1_device_cert.pem'), pem(f9.certificate));
    assert.equal(isPivArchive(join(base, 'repo')), true);
    assert.equal(isPivArchive(join(base, 'repo', 'ceremony', '2021-06-18')), true);
    assert.equal(isPivArchive(sigstore), true);
    const report = verifyPivCeremonyArchive(join(base, 'repo'), { trust: pki.trust });
    assert.equal(report.devices[0]?.layout, 'sigstore');
    assert.equal(report.isOk, true);
    const products = join(base, 'ceremony-products', 'a1b2');
    mkdirSync(products, { recursive: true });
    writeFileSync(join(products, 'a1b2_root_pubkey.pem'), 'x');
    assert.equal(isPivArchive(join(base, 'ceremony-products')), false);
    assert.equal(isPivArchive(join(base, 'absent')), false);
    assert.throws(
      () => verifyPivCeremonyArchive(join(base, 'ceremony-products'), { trust: pki.trust }),
      VerifyInputError,
    );
  });
});
