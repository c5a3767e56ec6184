// Issue 21: functionaries who sign their links with GnuPG (`in-toto-run --gpg`) are named in the
// layout by their armored OpenPGP public keys. Judged by Debian's in-toto 1.3.1 and
// securesystemslib 0.26: Vigil's key object for an RSA key is exactly what securesystemslib
// exports; a maintainer whose Ed25519 key signs the tag and builds with its subkey — which
// securesystemslib's own export drops — is accepted by in-toto-verify; a functionary missing from
// the layout is not; keys in-toto cannot check are refused with words saying what to bring.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadLayoutTemplate } from '../../../electron/core/in-toto/ceremony/actions.ts';
import { gpgStepKey } from '../../../electron/core/in-toto/openpgp-step-key.ts';
import {
  InTotoLayoutError,
  checkStepKeys,
  inTotoKey,
  inTotoKeyFromFile,
  keyFileText,
  keySignature,
  layoutSigned,
  layoutSignedBytes,
  layoutText,
  parseLayout,
  type GpgStepKey,
} from '../../../electron/formats/in-toto-layout.ts';
import { exitOf, recordSupplyChain } from '../../helpers/in-toto-chain.ts';
import { readFileSync } from 'node:fs';

const run = promisify(execFile);
const NOW = new Date();
const template = loadLayoutTemplate('python-tuf-release');

