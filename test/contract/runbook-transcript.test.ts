// runbook.transcript through the real dispatcher: the transcript of the ceremony that ended last,
// as its record holds it, checked against the response schema. Asked mid-ceremony it is the typed
// wrong-step; another ceremony's id is no-ceremony; a malformed id never reaches the handler.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lookupCall } from '../../shared/contract/index.ts';
import type { RunbookState } from '../../shared/model/runbook.ts';
import { Transcript } from '../../shared/model/transcript.ts';
import { VigilCore } from '../../electron/core/vigil-core.ts';

const runbooksDir = join(import.meta.dirname, '..', 'vectors', 'runbooks', 'window');
const people = [
  { role: 'ceremony-lead', name: 'Lea Lead' },
  { role: 'witness', name: 'Wes Witness' },
] as const;
let core: VigilCore;

before(() => {
  core = new VigilCore({
    dataDir: mkdtempSync(join(tmpdir(), 'vigil-transcript-contract-')),
    runbooksDir,
    printTranscript: (html) =>
      Promise.resolve(new TextEncoder().encode(`%PDF-1.4\n%${html.length}`)),
  });
});
after(() => core.close());

async function dispatch(name: unknown, payload: unknown) {
  return core.dispatcher<null>(() => true).dispatch(null, name, payload);
}

async function state(name: string, payload: unknown): Promise<RunbookState> {
  const envelope = await dispatch(name, payload);
  assert.ok(envelope.ok, JSON.stringify(envelope));
  return envelope.value as RunbookState;
}

describe('runbook.transcript', () => {
  let ceremonyId = '';

  it('is a call that declares no-ceremony and wrong-step', () => {
    assert.deepEqual(lookupCall('runbook.transcript')?.errors, ['no-ceremony', 'wrong-step']);
  });

  it('is no-ceremony before any ceremony, and refuses a malformed id before the handler', async () => {
    const none = await dispatch('runbook.transcript', {
      ceremonyId: '00000000-0000-4000-8000-000000000000',
    });
    assert.equal(none.ok ? null : none.error.code, 'no-ceremony');
    for (const payload of [{ ceremonyId: '../../etc/passwd' }, {}, { ceremonyId: 7 }]) {
      const bad = await dispatch('runbook.transcript', payload);
      assert.equal(bad.ok ? null : bad.error.code, 'invalid-request');
    }
  });

  it('is the typed wrong-step while the ceremony is under way', async () => {
    const s = await state('runbook.start', {
      runbookId: 'short-collect',
      participants: [...people],
      rehearsal: true,
    });
    ceremonyId = s.ceremony?.ceremonyId ?? '';
    const early = await dispatch('runbook.transcript', { ceremonyId });
    assert.equal(early.ok ? null : early.error.code, 'wrong-step');
  });

  it('gives the record’s transcript at END, as the schema says and byte for byte the file', async () => {
    await state('runbook.confirm', {
      stepNumber: 1,
      role: 'ceremony-lead',
      person: 'Lea Lead',
      value: 'RB-1',
    });
    const s = await state('runbook.confirm', {
      stepNumber: 2,
      role: 'witness',
      person: 'Wes Witness',
    });
    assert.ok(s.ceremony?.finished);
    const envelope = await dispatch('runbook.transcript', { ceremonyId });
    assert.ok(envelope.ok, JSON.stringify(envelope));
    const transcript = Transcript.parse(envelope.value);
    const file = readFileSync(
      join(core.options.dataDir, 'records', ceremonyId, 'transcript.json'),
      'utf8',
    );
    assert.deepEqual(transcript, JSON.parse(file));
    assert.equal(transcript.ending, undefined);
    assert.equal(transcript.rehearsal, true);
    assert.deepEqual(
      transcript.steps.map((x) => [x.number, x.outcome, x.confirmedBy?.name]),
      [
        [1, 'confirmed', 'Lea Lead'],
        [2, 'confirmed', 'Wes Witness'],
      ],
    );
  });
});
