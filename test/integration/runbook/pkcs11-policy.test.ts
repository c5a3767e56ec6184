// The PKCS#11 ceremony's policy on the runbook engine (nitrokey-hsm-tuf.yaml, the PSF "Provisioning
// the Nitrokey HSM"): a wrong PIN is sent to the token exactly once, counted at the PKCS#11
// boundary by OpenSC's pkcs11-spy between Vigil and SoftHSM2, and is never repeated; the step
// stays and the hint shows what the token now reports; new PINs that break the rules, and a user PIN
// out of the token's format, never reach the token (one refusal names every wrong field); the token is chosen only when exactly one matches; and the exported keys of every
// curve are the keys openssl reads, fingerprint for fingerprint.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import {
  answer,
  current,
  perform,
  toTokenSelection,
  type Call,
} from '../../helpers/runbook-calls.ts';

const PINS = { so: '0a1b2c3d4e5f6071', user: '739164' };
const spyModule = [
  '/usr/lib/x86_64-linux-gnu/pkcs11-spy.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11-spy.so',
].find(existsSync);

const rejects = (work: Promise<unknown>, code: string, message = /./) =>
  assert.rejects(
    work,
    (e: unknown) => e instanceof CallFailed && e.code === code && message.test(e.message),
  );

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

    // New PINs that break a rule are refused before the token is touched: no PIN reaches it.
    let before = pinCalls();
    await rejects(
      perform(call, c, { ...initPins(FACTORY_SO_PIN), newUserPinRepeat: '739165' }),
      'pin-mismatch',
    );
    await rejects(
      perform(call, c, {
        ...initPins(FACTORY_SO_PIN),
        newSoPin: FACTORY_SO_PIN,
        newSoPinRepeat: FACTORY_SO_PIN,
      }),
      'default-pin-refused',
    );
    assert.equal(pinCalls() - before, 0, 'no PIN-bearing call for a refused rule');

    before = pinCalls();
    await rejects(perform(call, c, initPins('1111111111111111')), 'pin-incorrect');
    assert.equal(pinCalls() - before, 1, 'one PIN-bearing call for one wrong SO-PIN');
    assert.deepEqual(failures(), ['pin-mismatch', 'default-pin-refused', 'pin-incorrect']);
    const afterSo = (await call('runbook.state', {})).ceremony;
    assert.equal(current(afterSo).number, init.number, 'the step did not advance');

    c = (await perform(call, afterSo, initPins(FACTORY_SO_PIN))).ceremony;
    c = await answer(call, c, 'P-256');
    const generate = current(c);
    assert.equal(generate.action?.name, 'pkcs11.generateKey');

    // A 2-digit user PIN cannot be a SmartCard-HSM user PIN: refused in main, no try spent.
    before = pinCalls();
    await rejects(
      perform(call, c, { userPin: '12' }),
      'pin-format',
      /Nothing was sent to the device\. .*User PIN must be 6 to 15 characters/,
    );
    await rejects(perform(call, c, { userPin: 'has space' }), 'pin-format');
    assert.equal(pinCalls() - before, 0, 'no PIN-bearing call for a user PIN out of format');
    assert.deepEqual(failures().slice(-2), ['pin-format', 'pin-format']);

    before = pinCalls();
    await rejects(perform(call, c, { userPin: '271828' }), 'pin-incorrect');
    assert.equal(pinCalls() - before, 1, 'one PIN-bearing call for one wrong user PIN');
    assert.deepEqual(failures().slice(-1), ['pin-incorrect']);
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

