// The preload's zod-free name lists must equal the names derived from the real contract.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callNames, channelFor, eventNames } from '../../../shared/contract/index.ts';
import {
  callNames as callNameList,
  channelFor as channelForName,
  channelForName as channelRuleUsedByIndex,
  eventNames as eventNameList,
} from '../../../shared/contract/names.ts';

describe('zod-free contract names for the preload', () => {
  it('lists exactly the contract calls', () =>
    assert.deepEqual([...callNameList].sort(), [...callNames].sort()));
  it('lists exactly the contract events', () =>
    assert.deepEqual([...eventNameList].sort(), [...eventNames].sort()));
  it('derives the same channel for every name, and no two names share one', () => {
    const all = [...callNames, ...eventNames];
    for (const name of all) {
      assert.equal(channelForName(name), channelFor(name));
      assert.equal(channelRuleUsedByIndex(name), channelFor(name));
    }
    assert.equal(new Set(all.map((name) => channelForName(name))).size, all.length);
  });
  it('has no name twice', () => {
    assert.equal(
      new Set([...callNameList, ...eventNameList]).size,
      callNameList.length + eventNameList.length,
    );
  });
});
