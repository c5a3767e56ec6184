// The runbook engine through the contract's dispatcher, on real SoftHSM2 rehearsal tokens: every
// kind of step, the checks a careful ceremony lead expects, resume, and the record at END.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunbookCeremony } from '../../../shared/model/runbook.ts';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import { CallFailed, caller, FACTORY_SO_PIN, freshDataDir } from '../../helpers/softhsm-token.ts';

const people = [
  { role: 'ceremony-lead', name: 'Ada Lead' },
  { role: 'witness', name: 'Wim Witness' },
  { role: 'keyholder', name: 'Kim Keyholder' },
] as const;
const personOf = (role: string) => people.find((p) => p.role === role)?.name ?? '';
const PINS = { so: '0a1b2c3d4e5f6071', user: '739164' };

function open(dataDir = freshDataDir('vigil-runbook-')) {
  const exportDir = mkdtempSync(join(tmpdir(), 'vigil-runbook-media-'));
  const core = new VigilCore({
    dataDir,
    lsblk: () => Promise.resolve('{"blockdevices":[]}'),
    pickFolder: () => Promise.resolve(exportDir),
  });
  return { core, call: caller(core), dataDir, exportDir };
}

async function rejects(work: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(work, (e: unknown) => e instanceof CallFailed && e.code === code);
}

type Call = ReturnType<typeof caller>;

/** Confirms or answers the current step as the role it asks for. */
async function answer(call: Call, c: RunbookCeremony, value?: string) {
  const step = c.current;
  assert.ok(step, 'a current step');
  const role = step.confirmedBy ?? 'ceremony-lead';
  return call('runbook.confirm', {
    stepNumber: step.number,
    role,
    person: personOf(role),
    ...(value === undefined ? {} : { value }),
  });
}

function current(c: RunbookCeremony | null) {
  assert.ok(c?.current, 'a current step');
  return c.current;
}

async function startRehearsal(call: Call) {
  await call('devices.createRehearsalToken', { label: 'practice' });
  return call('runbook.start', {
    runbookId: 'nitrokey-hsm-tuf',
    participants: [...people],
    rehearsal: true,
  });
}

/** Walks the preparation section with the bag intact; returns the state at the token section. */
async function throughPreparation(call: Call) {
  let s = await startRehearsal(call);
  for (let i = 0; i < 3; i++) s = await answer(call, s.ceremony as RunbookCeremony);
  s = await answer(call, s.ceremony as RunbookCeremony, 'RB-1');
  s = await answer(call, s.ceremony as RunbookCeremony, 'yes');
  return s;
}

