// runbook.preview through the real dispatcher: a bundled runbook's outline, checked against its
// response schema, for the runbook the start screen lists; an unknown id is the typed
// runbook-unknown, and a malformed argument never reaches the handler.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lookupCall } from '../../shared/contract/index.ts';
import { RunbookPreview } from '../../shared/model/runbook-preview.ts';
import type { RunbookState } from '../../shared/model/runbook.ts';
import { VigilCore } from '../../electron/core/vigil-core.ts';

let core: VigilCore;

before(() => {
  core = new VigilCore({ dataDir: mkdtempSync(join(tmpdir(), 'vigil-preview-contract-')) });
});
after(() => core.close());

function dispatch(name: unknown, payload: unknown) {
  return core.dispatcher<null>(() => true).dispatch(null, name, payload);
}

describe('runbook.preview', () => {
  it('is a call that declares runbook-unknown', () => {
    assert.deepEqual(lookupCall('runbook.preview')?.errors, ['runbook-unknown']);
  });

  it('outlines every runbook the start screen offers, with the hash it lists', async () => {
    const state = await dispatch('runbook.state', {});
    assert.ok(state.ok);
    const { available } = state.value as RunbookState;
    assert.ok(available.length >= 7);
    for (const summary of available) {
      const envelope = await dispatch('runbook.preview', { runbookId: summary.id });
      assert.ok(envelope.ok, JSON.stringify(envelope));
      const preview = RunbookPreview.parse(envelope.value);
      assert.equal(preview.id, summary.id);
      assert.equal(preview.title, summary.title);
      assert.equal(preview.sha256, summary.sha256);
      assert.equal(preview.file, summary.file);
      assert.deepEqual(preview.roles, summary.roles);
      assert.ok(preview.stepCount > 5);
      assert.equal(preview.sections[0]?.steps[0]?.numberText, 'Step 1');
    }
  });

  it('answers an unknown runbook id with the typed runbook-unknown', async () => {
    const envelope = await dispatch('runbook.preview', { runbookId: 'no-such-runbook' });
    assert.deepEqual(envelope.ok ? null : envelope.error.code, 'runbook-unknown');
    assert.match(envelope.ok ? '' : envelope.error.message, /no-such-runbook/);
  });

  for (const [what, payload] of [
    ['a path for an id', { runbookId: '../../etc/passwd' }],
    ['an id with capitals', { runbookId: 'YubiHSM2-tuf' }],
    ['a number for an id', { runbookId: 7 }],
    ['no id', {}],
    ['an extra key', { runbookId: 'yubihsm2-tuf', rehearsal: true }],
    ['null', null],
  ] as const) {
    it(`refuses ${what} as invalid-request`, async () => {
      const envelope = await dispatch('runbook.preview', payload);
      assert.deepEqual(envelope.ok ? null : envelope.error.code, 'invalid-request');
    });
  }
});
