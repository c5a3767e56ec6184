// A runbook that designates a key on the device to sign its attestation: after END the keyholder
// types the user PIN, the token signs (ECDSA P-256/P-384 or Ed25519 through SoftHSM2), and both
// our verifier and openssl accept the signature against the exported public key.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyRecord } from '../../../electron/core/ceremony-record/record-verification.ts';
import { RunbookError } from '../../../electron/core/runbook/load-runbook.ts';
import { parseRunbookText } from '../../../electron/core/runbook/runbook-library.ts';
import { Envelope, envelopePayload, preAuthEncoding } from '../../../electron/formats/dsse.ts';
import type { RunbookCeremony } from '../../../shared/model/runbook.ts';
import { CallFailed, FACTORY_SO_PIN, caller, openCore } from '../../helpers/softhsm-token.ts';

const runbookText = readFileSync(
  join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'device-signed.yaml'),
  'utf8',
);
const people = [
  { role: 'ceremony-lead' as const, name: 'Lea' },
  { role: 'keyholder' as const, name: 'Kai' },
];
const USER_PIN = '364912';
const SO_PIN = 'a0b1c2d3e4f50617';

describe('a runbook that designates a device key to sign', () => {
  it('is refused when no step generates the designated key', () => {
    assert.throws(
      () =>
        parseRunbookText(runbookText.replace('role: targets, curveFrom', 'role: root, curveFrom')),
      (e: unknown) =>
        e instanceof RunbookError && /no step generates the targets key/.test(e.problem),
    );
  });

  for (const curve of ['P-256', 'P-384', 'Ed25519'] as const) {
    it(`${curve}: signs the attestation on the token after END, once the PIN is right`, async () => {
      const core = openCore();
      const call = caller(core);
      try {
        await call('devices.createRehearsalToken', { label: 'signer' });
        await core.runbooks.startFromText(runbookText, people, true);
        const who = (c: RunbookCeremony | null) => ({
          stepNumber: c?.current?.number ?? 0,
          role: c?.current?.confirmedBy ?? 'ceremony-lead',
          person: c?.current?.confirmedBy === 'keyholder' ? 'Kai' : 'Lea',
        });
        let s = await call('runbook.state', {});
        s = await call('runbook.perform', who(s.ceremony));
        s = await call('runbook.perform', {
          ...who(s.ceremony),
          credentials: {
            currentSoPin: FACTORY_SO_PIN,
            newSoPin: SO_PIN,
            newSoPinRepeat: SO_PIN,
            newUserPin: USER_PIN,
            newUserPinRepeat: USER_PIN,
          },
        });
        s = await call('runbook.confirm', { ...who(s.ceremony), value: curve });
        s = await call('runbook.perform', {
          ...who(s.ceremony),
          credentials: { userPin: USER_PIN },
        });
        s = await call('runbook.perform', {
          ...who(s.ceremony),
          credentials: { userPin: USER_PIN },
        });
        const c = s.ceremony;
        assert.equal(c?.finished, null, 'not finished until the device has signed');
        assert.equal(c?.current?.action?.name, 'ceremony.signRecord');
        assert.equal(c?.current?.confirmedBy, 'keyholder');
        assert.match(c?.current?.pinHint ?? '', /user PIN/);
        assert.equal(c?.signingKey?.source, 'device');
        await assert.rejects(
          call('runbook.perform', { ...who(c), credentials: { userPin: '000000' } }),
          (e: unknown) => e instanceof CallFailed && e.code === 'pin-incorrect',
        );
        const done = await call('runbook.perform', {
          ...who(c),
          credentials: { userPin: USER_PIN },
        });
        assert.ok(done.ceremony?.finished, 'END with a signed record');
        const dir = core.runbooks.recordDir();
        const report = verifyRecord(dir);
        assert.equal(report.isOk, true, JSON.stringify(report.checks));
        assert.deepEqual(
          report.signatures.map((x) => [x.signer, x.isValid]),
          [['ceremony', true]],
        );
        // openssl, against the exported targets public key, over the DSSE PAE.
        const envelope = Envelope.parse(
          JSON.parse(readFileSync(join(dir, 'ceremony.intoto.dsse.json'), 'utf8')),
        );
        const products = join(dir, 'products', 'ceremony-products');
        const serial = readdirSync(products)[0] ?? '';
        const work = mkdtempSync(join(tmpdir(), 'vigil-device-sig-'));
        writeFileSync(
          join(work, 'pae.bin'),
          preAuthEncoding(envelope.payloadType, envelopePayload(envelope)),
        );
        writeFileSync(
          join(work, 'sig.bin'),
          Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64'),
        );
        const pem = join(products, serial, `${serial}_targets_pubkey.pem`);
        const args =
          curve === 'Ed25519'
            ? [
                'pkeyutl',
                '-verify',
                '-pubin',
                '-inkey',
                pem,
                '-rawin',
                '-in',
                'pae.bin',
                '-sigfile',
                'sig.bin',
              ]
            : [
                'dgst',
                curve === 'P-384' ? '-sha384' : '-sha256',
                '-verify',
                pem,
                '-signature',
                'sig.bin',
                'pae.bin',
              ];
        const out = execFileSync('openssl', args, { cwd: work, encoding: 'utf8' });
        assert.match(out, /Verified OK|Signature Verified Successfully/);
      } finally {
        core.close();
      }
    });
  }
});
