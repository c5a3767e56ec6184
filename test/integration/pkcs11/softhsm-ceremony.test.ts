// The token ceremony against real SoftHSM2 through pkcs11js; keys checked with openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import type { VigilCore } from '../../../electron/core/vigil-core.ts';
import { CKA, CKM, CKO, CKU } from '../../../electron/devices/pkcs11/protocol.ts';
import { ecdsaRawToDer } from '../../../electron/formats/ec-point.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import {
  CallFailed,
  FACTORY_SO_PIN,
  caller,
  openCore,
  provisionRehearsalToken,
} from '../../helpers/softhsm-token.ts';

const openssl = (args: string[], input?: Buffer) =>
  execFileSync('openssl', args, input ? { input } : {}).toString();

for (const [curve, opensslName] of [
  ['P-256', 'prime256v1'],
  ['P-384', 'secp384r1'],
  ['Ed25519', 'ED25519'],
] as const) {
  describe(`token provisioning with ${curve} keys`, () => {
    let core: VigilCore;
    let outDir: string;
    before(() => {
      outDir = mkdtempSync(join(tmpdir(), 'vigil-out-'));
      core = openCore({ pickFolder: () => Promise.resolve(outDir) });
    });
    after(() => core.close());

    it('generates root and targets on the token and openssl reads both exported keys', async () => {
      const state = await provisionRehearsalToken(
        core,
        { soPin: '00112233aabbccdd', userPin: '204060' },
        curve,
      );
      assert.equal(state.step, 'fingerprints');
      assert.deepEqual(
        state.products?.keys.map((k) => [k.role, k.curve, k.isOnDevice]),
        [
          ['root', curve, true],
          ['targets', curve, true],
        ],
      );
      const call = caller(core);
      await call('ceremony.confirmFingerprints', {});
      const target = await call('media.pickFolder', {});
      const report = await call('media.export', { targetId: target.id });
      for (const key of state.products?.keys ?? []) {
        const pem = join(report.destination, key.pemFile);
        const text = openssl(['pkey', '-pubin', '-in', pem, '-noout', '-text']);
        assert.match(text, new RegExp(opensslName));
        const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER']);
        assert.equal(createHash('sha256').update(der).digest('hex'), key.fingerprint.hex);
        // The raw .pub file is the key inside the PEM: the SPKI ends with it.
        const raw = readFileSync(join(report.destination, key.rawFile));
        assert.ok(der.subarray(der.length - raw.length).equals(raw));
      }
      execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: report.destination });
    });
  });
}

describe('PIN rules, before the device is touched', () => {
  let core: VigilCore;
  before(async () => {
    core = openCore();
    const call = caller(core);
    await call('devices.createRehearsalToken', { label: 'rules' });
    await call('ceremony.selectDevice', { family: 'softhsm-rehearsal' });
  });
  after(() => core.close());

  const attempt = (pins: {
    cur?: string;
    so: string;
    so2?: string;
    user: string;
    user2?: string;
  }) =>
    caller(core)('ceremony.reinitialise', {
      currentSoPin: pins.cur ?? FACTORY_SO_PIN,
      newSoPin: pins.so,
      newSoPinRepeat: pins.so2 ?? pins.so,
      newUserPin: pins.user,
      newUserPinRepeat: pins.user2 ?? pins.user,
    });
  const rejects = (promise: Promise<unknown>, code: string) =>
    assert.rejects(promise, (e: unknown) => e instanceof CallFailed && e.code === code);

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

  it('never wrote any of these attempts as a device action', () => {
    assert.equal(core.journal.entries().filter((e) => e.kind === 'device.actionStarted').length, 0);
  });

  it('maps a wrong current SO-PIN to pin-incorrect and stays on the step', async () => {
    await rejects(
      attempt({ cur: 'ffffffffffffffff', so: '00112233aabbccdd', user: '204060' }),
      'pin-incorrect',
    );
    assert.equal((await caller(core)('ceremony.state', {})).step, 'credentials');
  });
});

describe('key pairs are usable signing keys', () => {
  it('signs with the generated root key on the token and openssl verifies the signature', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'vigil-sig-'));
    const core = openCore({ pickFolder: () => Promise.resolve(outDir) });
    try {
      const state = await provisionRehearsalToken(core, {
        soPin: '00112233aabbccdd',
        userPin: '204060',
      });
      const serial = state.device?.serial ?? '';
      const module = core.registry.moduleNamed('softhsm2');
      assert.ok(module);
      const message = Buffer.from('vigil signing check');
      const signature = await module.exclusive(async () => {
        module.reinitialise();
        const slot = module.slots(true).find((s) => module.tokenInfo(s).serial === serial);
        assert.ok(slot);
        return module.withSession(slot, false, async (session) => {
          module.login(session, CKU.USER, SecretBytes.fromText('204060'));
          const [key] = module.findObjects(session, [
            { type: CKA.CLASS, value: CKO.PRIVATE_KEY },
            { type: CKA.LABEL, value: Buffer.from('root') },
          ]);
          assert.ok(key);
          const digest = createHash('sha256').update(message).digest();
          return module.sign(session, CKM.ECDSA, key, digest);
        });
      });
      const call = caller(core);
      await call('ceremony.confirmFingerprints', {});
      const report = await call('media.export', {
        targetId: (await call('media.pickFolder', {})).id,
      });
      const root = state.products?.keys.find((k) => k.role === 'root');
      const sigPath = join(outDir, 'sig.der');
      const msgPath = join(outDir, 'msg.txt');
      writeFileSync(sigPath, ecdsaRawToDer(signature));
      writeFileSync(msgPath, message);
      const out = openssl([
        'dgst',
        '-sha256',
        '-verify',
        join(report.destination, root?.pemFile ?? ''),
        '-signature',
        sigPath,
        msgPath,
      ]);
      assert.match(out, /Verified OK/);
    } finally {
      core.close();
    }
  });
});
