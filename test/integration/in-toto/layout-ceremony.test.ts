// Issue 21: the bundled in-toto-layout runbook rehearsed with the built CLI, with the test's own
// step keys on the flash drive: the layout is built from them, a SoftHSM2 token and an OpenPGP
// RSA key sign it, and what the ceremony wrote — root.layout, the maintainers' public keys as
// in-toto-verify -k and GnuPG read them, the README's command — is judged by in-toto-verify over
// a supply chain run with in-toto-run. Step keys that are a link, an RSA key, or missing are
// refused by name, with nothing built.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { VigilCore } from '../../../electron/core/vigil-core.ts';
import { VigilError } from '../../../electron/base/errors.ts';
import { inTotoActions } from '../../../electron/core/in-toto/ceremony/actions.ts';
import { parseLayout } from '../../../electron/formats/in-toto-layout.ts';
import { verifyInTotoLayoutFolder } from '../../../electron/core/products/in-toto-layout-folder.ts';
import { bareActionContext } from '../../helpers/bare-action-context.ts';
import { exitOf, recordSupplyChain, type SupplyChain } from '../../helpers/in-toto-chain.ts';
import { runRunbookChild } from '../../helpers/runbook-child.ts';
import { freshDataDir } from '../../helpers/softhsm-token.ts';

const run = promisify(execFile);
const runbooks = join(import.meta.dirname, '..', '..', '..', 'resources', 'runbooks');