describe('functionaries with OpenPGP step keys, judged by in-toto 1.3.1', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-in-toto-gpg-'));
  const home = join(work, 'gnupg');
  const gpg = (...args: string[]) =>
    run('gpg', ['--batch', '--homedir', home, '--passphrase', '', ...args]);
  const fingerprintOf = async (uid: string) => {
    const { stdout } = await gpg('--with-colons', '--list-keys', uid);
    const line = stdout.split('\n').find((l) => l.startsWith('fpr:'));
    return (line?.split(':')[9] ?? '').toLowerCase();
  };
  const armoredOf = async (fingerprint: string) =>
    (await gpg('--armor', '--export', fingerprint)).stdout;
  /** A certify-only primary with a signing subkey, as careful functionaries keep theirs. */
  const makeKey = async (uid: string, algorithm: string, subkeyExpiry = '1y') => {
    await gpg('--quick-gen-key', uid, algorithm, 'cert', '2y');
    const fingerprint = await fingerprintOf(uid);
    await gpg('--quick-add-key', fingerprint, algorithm, 'sign', subkeyExpiry);
    return fingerprint;
  };
  const exportedBySecuresystemslib = async (fingerprint: string) => {
    const { stdout } = await run('/usr/bin/python3', [
      '-c',
      'import sys, json; from securesystemslib.gpg.functions import export_pubkey as e; print(json.dumps(e(sys.argv[1], homedir=sys.argv[2])))',
      fingerprint,
      home,
    ]);
    return JSON.parse(stdout) as GpgStepKey;
  };
  let edFingerprint: string;
  let rsaFingerprint: string;

  before(async () => {
    mkdirSync(home, { mode: 0o700 });
    edFingerprint = await makeKey('Ed Maintainer <ed@example.org>', 'ed25519');
    rsaFingerprint = await makeKey('Rsa Builder <rsa@example.org>', 'rsa2048', '0');
  });

  it("gives an RSA key exactly securesystemslib's key object, subkeys and validity included", async () => {
    const ours = await gpgStepKey(await armoredOf(rsaFingerprint), 'rsa.asc', new Date());
    const theirs = await exportedBySecuresystemslib(rsaFingerprint);
    assert.deepEqual(ours, theirs);
    assert.equal(ours.validity_period, 2 * 365 * 86_400);
    assert.equal(Object.keys(ours.subkeys ?? {}).length, 1);
  });

  it('lets in-toto-verify accept links a functionary signed with an Ed25519 subkey', async () => {
    const maintainer = await gpgStepKey(
      await armoredOf(edFingerprint),
      'maintainers/ed.asc',
      new Date(),
    );
    // securesystemslib's own export of this key has no subkeys (it misreads their short
    // packets), so its links would not verify; Vigil's has the signing subkey, the rest the same.
    assert.equal(Object.keys(maintainer.subkeys ?? {}).length, 1);
    const theirs = await exportedBySecuresystemslib(edFingerprint);
    assert.equal(theirs.subkeys, undefined);
    assert.deepEqual(
      { ...maintainer, subkeys: undefined, validity_period: undefined },
      { ...theirs, subkeys: undefined, validity_period: undefined },
    );
    await run('in-toto-keygen', ['-t', 'ed25519', join(work, 'cd')]);
    const cd = inTotoKeyFromFile(readFileSync(join(work, 'cd.pub'), 'utf8'), 'cd.pub');
    const signed = layoutSigned({
      template,
      functionaries: { maintainers: [maintainer], 'cd-build': [cd] },
      expires: `${new Date(NOW.getTime() + 30 * 86_400_000).toISOString().slice(0, 19)}Z`,
      isRehearsal: false,
    });
    const owner = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ownerKey = inTotoKey(
      new Uint8Array(owner.publicKey.export({ type: 'spki', format: 'der' })),
    );
    writeFileSync(join(work, 'owner.pub'), keyFileText(ownerKey));
    const raw = sign('sha256', layoutSignedBytes(signed), {
      key: owner.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    const text = layoutText(signed, [keySignature(ownerKey, raw)]);
    writeFileSync(join(work, 'root.layout'), text);
    checkStepKeys(parseLayout(text).keys);

    const chain = await recordSupplyChain(work, {
      maintainer: { gpg: edFingerprint, home },
      cd: join(work, 'cd'),
    });
    const verifyWith = (layout: string) =>
      exitOf(
        'in-toto-verify',
        ['-l', layout, '-k', join(work, 'owner.pub'), '-t', 'ecdsa', '--link-dir', chain.links],
        chain.final,
      );
    const accepted = await verifyWith(join(work, 'root.layout'));
    assert.equal(accepted.code, 0, accepted.out);

    // The same chain against a layout that names another maintainer: the links are not theirs.
    const other = await makeKey('Other <other@example.org>', 'ed25519');
    // Just made: read at the time it was made, not the test's start.
    const stranger = await gpgStepKey(await armoredOf(other), 'maintainers/other.asc', new Date());
    const strangerSigned = layoutSigned({
      template,
      functionaries: { maintainers: [stranger], 'cd-build': [cd] },
      expires: signed.expires as string,
      isRehearsal: false,
    });
    const strangerRaw = sign('sha256', layoutSignedBytes(strangerSigned), {
      key: owner.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    writeFileSync(
      join(work, 'stranger.layout'),
      layoutText(strangerSigned, [keySignature(ownerKey, strangerRaw)]),
    );
    const refused = await verifyWith(join(work, 'stranger.layout'));
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /threshold|link/i);
  });

  it('refuses keys in-toto cannot check, and a secret key, saying what to bring', async () => {
    await gpg('--quick-gen-key', 'Nist <nist@example.org>', 'nistp256', 'sign,cert', '2y');
    const nist = await fingerprintOf('nist@example.org');
    await assert.rejects(
      gpgStepKey(await armoredOf(nist), 'maintainers/nist.asc', new Date()),
      (e: unknown) =>
        e instanceof InTotoLayoutError && /RSA, DSA and Ed25519 keys only.*ecdsa/.test(e.message),
    );
    const { stdout: secret } = await gpg('--armor', '--export-secret-keys', edFingerprint);
    await assert.rejects(
      gpgStepKey(secret, 'maintainers/ed.asc', new Date()),
      (e: unknown) => e instanceof InTotoLayoutError && /secret key/.test(e.message),
    );
    // Two years and a day on, the key has expired: a current one is needed.
    await assert.rejects(
      gpgStepKey(
        await armoredOf(edFingerprint),
        'maintainers/ed.asc',
        new Date(Date.now() + 731 * 86_400_000),
      ),
      (e: unknown) => e instanceof InTotoLayoutError && /not valid now/.test(e.message),
    );
    // An offline computer whose clock is behind (a Raspberry Pi without its battery) says so.
    await assert.rejects(
      gpgStepKey(
        await armoredOf(edFingerprint),
        'maintainers/ed.asc',
        new Date(Date.now() - 10 * 86_400_000),
      ),
      (e: unknown) =>
        e instanceof InTotoLayoutError &&
        /made after this computer's time .*check the computer's clock/.test(e.message),
    );
    // A layout read from a medium whose OpenPGP step key is misnamed is refused before it is shown.
    const misnamed = await gpgStepKey(await armoredOf(edFingerprint), 'ed.asc', new Date());
    assert.throws(
      () => checkStepKeys({ ['0'.repeat(40)]: misnamed as unknown as Record<string, unknown> }),
      InTotoLayoutError,
    );
  });
});
