// An abandoned ceremony leaves a record (issue 17): its transcript says who abandoned it, at which
// step, when and why, and which steps were done; the per-ceremony key signs it (also when the
// runbook designates a device key: abandoning asks for no PIN); `vigil verify` reports it as
// ABANDONED with exit code 4, never as a pass; a changed byte fails it; it is exported like an END
// record; a crash between the journal line and the record is mended on resume; and another
// ceremony starts right after.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../../electron/core/cli/vigil.ts';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import { Transcript } from '../../../electron/core/transcript/transcript-schema.ts';
import type { VigilCore } from '../../../electron/core/vigil-core.ts';
import type { RunbookCeremony, RunbookState } from '../../../shared/model/runbook.ts';
import {
  answer,
  current,
  people,
  perform,
  toTokenSelection,
  type Call,
} from '../../helpers/runbook-calls.ts';
import {
  CallFailed,
  FACTORY_SO_PIN,
  caller,
  freshDataDir,
  openCore,
} from '../../helpers/softhsm-token.ts';

const windowRunbooks = join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'window');
const REASON = 'The witness had to leave: the room is closed until Monday.';

/** Chromium prints the main record; the others need no real PDF to prove what they prove. */
const standInPdf = (html: string) =>
  Promise.resolve(new TextEncoder().encode(`%PDF-1.4\n% stand-in, ${html.length} bytes\n`));

const rejectsWith = (work: Promise<unknown>, code: string) =>
  assert.rejects(work, (e: unknown) => e instanceof CallFailed && e.code === code);

async function vigil(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(
    args,
    (s) => (out += s + '\n'),
    (s) => (out += s + '\n'),
  );
  return { code, out };
}

function transcriptIn(dir: string): Transcript {
  return Transcript.parse(JSON.parse(readFileSync(join(dir, 'transcript.json'), 'utf8')));
}

