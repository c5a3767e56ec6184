import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CeremonyEvent,
  replayCeremony,
} from '../../../../electron/core/ceremony/token-provisioning.ts';
import type { JournalEntry } from '../../../../electron/core/journal/journal.ts';

let seq = 0;
function entry(kind: string, detail: object = {}): JournalEntry {
  return {
    v: 1,
    seq: seq++,
    at: '2026-11-22T00:00:00.000Z',
    kind,
    detail: detail as JournalEntry['detail'],
    prev: '',
    hash: '',
  };
}
const device = { serial: 'abc', family: 'softhsm-rehearsal' };

describe('replayCeremony', () => {
  it('has no ceremony before a start entry', () => {
    assert.equal(replayCeremony([entry('device.rehearsalTokenCreated')]), null);
  });

  it('follows the steps in order', () => {
    const entries = [
      entry(CeremonyEvent.started, { ceremonyId: 'c1' }),
      entry(CeremonyEvent.deviceSelected, { family: 'softhsm-rehearsal', device }),
      entry(CeremonyEvent.actionStarted, { action: 'reinitialise' }),
      entry(CeremonyEvent.tokenReinitialised, {}),
    ];
    const progress = replayCeremony(entries);
    assert.equal(progress?.step, 'generate-keys');
    assert.equal(progress?.pending, null);
    assert.equal(progress?.device?.serial, 'abc');
  });

  it('reports an action with no outcome as pending, and a failure as settled', () => {
    const started = [
      entry(CeremonyEvent.started, { ceremonyId: 'c2' }),
      entry(CeremonyEvent.deviceSelected, { family: 'x', device }),
    ];
    const cut = replayCeremony([
      ...started,
      entry(CeremonyEvent.actionStarted, { action: 'reinitialise' }),
    ]);
    assert.equal(cut?.pending?.action, 'reinitialise');
    const failed = replayCeremony([
      ...started,
      entry(CeremonyEvent.actionStarted, { action: 'reinitialise' }),
      entry(CeremonyEvent.actionFailed, { code: 'pin-incorrect' }),
    ]);
    assert.equal(failed?.pending, null);
    assert.equal(failed?.step, 'credentials');
  });

  it('sends an abandoned action back to credentials', () => {
    const progress = replayCeremony([
      entry(CeremonyEvent.started, { ceremonyId: 'c3' }),
      entry(CeremonyEvent.deviceSelected, { family: 'x', device }),
      entry(CeremonyEvent.tokenReinitialised, {}),
      entry(CeremonyEvent.actionStarted, { action: 'generate-keys' }),
      entry(CeremonyEvent.actionAbandoned, { action: 'generate-keys' }),
    ]);
    assert.equal(progress?.step, 'credentials');
    assert.equal(progress?.pending, null);
  });

  it('starts over at the latest start entry', () => {
    const progress = replayCeremony([
      entry(CeremonyEvent.started, { ceremonyId: 'old' }),
      entry(CeremonyEvent.deviceSelected, { family: 'x', device }),
      entry(CeremonyEvent.started, { ceremonyId: 'new' }),
    ]);
    assert.equal(progress?.ceremonyId, 'new');
    assert.equal(progress?.step, 'choose-device');
  });
});
