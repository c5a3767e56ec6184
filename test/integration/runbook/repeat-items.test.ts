// Issue 19: a v2 runbook performs one procedure for each item of a list (PSF's "GO TO Provisioning
// the token and come back"), on real SoftHSM2 rehearsal tokens through the contract: each item's
// steps name it, its inputs are its own, the serial written for a token is compared with that
// token only, a role is generated once per token (not once per ceremony), and a restart in the
// middle of the second item resumes there with the first item's values intact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Participant, RunbookCeremony, RunbookState } from '../../../shared/model/runbook.ts';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import { verifyProducts } from '../../../electron/core/products/verify-products.ts';
import { CallFailed, caller, FACTORY_SO_PIN, freshDataDir } from '../../helpers/softhsm-token.ts';
import { current, personOf, type Call } from '../../helpers/runbook-calls.ts';

const runbooksDir = mkdtempSync(join(tmpdir(), 'vigil-v2-runbooks-'));
copyFileSync(
  join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'v2', 'two-tokens.yaml'),
  join(runbooksDir, 'two-tokens.yaml'),
);
const PINS = { so: '0a1b2c3d4e5f6071', user: '739164' };
// Two keyholders, each holding one token: each token's keyholder steps are theirs.
const participants: Participant[] = [
  { role: 'ceremony-lead', name: 'Ada Lead' },
  { role: 'witness', name: 'Wim Witness' },
  { role: 'keyholder', name: 'Kim Keyholder', holds: ['token-a'] },
  { role: 'keyholder', name: 'Bo Keyholder', holds: ['token-b'] },
];

const medium = mkdtempSync(join(tmpdir(), 'vigil-v2-medium-'));

function open(dataDir: string) {
  const core = new VigilCore({
    dataDir,
    runbooksDir,
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    pickFolder: () => Promise.resolve(medium),
  });
  return { core, call: caller(core) };
}

/** Who confirms the current step: its performer (the item's holder), else the role's person. */
function whoAt(c: RunbookCeremony | null) {
  const at = current(c);
  const role = at.confirmedBy ?? 'ceremony-lead';
  return { stepNumber: at.number, role, person: at.performer ?? personOf(role) };
}

async function step(call: Call, c: RunbookCeremony | null, value?: string) {
  return call('runbook.confirm', { ...whoAt(c), ...(value === undefined ? {} : { value }) });
}

function perform(call: Call, c: RunbookCeremony | null, credentials: Record<string, string> = {}) {
  return call('runbook.perform', { ...whoAt(c), role: 'keyholder', credentials });
}

const initPins = {
  currentSoPin: FACTORY_SO_PIN,
  newSoPin: PINS.so,
  newSoPinRepeat: PINS.so,
  newUserPin: PINS.user,
  newUserPinRepeat: PINS.user,
};

/** One token's procedure from "connect" to "disconnect": serial typed as `serialTyped(serial)`. */
async function provision(
  call: Call,
  s: RunbookState,
  serialTyped: (serial: string) => string = (serial) => serial,
) {
  const connect = current(s.ceremony);
  assert.match(connect.text, /^Connect Token [AB], P-(256|384)\. Exactly one token/);
  s = await step(call, s.ceremony);
  s = await perform(call, s.ceremony);
  const selected = s.ceremony?.history.at(-1)?.detail ?? '';
  const serial = /serial (\S+)/.exec(selected)?.[1] ?? '';
  assert.ok(serial, selected);
  s = await step(call, s.ceremony, serialTyped(serial));
  s = await perform(call, s.ceremony, initPins);
  s = await perform(call, s.ceremony, { userPin: PINS.user });
  s = await step(call, s.ceremony);
  return { s, serial };
}