describe('the in-toto-layout runbook, judged by in-toto 1.3.1', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-in-toto-ceremony-'));
  const stick = join(work, 'stick');
  const gpgHome = join(work, 'gnupg');
  let folder: string;
  let chain: SupplyChain;
  let backup: string;

  before(async () => {
    for (const name of ['maintainer', 'cd'])
      await run('in-toto-keygen', ['-t', 'ed25519', join(work, name)]);
    // The bundled rehearsal answers, with this test's step keys on the flash drive.
    const answers = parseYaml(
      readFileSync(join(runbooks, 'in-toto-layout.rehearsal.yaml'), 'utf8'),
    ) as { medium: Record<string, string> };
    backup = answers.medium['maintainer-two.backup.asc'] ?? '';
    answers.medium = {
      'step-keys/maintainers/test-maintainer.pub': readFileSync(
        join(work, 'maintainer.pub'),
        'utf8',
      ),
      'step-keys/cd-build/test-cd.pub': readFileSync(join(work, 'cd.pub'), 'utf8'),
      'maintainer-two.backup.asc': answers.medium['maintainer-two.backup.asc'] ?? '',
    };
    const answersFile = join(work, 'answers.yaml');
    writeFileSync(answersFile, stringifyYaml(answers));
    const result = await runRunbookChild(
      [join(runbooks, 'in-toto-layout.yaml'), answersFile, join(work, 'record'), '--medium', stick],
      { VIGIL_STAND_IN_PDF: '1' },
    );
    assert.equal(
      result.outcome?.exitCode,
      0,
      `${result.outcome?.lines.join('\n') ?? ''}${result.stderr}`,
    );
    const written = readdirSync(stick).filter((n) => n.startsWith('in-toto-layout-'));
    assert.equal(written.length, 1, written.join(', '));
    folder = join(stick, written[0] ?? '');
  });

  it('writes a layout in-toto-verify accepts with the maintainers keys it wrote', async () => {
    const maintainers = readdirSync(join(folder, 'maintainers')).sort();
    assert.deepEqual(
      maintainers.map((n) => n.replace(/^\d\d-[a-z0-9-]+/, '*')).sort(),
      ['*.pem', '*.pub', '*.asc'].sort(),
    );
    const pub = maintainers.find((n) => n.endsWith('.pub')) ?? '';
    const asc = maintainers.find((n) => n.endsWith('.asc')) ?? '';
    assert.match(asc, /^02-rehearsal-maintainer-rehearsal\.asc$/);
    mkdirSync(gpgHome, { mode: 0o700 });
    await run('gpg', [
      '--batch',
      '--homedir',
      gpgHome,
      '--import',
      join(folder, 'maintainers', asc),
    ]);
    const readme = readFileSync(join(folder, 'README.md'), 'utf8');
    const fingerprint = /--gpg ([0-9a-f]{40})/.exec(readme)?.[1] ?? '';
    assert.match(readme, /REHEARSAL/);
    assert.match(readme, new RegExp(`-k maintainers/${pub} -t ecdsa`));
    chain = await recordSupplyChain(work, {
      maintainer: join(work, 'maintainer'),
      cd: join(work, 'cd'),
    });
    const verified = await exitOf(
      'in-toto-verify',
      [
        '-l',
        join(folder, 'root.layout'),
        '-k',
        join(folder, 'maintainers', pub),
        '-t',
        'ecdsa',
        '--gpg',
        fingerprint,
        '--gpg-home',
        gpgHome,
        '--link-dir',
        chain.links,
      ],
      chain.final,
    );
    assert.equal(verified.code, 0, verified.out);
    const layout = parseLayout(readFileSync(join(folder, 'root.layout'), 'utf8'));
    assert.equal(layout.isRehearsal, true);
    assert.equal(layout.signatures.length, 2);
    // The SHA256SUMS lists every file written.
    const sums = readFileSync(join(folder, 'SHA256SUMS'), 'utf8');
    for (const name of ['root.layout', 'README.md', `maintainers/${pub}`, `maintainers/${asc}`])
      assert.match(sums, new RegExp(`  ${name.replace('.', '\\.')}\\n`));
  });

  it('verifies with vigil verify and the maintainers keys; a changed or expired layout fails', async () => {
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'vigil.mjs');
    const keys = readdirSync(join(folder, 'maintainers'))
      .filter((n) => /\.(pub|asc)$/.test(n))
      .flatMap((n) => ['--layout-key', join(folder, 'maintainers', n)]);
    const verified = await exitOf(process.execPath, [bin, 'verify', folder, ...keys], work);
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /ok {3}signed-by:01-[a-z0-9-]+\.pub: a valid signature by key/);
    assert.match(
      verified.out,
      /ok {3}signed-by:02-[a-z0-9-]+\.asc: a valid signature by OpenPGP key/,
    );
    assert.match(verified.out, /verified the in-toto layout \(tag, sdist, wheel\)/);
    // A key that did not sign, and a layout changed after signing.
    const other = await exitOf(
      process.execPath,
      [bin, 'verify', folder, '--layout-key', join(work, 'cd.pub')],
      work,
    );
    assert.equal(other.code, 1);
    assert.match(other.out, /FAIL signed-by:cd\.pub: no signature by key/);
    const changed = join(work, 'changed-layout');
    cpSync(folder, changed, { recursive: true });
    const layout = JSON.parse(readFileSync(join(changed, 'root.layout'), 'utf8')) as {
      signed: { readme: string };
    };
    layout.signed.readme += ' Anyone may build.';
    writeFileSync(join(changed, 'root.layout'), JSON.stringify(layout));
    const tampered = await exitOf(
      process.execPath,
      [bin, 'verify', changed, ...keys.map((k) => k.replace(folder, changed))],
      work,
    );
    assert.equal(tampered.code, 1);
    assert.match(
      tampered.out,
      /FAIL signed-by:01-[a-z0-9-]+\.pub: the signature by key \w+ does not verify/,
    );
    assert.match(tampered.out, /FAIL sha256sums: root\.layout differs/);
    const later = verifyInTotoLayoutFolder(folder, [], new Date(Date.now() + 400 * 86_400_000));
    assert.equal(later.isOk, false);
    assert.match(
      later.checks.find((c) => c.check === 'expiry')?.detail ?? '',
      /^expired .*in-toto-verify refuses it/,
    );
  });

  it('is signed across ceremonies: a signing event the second maintainer completes', async () => {
    const vectors = join(import.meta.dirname, '..', '..', 'vectors', 'runbooks', 'in-toto');
    const medium = join(work, 'event-stick');
    const answers = (name: string, body: Record<string, unknown>) => {
      const file = join(work, `${name}.answers.yaml`);
      writeFileSync(
        file,
        stringifyYaml({
          v: 1,
          runbook: name,
          participants: [
            { role: 'ceremony-lead', name: 'Rehearsal Lead' },
            { role: 'witness', name: 'Rehearsal Witness' },
            { role: 'keyholder', name: 'Rehearsal Maintainer' },
          ],
          ...body,
        }),
      );
      return file;
    };
    const runIt = async (name: string, answersFile: string) => {
      const result = await runRunbookChild(
        [
          join(vectors, `${name}.yaml`),
          answersFile,
          join(work, `${name}-record`),
          '--medium',
          medium,
        ],
        { VIGIL_STAND_IN_PDF: '1' },
      );
      assert.equal(
        result.outcome?.exitCode,
        0,
        `${result.outcome?.lines.join('\n') ?? ''}${result.stderr}`,
      );
    };
    await runIt(
      'layout-first-signer',
      answers('layout-first-signer', {
        inputs: { 'step-keys-folder': 'step-keys' },
        credentials: {
          currentSoPin: '3537363231383830',
          newSoPin: '1029384756473822',
          newUserPin: '815932',
          userPin: '815932',
        },
        medium: {
          'step-keys/maintainers/test-maintainer.pub': readFileSync(
            join(work, 'maintainer.pub'),
            'utf8',
          ),
          'step-keys/cd-build/test-cd.pub': readFileSync(join(work, 'cd.pub'), 'utf8'),
          'maintainer-two.backup.asc': backup,
        },
      }),
    );
    const event = readdirSync(medium).find((n) => n.endsWith('-signing')) ?? '';
    assert.match(event, /^in-toto-layout-[0-9a-f]{8}-signing$/);
    assert.match(readdirSync(join(medium, event))[0] ?? '', /^1-signatures-/);
    await runIt(
      'layout-sign-event',
      answers('layout-sign-event', {
        inputs: { 'event-folder': event, 'backup-path': 'maintainer-two.backup.asc' },
        credentials: { passphrase: 'rsa maintainer test passphrase' },
      }),
    );
    const complete = join(medium, event.replace(/-signing$/, ''));
    const layout = parseLayout(readFileSync(join(complete, 'root.layout'), 'utf8'));
    assert.equal(layout.signatures.length, 2);
    const maintainers = readdirSync(join(complete, 'maintainers'));
    const pub = maintainers.find((n) => n.endsWith('.pub')) ?? '';
    assert.match(pub, /^01-rehearsal-maintainer\.pub$/, 'named by who performed the step');
    const home = join(work, 'gnupg-event');
    mkdirSync(home, { mode: 0o700 });
    const asc = maintainers.find((n) => n.endsWith('.asc')) ?? '';
    await run('gpg', [
      '--batch',
      '--homedir',
      home,
      '--import',
      join(complete, 'maintainers', asc),
    ]);
    const fingerprint =
      /--gpg ([0-9a-f]{40})/.exec(readFileSync(join(complete, 'README.md'), 'utf8'))?.[1] ?? '';
    const verified = await exitOf(
      'in-toto-verify',
      [
        '-l',
        join(complete, 'root.layout'),
        '-k',
        join(complete, 'maintainers', pub),
        '-t',
        'ecdsa',
        '--gpg',
        fingerprint,
        '--gpg-home',
        home,
        '--link-dir',
        chain.links,
      ],
      chain.final,
    );
    assert.equal(verified.code, 0, verified.out);
  });

  describe('step keys on the medium', () => {
    let core: VigilCore;
    before(() => {
      core = new VigilCore({
        dataDir: freshDataDir('vigil-in-toto-keys-'),
        runbooksDir: null,
        lsblk: () => Promise.resolve('{"blockdevices":[]}'),
      });
    });
    after(() => core.close());
    const action = inTotoActions['inToto.buildLayout'];
    const build = (medium: string) => {
      assert.ok(action);
      const target = core.exportTargets.addFolder(medium);
      return action.perform(
        { template: 'python-tuf-release', stepKeysFrom: 'keys', expiresInDays: 30, maintainers: 1 },
        bareActionContext(core.exportTargets, target.id, { keys: 'step-keys' }),
      );
    };
    const refused = (pattern: RegExp) => (e: unknown) =>
      e instanceof VigilError && e.code === 'input-invalid' && pattern.test(e.message);
    const mediumWith = (files: Record<string, string>) => {
      const medium = mkdtempSync(join(tmpdir(), 'vigil-in-toto-medium-'));
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(join(medium, name, '..'), { recursive: true });
        writeFileSync(join(medium, name), text);
      }
      return medium;
    };
    const maintainerPub = () => readFileSync(join(work, 'maintainer.pub'), 'utf8');
    const cdPub = () => readFileSync(join(work, 'cd.pub'), 'utf8');

    it('shows a new version as a change against the layout it replaces', async () => {
      assert.ok(action);
      const medium = mediumWith({
        'step-keys/maintainers/a.pub': maintainerPub(),
        'step-keys/cd-build/cd.pub': cdPub(),
      });
      cpSync(folder, join(medium, 'old-layout'), { recursive: true });
      const target = core.exportTargets.addFolder(medium);
      const params = {
        template: 'python-tuf-release',
        stepKeysFrom: 'keys',
        expiresInDays: 700,
        maintainers: 2,
        previousFrom: 'previous',
      };
      const inputs = { keys: 'step-keys', previous: 'old-layout' };
      const built = (await action.perform(
        params,
        bareActionContext(core.exportTargets, target.id, inputs),
      )) as unknown as { change: string[] };
      assert.match(built.change[0] ?? '', /^Replaces the layout [0-9a-f]{8} \(expires /);
      assert.match(built.change[1] ?? '', /^Expires \S+ → \S+$/);
      assert.match(built.change.join('\n'), /Steps, thresholds and step keys unchanged/);
      // A production ceremony never replaces a rehearsal's layout.
      await assert.rejects(
        action.perform(params, bareActionContext(core.exportTargets, target.id, inputs, false)),
        (e: unknown) => e instanceof VigilError && e.code === 'rehearsal-mix-refused',
      );
    });

    it('refuses a missing group, a link, an RSA key and a private key, naming the file', async () => {
      await assert.rejects(
        build(mediumWith({ 'step-keys/maintainers/a.pub': maintainerPub() })),
        refused(
          /step-keys\/cd-build is not on the medium: put the public step keys of "The CD build job's step key" there/,
        ),
      );
      const linked = mediumWith({
        'step-keys/maintainers/a.pub': maintainerPub(),
        'step-keys/cd-build/cd.pub': cdPub(),
      });
      symlinkSync('/etc/passwd', join(linked, 'step-keys', 'cd-build', 'other.pub'));
      await assert.rejects(build(linked), refused(/holds other\.pub: only public key files/));
      const { stdout: rsa } = await run('openssl', [
        'genpkey',
        '-algorithm',
        'RSA',
        '-pkeyopt',
        'rsa_keygen_bits:2048',
      ]);
      const { stdout: rsaPublic } = await run('sh', [
        '-c',
        `printf '%s' "$0" | openssl pkey -pubout`,
        rsa,
      ]);
      await assert.rejects(
        build(
          mediumWith({
            'step-keys/maintainers/a.pub': maintainerPub(),
            'step-keys/cd-build/rsa.pem': rsaPublic,
          }),
        ),
        refused(/cannot sign in-toto layouts here: P-256, P-384 or Ed25519/),
      );
      await assert.rejects(
        build(
          mediumWith({
            'step-keys/maintainers/a.pub': maintainerPub(),
            'step-keys/cd-build/key': readFileSync(join(work, 'cd'), 'utf8'),
          }),
        ),
        refused(/holds key: only public key files/),
      );
      await assert.rejects(
        build(
          mediumWith({
            'step-keys/maintainers/a.pub': maintainerPub(),
            'step-keys/cd-build/cd.pub': readFileSync(join(work, 'cd'), 'utf8'),
          }),
        ),
        refused(/cd-build\/cd\.pub holds a private key: give the public key only/),
      );
      // Both groups present: built, one key each.
      const built = (await build(
        mediumWith({
          'step-keys/maintainers/a.pub': maintainerPub(),
          'step-keys/cd-build/cd.pub': cdPub(),
        }),
      )) as unknown as { keyLabels: Record<string, string> };
      assert.deepEqual(Object.values(built.keyLabels).sort(), [
        'cd-build/cd.pub',
        'maintainers/a.pub',
      ]);
    });
  });
});