describe('a ceremony abandoned mid-way', () => {
  let core: VigilCore;
  let call: Call;
  let exportDir: string;
  let state: RunbookState;
  let before_: RunbookCeremony;
  let dir: string;
  before(async () => {
    exportDir = mkdtempSync(join(tmpdir(), 'vigil-abandoned-media-'));
    core = openCore({ pickFolder: () => Promise.resolve(exportDir) });
    call = caller(core);
    await call('devices.createRehearsalToken', { label: 'left' });
    let c = await toTokenSelection(call, 'RB-7');
    c = (await perform(call, c)).ceremony;
    before_ = c as RunbookCeremony;
    state = await call('runbook.abandon', {
      role: 'witness',
      person: 'Wim Witness',
      reason: REASON,
    });
    dir = join(core.options.dataDir, 'records', before_.ceremonyId);
  });
  after(() => core.close());

  it('refuses someone who is not a participant, and a ceremony at its END', async () => {
    const other = openCore({ printTranscript: standInPdf, runbooksDir: windowRunbooks });
    try {
      const call2 = caller(other);
      let c = (
        await call2('runbook.start', {
          runbookId: 'short-collect',
          participants: [...people],
          rehearsal: true,
        })
      ).ceremony;
      await rejectsWith(
        call2('runbook.abandon', { role: 'witness', person: 'Eve', reason: 'x' }),
        'role-mismatch',
      );
      c = await answer(call2, c, 'RB-1');
      c = await answer(call2, c);
      assert.ok(c?.finished, 'END');
      await rejectsWith(
        call2('runbook.abandon', { role: 'witness', person: 'Wim Witness', reason: 'x' }),
        'ceremony-finished',
      );
    } finally {
      other.close();
    }
  });

  it('journals who, at which step and why, and shows the ceremony as abandoned', () => {
    assert.equal(state.ceremony, null, 'no ceremony is under way');
    const a = state.abandoned;
    assert.ok(a);
    assert.equal(a.ceremonyId, before_.ceremonyId);
    assert.equal(a.step.number, current(before_).number);
    assert.equal(a.step.text, current(before_).text);
    assert.deepEqual([a.role, a.person, a.reason], ['witness', 'Wim Witness', REASON]);
    assert.equal(a.stepsDone, before_.history.length);
    assert.equal(a.isRehearsal, true);
    assert.equal(a.journalHash, core.journal.head.hash);
    assert.equal(a.signingKey?.keyId, before_.signingKey?.keyId, 'the ceremony key signed');
    const line = core.journal.entries().at(-1);
    assert.equal(line?.kind, 'runbook.abandoned');
    assert.deepEqual(line?.detail, {
      ceremonyId: before_.ceremonyId,
      stepNumber: current(before_).number,
      role: 'witness',
      person: 'Wim Witness',
      reason: REASON,
    });
    assert.deepEqual(
      a.record?.map((f) => f.name),
      [
        'ceremony.intoto.dsse.json',
        'journal.jsonl',
        'runbook.yaml',
        'transcript.html',
        'transcript.json',
        'transcript.pdf',
      ],
      'the record, without products',
    );
  });

  it('writes a transcript that says abandoned: when, where, by whom, why, and the steps done', () => {
    const t = transcriptIn(dir);
    assert.equal(t.ending?.kind, 'abandoned');
    assert.equal(t.finishedAt, t.ending.at);
    assert.equal(t.ending.step.number, current(before_).number);
    assert.equal(t.ending.step.text, current(before_).text);
    assert.deepEqual(t.ending.abandonedBy, { role: 'witness', name: 'Wim Witness' });
    assert.equal(t.ending.reason, REASON);
    assert.equal(t.ending.signedBy.keyId, before_.signingKey?.keyId);
    assert.equal(t.steps.length, before_.history.length, 'every step done before it was abandoned');
    assert.ok(t.steps.some((s) => s.action === 'pkcs11.selectToken'));
    assert.deepEqual(t.products, []);
    assert.equal(t.journal.finalHash, core.journal.head.hash);
    const html = readFileSync(join(dir, 'transcript.html'), 'utf8');
    assert.match(html, /ABANDONED — this ceremony did not reach its END/);
    assert.ok(html.includes('The witness had to leave'));
    assert.equal(readFileSync(join(dir, 'transcript.pdf')).subarray(0, 5).toString(), '%PDF-');
  });

  it('verifies, signed by the ceremony key, and reports ABANDONED rather than a pass', async () => {
    const report = verifyRecord(dir);
    assert.equal(report.isOk, true, JSON.stringify(report.checks));
    assert.equal(report.ending, 'abandoned');
    assert.equal(report.abandonment?.person, 'Wim Witness');
    assert.deepEqual(
      report.signatures.map((s) => [s.signer, s.isValid]),
      [['ceremony', true]],
    );
    const ending = report.checks.find((c) => c.check === 'ending');
    assert.equal(ending?.isWarning, true);
    assert.match(ending?.detail ?? '', /ABANDONED at step \d+ .* by Wim Witness \(witness\)/);
    const text = await vigil('verify', dir);
    assert.equal(text.code, 4, text.out);
    assert.match(text.out, /^ceremony record \S+ \[REHEARSAL[^\]]*\] ABANDONED$/m);
    assert.match(text.out, /^ {2}WARN ending: ABANDONED/m);
    assert.match(text.out, /verified, but the ceremony was ABANDONED/);
    assert.doesNotMatch(text.out, /^verified$/m);
    const json = await vigil('verify', dir, '--json');
    assert.equal(json.code, 4);
    const parsed = JSON.parse(json.out) as { ending: string; abandonment: { reason: string } };
    assert.equal(parsed.ending, 'abandoned');
    assert.equal(parsed.abandonment.reason, REASON);
  });

  it('fails verification when one byte of the transcript changes', async () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'vigil-abandoned-tamper-')), 'record');
    cpSync(dir, copy, { recursive: true });
    const path = join(copy, 'transcript.json');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('Monday', 'Mondax'));
    const report = verifyRecord(copy);
    assert.equal(report.isOk, false);
    assert.ok(report.checks.some((c) => c.check === 'subjects' && !c.isOk));
    assert.equal((await vigil('verify', copy)).code, 1);
  });

  it('gives its transcript through runbook.transcript, and nothing for another ceremony', async () => {
    const t = await call('runbook.transcript', { ceremonyId: before_.ceremonyId });
    assert.deepEqual(t, transcriptIn(dir));
    await rejectsWith(
      call('runbook.transcript', { ceremonyId: '00000000-0000-4000-8000-000000000000' }),
      'no-ceremony',
    );
  });

  it('exports the abandoned record to a medium, read back', async () => {
    const target = await call('media.pickFolder', {});
    const report = await call('runbook.exportRecord', { targetId: target.id });
    assert.equal(report.files.length, 6);
    const exported = join(exportDir, 'vigil-records', before_.ceremonyId);
    assert.deepEqual(readdirSync(exported).sort(), readdirSync(dir).sort());
    const verified = verifyRecord(exported);
    assert.equal(verified.isOk, true);
    assert.equal(verified.ending, 'abandoned');
  });

  it('starts another ceremony right after; the abandoned one leaves the state, its record stays', async () => {
    const next = await call('runbook.start', {
      runbookId: 'nitrokey-hsm-tuf',
      participants: [...people],
      rehearsal: true,
    });
    assert.equal(next.abandoned, null);
    assert.equal(next.ceremony?.current?.number, 1);
    assert.notEqual(next.ceremony?.ceremonyId, before_.ceremonyId);
    await rejectsWith(
      call('runbook.transcript', { ceremonyId: next.ceremony?.ceremonyId ?? '' }),
      'wrong-step',
    );
    assert.ok(existsSync(join(dir, 'ceremony.intoto.dsse.json')));
  });
});

