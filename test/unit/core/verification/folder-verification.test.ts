// `vigil verify`'s typed report as the window's verdict and tables (folderVerificationOf), and the
// verify call's handler: options that do not fit, files only from main's dialogs, the contract's
// response schema. Real public archives (../shared/ceremony-archives) read in place.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { contract } from '../../../../shared/contract/index.ts';
import {
  RootMetadataSummary,
  type FolderVerification,
  type VerificationGroup,
} from '../../../../shared/model/verification.ts';
import { verifyPivCeremonyArchive } from '../../../../electron/core/products/piv-ceremony-archive.ts';
import { folderVerificationOf } from '../../../../electron/core/verification/folder-verification.ts';
import {
  folderReportText,
  verifyFolder,
  type FolderReport,
} from '../../../../electron/core/verification/verify-folder.ts';
import { VigilCore, type FilePickRequest } from '../../../../electron/core/vigil-core.ts';
import type { RecordReport } from '../../../../electron/core/ceremony-record/record-verification.ts';
import { ceremonyArchivesDir } from '../../../helpers/shared-reference.ts';
import { BARE_VERIFY_REQUEST } from '../../../helpers/verify-request.ts';

const docker = join(ceremonyArchivesDir, 'docker-tuf');
const sigstore = join(ceremonyArchivesDir, 'sigstore-root-signing');
const scratch = mkdtempSync(join(tmpdir(), 'vigil-folder-view-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const factOf = (g: VerificationGroup | undefined, label: string) =>
  g?.facts.find((f) => f.label === label)?.value;
const psf = join(ceremonyArchivesDir, 'psf-tuf-runbook', 'ceremony', '2020-10-30');
const noOptions = { trustKeys: [], requireAttestation: false };
const bareRequest = BARE_VERIFY_REQUEST;

describe('folderVerificationOf', () => {
  it('reads the Docker archive as verified with 3 warnings, production, WARN rows first', async () => {
    const verified = await verifyFolder(docker, noOptions);
    const view = folderVerificationOf(verified);
    assert.equal(view.outcome, 'warnings');
    assert.equal(view.exitCode, 0);
    assert.equal(view.marking, 'production');
    assert.deepEqual(view.markingCounts, { rehearsal: 0, production: 12, unmarked: 0 });
    assert.deepEqual(view.counts, { ok: 49, warn: 3, fail: 0 });
    assert.equal(view.groups.length, 13);
    const [archive, ...devices] = view.groups;
    assert.equal(archive?.kind, 'archive');
    assert.equal(archive.status, 'warn');
    assert.deepEqual(
      archive.checks.map((c) => c.status),
      ['warn', 'warn', 'warn', 'ok'],
    );
    const spare = devices.find((d) => d.title === 'YubiKey 25515137');
    assert.deepEqual(
      spare?.facts.find((f) => f.label === 'root.json role'),
      { label: 'root.json role', value: 'spare (no key in root.json)' },
    );
    assert.equal(view.rootMetadata?.isExpired, true);
    assert.deepEqual(
      view.rootMetadata.roles.map((r) => [r.role, r.isRequired, r.isThresholdMet]),
      [
        ['root', true, true],
        ['snapshot', false, false],
        ['targets', false, false],
        ['timestamp', false, false],
      ],
    );
  });

  it('says how many PSF folders carry no marking, and puts the warning ones first', async () => {
    const view = folderVerificationOf(await verifyFolder(psf, noOptions));
    assert.equal(view.outcome, 'warnings');
    assert.equal(view.marking, 'production');
    assert.deepEqual(view.markingCounts, { rehearsal: 0, production: 3, unmarked: 3 });
    assert.deepEqual(
      view.groups.map((g) => [g.title, g.status, g.marking]),
      [
        ['Device folder DENK0102947', 'warn', 'unmarked'],
        ['Device folder DENK0103189', 'warn', 'unmarked'],
        ['Device folder DENK0200473', 'warn', 'unmarked'],
        ['Device folder 0013200460', 'ok', 'production'],
        ['Device folder 0013200461', 'ok', 'production'],
        ['Device folder 0013200462', 'ok', 'production'],
      ],
    );
  });

  it('fails a device that misses a required policy, FAIL rows first', async () => {
    const verified = await verifyFolder(docker, {
      ...noOptions,
      piv: { requireTouchPolicy: 'always', minFirmware: [5, 7, 0] },
    });
    const view = folderVerificationOf(verified);
    assert.equal(view.outcome, 'failed');
    assert.equal(view.exitCode, 1);
    const device = view.groups[0];
    assert.equal(device?.status, 'fail');
    assert.deepEqual(
      device.checks.slice(0, 2).map((c) => [c.status, c.check]),
      [
        ['fail', 'require-touch-policy'],
        ['fail', 'min-firmware'],
      ],
    );
    assert.equal(view.groups.at(-1)?.kind, 'archive', 'the warning-only table after the failing');
  });

  it('never calls a folder with a FAIL row verified, whatever the report says', () => {
    const report: RecordReport = {
      v: 1,
      kind: 'ceremony-record',
      root: '/r',
      ceremonyId: 'c',
      isRehearsal: null,
      checks: [{ check: 'attestation', isOk: true, detail: 'fine' }],
      signatures: [{ keyid: 'ab'.repeat(32), signer: 'witness', isValid: false, detail: 'bad' }],
      products: null,
      isOk: true,
    };
    const verified: FolderReport = { kind: 'ceremony-record', report };
    const view = folderVerificationOf(verified);
    assert.equal(view.outcome, 'failed');
    assert.equal(view.marking, 'unmarked');
  });
});

describe('folderVerificationOf on PIV archives: each ceremony’s root, trust, unverified facts', () => {
  it('shows each Sigstore ceremony against its own root.json and every version checked', () => {
    const view = folderVerificationOf({
      kind: 'piv-archive',
      report: verifyPivCeremonyArchive(sigstore),
    });
    const meta = RootMetadataSummary.parse(view.rootMetadata);
    assert.deepEqual(
      meta.ceremonyRoots?.map((c) => [c.ceremony, c.file, c.version, c.isTrusted]),
      [
        ['2021-06-18', 'ceremony/2021-06-18/repository/root.json', 1, true],
        ['2022-10-18', 'ceremony/2022-10-18/repository/root.json', 5, true],
      ],
    );
    assert.match(meta.ceremonyRoots?.[0]?.chosenBecause ?? '', /ceremony's own folder/);
    assert.deepEqual(
      meta.versions?.map((v) => [v.version, v.files.length, v.isTrusted, v.usedBy]),
      [
        [1, 3, true, ['2021-06-18']],
        [5, 1, true, ['2022-10-18']],
      ],
    );
    const retired = view.groups.find((g) => g.path === 'ceremony/2021-06-18/keys/14454335');
    assert.equal(factOf(retired, 'Ceremony'), '2021-06-18');
    assert.equal(factOf(retired, 'root.json role'), 'root + snapshot + targets + timestamp');
    assert.equal(factOf(retired, 'root.json'), 'v1 ceremony/2021-06-18/repository/root.json');
    const renewed = view.groups.find((g) => g.path === 'ceremony/2022-10-18/keys/13078778');
    assert.equal(factOf(renewed, 'root.json role'), 'root + targets');
    const archive = view.groups.find((g) => g.kind === 'archive');
    assert.equal(factOf(archive, 'root.json versions'), 'v1 trusted, v5 trusted');
    assert.equal(view.outcome, 'warnings');
  });

  it('marks facts of a failed chain unverified and roles of an untrusted root.json untrusted', () => {
    const copy = join(scratch, 'docker-tampered');
    cpSync(join(docker, 'ceremony'), join(copy, 'ceremony'), { recursive: true });
    mkdirSync(join(copy, 'metadata'));
    // Two root signatures, threshold 3.
    const root = JSON.parse(readFileSync(join(docker, 'metadata', 'root.json'), 'utf8')) as {
      signatures: unknown[];
    };
    root.signatures = root.signatures.slice(0, 2);
    writeFileSync(join(copy, 'metadata', 'root.json'), JSON.stringify(root));
    const pemFile = join(
      copy,
      'ceremony',
      '2024-06-04',
      'keys',
      '25515003',
      'Slot9CAttestation.pem',
    );
    const der = Buffer.from(
      readFileSync(pemFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''),
      'base64',
    );
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    writeFileSync(
      pemFile,
      `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`,
    );
    const view = folderVerificationOf({
      kind: 'piv-archive',
      report: verifyPivCeremonyArchive(copy),
    });
    assert.equal(view.outcome, 'failed');
    const flipped = view.groups.find((g) => g.title === 'YubiKey 25515003');
    assert.equal(factOf(flipped, 'Attested serial'), '25515003 (unverified: the chain failed)');
    assert.equal(factOf(flipped, 'Firmware'), '5.4.3 (unverified: the chain failed)');
    assert.equal(factOf(flipped, 'PIN policy'), 'always (unverified: the chain failed)');
    assert.equal(factOf(flipped, 'Slot'), '9c (unverified: the chain failed)');
    assert.equal(factOf(flipped, 'root.json role'), 'targets? (untrusted root.json)');
    const intact = view.groups.find((g) => g.title === 'YubiKey 25515142');
    assert.equal(factOf(intact, 'Attested serial'), '25515142');
    assert.equal(factOf(intact, 'root.json role'), 'root? (untrusted root.json)');
    const spare = view.groups.find((g) => g.title === 'YubiKey 25515137');
    assert.equal(factOf(spare, 'root.json role'), 'spare? (untrusted root.json)');
    assert.equal(view.rootMetadata?.isTrusted, false);
    const archive = view.groups.find((g) => g.kind === 'archive');
    assert.match(
      archive?.checks.find((c) => c.check === 'root-signatures' && c.status === 'fail')?.detail ??
        '',
      /NOT trusted: 2 of 5 root keys signed, threshold 3/,
    );
  });
});

describe('verification.verifyFolder', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-verify-handler-'));
  const state = { folder: docker as string | null, files: null as string[] | null };
  const dialogs: FilePickRequest[] = [];
  const core = new VigilCore({
    dataDir,
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    pickFolder: () => Promise.resolve(state.folder),
    pickFiles: (request) => {
      dialogs.push(request);
      return Promise.resolve(state.files);
    },
  });
  after(() => core.close());
  const dispatcher = core.dispatcher(() => true);
  const call = async (payload: unknown) =>
    (await dispatcher.dispatch({}, 'verification.verifyFolder', payload)) as
      | { ok: true; value: FolderVerification }
      | { ok: false; error: { code: string; message: string } };

  it('returns the tables and `vigil verify`’s text, valid against the contract', async () => {
    const envelope = await call(bareRequest);
    assert.equal(envelope.ok, true);
    if (!envelope.ok) return;
    contract['verification.verifyFolder'].response.parse(envelope.value);
    assert.equal(
      envelope.value.report,
      await folderReportText(await verifyFolder(docker, noOptions)),
    );
  });

  it('refuses a path in the request: the renderer never names one', async () => {
    const envelope = await call({ ...bareRequest, folder: docker });
    assert.equal(envelope.ok, false);
    if (envelope.ok) return;
    assert.equal(envelope.error.code, 'invalid-request');
    const extra = await call({ ...bareRequest, piv: { ...bareRequest.piv, rootMetadata: '/x' } });
    assert.equal(extra.ok, false);
  });

  it('asks for root.json only for a PIV archive, and a cancelled dialog is no-file-picked', async () => {
    state.files = null;
    const cancelled = await call({
      ...bareRequest,
      piv: { ...bareRequest.piv, rootMetadata: 'pick' },
    });
    assert.equal(cancelled.ok, false);
    if (!cancelled.ok) assert.equal(cancelled.error.code, 'no-file-picked');
    assert.equal(dialogs.at(-1)?.isMultiple, false);
    dialogs.length = 0;
    state.folder = psf;
    const misfit = await call({
      ...bareRequest,
      piv: { ...bareRequest.piv, rootMetadata: 'pick', minFirmware: '5.4.3' },
    });
    assert.equal(misfit.ok, true);
    if (!misfit.ok) return;
    assert.equal(misfit.value.outcome, 'unverifiable');
    assert.equal(misfit.value.exitCode, 2);
    assert.match(
      misfit.value.problem ?? '',
      /“root\.json”, “Minimum firmware” apply only to YubiKey PIV ceremony archives, and this folder is ceremony products/,
    );
    assert.deepEqual(dialogs, []);
  });
});
