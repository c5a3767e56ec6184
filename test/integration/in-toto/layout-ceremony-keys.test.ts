// Issue 21: layouts whose keys come from the ceremony rather than from files, rehearsed with the
// built CLI and judged by in-toto 1.3.1 —
// - a maintainer signs with the key an earlier ceremony (nitrokey-hsm-tuf) made on their token,
//   kept in its bag (--devices), named by the public key file that ceremony wrote; a file naming
//   another key of the token is refused and nothing is signed;
// - the maintainer's own OpenPGP key, loaded in the ceremony, is a step key of the maintainers:
//   they tag and build with `in-toto-run --gpg`, and the same key signs the layout;
// - the maintainer's OpenPGP signing subkey on a YubiKey (RSA-4096, moved onto the rehearsal card
//   as the GPG ceremony does) signs, named by their armored public key on the flash drive; a key
//   file that does not hold the card's key is refused before the PIN is asked.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseLayout } from '../../../electron/formats/in-toto-layout.ts';
import { minimalPublicKey, readKeyBackup } from '../../../electron/core/openpgp/index.ts';
import { exitOf, recordSupplyChain } from '../../helpers/in-toto-chain.ts';
import { runRunbookChild } from '../../helpers/runbook-child.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const runbooks = join(root, 'resources', 'runbooks');
const vectors = join(root, 'test', 'vectors', 'runbooks', 'in-toto');
const RSA_BACKUP = join(root, 'test', 'vectors', 'in-toto', 'maintainer-rsa4096.backup.asc');
const RSA_PASSPHRASE = 'rsa maintainer test passphrase';
const PARTICIPANTS = [
  { role: 'ceremony-lead', name: 'Rehearsal Lead' },
  { role: 'witness', name: 'Rehearsal Witness' },
  { role: 'keyholder', name: 'Rehearsal Maintainer' },
];