describe('the record of an abandoned ceremony, when Vigil stops before writing it', () => {
  it('is written on resume, signed by a newly journalled key, closed by the abandonment again', async () => {
    const dataDir = freshDataDir('vigil-abandoned-crash-');
    // What abandon journals before it writes the record; then Vigil dies.
    const { ceremonyId, oldKey } = await (async () => {
      const first = openCore({ dataDir, printTranscript: standInPdf });
      try {
        const call = caller(first);
        let c = (
          await call('runbook.start', {
            runbookId: 'nitrokey-hsm-tuf',
            participants: [...people],
            rehearsal: true,
          })
        ).ceremony;
        c = await answer(call, c);
        c = await answer(call, c);
        const id = c?.ceremonyId ?? '';
        first.journal.append('runbook.abandoned', {
          ceremonyId: id,
          stepNumber: current(c).number,
          role: 'ceremony-lead',
          person: 'Ada Lead',
          reason: 'power cut',
        });
        return { ceremonyId: id, oldKey: c?.signingKey?.keyId ?? '' };
      } finally {
        first.close();
      }
    })();
    const dir = join(dataDir, 'records', ceremonyId);
    assert.equal(existsSync(dir), false);
    const second = openCore({ dataDir, printTranscript: standInPdf });
    try {
      await second.resumeRunbook();
      const kinds = second.journal
        .entries()
        .slice(-3)
        .map((e) => e.kind);
      assert.deepEqual(kinds, [
        'runbook.abandoned',
        'runbook.signingKeyReplaced',
        'runbook.abandoned',
      ]);
      const report = verifyRecord(dir);
      assert.equal(report.isOk, true, JSON.stringify(report.checks));
      assert.equal(report.ending, 'abandoned');
      assert.equal(report.abandonment?.reason, 'power cut');
      const t = transcriptIn(dir);
      assert.deepEqual(
        t.signingKeys.map((k) => k.keyId)[0],
        oldKey,
        'the key that died is still named',
      );
      assert.equal(t.signingKeys.length, 2);
      assert.equal(t.ending?.signedBy.keyId, t.signingKeys[1]?.keyId);
      const state = await caller(second)('runbook.state', {});
      assert.equal(state.abandoned?.journalHash, second.journal.head.hash);
      // Resuming again changes nothing: the record is complete.
      const entries = second.journal.entries().length;
      await second.resumeRunbook();
      assert.equal(second.journal.entries().length, entries);
    } finally {
      second.close();
    }
  });

  it('is written before the next ceremony starts when printing failed the first time', async () => {
    let isPrinterBroken = true;
    const core = openCore({
      printTranscript: (html) =>
        isPrinterBroken ? Promise.reject(new Error('no Chromium')) : standInPdf(html),
    });
    try {
      const call = caller(core);
      const started = await call('runbook.start', {
        runbookId: 'nitrokey-hsm-tuf',
        participants: [...people],
        rehearsal: true,
      });
      const id = started.ceremony?.ceremonyId ?? '';
      await assert.rejects(
        call('runbook.abandon', { role: 'ceremony-lead', person: 'Ada Lead', reason: 'no room' }),
      );
      const shown = await call('runbook.state', {});
      assert.equal(shown.abandoned?.ceremonyId, id);
      assert.equal(shown.abandoned?.record, null, 'the record is not there yet, and says so');
      await rejectsWith(call('runbook.exportRecord', { targetId: 'folder:x' }), 'wrong-step');
      isPrinterBroken = false;
      await call('runbook.start', {
        runbookId: 'nitrokey-hsm-tuf',
        participants: [...people],
        rehearsal: true,
      });
      const report = verifyRecord(join(core.options.dataDir, 'records', id));
      assert.equal(report.isOk, true, JSON.stringify(report.checks));
      assert.equal(report.ending, 'abandoned');
    } finally {
      core.close();
    }
  });
});