describe('runbook engine on SoftHSM2 rehearsal tokens', () => {
  it('lists the bundled runbook and refuses a start that lacks a role or names an unknown runbook', async () => {
    const { core, call } = open();
    try {
      const state = await call('runbook.state', {});
      assert.equal(state.ceremony, null);
      const bundled = state.available.find((r) => r.id === 'nitrokey-hsm-tuf');
      assert.ok(bundled);
      assert.deepEqual(bundled.roles, ['ceremony-lead', 'witness', 'keyholder']);
      assert.equal(bundled.estimateMinutes, 45);
      await rejects(
        call('runbook.start', {
          runbookId: 'nitrokey-hsm-tuf',
          participants: [people[0]],
          rehearsal: true,
        }),
        'role-mismatch',
      );
      await rejects(
        call('runbook.start', { runbookId: 'no-such', participants: [...people], rehearsal: true }),
        'runbook-unknown',
      );
    } finally {
      core.close();
    }
  });

  it('refuses the wrong role, a stale step number and a bad choice, and records who confirmed', async () => {
    const { core, call } = open();
    try {
      const s = await startRehearsal(call);
      const c = s.ceremony as RunbookCeremony;
      const step = current(c);
      assert.equal(step.number, 1);
      assert.equal(step.confirmedBy, 'ceremony-lead');
      assert.equal(step.level, 'MUST');
      assert.equal(c.isRehearsal, true);
      assert.ok(c.signingKey?.fingerprint.words.length === 32, 'signing key shown at start');
      await rejects(
        call('runbook.confirm', { stepNumber: 1, role: 'witness', person: 'Wim Witness' }),
        'role-mismatch',
      );
      await rejects(
        call('runbook.confirm', { stepNumber: 1, role: 'ceremony-lead', person: 'Mallory' }),
        'role-mismatch',
      );
      const after = await answer(call, c);
      // A double click sends the old step number again: refused, nothing skipped.
      await rejects(
        call('runbook.confirm', { stepNumber: 1, role: 'ceremony-lead', person: 'Ada Lead' }),
        'wrong-step',
      );
      assert.equal(current(after.ceremony).number, 2);
      assert.deepEqual(
        after.ceremony?.history.map((h) => [h.number, h.role, h.person, h.outcome]),
        [[1, 'ceremony-lead', 'Ada Lead', 'confirmed']],
      );
      let t = after;
      for (let i = 0; i < 2; i++) t = await answer(call, t.ceremony as RunbookCeremony);
      t = await answer(call, t.ceremony as RunbookCeremony, 'RB-1');
      const choice = current(t.ceremony);
      assert.equal(choice.kind, 'collect');
      assert.deepEqual(choice.collect?.choices, ['yes', 'no']);
      await rejects(answer(call, t.ceremony as RunbookCeremony, 'maybe'), 'input-invalid');
    } finally {
      core.close();
    }
  });

  it('IF bag-intact = no: takes the THEN branch, GOes TO the stop section and ENDs there', async () => {
    const { core, call } = open();
    try {
      let s = await startRehearsal(call);
      for (let i = 0; i < 3; i++) s = await answer(call, s.ceremony as RunbookCeremony);
      s = await answer(call, s.ceremony as RunbookCeremony, 'RB-1');
      s = await answer(call, s.ceremony as RunbookCeremony, 'no');
      const branch = current(s.ceremony);
      assert.deepEqual(branch.branches, [{ input: 'bag-intact', equals: 'no', isThen: true }]);
      s = await answer(call, s.ceremony as RunbookCeremony);
      assert.equal(current(s.ceremony).sectionId, 'stop');
      s = await answer(call, s.ceremony as RunbookCeremony);
      const c = s.ceremony as RunbookCeremony;
      assert.equal(c.current, null);
      assert.ok(c.finished, 'END reached');
      assert.deepEqual(
        c.outline.map((o) => [o.id, o.status]),
        [
          ['preparation', 'done'],
          ['token', 'skipped'],
          ['provisioning', 'skipped'],
          ['products', 'skipped'],
          ['stop', 'done'],
        ],
      );
      const report = verifyRecord(core.runbooks.recordDir());
      assert.equal(report.isOk, true, JSON.stringify(report, null, 2));
    } finally {
      core.close();
    }
  });

  it('checks the written serial against the device and keeps a failed PIN attempt in the history', async () => {
    const { core, call, dataDir } = open();
    try {
      let s = await throughPreparation(call);
      s = await answer(call, s.ceremony as RunbookCeremony);
      const select = current(s.ceremony);
      assert.equal(select.kind, 'action');
      assert.equal(select.action?.name, 'pkcs11.selectToken');
      s = await call('runbook.perform', {
        stepNumber: select.number,
        role: 'keyholder',
        person: 'Kim Keyholder',
      });
      const device = s.ceremony?.device;
      assert.ok(device?.isRehearsal, 'the rehearsal family stands in for smartcard-hsm');
      await rejects(answer(call, s.ceremony as RunbookCeremony, 'DEADBEEF00'), 'input-mismatch');
      s = await answer(call, s.ceremony as RunbookCeremony, device.serial.toLowerCase());
      const init = current(s.ceremony);
      assert.equal(init.action?.name, 'pkcs11.initToken');
      assert.deepEqual(
        init.action?.credentials.map((c) => [c.id, c.repeat]),
        [
          ['currentSoPin', false],
          ['newSoPin', true],
          ['newUserPin', true],
        ],
      );
      assert.match(init.pinHint ?? '', /SO-PIN/);
      const pins = (currentSoPin: string) => ({
        stepNumber: init.number,
        role: 'keyholder' as const,
        person: 'Kim Keyholder',
        credentials: {
          currentSoPin,
          newSoPin: PINS.so,
          newSoPinRepeat: PINS.so,
          newUserPin: PINS.user,
          newUserPinRepeat: PINS.user,
        },
      });
      await rejects(call('runbook.perform', pins('1111111111111111')), 'pin-incorrect');
      const afterFailure = await call('runbook.state', {});
      assert.equal(current(afterFailure.ceremony).number, init.number, 'the step did not advance');
      assert.equal(afterFailure.ceremony?.history.at(-1)?.outcome, 'failed');
      assert.match(current(afterFailure.ceremony).pinHint ?? '', /SO-PIN/);
      s = await call('runbook.perform', pins(FACTORY_SO_PIN));
      assert.equal(current(s.ceremony).collect?.id, 'key-curve');
      const journal = readFileSync(join(dataDir, 'journal', 'journal.jsonl'), 'utf8');
      for (const secret of [PINS.so, PINS.user, FACTORY_SO_PIN, '1111111111111111']) {
        assert.equal(journal.includes(secret), false, 'no PIN reaches the journal');
      }
    } finally {
      core.close();
    }
  });

  it('a production ceremony never uses a rehearsal token', async () => {
    const { core, call } = open();
    try {
      await call('devices.createRehearsalToken', { label: 'practice' });
      let s = await call('runbook.start', {
        runbookId: 'nitrokey-hsm-tuf',
        participants: [...people],
        rehearsal: false,
      });
      for (let i = 0; i < 3; i++) s = await answer(call, s.ceremony as RunbookCeremony);
      s = await answer(call, s.ceremony as RunbookCeremony, 'RB-1');
      s = await answer(call, s.ceremony as RunbookCeremony, 'yes');
      s = await answer(call, s.ceremony as RunbookCeremony);
      const select = current(s.ceremony);
      await rejects(
        call('runbook.perform', {
          stepNumber: select.number,
          role: 'keyholder',
          person: 'Kim Keyholder',
        }),
        'no-device',
      );
    } finally {
      core.close();
    }
  });

  it('resumes after a restart at the same step with its inputs and a newly journalled signing key', async () => {
    const first = open();
    let before: RunbookCeremony;
    try {
      const s = await throughPreparation(first.call);
      before = s.ceremony as RunbookCeremony;
    } finally {
      first.core.close();
    }
    const { core, call } = open(first.dataDir);
    try {
      await core.resumeRunbook();
      const after = (await call('runbook.state', {})).ceremony as RunbookCeremony;
      assert.equal(current(after).number, current(before).number);
      assert.deepEqual(after.inputs, before.inputs);
      assert.notEqual(after.signingKey?.keyId, before.signingKey?.keyId);
      assert.equal(
        core.journal.entries().filter((e) => e.kind === 'runbook.signingKeyReplaced').length,
        1,
      );
      await rejects(
        call('runbook.start', {
          runbookId: 'nitrokey-hsm-tuf',
          participants: [...people],
          rehearsal: true,
        }),
        'ceremony-active',
      );
      const abandoned = await call('runbook.abandon', {
        role: 'ceremony-lead',
        person: 'Ada Lead',
        reason: 'test over',
      });
      assert.equal(abandoned.ceremony, null);
    } finally {
      core.close();
    }
  });

  it('records an exception at any step and exports the finished record with read-back', async () => {
    const { core, call, exportDir } = open();
    try {
      let s = await throughPreparation(call);
      s = await call('runbook.recordException', {
        stepNumber: current(s.ceremony).number,
        role: 'witness',
        person: 'Wim Witness',
        expected: 'The token in its bag',
        happened: 'The bag was opened on camera two minutes late',
        decision: 'Continue',
      });
      assert.equal(s.ceremony?.exceptions.length, 1);
      s = await answer(call, s.ceremony);
      s = await call('runbook.perform', {
        stepNumber: current(s.ceremony).number,
        role: 'keyholder',
        person: 'Kim Keyholder',
      });
      s = await answer(call, s.ceremony as RunbookCeremony, s.ceremony?.device?.serial);
      s = await call('runbook.perform', {
        stepNumber: current(s.ceremony).number,
        role: 'keyholder',
        person: 'Kim Keyholder',
        credentials: {
          currentSoPin: FACTORY_SO_PIN,
          newSoPin: PINS.so,
          newSoPinRepeat: PINS.so,
          newUserPin: PINS.user,
          newUserPinRepeat: PINS.user,
        },
      });
      s = await answer(call, s.ceremony as RunbookCeremony, 'Ed25519');
      for (let i = 0; i < 2; i++) {
        s = await call('runbook.perform', {
          stepNumber: current(s.ceremony).number,
          role: 'keyholder',
          person: 'Kim Keyholder',
          credentials: { userPin: PINS.user },
        });
      }
      assert.deepEqual(
        s.ceremony?.productSets[0]?.keys.map((k) => [k.role, k.curve]),
        [
          ['root', 'Ed25519'],
          ['targets', 'Ed25519'],
        ],
      );
      s = await answer(call, s.ceremony);
      s = await answer(call, s.ceremony as RunbookCeremony);
      const exportStep = current(s.ceremony);
      assert.equal(exportStep.action?.needsTarget, true);
      const target = await call('media.pickFolder', {});
      s = await call('runbook.perform', {
        stepNumber: exportStep.number,
        role: 'ceremony-lead',
        person: 'Ada Lead',
        targetId: target.id,
      });
      assert.equal(s.ceremony?.exports.length, 1);
      s = await call('runbook.perform', {
        stepNumber: current(s.ceremony).number,
        role: 'ceremony-lead',
        person: 'Ada Lead',
      });
      s = await answer(call, s.ceremony as RunbookCeremony);
      s = await answer(call, s.ceremony as RunbookCeremony, 'RB-2');
      const finished = s.ceremony?.finished;
      assert.ok(finished);
      assert.equal(finished.journalHash, core.journal.head.hash);
      await rejects(
        call('runbook.recordException', {
          stepNumber: 1,
          role: 'witness',
          person: 'Wim Witness',
          expected: 'x',
          happened: 'y',
          decision: 'z',
        }),
        'ceremony-finished',
      );
      const report = await call('runbook.exportRecord', { targetId: target.id });
      assert.equal(report.isVerified, true);
      assert.ok(existsSync(join(report.destination, 'ceremony.intoto.dsse.json')));
      const verified = verifyRecord(report.destination);
      assert.equal(verified.isOk, true, JSON.stringify(verified, null, 2));
      const transcript = JSON.parse(
        readFileSync(join(report.destination, 'transcript.json'), 'utf8'),
      ) as { exceptions: unknown[]; rehearsal: boolean; inputs: { id: string }[] };
      assert.equal(transcript.rehearsal, true);
      assert.equal(transcript.exceptions.length, 1);
      assert.deepEqual(
        transcript.inputs.map((i) => i.id),
        ['bag-serial', 'bag-intact', 'device-serial-written', 'key-curve', 'new-bag-serial'],
      );
      assert.ok(exportDir.length > 0);
    } finally {
      core.close();
    }
  });
});
