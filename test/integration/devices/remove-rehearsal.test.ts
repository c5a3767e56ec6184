// Removing a rehearsal device (issue 17): each family's device leaves the list, its saved state
// goes with it (a restart does not bring it back), the journal says so, and SoftHSM2's own tool
// no longer lists a removed token. A device the ceremony under way uses is refused until the
// ceremony ends.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DeviceSummary } from '../../../shared/model/device.ts';
import type { VigilCore } from '../../../electron/core/vigil-core.ts';
import { CallFailed, caller, freshDataDir, openCore } from '../../helpers/softhsm-token.ts';
import { perform, people, toTokenSelection } from '../../helpers/runbook-calls.ts';

const dataDir = freshDataDir('vigil-remove-');
const cores: VigilCore[] = [];
after(() => cores.forEach((c) => c.close()));

function open(): { core: VigilCore; call: ReturnType<typeof caller> } {
  const core = openCore({ dataDir });
  cores.push(core);
  return { core, call: caller(core) };
}

const rejectsWith = (code: string) => (e: unknown) => e instanceof CallFailed && e.code === code;

/** What SoftHSM2's own tool lists in Vigil's rehearsal store. */
function softHsmSerials(): string[] {
  const text = execFileSync('softhsm2-util', ['--show-slots'], {
    env: { ...process.env, SOFTHSM2_CONF: join(dataDir, 'rehearsal', 'softhsm2', 'softhsm2.conf') },
    encoding: 'utf8',
  });
  return [...text.matchAll(/Serial number:\s+(\S+)/g)].map((m) => m[1] ?? '');
}

describe('removing rehearsal devices', () => {
  let first: ReturnType<typeof open>;
  // One core at a time: SoftHSM2 is loaded once per process.
  let second: ReturnType<typeof open>;
  let made: DeviceSummary[] = [];

  it('removes one of each family, journalled, and SoftHSM2 no longer lists the token', async () => {
    first = open();
    const { call, core } = first;
    const token = await call('devices.createRehearsalToken', { label: 'gone soon' });
    await call('devices.connectRehearsalYubiHsm', {});
    await call('devices.connectRehearsalYubiKey', {});
    await call('devices.connectRehearsalNetHsm', {});
    made = (await call('devices.list', {})).devices.filter((d) => d.isRehearsal);
    assert.deepEqual(made.map((d) => d.family).sort(), [
      'nethsm-rehearsal',
      'softhsm-rehearsal',
      'yubihsm2-rehearsal',
      'yubikey-piv-rehearsal',
    ]);
    assert.ok(softHsmSerials().includes(token.serial), 'SoftHSM2 lists the new token');

    for (const device of made) {
      const removed = await call('devices.removeRehearsal', { deviceId: device.id });
      assert.deepEqual(removed, { family: device.family, serial: device.serial });
      const left = (await call('devices.list', {})).devices.map((d) => d.id);
      assert.ok(!left.includes(device.id), `${device.id} left the list`);
    }
    assert.ok(!softHsmSerials().includes(token.serial), 'SoftHSM2 no longer lists the token');
    const journalled = core.journal
      .entries()
      .filter((e) => e.kind === 'device.rehearsalRemoved')
      .map((e) => e.detail);
    assert.deepEqual(
      journalled,
      made.map((d) => ({ family: d.family, serial: d.serial })),
    );
  });

  it('does not bring them back after a restart, and refuses one already gone', async () => {
    first.core.close();
    cores.splice(cores.indexOf(first.core), 1);
    second = open();
    const { core, call } = second;
    await core.restoreRehearsalDevices();
    const ids = (await call('devices.list', {})).devices.map((d) => d.id);
    for (const device of made) assert.ok(!ids.includes(device.id), `${device.id} stayed gone`);
    await assert.rejects(
      call('devices.removeRehearsal', { deviceId: made[0]?.id ?? 'x:y' }),
      rejectsWith('no-device'),
    );
    await assert.rejects(
      call('devices.removeRehearsal', { deviceId: '../../etc' }),
      rejectsWith('invalid-request'),
    );
  });

  it('refuses a device the ceremony under way uses, and allows it once the ceremony is abandoned', async () => {
    const { call } = second;
    await call('devices.createRehearsalToken', { label: 'in use' });
    const spare = await call('devices.connectRehearsalYubiKey', {});
    let c = await toTokenSelection(call);
    c = (await perform(call, c)).ceremony;
    const used = c?.device;
    assert.equal(used?.family, 'softhsm-rehearsal', 'the ceremony selected the token');
    assert.ok(used);
    await assert.rejects(
      call('devices.removeRehearsal', { deviceId: used.id }),
      (e: unknown) =>
        rejectsWith('device-in-use')(e) && /Finish or abandon the ceremony first/.test(String(e)),
    );
    // A device the ceremony does not use may go meanwhile.
    const other = (await call('devices.list', {})).devices.find((d) => d.serial === spare.serial);
    await call('devices.removeRehearsal', { deviceId: other?.id ?? '' });
    const lead = people[0];
    await call('runbook.abandon', { role: lead.role, person: lead.name, reason: 'practice over' });
    await call('devices.removeRehearsal', { deviceId: used.id });
  });
});
