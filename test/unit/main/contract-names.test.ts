import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callNames, channelFor, eventNames } from '../../../shared/contract/index.ts';
import { callNameList, channelForName, eventNameList } from '../../../shared/contract/names.ts';

describe('zod-free contract names for the preload', () => {
  it('lists exactly the contract calls', () =>
    assert.deepEqual([...callNameList].sort(), [...callNames].sort()));
  it('lists exactly the contract events', () =>
    assert.deepEqual([...eventNameList].sort(), [...eventNames].sort()));
  it('derives the same channel for every name', () => {
    for (const name of [...callNames, ...eventNames])
      assert.equal(channelForName(name), channelFor(name));
  });
});
