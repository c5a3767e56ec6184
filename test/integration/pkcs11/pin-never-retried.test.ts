// A wrong PIN is reported once and never repeated: counted at the PKCS#11 boundary by OpenSC's
// pkcs11-spy, a real tracing module placed between Vigil and SoftHSM2.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VigilCore } from '../../../electron/core/vigil-core.ts';
import {
  CallFailed,
  FACTORY_SO_PIN,
  caller,
  freshDataDir,
  openCore,
} from '../../helpers/softhsm-token.ts';

const spyModule = [
  '/usr/lib/x86_64-linux-gnu/pkcs11-spy.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11-spy.so',
].find(existsSync);

describe('PIN attempts through pkcs11-spy', () => {
  let core: VigilCore;
  let spyLog: string;
  before(() => {
    assert.ok(spyModule, 'pkcs11-spy.so (package opensc-pkcs11) must be installed');
    const dataDir = freshDataDir();
    spyLog = join(dataDir, 'pkcs11-spy.log');
    process.env.PKCS11SPY = '/usr/lib/softhsm/libsofthsm2.so';
    process.env.PKCS11SPY_OUTPUT = spyLog;
    core = openCore({
      dataDir,
      catalog: { v: 1, modules: [{ name: 'softhsm2', candidates: [spyModule] }] },
    });
  });
  after(() => core.close());

  const logins = () => (readFileSync(spyLog, 'utf8').match(/C_Login/g) ?? []).length;

  it('calls C_Login exactly once for one wrong user PIN and reports pin-incorrect', async () => {
    const call = caller(core);
    await call('devices.createRehearsalToken', { label: 'spy' });
    await call('ceremony.selectDevice', { family: 'softhsm-rehearsal' });
    await call('ceremony.reinitialise', {
      currentSoPin: FACTORY_SO_PIN,
      newSoPin: '0a1b2c3d4e5f6a7b',
      newSoPinRepeat: '0a1b2c3d4e5f6a7b',
      newUserPin: '314159',
      newUserPinRepeat: '314159',
    });
    const before = logins();
    await assert.rejects(
      call('ceremony.generateKeys', { curve: 'P-256', userPin: '271828' }),
      (e: unknown) =>
        e instanceof CallFailed && e.code === 'pin-incorrect' && /does not retry/.test(e.message),
    );
    assert.equal(logins() - before, 1);
    assert.match(readFileSync(spyLog, 'utf8'), /CKR_PIN_INCORRECT/);
    const failures = core.journal.entries().filter((e) => e.kind === 'device.actionFailed');
    assert.equal(failures.length, 1);
    assert.equal((failures[0]?.detail as { code: string }).code, 'pin-incorrect');
  });

  it('shows the tries-left hint read from the token after the failure', async () => {
    const state = await caller(core)('ceremony.state', {});
    assert.equal(state.step, 'generate-keys');
    assert.equal(state.device?.family, 'softhsm-rehearsal');
    // SoftHSM2 sets CKF_USER_PIN_COUNT_LOW after a failure (it has no real counter).
    assert.match(state.pinHint ?? '', /wrong user PIN was entered/);
  });

  it('reaches the token through the spy, so the count is real', () => {
    assert.ok(logins() >= 3, 'SO and user logins of the ceremony appear in the spy log');
  });
});