describe('in-toto layouts with the ceremony’s own keys, judged by in-toto 1.3.1', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-in-toto-keys-'));
  const vigilRun = async (runbook: string, answers: object, out: string, flags: string[]) => {
    const file = join(work, `${out}.answers.yaml`);
    writeFileSync(file, stringifyYaml({ v: 1, participants: PARTICIPANTS, ...answers }));
    return runRunbookChild([runbook, file, join(work, out), ...flags], { VIGIL_STAND_IN_PDF: '1' });
  };
  const stepKeysOn = (medium: string, groups: readonly ('maintainers' | 'cd-build')[]) => {
    for (const group of groups) {
      const name = group === 'cd-build' ? 'cd' : 'maintainer';
      mkdirSync(join(medium, 'step-keys', group), { recursive: true });
      writeFileSync(
        join(medium, 'step-keys', group, `${name}.pub`),
        readFileSync(join(work, `${name}.pub`)),
      );
    }
  };

  before(async () => {
    for (const name of ['maintainer', 'cd'])
      await run('in-toto-keygen', ['-t', 'ed25519', join(work, name)]);
  });

  it('signs with the key an earlier ceremony made on the token, named by its public key file', async () => {
    const medium = join(work, 'stick');
    const bag = join(work, 'devices');
    const first = await vigilRun(
      join(runbooks, 'nitrokey-hsm-tuf.yaml'),
      parseYaml(readFileSync(join(runbooks, 'nitrokey-hsm-tuf.rehearsal.yaml'), 'utf8')) as object,
      'provisioning',
      ['--medium', medium, '--devices', bag],
    );
    assert.equal(first.outcome?.exitCode, 0, first.outcome?.lines.join('\n') ?? first.stderr);
    const serial = readdirSync(join(medium, 'ceremony-products'))[0] ?? '';
    stepKeysOn(medium, ['maintainers', 'cd-build']);
    const sign = (out: string, role: 'root' | 'targets') =>
      vigilRun(
        join(vectors, 'layout-earlier-key.yaml'),
        {
          runbook: 'layout-earlier-key',
          inputs: {
            'step-keys-folder': 'step-keys',
            'maintainer-key': `ceremony-products/${serial}/${serial}_${role}_pubkey.pem`,
            'token-serial': serial,
          },
          credentials: { userPin: '815932' },
        },
        out,
        ['--medium', medium, '--devices', bag],
      );
    // The targets key's file, but the step signs with the root key: refused, nothing kept.
    const wrong = await sign('wrong-key', 'targets');
    assert.notEqual(wrong.outcome?.exitCode, 0);
    assert.match(
      wrong.outcome?.lines.join('\n') ?? '',
      /does not verify with the maintainer's key: it is not kept\. Is it the right device and key\?/,
    );
    assert.deepEqual(
      readdirSync(medium).filter((n) => n.startsWith('in-toto-layout-')),
      [],
      'nothing written',
    );
    const signed = await sign('signing', 'root');
    assert.equal(signed.outcome?.exitCode, 0, signed.outcome?.lines.join('\n') ?? signed.stderr);
    const folder = readdirSync(medium).find((n) => n.startsWith('in-toto-layout-')) ?? '';
    const maintainers = join(medium, folder, 'maintainers');
    const pem = readdirSync(maintainers).find((n) => n.endsWith('.pem')) ?? '';
    const pub = readdirSync(maintainers).find((n) => n.endsWith('.pub')) ?? '';
    assert.equal(
      readFileSync(join(maintainers, pem), 'utf8'),
      readFileSync(join(medium, 'ceremony-products', serial, `${serial}_root_pubkey.pem`), 'utf8'),
      'the maintainer key written is the one the earlier ceremony made',
    );
    const chain = await recordSupplyChain(join(work, 'chain-one'), {
      maintainer: join(work, 'maintainer'),
      cd: join(work, 'cd'),
    });
    const verified = await exitOf(
      'in-toto-verify',
      [
        '-l',
        join(medium, folder, 'root.layout'),
        '-k',
        join(maintainers, pub),
        '-t',
        'ecdsa',
        '--link-dir',
        chain.links,
      ],
      chain.final,
    );
    assert.equal(verified.code, 0, verified.out);
  });

  it('makes the maintainer’s OpenPGP key a step key: links by in-toto-run --gpg verify', async () => {
    const medium = join(work, 'gpg-stick');
    stepKeysOn(medium, ['cd-build']);
    const result = await vigilRun(
      join(vectors, 'layout-openpgp-functionary.yaml'),
      {
        runbook: 'layout-openpgp-functionary',
        inputs: { 'step-keys-folder': 'step-keys', 'backup-path': 'maintainer.backup.asc' },
        credentials: { passphrase: RSA_PASSPHRASE },
        medium: { 'maintainer.backup.asc': readFileSync(RSA_BACKUP, 'utf8') },
      },
      'openpgp',
      ['--medium', medium],
    );
    assert.equal(result.outcome?.exitCode, 0, result.outcome?.lines.join('\n') ?? result.stderr);
    const folder = join(
      medium,
      readdirSync(medium).find((n) => n.startsWith('in-toto-layout-')) ?? '',
    );
    const layout = parseLayout(readFileSync(join(folder, 'root.layout'), 'utf8'));
    const fingerprint =
      /--gpg ([0-9a-f]{40})/.exec(readFileSync(join(folder, 'README.md'), 'utf8'))?.[1] ?? '';
    const tag = layout.steps.find((s) => s.name === 'tag');
    assert.deepEqual(tag?.pubkeys, [fingerprint], 'the maintainer tags with their OpenPGP key');

    // The maintainer's own GnuPG, with the secret key: in-toto-run --gpg signs each link.
    const home = join(work, 'maintainer-gnupg');
    mkdirSync(home, { mode: 0o700 });
    writeFileSync(
      join(home, 'gpg.conf'),
      `batch\npinentry-mode loopback\npassphrase ${RSA_PASSPHRASE}\n`,
    );
    await run('gpg', ['--homedir', home, '--import', RSA_BACKUP]);
    const chain = await recordSupplyChain(join(work, 'chain-two'), {
      maintainer: { gpg: fingerprint, home },
      cd: join(work, 'cd'),
    });
    const verified = await exitOf(
      'in-toto-verify',
      ['-l', join(folder, 'root.layout'), '--gpg', fingerprint, '--gpg-home', home].concat([
        '--link-dir',
        chain.links,
      ]),
      chain.final,
    );
    assert.equal(verified.code, 0, verified.out);
  });

  it('signs with the OpenPGP signing subkey on the maintainer’s YubiKey', async () => {
    const medium = join(work, 'yubikey-stick');
    stepKeysOn(medium, ['maintainers', 'cd-build']);
    const key = await readKeyBackup(readFileSync(RSA_BACKUP, 'utf8'));
    const { publicKey: someoneElse } = await openpgp.generateKey({
      userIDs: [{ name: 'Someone Else' }],
      subkeys: [{ sign: true }],
      date: new Date(Date.now() - 60_000),
    });
    const answers = (maintainerKey: string) => ({
      runbook: 'layout-yubikey-openpgp',
      inputs: {
        'backup-path': 'maintainer.backup.asc',
        'card-serial-written': { fromDevice: 'serial' },
        'step-keys-folder': 'step-keys',
        'maintainer-key': maintainerKey,
      },
      // A rehearsal card keeps its factory PINs; production refuses them before a card is moved.
      credentials: { passphrase: RSA_PASSPHRASE, adminPin: '12345678', userPin: '123456' },
      medium: {
        'maintainer.backup.asc': readFileSync(RSA_BACKUP, 'utf8'),
        'keys/maintainer.asc': minimalPublicKey(key),
        'keys/someone-else.asc': someoneElse,
      },
    });
    const runbook = join(vectors, 'layout-yubikey-openpgp.yaml');
    const wrong = await vigilRun(runbook, answers('keys/someone-else.asc'), 'card-wrong', [
      '--medium',
      medium,
    ]);
    assert.notEqual(wrong.outcome?.exitCode, 0);
    assert.match(
      wrong.outcome?.lines.join('\n') ?? '',
      /the card's signing key [0-9A-F]{40} is not a valid key of keys\/someone-else\.asc: is it this maintainer's YubiKey and key\?/,
    );
    const result = await vigilRun(runbook, answers('keys/maintainer.asc'), 'card', [
      '--medium',
      medium,
    ]);
    assert.equal(result.outcome?.exitCode, 0, result.outcome?.lines.join('\n') ?? result.stderr);
    const folder = join(
      medium,
      readdirSync(medium).find((n) => n.startsWith('in-toto-layout-')) ?? '',
    );
    const layout = parseLayout(readFileSync(join(folder, 'root.layout'), 'utf8'));
    const signature = layout.signatures[0];
    assert.ok(signature && 'other_headers' in signature);
    assert.equal(signature.keyid, key.subkeys[0]?.getFingerprint(), 'by the subkey on the card');
    const home = join(work, 'verifier-gnupg');
    mkdirSync(home, { mode: 0o700 });
    const asc = readdirSync(join(folder, 'maintainers')).find((n) => n.endsWith('.asc')) ?? '';
    await run('gpg', ['--batch', '--homedir', home, '--import', join(folder, 'maintainers', asc)]);
    const chain = await recordSupplyChain(join(work, 'chain-three'), {
      maintainer: join(work, 'maintainer'),
      cd: join(work, 'cd'),
    });
    const verifyWith = (layoutFile: string) =>
      exitOf(
        'in-toto-verify',
        ['-l', layoutFile, '--gpg', key.getFingerprint(), '--gpg-home', home].concat([
          '--link-dir',
          chain.links,
        ]),
        chain.final,
      );
    const verified = await verifyWith(join(folder, 'root.layout'));
    assert.equal(verified.code, 0, verified.out);
    const changed = JSON.parse(readFileSync(join(folder, 'root.layout'), 'utf8')) as {
      signed: { expires: string };
    };
    changed.signed.expires = '2099-01-01T00:00:00Z';
    writeFileSync(join(work, 'card-changed.layout'), JSON.stringify(changed));
    assert.notEqual((await verifyWith(join(work, 'card-changed.layout'))).code, 0);
  });
});