describe('new PINs that break the rules, refused before the token is touched', () => {
  let core: VigilCore;
  let call: Call;
  let init: RunbookCeremony | null;
  before(async () => {
    core = openCore();
    call = caller(core);
    await call('devices.createRehearsalToken', { label: 'rules' });
    let c = await toTokenSelection(call);
    c = (await perform(call, c)).ceremony;
    init = await answer(call, c, c?.device?.serial ?? '');
    assert.equal(current(init).action?.name, 'pkcs11.initToken');
  });
  after(() => core.close());

  const attempt = (pins: {
    cur?: string;
    so: string;
    so2?: string;
    user: string;
    user2?: string;
  }) =>
    perform(call, init, {
      currentSoPin: pins.cur ?? FACTORY_SO_PIN,
      newSoPin: pins.so,
      newSoPinRepeat: pins.so2 ?? pins.so,
      newUserPin: pins.user,
      newUserPinRepeat: pins.user2 ?? pins.user,
    });

  it('refuses an SO-PIN that is not 16 hex characters', () =>
    rejects(attempt({ so: '12345678', user: '204060' }), 'pin-format'));
  it('refuses differing SO-PIN entries', () =>
    rejects(
      attempt({ so: '00112233aabbccdd', so2: '00112233aabbccde', user: '204060' }),
      'pin-mismatch',
    ));
  it('refuses the factory SO-PIN as the new one', () =>
    rejects(attempt({ so: FACTORY_SO_PIN, user: '204060' }), 'default-pin-refused'));
  it('refuses the factory user PIN as the new one', () =>
    rejects(attempt({ so: '00112233aabbccdd', user: '648219' }), 'default-pin-refused'));
  it('refuses a short user PIN', () =>
    rejects(attempt({ so: '00112233aabbccdd', user: '12345' }), 'pin-format'));
  it('refuses differing user PIN entries', () =>
    rejects(attempt({ so: '00112233aabbccdd', user: '204060', user2: '204061' }), 'pin-mismatch'));

  it('names every wrong field in one refusal, with the first one’s code', async () => {
    const error = await perform(call, init, {
      currentSoPin: '1234',
      newSoPin: FACTORY_SO_PIN,
      newSoPinRepeat: FACTORY_SO_PIN,
      newUserPin: '12',
      newUserPinRepeat: '13',
    }).then(
      () => assert.fail('refused'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CallFailed);
    assert.equal(error.code, 'pin-format');
    for (const words of [
      /Current SO-PIN must be exactly 16 hexadecimal characters/,
      /New user PIN must be 6 to 15 characters/,
      /New user PIN, typed again, differs from the first typing/,
      /factory SO-PIN cannot be the new SO-PIN/,
    ])
      assert.match(error.message, words);
    assert.doesNotMatch(error.message, /New SO-PIN must be/, 'a well-formed field is not named');
  });

  it('journals each refusal with the rule it broke, and the step stays', async () => {
    const refusals = core.journal
      .entries()
      .filter((e) => e.kind === 'runbook.actionFailed')
      .map((e) => (e.detail as { code: string }).code);
    assert.deepEqual(refusals, [
      'pin-format',
      'pin-mismatch',
      'default-pin-refused',
      'default-pin-refused',
      'pin-format',
      'pin-mismatch',
      'pin-format',
    ]);
    assert.equal(current((await call('runbook.state', {})).ceremony).number, current(init).number);
  });
});

for (const [curve, opensslName] of [
  ['P-256', 'prime256v1'],
  ['P-384', 'secp384r1'],
  ['Ed25519', 'ED25519'],
] as const) {
  describe(`${curve} keys generated on the token, exported and read by openssl`, () => {
    let core: VigilCore;
    before(() => {
      const outDir = mkdtempSync(join(tmpdir(), 'vigil-runbook-keys-'));
      core = openCore({ pickFolder: () => Promise.resolve(outDir) });
    });
    after(() => core.close());

    it('exports root and targets whose SPKI hashes are the fingerprints shown', async () => {
      const call = caller(core);
      await call('devices.createRehearsalToken', { label: curve });
      let c = await toTokenSelection(call);
      c = (await perform(call, c)).ceremony;
      c = await answer(call, c, c?.device?.serial ?? '');
      c = (
        await perform(call, c, {
          currentSoPin: FACTORY_SO_PIN,
          newSoPin: PINS.so,
          newSoPinRepeat: PINS.so,
          newUserPin: PINS.user,
          newUserPinRepeat: PINS.user,
        })
      ).ceremony;
      c = await answer(call, c, curve);
      for (let key = 0; key < 2; key++)
        c = (await perform(call, c, { userPin: PINS.user })).ceremony;
      const keys = c?.productSets[0]?.keys ?? [];
      assert.deepEqual(
        keys.map((k) => [k.role, k.curve, k.isOnDevice]),
        [
          ['root', curve, true],
          ['targets', curve, true],
        ],
      );
      c = await answer(call, c);
      c = await answer(call, c);
      assert.equal(current(c).action?.name, 'products.export');
      const target = await call('media.pickFolder', {});
      c = (
        await call('runbook.perform', {
          stepNumber: current(c).number,
          role: 'ceremony-lead',
          person: 'Ada Lead',
          targetId: target.id,
        })
      ).ceremony;
      const destination = c?.exports[0]?.destination ?? '';
      for (const key of keys) {
        const pem = join(destination, key.pemFile);
        const text = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-noout', '-text']);
        assert.match(text.toString(), new RegExp(opensslName));
        const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER']);
        assert.equal(createHash('sha256').update(der).digest('hex'), key.fingerprint.hex);
        // The raw .pub file is the key inside the PEM: the SPKI ends with it.
        const raw = readFileSync(join(destination, key.rawFile));
        assert.ok(der.subarray(der.length - raw.length).equals(raw));
      }
      execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: destination });
    });
  });
}
