// The step view's words for runbook identifiers: where a step is, why its branch was taken, which
// answers stop or destroy, and which steps show fingerprints before their confirm.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunbookCeremony } from '../../../../shared/model/runbook.ts';
import {
  branchReason,
  choiceTone,
  dangerConsequence,
  historyDetail,
  isFingerprintStep,
  stepPosition,
} from '../../../../shared/format/runbook-wording.ts';

const danger =
  'DANGER — a reset erases every PIV key and certificate on this YubiKey. For a new one choose RESET.';

describe('stepPosition', () => {
  it('says "of M" when every open branch ends at the same step', () => {
    assert.deepEqual(stepPosition({ number: 4, stepsLeft: { min: 14, max: 14 } }), {
      text: 'Step 4 of 17',
      isLooping: false,
    });
  });

  it('says "of about" a range when the branches differ', () => {
    assert.equal(
      stepPosition({ number: 1, stepsLeft: { min: 7, max: 18 } }).text,
      'Step 1 of about 7–18',
    );
  });

  it('says only the number when a GO TO may loop', () => {
    assert.deepEqual(stepPosition({ number: 9, stepsLeft: { min: 3, max: null } }), {
      text: 'Step 9',
      isLooping: true,
    });
  });
});

describe('choiceTone', () => {
  it('marks the capitalised answer of a DANGER step destructive, and keep as an option', () => {
    assert.equal(choiceTone('RESET', danger), 'danger');
    assert.equal(choiceTone('keep', danger), 'neutral');
  });

  it('marks no, differs and stop as stopping, yes and matches as going ahead', () => {
    for (const stop of ['no', 'differs', 'stop']) assert.equal(choiceTone(stop, 'Check.'), 'stop');
    for (const go of ['yes', 'matches']) assert.equal(choiceTone(go, 'Check.'), 'go');
    assert.equal(choiceTone('P-384', 'Choose.'), 'neutral');
    assert.equal(choiceTone('RESET', 'Not a dangerous step.'), 'neutral');
  });

  it('reads the consequence from the DANGER sentence', () => {
    assert.equal(
      dangerConsequence(danger),
      'A reset erases every PIV key and certificate on this YubiKey',
    );
    assert.equal(dangerConsequence('Insert the YubiKey.'), null);
  });
});

describe('branchReason', () => {
  const inputs: RunbookCeremony['inputs'] = [
    { id: 'reset-confirmed', label: 'Erase it (RESET), or keep it?', value: 'RESET' },
  ];
  const history: RunbookCeremony['history'] = [
    {
      number: 7,
      sectionId: 'provisioning',
      text: danger,
      kind: 'collect',
      level: 'MUST',
      outcome: 'confirmed',
      role: 'ceremony-lead',
      person: 'Lea Lead',
      at: '2026-01-01T00:00:00.000Z',
      detail: 'reset-confirmed = RESET',
    },
  ];

  it('says who chose what, instead of the runbook condition', () => {
    const branch = { input: 'reset-confirmed', equals: 'RESET', isThen: true };
    assert.equal(
      branchReason(branch, inputs, history),
      'Because Lea Lead, the ceremony lead, chose RESET',
    );
  });

  it('says the answer for an ELSE branch too, and falls back to the question', () => {
    const elseBranch = { input: 'reset-confirmed', equals: 'keep', isThen: false };
    assert.equal(
      branchReason(elseBranch, inputs, history),
      'Because Lea Lead, the ceremony lead, chose RESET',
    );
    assert.equal(
      branchReason(elseBranch, inputs, []),
      'Because the answer to “Erase it (RESET), or keep it?” was RESET',
    );
  });

  it('writes a collected answer in the history with its question', () => {
    assert.equal(
      historyDetail('reset-confirmed = RESET', inputs),
      'Erase it (RESET), or keep it?: RESET',
    );
    assert.equal(historyDetail('label: something else', inputs), 'label: something else');
  });
});

describe('isFingerprintStep', () => {
  it('is true for the steps that compare fingerprints and for signing the record', () => {
    const step = { collect: null, action: null };
    assert.equal(
      isFingerprintStep({ ...step, text: 'Read both key fingerprints aloud in words.' }),
      true,
    );
    assert.equal(isFingerprintStep({ ...step, text: 'Insert the flash drive.' }), false);
    assert.equal(
      isFingerprintStep({
        text: 'Sign the ceremony record.',
        collect: null,
        action: {
          name: 'ceremony.signRecord',
          title: '',
          params: {},
          credentials: [],
          needsTarget: false,
        },
      }),
      true,
    );
  });
});
