// Root v1 from keyholders' YubiKey attestations (issue 20), Docker's way: `keys/<serial>/` holds
// no public key and no role, only the slot 9c attestation, so the key is the attested one and the
// ceremony names who signs for root and for targets. Docker's own 2024 ceremony is the judge: the
// signing lead's lists give exactly the keys of each role in Docker's published root.json. Then the
// Docker shape rehearsed with the built CLI — two keyholders provision YubiKeys in their own
// ceremonies, the lead builds root v1 as a signing event, the root keyholder signs with theirs —
// judged by securesystemslib and openssl and verified with every root key attested. A mistyped
// handle, a tampered attestation and a rehearsal device in a production ceremony are refused.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  attestedDevicesOf,
  rootPlanFromAttestations,
  type AttestedDevice,
} from '../../../electron/core/products/tuf-keys.ts';
import { verifyTufMetadataFolder } from '../../../electron/core/products/tuf-metadata-folder.ts';
import { tufActions } from '../../../electron/core/tuf/ceremony/actions.ts';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import {
  TufMetadataError,
  metadataText,
  rootSigned,
} from '../../../electron/formats/tuf-metadata.ts';
import { parseTufRoot, type TufRoot } from '../../../electron/formats/tuf-root.ts';
import { ceremonyArchivesDir } from '../../helpers/shared-reference.ts';
import { bareActionContext } from '../../helpers/bare-action-context.ts';
import { runRunbookChild } from '../../helpers/runbook-child.ts';
import { freshDataDir } from '../../helpers/softhsm-token.ts';
import { opensslVerifiesEach, sslibVerifies } from '../../helpers/tuf-judges.ts';

const docker = join(ceremonyArchivesDir, 'docker-tuf');
const dockerCeremony = join(docker, 'ceremony', '2024-06-04');
const runbooks = join(import.meta.dirname, '..', '..', '..', 'resources', 'runbooks');
const AT = new Date('2026-12-06T00:00:00Z');

/** The SPKI hex of each key of `role`, sorted. */
function roleSpkis(root: TufRoot, role: string): string[] {
  const ids = root.roles.find((r) => r.name === role)?.keyids ?? [];
  return root.keys
    .filter((k) => ids.includes(k.keyid))
    .map((k) => Buffer.from(k.spki ?? new Uint8Array()).toString('hex'))
    .sort();
}

const dockerRoot = parseTufRoot(readFileSync(join(docker, 'metadata', 'root.json'), 'utf8'));
/** Docker's online key (AWS KMS) as the online roles' key, as its public key file would give it. */
const online = dockerRoot.keys
  .filter((k) => k.onlineUri !== null)
  .map((k) => k.object as unknown as Parameters<typeof rootSigned>[0]['roles']['root']['keys'][0]);
const choices = {
  rootThreshold: 3,
  targetsThreshold: 2,
  expires: '2027-06-04T00:00:00Z',
  consistentSnapshot: true,
  online,
};
// The signing lead's lists, as Docker's root.json names its keyholders.
const ROOT_HOLDERS = [
  '@jeanlaurent',
  '@ingshtrom',
  '@rachel-taylor-docker',
  '@binman-docker',
  '@cdupuis',
];
const TARGETS_HOLDERS = ['@mrjoelkamp', '@kipz', '@jonnystoten', '@whalelines'];

const refusedWith = (pattern: RegExp) => (e: unknown) =>
  e instanceof TufMetadataError && pattern.test(e.message);

