// "Which device present is the ceremony's": the only one of its family, or the one with the
// serial written down, with the refusals each family words itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceWithSerial, onlyDevice } from '../../../electron/base/device-presence.ts';

const device = (serial: string) => ({ summary: { serial } });

describe('onlyDevice', () => {
  it('finds the one device present', () => {
    const one = device('123');
    assert.deepEqual(onlyDevice([one]), { kind: 'found', device: one });
  });

  it('reports none, and counts several', () => {
    assert.deepEqual(onlyDevice([]), { kind: 'none' });
    assert.deepEqual(onlyDevice([device('1'), device('2'), device('3')]), {
      kind: 'several',
      count: 3,
    });
  });
});

describe('deviceWithSerial', () => {
  it('finds the device with the serial among others, compared as serials are', () => {
    const wanted = device('25515003');
    assert.deepEqual(deviceWithSerial([device('33064031'), wanted], '2551 5003'), {
      kind: 'found',
      device: wanted,
    });
  });

  it('names the serials present when none is the one written down', () => {
    assert.deepEqual(deviceWithSerial([device('33064031'), device('7')], '25515003'), {
      kind: 'other-serials',
      serials: ['33064031', '7'],
    });
  });

  it('reports none when nothing of the family is present', () => {
    assert.deepEqual(deviceWithSerial([], '25515003'), { kind: 'none' });
  });

  it('refuses two devices answering to one serial rather than pick one', () => {
    assert.deepEqual(deviceWithSerial([device('0123'), device('123'), device('9')], '123'), {
      kind: 'several',
      count: 2,
    });
  });
});
