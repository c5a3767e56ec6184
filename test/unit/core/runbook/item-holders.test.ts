// v2 holders: who holds each item of a list with `heldBy`, and who performs a step of it. The
// start is refused, in words that say whom to name, unless each held item has exactly one holder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Participant } from '../../../../shared/model/runbook.ts';
import { itemHolders, performerOf } from '../../../../electron/core/runbook/item-holders.ts';

const runbook = {
  lists: [
    {
      id: 'devices',
      label: 'Device',
      heldBy: 'keyholder' as const,
      items: [
        { id: 'hsm-1', label: 'HSM-1, P-256', procedure: 'p' },
        { id: 'hsm-2', label: 'HSM-2, P-384', procedure: 'p' },
      ],
    },
    { id: 'bags', label: 'Bag', items: [{ id: 'bag-1', label: 'Bag 1', procedure: 'q' }] },
  ],
};
const lead: Participant = { role: 'ceremony-lead', name: 'Ada' };
const kim: Participant = { role: 'keyholder', name: 'Kim' };

function refused(participants: Participant[], reason: RegExp): void {
  assert.throws(
    () => itemHolders(runbook, participants),
    (e: unknown) => (e as { code?: string }).code === 'role-mismatch' && reason.test(String(e)),
  );
}

describe('item holders', () => {
  it('gives every held item to the one person of the role when nobody names holdings', () => {
    assert.deepEqual(
      [...itemHolders(runbook, [lead, kim])],
      [
        ['hsm-1', 'Kim'],
        ['hsm-2', 'Kim'],
      ],
    );
    // A v1 runbook, or a list nobody holds, has no holders.
    assert.equal(itemHolders({}, [lead, kim]).size, 0);
  });

  it('gives each item to the person who holds it', () => {
    const holders = itemHolders(runbook, [
      lead,
      { ...kim, holds: ['hsm-2'] },
      { role: 'keyholder', name: 'Bo', holds: ['hsm-1'] },
    ]);
    assert.deepEqual([...holders].sort(), [
      ['hsm-1', 'Bo'],
      ['hsm-2', 'Kim'],
    ]);
    const item = { id: 'hsm-1', heldBy: 'keyholder' as const };
    assert.equal(performerOf(holders, item, 'keyholder'), 'Bo');
    // A step the witness confirms, or a step outside the items, is anyone's in the role.
    assert.equal(performerOf(holders, item, 'witness'), null);
    assert.equal(performerOf(holders, undefined, 'keyholder'), null);
    assert.equal(performerOf(holders, { id: 'bag-1' }, 'keyholder'), null);
  });

  it("gives an item that uses an earlier item's device again to that item's holder", () => {
    const again = {
      lists: [
        ...runbook.lists,
        {
          id: 'signatures',
          label: 'Signature',
          heldBy: 'keyholder' as const,
          items: [{ id: 'sign-2', label: 'HSM-2', procedure: 's', sameDeviceAs: 'hsm-2' }],
        },
      ],
    };
    const bo: Participant = { role: 'keyholder', name: 'Bo', holds: ['hsm-2'] };
    const holders = itemHolders(again, [lead, { ...kim, holds: ['hsm-1'] }, bo]);
    assert.equal(holders.get('sign-2'), 'Bo', 'not named twice');
    assert.equal(
      itemHolders(again, [
        lead,
        { ...kim, holds: ['hsm-1'] },
        { ...bo, holds: ['hsm-2', 'sign-2'] },
      ]).get('sign-2'),
      'Bo',
    );
    assert.throws(
      () => itemHolders(again, [lead, { ...kim, holds: ['hsm-1', 'sign-2'] }, bo]),
      /HSM-2 is the device Bo holds: Kim cannot hold it/,
    );
  });

  it('refuses an item with no holder, or two, and a holding the role cannot have', () => {
    const bo: Participant = { role: 'keyholder', name: 'Bo' };
    refused([lead, kim, bo], /Nobody holds HSM-1, P-256: name the keyholder who holds it/);
    refused([lead, { ...kim, holds: ['hsm-1'] }, bo], /Nobody holds HSM-2, P-384/);
    refused(
      [lead, { ...kim, holds: ['hsm-1', 'hsm-2'] }, { ...bo, holds: ['hsm-2'] }],
      /HSM-2, P-384 is held by Kim and Bo: name one keyholder for it/,
    );
    refused(
      [
        { ...lead, holds: ['hsm-1'] },
        { ...kim, holds: ['hsm-1', 'hsm-2'] },
      ],
      /Ada holds "hsm-1", which no ceremony-lead holds in this runbook/,
    );
    refused([lead, { ...kim, holds: ['hsm-1', 'hsm-2', 'bag-1'] }], /Kim holds "bag-1"/);
  });
});
