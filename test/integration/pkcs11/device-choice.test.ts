// "Exactly one matching token present, else a clear block", against real SoftHSM2 tokens.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CallFailed, caller, openCore } from '../../helpers/softhsm-token.ts';

describe('choosing the ceremony device', () => {
  const core = openCore();
  const call = caller(core);
  after(() => core.close());
  const rejects = (promise: Promise<unknown>, code: string, message: RegExp) =>
    assert.rejects(
      promise,
      (e: unknown) => e instanceof CallFailed && e.code === code && message.test(e.message),
    );

  it('blocks with no-device when no rehearsal token is present', async () => {
    await rejects(
      call('ceremony.selectDevice', { family: 'softhsm-rehearsal' }),
      'no-device',
      /Connect exactly one/,
    );
  });

  it('blocks with no-device for a family with no token (no Nitrokey HSM attached)', async () => {
    await call('devices.createRehearsalToken', { label: 'one' });
    await rejects(
      call('ceremony.selectDevice', { family: 'smartcard-hsm' }),
      'no-device',
      /Connect exactly one/,
    );
  });

  it('blocks with several-devices when two tokens match', async () => {
    await call('devices.createRehearsalToken', { label: 'two' });
    await rejects(
      call('ceremony.selectDevice', { family: 'softhsm-rehearsal' }),
      'several-devices',
      /2 matching devices/,
    );
    assert.equal((await call('ceremony.state', {})).step, 'choose-device');
  });
});
