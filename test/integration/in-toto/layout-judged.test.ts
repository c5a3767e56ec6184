// Issue 21: an in-toto layout made from the bundled python-tuf template and signed by two
// maintainers — one with a device key in securesystemslib's format (a P-256 key returning raw
// r‖s, as PKCS#11 and PIV do), one with an OpenPGP RSA signing subkey in GnuPG's format — is
// judged by Debian's in-toto 1.3.1 itself: a small supply chain is run with in-toto-run (tag,
// sdist and wheel, each build by the CD key and a maintainer's step key) and in-toto-verify
// accepts it with the maintainers' keys (-k, --gpg). A changed layout and a maintainer's
// signature missing fail there; OpenPGP keys in-toto 1.3.1 cannot check (NIST curves, and
// Ed25519, whose short packets securesystemslib misreads) are refused before they sign.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLayoutTemplate } from '../../../electron/core/in-toto/ceremony/actions.ts';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { exitOf, recordSupplyChain, type SupplyChain } from '../../helpers/in-toto-chain.ts';
import {
  inTotoKey,
  inTotoKeyFromFile,
  keyFileText,
  keySignature,
  layoutSigned,
  layoutSignedBytes,
  layoutText,
  openPgpSigningKeys,
  parseLayout,
  verifyGpgSignature,
  verifyKeySignature,
  InTotoLayoutError,
  type InTotoKey,
} from '../../../electron/formats/in-toto-layout.ts';
import {
  createPrimaryKey,
  minimalPublicKey,
  readKeyBackup,
} from '../../../electron/core/openpgp/index.ts';
import { openPgpLayoutSignature } from '../../../electron/core/in-toto/openpgp-signature.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';

const run = promisify(execFile);
const template = loadLayoutTemplate('python-tuf-release');
const NOW = new Date();
const PASSPHRASE = SecretBytes.fromText('maintainer three passphrase');
const RSA_BACKUP = join(
  import.meta.dirname,
  '..',
  '..',
  'vectors',
  'in-toto',
  'maintainer-rsa4096.backup.asc',
);
const RSA_PASSPHRASE = SecretBytes.fromText('rsa maintainer test passphrase');

