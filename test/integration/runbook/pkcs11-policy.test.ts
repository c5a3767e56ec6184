// What the token wizard's tests proved, proved again on the runbook engine (issue 16 moves the
// wizard's ceremony onto nitrokey-hsm-tuf.yaml): a wrong PIN is sent to the token exactly once, counted
// at the PKCS#11 boundary by OpenSC's pkcs11-spy between Vigil and SoftHSM2, and is never
// repeated; the step stays and the hint shows what the token now reports; and the token is
// chosen only when exactly one matches.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunbookCeremony } from '../../../shared/model/runbook.ts';
import type { VigilCore } from '../../../electron/core/vigil-core.ts';
import {
  CallFailed,
  FACTORY_SO_PIN,
  caller,
  freshDataDir,
  openCore,
} from '../../helpers/softhsm-token.ts';

const people = [
  { role: 'ceremony-lead', name: 'Ada Lead' },
  { role: 'witness', name: 'Wim Witness' },
  { role: 'keyholder', name: 'Kim Keyholder' },
] as const;
const personOf = (role: string) => people.find((p) => p.role === role)?.name ?? '';
const PINS = { so: '0a1b2c3d4e5f6071', user: '739164' };
const spyModule = [
  '/usr/lib/x86_64-linux-gnu/pkcs11-spy.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11-spy.so',
].find(existsSync);

type Call = ReturnType<typeof caller>;

const rejects = (work: Promise<unknown>, code: string, message = /./) =>
  assert.rejects(
    work,
    (e: unknown) => e instanceof CallFailed && e.code === code && message.test(e.message),
  );

function current(c: RunbookCeremony | null | undefined) {
  assert.ok(c?.current, 'a current step');
  return c.current;
}

/** Confirms or answers the current step as the role it asks for. */
async function answer(call: Call, c: RunbookCeremony | null, value?: string) {
  const step = current(c);
  const role = step.confirmedBy ?? 'ceremony-lead';
  return (
    await call('runbook.confirm', {
      stepNumber: step.number,
      role,
      person: personOf(role),
      ...(value === undefined ? {} : { value }),
    })
  ).ceremony;
}

function perform(call: Call, c: RunbookCeremony | null, credentials: Record<string, string> = {}) {
  return call('runbook.perform', {
    stepNumber: current(c).number,
    role: 'keyholder',
    person: 'Kim Keyholder',
    credentials,
  });
}

/** Starts nitrokey-hsm-tuf as a rehearsal and walks to "select the token". */
async function toTokenSelection(call: Call): Promise<RunbookCeremony | null> {
  let c = (
    await call('runbook.start', {
      runbookId: 'nitrokey-hsm-tuf',
      participants: [...people],
      rehearsal: true,
    })
  ).ceremony;
  for (let i = 0; i < 3; i++) c = await answer(call, c);
  c = await answer(call, c, 'RB-1');
  c = await answer(call, c, 'yes');
  c = await answer(call, c);
  assert.equal(current(c).action?.name, 'pkcs11.selectToken');
  return c;
}

describe('PIN attempts on the runbook, through pkcs11-spy', () => {
  let core: VigilCore;
  let spyLog: string;
  before(() => {
    assert.ok(spyModule, 'pkcs11-spy.so (package opensc-pkcs11) must be installed');
    const dataDir = freshDataDir('vigil-runbook-spy-');
    spyLog = join(dataDir, 'pkcs11-spy.log');
    process.env.PKCS11SPY = '/usr/lib/softhsm/libsofthsm2.so';
    process.env.PKCS11SPY_OUTPUT = spyLog;
    core = openCore({
      dataDir,
      catalog: { v: 1, modules: [{ name: 'softhsm2', candidates: [spyModule ?? ''] }] },
    });
  });
  after(() => core.close());

  // Every call that carries a PIN to the token: C_InitToken checks the SO-PIN, C_Login the rest.
  const pinCalls = () =>
    (readFileSync(spyLog, 'utf8').match(/\bC_(Login|InitToken|InitPIN|SetPIN)\b/g) ?? []).length;
  const failures = () =>
    core.journal
      .entries()
      .filter((e) => e.kind === 'runbook.actionFailed')
      .map((e) => (e.detail as { code: string }).code);

  it('sends a wrong SO-PIN once, then a wrong user PIN once, and repeats neither', async () => {
    const call = caller(core);
    await call('devices.createRehearsalToken', { label: 'spy' });
    let c = await toTokenSelection(call);
    c = (await perform(call, c)).ceremony;
    c = await answer(call, c, c?.device?.serial ?? '');
    const init = current(c);
    assert.equal(init.action?.name, 'pkcs11.initToken');
    const initPins = (currentSoPin: string) => ({
      currentSoPin,
      newSoPin: PINS.so,
      newSoPinRepeat: PINS.so,
      newUserPin: PINS.user,
      newUserPinRepeat: PINS.user,
    });

    let before = pinCalls();
    await rejects(perform(call, c, initPins('1111111111111111')), 'pin-incorrect');
    assert.equal(pinCalls() - before, 1, 'one PIN-bearing call for one wrong SO-PIN');
    assert.deepEqual(failures(), ['pin-incorrect']);
    const afterSo = (await call('runbook.state', {})).ceremony;
    assert.equal(current(afterSo).number, init.number, 'the step did not advance');

    c = (await perform(call, afterSo, initPins(FACTORY_SO_PIN))).ceremony;
    c = await answer(call, c, 'P-256');
    const generate = current(c);
    assert.equal(generate.action?.name, 'pkcs11.generateKey');
    before = pinCalls();
    await rejects(perform(call, c, { userPin: '271828' }), 'pin-incorrect');
    assert.equal(pinCalls() - before, 1, 'one PIN-bearing call for one wrong user PIN');
    assert.deepEqual(failures(), ['pin-incorrect', 'pin-incorrect']);
    assert.match(readFileSync(spyLog, 'utf8'), /CKR_PIN_INCORRECT/);

    // The hint is read from the token again before the next attempt; SoftHSM2 has no counter
    // and sets CKF_USER_PIN_COUNT_LOW after a failure.
    const afterUser = (await call('runbook.state', {})).ceremony;
    assert.equal(current(afterUser).number, generate.number);
    assert.match(current(afterUser).pinHint ?? '', /wrong user PIN was entered/);
    assert.equal(pinCalls() - before, 1, 'showing the hint sends no PIN');
  });
});

describe('choosing the token on the runbook', () => {
  // Opened after the spy's core has closed: one process loads SoftHSM2 once at a time.
  let core: VigilCore;
  let call: Call;
  before(() => {
    core = openCore();
    call = caller(core);
  });
  after(() => core.close());

  it('blocks with no-device when no rehearsal token is present, and stays on the step', async () => {
    const c = await toTokenSelection(call);
    await rejects(perform(call, c), 'no-device', /Connect exactly one/);
    assert.equal(current((await call('runbook.state', {})).ceremony).number, current(c).number);
  });

  it('blocks with several-devices when two tokens match', async () => {
    await call('devices.createRehearsalToken', { label: 'one' });
    await call('devices.createRehearsalToken', { label: 'two' });
    const c = (await call('runbook.state', {})).ceremony;
    await rejects(perform(call, c), 'several-devices', /2 matching devices/);
    assert.equal(
      current((await call('runbook.state', {})).ceremony).action?.name,
      'pkcs11.selectToken',
    );
  });
});