describe('a v2 runbook with one procedure for each of two tokens', () => {
  it('names each item at its steps, keeps its inputs apart, and generates a root key on each token', async () => {
    const dataDir = freshDataDir('vigil-v2-');
    let { core, call } = open(dataDir);
    try {
      const a = await call('devices.createRehearsalToken', { label: 'token-a' });
      // Two keyholders must say who holds which token: one holding neither is refused.
      await assert.rejects(
        call('runbook.start', {
          runbookId: 'two-tokens',
          participants: [...participants.slice(0, 3), { role: 'keyholder', name: 'Bo Keyholder' }],
          rehearsal: true,
        }),
        (e: unknown) =>
          e instanceof CallFailed &&
          e.code === 'role-mismatch' &&
          /Nobody holds Token B, P-384: name the keyholder who holds it/.test(e.message),
      );
      let s = await call('runbook.start', {
        runbookId: 'two-tokens',
        participants,
        rehearsal: true,
      });
      s = await step(call, s.ceremony, 'yes');
      const first = current(s.ceremony);
      assert.equal(first.sectionTitle, 'Provisioning the token: Token 1 of 2, Token A, P-256');
      assert.equal(first.performer, 'Kim Keyholder', "token A's keyholder performs its steps");
      const { s: afterA, serial: serialA } = await provision(call, s);
      s = afterA;
      const keyA = s.ceremony?.history.find((h) => /root P-256 key on/.test(h.detail ?? ''));
      assert.ok(keyA, 'token A holds a P-256 root key');

      // Token A is put away; token B is connected. Its procedure asks its own serial again.
      const tokenA = (await call('devices.list', {})).devices.find((d) => d.serial === a.serial);
      assert.ok(tokenA);
      await call('devices.removeRehearsal', { deviceId: tokenA.id });
      await call('devices.createRehearsalToken', { label: 'token-b' });
      assert.equal(
        current(s.ceremony).sectionTitle,
        'Provisioning the token: Token 2 of 2, Token B, P-384',
      );
      // The outline lists each token with its state: A done (with its serial), B current.
      assert.deepEqual(
        s.ceremony?.outline
          .filter((o) => o.item)
          .map((o) => [
            o.item?.index,
            o.item?.label,
            o.status,
            o.item?.deviceSerial,
            o.item?.holder,
          ]),
        [
          [1, 'Token A, P-256', 'done', serialA, 'Kim Keyholder'],
          [2, 'Token B, P-384', 'current', null, 'Bo Keyholder'],
        ],
      );
      s = await call('runbook.recordException', {
        stepNumber: current(s.ceremony).number,
        role: 'witness',
        person: personOf('witness'),
        expected: 'Token B in its sealed bag',
        happened: 'The bag of token B was torn at one corner',
        decision: 'Continue; photographed',
      });
      assert.deepEqual(
        s.ceremony?.outline.map((o) => o.exceptions),
        [0, 0, 1, 0],
      );
      // Token B has no keys yet: token A's fingerprints are not offered in its procedure.
      assert.deepEqual(s.ceremony?.itemInFocus, { deviceSerial: null });
      // Token B's steps are Bo's: Kim, a keyholder too, cannot confirm them.
      const connectB = current(s.ceremony);
      assert.equal(connectB.performer, 'Bo Keyholder');
      await assert.rejects(
        call('runbook.confirm', {
          stepNumber: connectB.number,
          role: 'keyholder',
          person: 'Kim Keyholder',
        }),
        (e: unknown) =>
          e instanceof CallFailed &&
          e.code === 'role-mismatch' &&
          /Token B, P-384 is held by Bo Keyholder: Bo Keyholder performs its steps/.test(e.message),
      );
      s = await step(call, s.ceremony);
      s = await perform(call, s.ceremony);
      const serialB = /serial (\S+)/.exec(s.ceremony?.history.at(-1)?.detail ?? '')?.[1] ?? '';
      assert.notEqual(serialB, serialA);
      const serialStep = current(s.ceremony);
      assert.equal(serialStep.collect?.id, 'device-serial-written--token-b');
      assert.equal(serialStep.performer, null, 'a witness step is any witness');
      // Token A's serial typed for token B is compared with token B, and refused.
      await assert.rejects(
        step(call, s.ceremony, serialA),
        (e: unknown) => e instanceof CallFailed && e.code === 'input-mismatch',
      );
      s = await step(call, s.ceremony, serialB);

      // Vigil stops here and starts again: the ceremony resumes in token B's procedure.
      core.close();
      ({ core, call } = open(dataDir));
      s = await call('runbook.state', {});
      assert.equal(
        current(s.ceremony).sectionTitle,
        'Provisioning the token: Token 2 of 2, Token B, P-384',
      );
      s = await perform(call, s.ceremony, initPins);
      // The root role was generated on token A already: on token B it is generated again.
      s = await perform(call, s.ceremony, { userPin: PINS.user });
      assert.match(s.ceremony?.history.at(-1)?.detail ?? '', /^root P-384 key on /);
      // Inside token B's procedure, token B's keys are the ones the room compares.
      assert.deepEqual(s.ceremony?.itemInFocus, { deviceSerial: serialB });
      s = await step(call, s.ceremony);
      assert.equal(current(s.ceremony).sectionTitle, 'Closing');
      assert.equal(s.ceremony?.itemInFocus, null);
      // Both tokens' products, one device folder each, as PSF's ceremony-products/ holds them.
      assert.deepEqual(
        s.ceremony?.productSets.map((p) => [p.serial, p.keys.map((k) => k.curve)]),
        [
          [serialA, ['P-256']],
          [serialB, ['P-384']],
        ],
      );
      const target = await call('media.pickFolder', {});
      s = await call('runbook.perform', {
        stepNumber: current(s.ceremony).number,
        role: 'ceremony-lead',
        person: personOf('ceremony-lead'),
        credentials: {},
        targetId: target.id,
      });
      assert.equal(s.ceremony?.exports.length, 2, 'one report a device folder');
      const report = verifyProducts(join(medium, 'ceremony-products'));
      assert.equal(report.isOk, true, JSON.stringify(report));
      assert.deepEqual(
        report.devices.map((d) => [d.serial, d.isOk]).sort(),
        [
          [serialA, true],
          [serialB, true],
        ].sort(),
      );
      s = await step(call, s.ceremony);
      assert.equal(s.ceremony?.current, null);
      // The record holds both device folders as exported, and verifies.
      const recordDir = join(dataDir, 'records', s.ceremony?.ceremonyId ?? '');
      assert.equal(verifyRecord(recordDir).isOk, true);
      // The transcript says who held which token, and who performed each of its steps.
      const transcript = JSON.parse(readFileSync(join(recordDir, 'transcript.json'), 'utf8')) as {
        participants: { name: string; holds?: string[] }[];
        steps: { section: { id: string }; confirmedBy: { role: string; name: string } | null }[];
      };
      assert.deepEqual(
        transcript.participants.map((p) => [p.name, p.holds ?? null]),
        [
          ['Ada Lead', null],
          ['Wim Witness', null],
          ['Kim Keyholder', ['Token A, P-256']],
          ['Bo Keyholder', ['Token B, P-384']],
        ],
      );
      const keyholderSteps = (sectionId: string) =>
        new Set(
          transcript.steps
            .filter((t) => t.section.id === sectionId && t.confirmedBy?.role === 'keyholder')
            .map((t) => t.confirmedBy?.name),
        );
      assert.deepEqual(keyholderSteps('provisioning-token--token-a'), new Set(['Kim Keyholder']));
      assert.deepEqual(keyholderSteps('provisioning-token--token-b'), new Set(['Bo Keyholder']));

      const journal = readFileSync(join(dataDir, 'journal', 'journal.jsonl'), 'utf8');
      const inputs = journal
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as { kind: string; detail: { input?: { id: string; value: string } } },
        )
        .flatMap((e) =>
          e.kind === 'runbook.stepCompleted' && e.detail.input ? [e.detail.input] : [],
        );
      assert.deepEqual(
        inputs.map((i) => i.id),
        ['room-ready', 'device-serial-written--token-a', 'device-serial-written--token-b'],
      );
      assert.equal(journal.includes(PINS.user), false);
    } finally {
      core.close();
    }
  });

  it('runs headless with vigil run: each item gets a fresh rehearsal token, the last one put away', () => {
    const vectors = join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'v2');
    const out = join(mkdtempSync(join(tmpdir(), 'vigil-v2-run-')), 'record');
    const stick = mkdtempSync(join(tmpdir(), 'vigil-v2-stick-'));
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'vigil.mjs');
    const run = spawnSync(
      process.execPath,
      [
        bin,
        'run',
        join(vectors, 'two-tokens.yaml'),
        '--rehearsal',
        '--answers',
        join(vectors, 'two-tokens.rehearsal.yaml'),
        '--out',
        out,
        '--medium',
        stick,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const tokens = [...run.stdout.matchAll(/rehearsal token (\S+) created/g)].map((m) => m[1]);
    assert.equal(tokens.length, 2);
    assert.match(
      run.stdout,
      new RegExp(`softhsm-rehearsal ${tokens[0]} put away \\(its item is done\\)`),
    );
    assert.match(run.stdout, new RegExp(`Token 2 of 2: rehearsal token ${tokens[1]} created`));
    assert.match(run.stdout, new RegExp(`device-serial-written--token-b = ${tokens[1]}`));
    assert.match(
      run.stdout,
      /products\.export performed: 4 files to \S+\/ceremony-products\/\S+; 4 files to \S+\/ceremony-products\/\S+, read back/,
    );
    const report = verifyProducts(stick);
    assert.equal(report.isOk, true, JSON.stringify(report));
    assert.equal(report.devices.length, 2);
    assert.equal(verifyRecord(out).isOk, true);
  });

  it('runs the bundled PSF ceremony headless: six devices, each by its keyholder, one products folder', () => {
    const runbooks = join(import.meta.dirname, '..', '..', '..', 'resources', 'runbooks');
    const out = join(mkdtempSync(join(tmpdir(), 'vigil-psf-')), 'record');
    const stick = mkdtempSync(join(tmpdir(), 'vigil-psf-stick-'));
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'vigil.mjs');
    const args = ['run', join(runbooks, 'psf-tuf-ceremony.yaml'), '--rehearsal'];
    args.push('--answers', join(runbooks, 'psf-tuf-ceremony.rehearsal.yaml'), '--out', out);
    const run = spawnSync(process.execPath, [bin, ...args, '--medium', stick], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Device 2 of 6: rehearsal YubiHSM 2 \d+ connected/);
    assert.match(run.stdout, /Device 5 of 6: rehearsal token \S+ created/);
    // Each device's keyholder steps are done by the keyholder who holds it.
    const performers = [...run.stdout.matchAll(/(\S+) performed by Rehearsal Keyholder (\w+)/g)];
    assert.deepEqual(
      [...new Set(performers.map((m) => `${m[1]} ${m[2]}`))].filter((p) => p.includes('select')),
      [
        'yubihsm2.selectDevice One',
        'yubihsm2.selectDevice Two',
        'yubihsm2.selectDevice Three',
        'pkcs11.selectToken One',
        'pkcs11.selectToken Two',
        'pkcs11.selectToken Three',
      ],
    );
    const report = verifyProducts(stick);
    assert.equal(report.isOk, true, JSON.stringify(report));
    // Six device folders in PSF's layout, each with its family's manifest and its keys' types.
    const keyTypes = report.devices.map((d) => [
      d.kind,
      d.checks
        .filter((c) => c.check.startsWith('key:'))
        .map((c) => `${c.check} ${/P-(256|384)/.exec(c.detail)?.[0] ?? '?'}`)
        .join(', '),
    ]);
    // Folders are listed by serial, which rehearsal devices draw at random: compare as a set.
    const curvesOf = (kind: string) =>
      keyTypes
        .filter(([k]) => k === kind)
        .map(([, keys]) => keys)
        .sort();
    const kinds = [...new Set(keyTypes.map(([kind]) => kind ?? ''))];
    assert.equal(kinds.length, 2, 'two families of manifest');
    assert.deepEqual(kinds.map((kind) => curvesOf(kind ?? '')).sort(), [
      [
        'key:root P-256, key:targets P-256',
        'key:root P-256, key:targets P-256',
        'key:root P-384, key:targets P-384',
      ],
      [
        'key:root P-256, key:targets P-256',
        'key:root P-384, key:targets P-384',
        'key:root P-384, key:targets P-384',
      ],
    ]);
    // As for every bundled runbook (vigil-run-bundled.N.test.ts): the work folder gone, the record
    // verified by the CLI as a rehearsal, and its transcript a PDF.
    assert.equal(existsSync(join(out, '.vigil-run')), false, 'the work folder is removed');
    const verify = spawnSync(process.execPath, [bin, 'verify', out], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /REHEARSAL/);
    assert.equal(readFileSync(join(out, 'transcript.pdf')).subarray(0, 5).toString(), '%PDF-');
    assert.equal(verifyRecord(out).isOk, true);
  });
});
