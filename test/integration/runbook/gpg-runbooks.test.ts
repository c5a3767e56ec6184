// The three bundled OpenPGP runbooks run headless by `vigil run --rehearsal` on one medium folder,
// as keyholders rehearse them: offline primary (subkeys onto a rehearsal YubiKey), then a subkey
// rotation loaded from the backup, then an OpenStack cycle rotation that certifies someone else's
// key. Every product is judged by GnuPG 2.2 and Sequoia, and no secret reaches the record.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createPrimaryKey, minimalPublicKey } from '../../../electron/core/openpgp/index.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { GnupgHome } from '../openpgp/gnupg-home.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'bin', 'vigil.mjs');
const runbooks = join(root, 'resources', 'runbooks');
const PASSPHRASE = 'correct horse battery staple';
const CYCLE_PASSPHRASE = 'another horse battery staple';
const SECRETS = [PASSPHRASE, CYCLE_PASSPHRASE, '246813', '97531864', 'PRIVATE KEY BLOCK'];

function vigil(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: result.status, out: result.stdout + result.stderr };
}

function rehearse(
  name: string,
  out: string,
  medium: string,
  answers = join(runbooks, `${name}.rehearsal.yaml`),
) {
  return vigil(
    'run',
    join(runbooks, `${name}.yaml`),
    '--rehearsal',
    '--answers',
    answers,
    '--out',
    out,
    '--medium',
    medium,
  );
}

/** The one products folder of a record. */
function productsOf(record: string): string {
  const base = join(record, 'products', 'ceremony-products');
  const [folder, ...others] = readdirSync(base);
  assert.ok(folder !== undefined && others.length === 0, 'one products folder');
  return join(base, folder);
}

function filesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesIn(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name],
  );
}

function newestSecretFolder(medium: string): string {
  const folder = readdirSync(medium)
    .filter((n) => n.startsWith('openpgp-secret-'))
    .sort()
    .at(-1);
  assert.ok(folder);
  return join(medium, folder);
}