describe('an in-toto layout signed by two maintainers, judged by in-toto 1.3.1', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-in-toto-'));
  const gpgHome = join(work, 'gnupg');
  let chain: SupplyChain;
  let stepKeys: Record<'maintainer' | 'cd', InTotoKey>;
  let deviceKey: InTotoKey;
  let gpgFingerprint: string;
  let signed: Record<string, unknown>;
  let text: string;

  before(async () => {
    mkdirSync(gpgHome, { mode: 0o700 });
    // The functionaries' step keys, as in-toto-keygen writes them.
    for (const name of ['maintainer', 'cd'])
      await run('in-toto-keygen', ['-t', 'ed25519', join(work, name)]);
    stepKeys = {
      maintainer: inTotoKeyFromFile(
        readFileSync(join(work, 'maintainer.pub'), 'utf8'),
        'maintainer.pub',
      ),
      cd: inTotoKeyFromFile(readFileSync(join(work, 'cd.pub'), 'utf8'), 'cd.pub'),
    };
    signed = layoutSigned({
      template,
      functionaries: { maintainers: [stepKeys.maintainer], 'cd-build': [stepKeys.cd] },
      expires: `${new Date(NOW.getTime() + 30 * 86_400_000).toISOString().slice(0, 19)}Z`,
      isRehearsal: false,
    });
    const bytes = layoutSignedBytes(signed);
    // Maintainer one: a device key that returns raw r‖s.
    const device = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    deviceKey = inTotoKey(new Uint8Array(device.publicKey.export({ type: 'spki', format: 'der' })));
    const raw = sign('sha256', bytes, { key: device.privateKey, dsaEncoding: 'ieee-p1363' });
    writeFileSync(join(work, 'maintainer-one.pub'), keyFileText(deviceKey));
    // Maintainer two: an OpenPGP key's RSA signing subkey (a Vigil-made key from the vectors:
    // RSA-4096 takes openpgp.js seconds to generate).
    const openpgpKey = await readKeyBackup(readFileSync(RSA_BACKUP, 'utf8'));
    gpgFingerprint = openpgpKey.getFingerprint();
    writeFileSync(join(work, 'maintainer-two.asc'), minimalPublicKey(openpgpKey));
    await run('gpg', [
      '--batch',
      '--homedir',
      gpgHome,
      '--import',
      join(work, 'maintainer-two.asc'),
    ]);
    const gpgSignature = await openPgpLayoutSignature(openpgpKey, RSA_PASSPHRASE, bytes, NOW);
    text = layoutText(signed, [keySignature(deviceKey, raw), gpgSignature]);
    writeFileSync(join(work, 'root.layout'), text);

    chain = await recordSupplyChain(work, {
      maintainer: join(work, 'maintainer'),
      cd: join(work, 'cd'),
    });
  });

  /** in-toto-verify with the maintainers' keys, in the folder holding the final products. */
  const verifyLayout = (layout: string, withGpg = true) =>
    exitOf(
      'in-toto-verify',
      [
        '-l',
        layout,
        '-k',
        join(work, 'maintainer-one.pub'),
        '-t',
        'ecdsa',
        ...(withGpg ? ['--gpg', gpgFingerprint, '--gpg-home', gpgHome] : []),
        '--link-dir',
        chain.links,
      ],
      chain.final,
    );

  it('is accepted by in-toto-verify with both maintainers keys', async () => {
    const result = await verifyLayout(join(work, 'root.layout'));
    assert.equal(result.code, 0, result.out);
    // And by Vigil's own reading of it.
    const layout = parseLayout(text);
    assert.deepEqual(
      layout.steps.map((s) => [s.name, s.threshold, s.pubkeys.length]),
      [
        ['tag', 1, 1],
        ['sdist', 2, 2],
        ['wheel', 2, 2],
      ],
    );
    const [deviceSig, gpgSig] = layout.signatures;
    assert.ok(deviceSig && 'sig' in deviceSig && gpgSig && 'other_headers' in gpgSig);
    assert.equal(verifyKeySignature(deviceKey, deviceSig.sig, layout.signedBytes), true);
    const gpgKeys = openPgpSigningKeys(readFileSync(join(work, 'maintainer-two.asc'), 'utf8'));
    assert.equal(gpgKeys.fingerprint, gpgFingerprint);
    assert.equal(verifyGpgSignature(gpgSig, gpgKeys, layout.signedBytes), true);
    // The signature is by the signing subkey, not the certify-only primary.
    assert.notEqual(gpgSig.keyid, gpgFingerprint);
  });

  it('computes step keyids as in-toto does', async () => {
    const { stdout } = await run('/usr/bin/python3', [
      '-c',
      'import sys; from securesystemslib.interface import import_ed25519_publickey_from_file as f; print(f(sys.argv[1])["keyid"])',
      join(work, 'cd.pub'),
    ]);
    assert.equal(stdout.trim(), stepKeys.cd.keyid);
  });

  it('fails in-toto-verify when the layout changed or a maintainer did not sign', async () => {
    const changed = JSON.parse(text) as { signed: { readme: string } };
    changed.signed.readme += ' (changed)';
    writeFileSync(join(work, 'changed.layout'), JSON.stringify(changed));
    const tampered = await verifyLayout(join(work, 'changed.layout'));
    assert.notEqual(tampered.code, 0);
    assert.match(tampered.out, /Invalid signature|signature/i);
    const onlyOne = JSON.parse(text) as { signatures: unknown[] };
    onlyOne.signatures = onlyOne.signatures.slice(0, 1);
    writeFileSync(join(work, 'one.layout'), JSON.stringify(onlyOne));
    const missing = await verifyLayout(join(work, 'one.layout'));
    assert.notEqual(missing.code, 0);
    assert.match(missing.out, /No signature found for key/);
    // With only the device key given, the one signature is enough for in-toto.
    assert.equal((await verifyLayout(join(work, 'one.layout'), false)).code, 0);
  });

  it('refuses OpenPGP keys in-toto 1.3.1 cannot check: NIST curves, and Ed25519', async () => {
    const make = (algorithm: 'nistp256' | 'ed25519') =>
      createPrimaryKey({
        userId: 'Maintainer Three <three@example.org>',
        expiresInSeconds: 0,
        subkeys: ['sign'],
        algorithm,
        passphrase: PASSPHRASE,
        now: new Date(NOW.getTime() - 60_000),
      });
    const bytes = layoutSignedBytes(signed);
    await assert.rejects(
      openPgpLayoutSignature(await make('nistp256'), PASSPHRASE, bytes, NOW),
      (e: unknown) =>
        e instanceof InTotoLayoutError &&
        /RSA, DSA and EdDSA keys only.*NIST curve/.test(e.message),
    );
    const ed25519 = await make('ed25519');
    await assert.rejects(
      openPgpLayoutSignature(ed25519, PASSPHRASE, bytes, NOW),
      (e: unknown) =>
        e instanceof InTotoLayoutError && /misreads the short key packets/.test(e.message),
    );
    // Why: securesystemslib itself finds no subkey in GnuPG's export of an Ed25519 key.
    const home = join(work, 'gnupg-ed25519');
    mkdirSync(home, { mode: 0o700 });
    writeFileSync(join(work, 'ed25519.asc'), minimalPublicKey(ed25519));
    await run('gpg', ['--batch', '--homedir', home, '--import', join(work, 'ed25519.asc')]);
    const { stdout } = await run('/usr/bin/python3', [
      '-c',
      'import sys; from securesystemslib.gpg.functions import export_pubkey as e; print(len(e(sys.argv[1], homedir=sys.argv[2]).get("subkeys", {})))',
      ed25519.getFingerprint(),
      home,
    ]);
    assert.equal(stdout.trim(), '0');
  });
});
