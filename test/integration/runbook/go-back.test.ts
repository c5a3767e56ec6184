// Going back to correct an input (issue 17): the ceremony returns to the step that collected it,
// the journal says what was corrected, by whom and why, the steps after it are walked again, and
// a device action among them runs only when a person performs it again — never by replay.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunbookCeremony } from '../../../shared/model/runbook.ts';
import type { VigilCore } from '../../../electron/core/vigil-core.ts';
import { replayRunbook } from '../../../electron/core/runbook/runbook-progress.ts';
import { parseRunbookText } from '../../../electron/core/runbook/runbook-library.ts';
import { CallFailed, caller, openCore } from '../../helpers/softhsm-token.ts';
import {
  answer,
  current,
  perform,
  toTokenSelection,
  type Call,
} from '../../helpers/runbook-calls.ts';

describe('going back to correct an input', () => {
  let core: VigilCore;
  let call: Call;
  let c: RunbookCeremony | null;
  before(async () => {
    core = openCore();
    call = caller(core);
    await call('devices.createRehearsalToken', { label: 'back' });
    c = await toTokenSelection(call, 'RB-1O');
    c = (await perform(call, c)).ceremony;
  });
  after(() => core.close());

  const actionsStarted = () =>
    core.journal.entries().filter((e) => e.kind === 'runbook.actionStarted').length;

  it('refuses an input not collected yet, and a person not in the role', async () => {
    const at = current(c).number;
    await assert.rejects(
      call('runbook.goBack', {
        stepNumber: at,
        role: 'ceremony-lead',
        person: 'Ada Lead',
        inputId: 'new-bag-serial',
        reason: 'typo',
      }),
      (e: unknown) => e instanceof CallFailed && e.code === 'input-invalid',
    );
    await assert.rejects(
      call('runbook.goBack', {
        stepNumber: at,
        role: 'ceremony-lead',
        person: 'Wim Witness',
        inputId: 'bag-serial',
        reason: 'typo',
      }),
      (e: unknown) => e instanceof CallFailed && e.code === 'role-mismatch',
    );
  });

  it('returns to the step that collected it, journalled with who, why and the old value', async () => {
    const at = current(c).number;
    const started = actionsStarted();
    c = (
      await call('runbook.goBack', {
        stepNumber: at,
        role: 'ceremony-lead',
        person: 'Ada Lead',
        inputId: 'bag-serial',
        reason: 'the witness read O for 0',
      })
    ).ceremony;
    const step = current(c);
    assert.equal(step.number, at + 1, 'going back takes a step number of its own');
    assert.equal(step.collect?.id, 'bag-serial');
    assert.equal(
      c?.inputs.some((i) => i.id === 'bag-serial'),
      false,
    );
    const line = c?.history.at(-1);
    assert.equal(line?.outcome, 'went-back');
    assert.equal(line?.person, 'Ada Lead');
    assert.match(line?.detail ?? '', /bag-serial was RB-1O; the witness read O for 0/);
    const entry = core.journal.entries().at(-1);
    assert.equal(entry?.kind, 'runbook.wentBack');
    assert.equal((entry?.detail as { was: string }).was, 'RB-1O');
    assert.equal(actionsStarted(), started, 'going back started no device action');
  });

  it('walks the steps again, and the device action waits to be performed again', async () => {
    const started = actionsStarted();
    c = await answer(call, c, 'RB-10');
    c = await answer(call, c, 'yes');
    c = await answer(call, c);
    assert.equal(current(c).action?.name, 'pkcs11.selectToken');
    assert.equal(actionsStarted(), started, 'not replayed: nobody performed it yet');
    assert.deepEqual(
      c?.inputs.filter((i) => i.id === 'bag-serial').map((i) => i.value),
      ['RB-10'],
    );
    c = (await perform(call, c)).ceremony;
    assert.equal(actionsStarted(), started + 1);
  });

  it('replays from the journal to the same place after a restart', () => {
    const replayed = replayRunbook(core.journal.entries(), parseRunbookText, (n) => n);
    assert.equal(replayed?.stepNumber, current(c).number);
    assert.deepEqual(
      replayed?.inputs.map((i) => [i.id, i.value]),
      c?.inputs.map((i) => [i.id, i.value]),
    );
  });
});