describe("TUF root v1 from Docker's keys/<serial>/ attestations", () => {
  const devices = attestedDevicesOf(dockerCeremony, AT);

  it("gives each role exactly the keys of Docker's published root, the spares left out", () => {
    assert.equal(devices.length, 12);
    assert.ok(devices.every((d) => d.verdict === 'production' && d.problems.length === 0));
    const built = rootPlanFromAttestations(
      devices,
      { root: ROOT_HOLDERS, targets: TARGETS_HOLDERS },
      choices,
    );
    const root = parseTufRoot(metadataText(rootSigned(built.plan), []));
    assert.deepEqual(roleSpkis(root, 'root'), roleSpkis(dockerRoot, 'root'));
    assert.deepEqual(roleSpkis(root, 'targets'), roleSpkis(dockerRoot, 'targets'));
    assert.equal(root.roles.find((r) => r.name === 'root')?.threshold, 3);
    assert.deepEqual(built.spares.map((d) => d.holder).sort(), [
      '@LaurentGoderre',
      '@tianon-sso',
      '@yosifkit',
    ]);
    // Each key says whose device holds it, in the order the lead named them.
    const owners = root.roles
      .find((r) => r.name === 'root')
      ?.keyids.map((id) => root.keys.find((k) => k.keyid === id)?.object['x-vigil-keyholder']);
    assert.deepEqual(owners, ROOT_HOLDERS);
    const cdupuis = root.keys.find((k) => k.object['x-vigil-keyholder'] === '@cdupuis');
    assert.equal(cdupuis?.object['x-vigil-device'], '25599865');
    assert.equal(cdupuis?.scheme, 'ecdsa-sha2-nistp384');
  });

  it('takes a handle without its @, in any case, or a device serial', () => {
    const built = rootPlanFromAttestations(
      devices,
      {
        root: ['JEANLAURENT', 'ingshtrom', '25515264', '@binman-docker', '25599865'],
        targets: TARGETS_HOLDERS,
      },
      choices,
    );
    const root = parseTufRoot(metadataText(rootSigned(built.plan), []));
    assert.deepEqual(roleSpkis(root, 'root'), roleSpkis(dockerRoot, 'root'));
  });

  it('refuses a name of no device, a device named for both roles, and a holder of two', () => {
    const build = (root: string[], targets = TARGETS_HOLDERS, from = devices) =>
      rootPlanFromAttestations(from, { root, targets }, choices);
    assert.throws(
      () => build(['@jeanlauren']),
      refusedWith(
        /no device of @jeanlauren in the attestations; they name @whalelines \(25515003\)/,
      ),
    );
    assert.throws(
      () => build(['@kipz', '@cdupuis']),
      refusedWith(/@kipz \(28751259\) is named for root and for targets/),
    );
    // Docker bought two YubiKeys per root keyholder: a holder with two must be named by serial.
    const twice: AttestedDevice[] = devices.map((d) =>
      d.holder === '@yosifkit' ? { ...d, holder: '@cdupuis' } : d,
    );
    assert.throws(
      () => build(['@cdupuis'], TARGETS_HOLDERS, twice),
      refusedWith(/@cdupuis holds 2 devices \(25515267, 25599865\): name the serial/),
    );
    assert.equal(build(['25599865'], TARGETS_HOLDERS, twice).chosen[0]?.serial, '25599865');
    // A threshold the named keys cannot meet.
    assert.throws(
      () => rootSigned(build(['@cdupuis', '@jeanlaurent']).plan),
      refusedWith(/threshold/),
    );
  });

  it("refuses a device whose attestation does not verify: Docker's misfiled test key", () => {
    const testKeys = attestedDevicesOf(join(docker, 'tools', 'key-verification', 'test-keys'), AT);
    const misfiled = testKeys.find((d) => d.serial === '12345678');
    assert.ok(misfiled && misfiled.problems.length > 0);
    assert.throws(
      () =>
        rootPlanFromAttestations(testKeys, { root: ['12345678'], targets: ['25516106'] }, choices),
      refusedWith(
        /attestation of 12345678 \(12345678\) does not verify.*attested serial 26551025, but the files are named 12345678/,
      ),
    );
    // The genuine ones give their keys.
    const built = rootPlanFromAttestations(
      testKeys,
      { root: ['26551025'], targets: ['25516106'] },
      { ...choices, rootThreshold: 1, targetsThreshold: 1 },
    );
    assert.deepEqual(
      built.chosen.map((d) => d.serial),
      ['26551025', '25516106'],
    );
  });
});