describe('a device-signed ceremony abandoned at END, before the keyholder signs', () => {
  it('is signed by the per-ceremony key, and its transcript says why', async () => {
    const text = readFileSync(
      join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'device-signed.yaml'),
      'utf8',
    );
    const pair = [
      { role: 'ceremony-lead' as const, name: 'Lea' },
      { role: 'keyholder' as const, name: 'Kai' },
    ];
    const core = openCore({ printTranscript: standInPdf });
    try {
      const call = caller(core);
      await call('devices.createRehearsalToken', { label: 'signer' });
      await core.runbooks.startFromText(text, pair, true);
      const who = (c: RunbookCeremony | null) => ({
        stepNumber: c?.current?.number ?? 0,
        role: c?.current?.confirmedBy ?? 'ceremony-lead',
        person: c?.current?.confirmedBy === 'keyholder' ? 'Kai' : 'Lea',
      });
      const pin = '364912';
      let s = await call('runbook.state', {});
      s = await call('runbook.perform', who(s.ceremony));
      s = await call('runbook.perform', {
        ...who(s.ceremony),
        credentials: {
          currentSoPin: FACTORY_SO_PIN,
          newSoPin: 'a0b1c2d3e4f50617',
          newSoPinRepeat: 'a0b1c2d3e4f50617',
          newUserPin: pin,
          newUserPinRepeat: pin,
        },
      });
      s = await call('runbook.confirm', { ...who(s.ceremony), value: 'Ed25519' });
      for (let i = 0; i < 2; i++) {
        s = await call('runbook.perform', { ...who(s.ceremony), credentials: { userPin: pin } });
      }
      assert.equal(s.ceremony?.current?.action?.name, 'ceremony.signRecord');
      const dir = core.runbooks.recordDir();
      assert.ok(existsSync(join(dir, 'products')), 'the unsigned END record is there');
      const left = await call('runbook.abandon', {
        role: 'keyholder',
        person: 'Kai',
        reason: 'The keyholder does not remember the PIN.',
      });
      assert.equal(left.abandoned?.isDeviceKeyDesignated, true);
      assert.equal(left.abandoned?.signingKey?.source, 'ceremony');
      assert.equal(existsSync(join(dir, 'products')), false, 'replaced by the abandoned record');
      const report = verifyRecord(dir);
      assert.equal(report.isOk, true, JSON.stringify(report.checks));
      assert.equal(report.ending, 'abandoned');
      const t = transcriptIn(dir);
      assert.match(t.ending?.signedBy.note ?? '', /not the targets key on the device/);
      assert.equal(
        t.ending?.signedBy.keyId,
        t.signingKeys.filter((k) => k.source === 'ceremony').at(-1)?.keyId,
      );
      assert.ok(
        t.signingKeys.some((k) => k.source === 'device'),
        'the designated key is named',
      );
      // A ceremony whose record is complete cannot be abandoned again.
      await rejectsWith(
        call('runbook.abandon', { role: 'keyholder', person: 'Kai', reason: 'again' }),
        'no-ceremony',
      );
    } finally {
      core.close();
    }
  });
});