function assertNoSecrets(record: string): void {
  for (const name of ['journal.jsonl', 'transcript.json', 'transcript.html']) {
    const text = readFileSync(join(record, name), 'utf8');
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${name} holds ${secret}`);
  }
}

describe('OpenPGP runbooks by vigil run --rehearsal, judged by GnuPG and sq', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigil-gpg-runbooks-'));
  const medium = join(work, 'medium');
  const homes: GnupgHome[] = [];
  let fingerprint = '';

  async function home(): Promise<GnupgHome> {
    const created = await GnupgHome.create();
    homes.push(created);
    return created;
  }

  after(async () => {
    for (const h of homes) await h.close();
  });

  before(() => {
    const result = rehearse('gpg-offline-primary', join(work, 'primary'), medium);
    assert.equal(result.code, 0, result.out);
    fingerprint =
      readdirSync(newestSecretFolder(medium))
        .find((n) => n.endsWith('.secret-backup.asc'))
        ?.slice(0, 40)
        .toLowerCase() ?? '';
    assert.match(fingerprint, /^[0-9a-f]{40}$/);
  });

  it('offline primary: products verify with sha256sum, gpg and sq; no secret in the record', async () => {
    const record = join(work, 'primary');
    const products = productsOf(record);
    const upper = fingerprint.toUpperCase();
    assert.deepEqual(filesIn(products).sort(), [
      `${upper}.pub.asc`,
      'README.md',
      'SHA256SUMS',
      'manifest.json',
      `test-message-${upper.slice(-16)}.txt.asc`,
    ]);
    await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: products });
    const gpg = await home();
    await gpg.import(readFileSync(join(products, `${upper}.pub.asc`), 'utf8'));
    const keys = await gpg.listKeys();
    assert.deepEqual(
      keys.map((k) => [k.type, k.capabilities.replace(/[A-Z]/g, '')]),
      [
        ['pub', 'c'],
        ['sub', 's'],
        ['sub', 'e'],
        ['sub', 'a'],
      ],
    );
    const readme = readFileSync(join(products, 'README.md'), 'utf8');
    assert.match(readme, /REHEARSAL, not for production/);
    const manifest = JSON.parse(readFileSync(join(products, 'manifest.json'), 'utf8')) as {
      rehearsal: boolean;
      keys: { fingerprint: string; userIds: string[]; subkeys: { cards: string[] }[] }[];
    };
    assert.equal(manifest.rehearsal, true);
    assert.equal(manifest.keys[0]?.fingerprint, fingerprint);
    assert.match(manifest.keys[0]?.userIds[0] ?? '', /\(REHEARSAL\)/);
    // Every subkey went onto the rehearsal YubiKey, read back from the card.
    for (const subkey of manifest.keys[0]?.subkeys ?? []) assert.equal(subkey.cards.length, 1);
    const message = join(products, `test-message-${upper.slice(-16)}.txt.asc`);
    const { stdout } = await gpg.gpg(['--status-fd', '1', '--verify', message]);
    assert.match(stdout, /\[GNUPG:\] VALIDSIG /);
    const sq = await run('sq', [
      'verify',
      '--signer-cert',
      join(products, `${upper}.pub.asc`),
      message,
    ]);
    assert.match(sq.stderr, /1 good signature/);
    assert.equal(vigil('verify', record).code, 0);
    const verified = vigil('verify', products);
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, new RegExp(`openpgp-key:${fingerprint.slice(-16)}: primary`));
    assert.match(verified.out, /rehearsal: REHEARSAL products/);
    assertNoSecrets(record);
  });

  it('offline primary: the secret medium holds a backup, a sec# export and a revocation certificate', async () => {
    const folder = newestSecretFolder(medium);
    const upper = fingerprint.toUpperCase();
    const subkeysOnly = await home();
    await subkeysOnly.import(
      readFileSync(join(folder, `${upper}.secret-subkeys.asc`), 'utf8'),
      PASSPHRASE,
    );
    const secret = await subkeysOnly.listKeys(true);
    assert.equal(secret[0]?.type, 'sec');
    assert.equal(secret[0]?.token, '#', 'primary is a stub (sec#)');
    const backup = await home();
    await backup.import(
      readFileSync(join(folder, `${upper}.secret-backup.asc`), 'utf8'),
      PASSPHRASE,
    );
    assert.equal((await backup.listKeys(true))[0]?.token, '+', 'the backup has the primary secret');
    await backup.import(readFileSync(join(folder, `${upper}.revocation.asc`), 'utf8'));
    assert.equal((await backup.listKeys())[0]?.validity, 'r');
  });

  it('subkey rotation: loads the backup, revokes the old subkeys as superseded, moves the new ones', async () => {
    const record = join(work, 'rotation');
    const result = rehearse('gpg-subkey-rotation', record, medium);
    assert.equal(result.code, 0, result.out);
    const products = productsOf(record);
    const gpg = await home();
    await gpg.import(readFileSync(join(products, `${fingerprint.toUpperCase()}.pub.asc`), 'utf8'));
    const subkeys = (await gpg.listKeys()).filter((k) => k.type === 'sub');
    assert.equal(subkeys.length, 6);
    assert.deepEqual(
      subkeys.map((k) => k.validity),
      ['r', 'r', 'r', '-', '-', '-'],
    );
    const packets = await gpg.gpg([
      '--list-packets',
      join(products, `${fingerprint.toUpperCase()}.pub.asc`),
    ]);
    assert.equal(packets.stdout.match(/revocation reason 0x01/g)?.length, 3, 'reason: superseded');
    assert.match(
      readFileSync(join(products, 'README.md'), 'utf8'),
      /\| sign \| .* \| valid \| \d{8} \|/,
    );
    assertNoSecrets(record);
  });

  it('cycle rotation: new key certified by the old, statement verified under both, other key certified', async () => {
    const other = await createPrimaryKey({
      userId: 'Other Keyholder <other@example.org>',
      expiresInSeconds: 365 * 24 * 3600,
      passphrase: SecretBytes.fromText('other passphrase'),
      now: new Date(),
    });
    writeFileSync(join(medium, 'other.asc'), minimalPublicKey(other));
    const spaced = (other.getFingerprint().toUpperCase().match(/.{4}/g) ?? []).join(' ');
    const answers = join(work, 'cycle.rehearsal.yaml');
    writeFileSync(
      answers,
      readFileSync(join(runbooks, 'gpg-cycle-rotation.rehearsal.yaml'), 'utf8').replace(
        "certify-other: 'no'",
        `certify-other: 'yes'\n  other-key-path: other.asc\n  other-key-fingerprint: '${spaced}'`,
      ),
    );
    const record = join(work, 'cycle');
    const result = rehearse('gpg-cycle-rotation', record, medium, answers);
    assert.equal(result.code, 0, result.out);
    const products = productsOf(record);
    const manifest = JSON.parse(readFileSync(join(products, 'manifest.json'), 'utf8')) as {
      keys: { purpose: string; fingerprint: string; certifiedBy: string | null; file: string }[];
    };
    const cycle = manifest.keys.find((k) => k.purpose === 'cycle');
    const certified = manifest.keys.find((k) => k.purpose === 'certified');
    assert.ok(cycle && certified);
    assert.equal(cycle.certifiedBy, fingerprint);
    assert.equal(certified.fingerprint, other.getFingerprint());
    assert.equal(certified.certifiedBy, cycle.fingerprint);

    const gpg = await home();
    for (const key of manifest.keys)
      await gpg.import(readFileSync(join(products, key.file), 'utf8'));
    const statement = join(products, 'transition-statement.txt.asc');
    const { stdout } = await gpg.gpg(['--status-fd', '1', '--verify', statement]);
    assert.equal(stdout.match(/\[GNUPG:\] VALIDSIG /g)?.length, 2);
    const sq = await run('sq', [
      'verify',
      '--signer-cert',
      join(products, `${fingerprint.toUpperCase()}.pub.asc`),
      '--signer-cert',
      join(products, `${cycle.fingerprint.toUpperCase()}.pub.asc`),
      statement,
    ]);
    assert.match(sq.stderr, /2 good signatures/);
    const sigs = await gpg.gpg(['--with-colons', '--check-sigs', cycle.fingerprint]);
    const oldKeyId = fingerprint.slice(-16).toUpperCase();
    assert.ok(
      sigs.stdout.split('\n').some((l) => l.startsWith('sig:!:') && l.includes(oldKeyId)),
      'the new cycle key carries a good certification by the old key',
    );
    const otherSigs = await gpg.gpg(['--with-colons', '--check-sigs', certified.fingerprint]);
    assert.ok(
      otherSigs.stdout
        .split('\n')
        .some(
          (l) => l.startsWith('sig:!:') && l.includes(cycle.fingerprint.slice(-16).toUpperCase()),
        ),
      'the other key carries a good certification by the new cycle key',
    );
    assertNoSecrets(record);
  });

  it('refuses a typed fingerprint that is not the key’s, and a wrong passphrase, without a retry', () => {
    const answers = join(work, 'mismatch.rehearsal.yaml');
    writeFileSync(
      answers,
      readFileSync(join(runbooks, 'gpg-cycle-rotation.rehearsal.yaml'), 'utf8').replace(
        'published-fingerprint: { fromMedium: backup-fingerprint }',
        `published-fingerprint: '${'0'.repeat(40)}'`,
      ),
    );
    const mismatch = rehearse('gpg-cycle-rotation', join(work, 'mismatch'), medium, answers);
    assert.equal(mismatch.code, 1, mismatch.out);
    assert.match(
      mismatch.out,
      /stopped: fingerprint-mismatch: The backup holds key [0-9A-F]{40}, not the published/,
    );

    const wrong = join(work, 'wrong.rehearsal.yaml');
    writeFileSync(
      wrong,
      readFileSync(join(runbooks, 'gpg-subkey-rotation.rehearsal.yaml'), 'utf8').replace(
        `passphrase: ${PASSPHRASE}`,
        'passphrase: not the passphrase',
      ),
    );
    const refused = rehearse('gpg-subkey-rotation', join(work, 'wrong'), medium, wrong);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /stopped: passphrase-incorrect:/);
  });
});