describe('the Docker shape rehearsed: keyholders provision, the lead builds, a keyholder signs', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-tuf-attested-'));
  const stick = join(work, 'stick');
  const rootBag = join(work, 'root-keyholder-devices');
  const vigilRun = async (runbook: string, answers: string, out: string, devices?: string) => {
    const run = await runRunbookChild(
      [
        join(runbooks, `${runbook}.yaml`),
        join(runbooks, answers),
        join(work, out),
        '--medium',
        stick,
        ...(devices === undefined ? [] : ['--devices', devices]),
      ],
      { VIGIL_STAND_IN_PDF: '1' },
    );
    assert.equal(run.outcome?.exitCode, 0, `${run.outcome?.lines.join('\n') ?? ''}${run.stderr}`);
  };
  // Only the medium is used of it: the action reads the stick through the core's targets.
  const core = new VigilCore({
    dataDir: freshDataDir('vigil-tuf-attested-core-'),
    runbooksDir: null,
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
  });
  after(() => core.close());
  const targets = core.exportTargets;
  const contextFor = (inputs: Record<string, string>, isRehearsal: boolean) =>
    bareActionContext(targets, targets.addFolder(stick).id, inputs, isRehearsal);
  const action = tufActions['tuf.buildRootFromAttestations'];
  assert.ok(action);
  const build = (inputs: Record<string, string>, isRehearsal = true) =>
    action.perform(
      {
        attestationsFrom: 'folder',
        rootKeyholdersFrom: 'root',
        targetsKeyholdersFrom: 'targets',
        rootThreshold: 1,
        targetsThreshold: 1,
        expiresInDays: 30,
        onlineKeys: 'online-keys.pem',
      },
      contextFor(
        {
          folder: 'ceremony-products',
          root: '@rehearsal-keyholder',
          targets: '@rehearsal-targets',
          ...inputs,
        },
        isRehearsal,
      ),
    );

  it('makes root v1 that independent judges accept, every root key attested', async () => {
    await vigilRun('yubikey-keyholder-tuf', 'yubikey-keyholder-tuf.rehearsal.yaml', 'k1', rootBag);
    await vigilRun(
      'yubikey-keyholder-tuf',
      'rehearsal-variants/yubikey-keyholder-tuf.targets.yaml',
      'k2',
      join(work, 'targets-keyholder-devices'),
    );
    await vigilRun(
      'tuf-root-v1-from-attestations',
      'tuf-root-v1-from-attestations.rehearsal.yaml',
      'lead',
    );
    const event = readdirSync(join(stick, 'tuf-root-v1-signing'));
    assert.equal(event.length, 1);
    assert.match(event[0] ?? '', /^0-signatures-/);
    await vigilRun(
      'tuf-sign-event',
      'rehearsal-variants/tuf-sign-event.yubikey.yaml',
      'sign',
      rootBag,
    );

    const file = join(stick, 'tuf-root-v1', 'metadata', 'root.json');
    const text = readFileSync(file, 'utf8');
    const root = parseTufRoot(text);
    // The keys are the YubiKeys' attested keys: the root keyholder's P-384, the targets one's P-256.
    const attested = attestedDevicesOf(stick, new Date());
    const spkiOf = (holder: string) =>
      Buffer.from(attested.find((d) => d.holder === holder)?.spki ?? []).toString('hex');
    assert.deepEqual(roleSpkis(root, 'root'), [spkiOf('@rehearsal-keyholder')]);
    assert.deepEqual(roleSpkis(root, 'targets'), [spkiOf('@rehearsal-targets')]);
    assert.equal((await sslibVerifies(file)).count, 1);
    assert.equal(await opensslVerifiesEach(text), 1);
    const report = verifyTufMetadataFolder(stick);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    const rootKey = report.checks.find((c) => c.check === 'root-key:@rehearsal-keyholder');
    assert.match(rootKey?.detail ?? '', /slot attestation of YubiKey \d{8} .*REHEARSAL CA/);

    // A production ceremony never names a rehearsal YubiKey; a mistyped handle names the others.
    await assert.rejects(
      build({}, false),
      (e: unknown) => e instanceof VigilError && e.code === 'rehearsal-mix-refused',
    );
    await assert.rejects(
      build({ root: '@rehearsal-keyholdr' }),
      (e: unknown) =>
        e instanceof VigilError &&
        e.code === 'input-invalid' &&
        /no device of @rehearsal-keyholdr in the attestations; they name .*@rehearsal-keyholder \(\d{8}\)/.test(
          e.message,
        ),
    );
    await assert.rejects(
      build({ folder: '../elsewhere' }),
      (e: unknown) => e instanceof VigilError && e.code === 'media-not-found',
    );

    // An attestation changed on the stick: its key is no longer taken, and verify fails the key.
    const copy = join(work, 'tampered');
    cpSync(stick, copy, { recursive: true });
    const serial = attested.find((d) => d.holder === '@rehearsal-keyholder')?.serial ?? '';
    const pem = join(
      copy,
      'ceremony-products',
      `yubikey-${serial}`,
      'keys',
      serial,
      'Slot9CAttestation.pem',
    );
    const der = Buffer.from(
      readFileSync(pem, 'utf8')
        .replace(/-----[^-]+-----/g, '')
        .replace(/\s/g, ''),
      'base64',
    );
    der[der.length - 10] = (der[der.length - 10] ?? 0) ^ 0x01; // inside the signature
    writeFileSync(
      pem,
      `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`,
    );
    assert.throws(
      () =>
        rootPlanFromAttestations(
          attestedDevicesOf(copy, new Date()),
          { root: ['@rehearsal-keyholder'], targets: ['@rehearsal-targets'] },
          { ...choices, rootThreshold: 1, targetsThreshold: 1 },
        ),
      refusedWith(/attestation of .*\(@rehearsal-keyholder\) does not verify/),
    );
    const tampered = verifyTufMetadataFolder(copy);
    assert.equal(tampered.isOk, false);
    assert.match(
      tampered.checks.find((c) => c.check === 'root-key:@rehearsal-keyholder')?.detail ?? '',
      /which fails/,
    );
  });
});
