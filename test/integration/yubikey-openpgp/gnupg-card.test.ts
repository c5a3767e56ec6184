// Vigil's keytocard judged by GnuPG: a key from createPrimaryKey has its sign/encrypt/auth subkeys
// moved onto two rehearsal YubiKeys (in-process), each card is then restored from its saved state
// in a child process behind pcscd + vpcd, and GnuPG 2.2's scdaemon reads it (--card-status),
// signs with it (verified by gpg and by sq) and decrypts with it, in a fresh GNUPGHOME holding
// only Vigil's minimal public key. Then an RSA-2048 signing subkey (what in-toto 1.3.1 verifies)
// goes onto a third card the same way, and gpg signs with it through scdaemon.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { createPrimaryKey, minimalPublicKey } from '../../../electron/core/openpgp/index.ts';
import { moveSubkeysToCard } from '../../../electron/devices/yubikey-openpgp/card-key.ts';
import { OpenPgpCard } from '../../../electron/devices/yubikey-openpgp/driver.ts';
import { withOpenPgpCard } from '../../../electron/devices/yubikey-openpgp/index.ts';
import { PcscContext } from '../../../electron/devices/smartcard/transport.ts';
import { findYubiKeys } from '../../../electron/devices/yubikey-piv/index.ts';
import { RehearsalYubiKeyRack } from '../../../electron/devices/yubikey-piv/rehearsal-rack.ts';
import { RehearsalYubiKey } from '../../../electron/devices/yubikey-piv/rehearsal.ts';
import { InProcessCardChannel } from '../../../electron/devices/yubikey-piv/transport.ts';
import { SecretBytes } from '../../../shared/model/secret-bytes.ts';
import { startPcscd, type TestPcscd } from '../../helpers/pcscd.ts';
import { REHEARSAL_YUBIKEY_READER, waitForCardIn } from '../../helpers/rehearsal-yubikey.ts';
import { GnupgHome, loopback } from '../openpgp/gnupg-home.ts';

const run = promisify(execFile);
const HOST = join(import.meta.dirname, '..', '..', 'helpers', 'rehearsal-yubikey-host.ts');
const SERIALS = [31_415_926, 27_182_818] as const;
const RSA_SERIAL = 16_180_339;
const PASSPHRASE = 'correct horse battery staple';
const USER_PIN = '123456';

interface CardColons {
  serial: string;
  vendor: string;
  fingerprints: string[];
}

/** The records of `gpg --card-status --with-colons` a ceremony cares about. */
function cardColons(text: string): CardColons {
  const fields = new Map(text.split('\n').map((line) => [line.split(':')[0], line.split(':')]));
  return {
    serial: fields.get('serial')?.[1] ?? '',
    vendor: fields.get('vendor')?.[2] ?? '',
    fingerprints: (fields.get('fpr') ?? []).slice(1, 4).map((f) => f.toLowerCase()),
  };
}

/** A fresh GNUPGHOME whose scdaemon reaches cards only through pcscd, with Vigil's public key. */
async function cardHome(publicKey: string): Promise<GnupgHome> {
  const home = await GnupgHome.create();
  await writeFile(join(home.dir, 'scdaemon.conf'), 'disable-ccid\n');
  await home.import(publicKey);
  return home;
}

/**
 * A detached signature the card's signing key makes through gpg (user PIN by loopback), and
 * gpg's status lines verifying it.
 */
async function cardSignature(home: GnupgHome, signer: string, name: string, text: string) {
  const message = await home.file(name, text);
  const signature = join(home.dir, `${name}.sig`);
  await home.gpg([
    ...loopback(USER_PIN),
    '--local-user',
    `${signer.toUpperCase()}!`,
    '--output',
    signature,
    '--detach-sign',
    message,
  ]);
  const { stdout: verified } = await home.gpg(['--status-fd', '1', '--verify', signature, message]);
  return { message, signature, verified };
}

/** Plugs the card saved in `stateFile` into the first vpcd reader from a child process. */
async function plugCard(pcscd: TestPcscd, serial: number, stateFile: string) {
  const host = spawn(
    process.execPath,
    ['--import', 'tsx', HOST, `${pcscd.port}:${serial}:${stateFile}`],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    host.stdout?.once('data', () => resolve());
    host.once('exit', (code) => reject(new Error(`card host exited with ${code}`)));
  });
  await waitForCardIn(pcscd.readers[0]);
  return host;
}

async function unplug(host: ChildProcess): Promise<void> {
  if (host.exitCode !== null) return;
  const exited = new Promise((resolve) => host.once('exit', resolve));
  host.stdin?.end();
  await exited;
}

describe('GnuPG uses subkeys Vigil moved onto rehearsal YubiKeys', () => {
  let dir: string;
  let pcscd: TestPcscd;
  let key: openpgp.PrivateKey;
  let publicKey: string;
  let plan: { sign: string; encrypt: string; authenticate: string };
  const stateFiles: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-openpgp-card-'));
    const passphrase = SecretBytes.fromText(PASSPHRASE);
    const locked = await createPrimaryKey({
      userId: 'Vigil Rehearsal <rehearsal@example.org>',
      expiresInSeconds: 2 * 365 * 24 * 3600,
      passphrase,
      now: new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000),
    });
    passphrase.wipe();
    key = await openpgp.decryptKey({ privateKey: locked, passphrase: PASSPHRASE });
    publicKey = minimalPublicKey(locked);
    const [sign, encrypt, authenticate] = key.subkeys.map((s) => s.getFingerprint());
    assert.ok(sign && encrypt && authenticate);
    plan = { sign, encrypt, authenticate };
    // keytocard onto both cards in-process; each card is saved to its state file as it goes.
    for (const serial of SERIALS) {
      const stateFile = join(dir, `card-${serial}.json`);
      stateFiles.push(stateFile);
      const card = await RehearsalYubiKey.create({ serial, stateFile });
      const session = await OpenPgpCard.open(new InProcessCardChannel(card));
      const moved = await moveSubkeysToCard(session, key, SecretBytes.fromText('12345678'), plan);
      assert.deepEqual(
        moved.map((m) => m.fingerprint),
        [sign, encrypt, authenticate],
      );
    }
    pcscd = await startPcscd(REHEARSAL_YUBIKEY_READER);
  });

  after(async () => {
    await pcscd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [index, serial] of SERIALS.entries()) {
    it(`card ${serial}: --card-status shows its serial and the three subkeys; gpg signs, decrypts`, async () => {
      const host = await plugCard(pcscd, serial, stateFiles[index]!);
      const home = await cardHome(publicKey);
      try {
        // Vigil itself finds the card over PC/SC by serial and reads the slots back.
        const found = (
          await findYubiKeys({
            pcsc: () => PcscContext.open(),
            rehearsal: new RehearsalYubiKeyRack(null),
          })
        ).find((f) => f.summary.serial === String(serial));
        assert.ok(found, 'found over PC/SC');
        const facts = await withOpenPgpCard(found, (card) => card.facts());
        assert.deepEqual(facts.fingerprints, plan);
        assert.equal(facts.applicationId, `D2760001240103040006${serial}0000`);

        const { stdout: colons } = await home.gpg(['--with-colons', '--card-status']);
        const status = cardColons(colons);
        assert.equal(status.serial, String(serial));
        assert.equal(status.vendor, 'Yubico');
        assert.deepEqual(status.fingerprints, [plan.sign, plan.encrypt, plan.authenticate]);
        const { stdout: human } = await home.gpg(['--card-status']);
        assert.match(human, new RegExp(`^Serial number \\.*: ${serial}$`, 'm'));
        assert.match(human, /^General key info\.\.: sub\s+ed25519\//m);

        // --card-status made the agent's stubs: the secret subkeys now live on this card, named
        // by its application id (Yubico's AID carries the serial as BCD digits).
        const applicationId = `D2760001240103040006${serial}0000`;
        const secrets = await home.listKeys(true);
        for (const fpr of [plan.sign, plan.encrypt, plan.authenticate]) {
          const record = secrets.find((k) => k.fingerprint.toLowerCase() === fpr);
          assert.equal(record?.token, applicationId, `stub for ${fpr}`);
        }
        assert.equal(secrets.find((k) => k.type === 'sec')?.token, '#', 'primary stays offline');

        // A detached signature by the card's signing key, judged by gpg and by sq.
        const { message, signature, verified } = await cardSignature(
          home,
          plan.sign,
          'message.txt',
          'ceremony record\n',
        );
        assert.match(verified, /^\[GNUPG:\] GOODSIG /m);
        assert.match(
          verified,
          new RegExp(`^\\[GNUPG:\\] VALIDSIG ${plan.sign.toUpperCase()} `, 'm'),
        );
        const cert = await home.file('vigil-public.asc', publicKey);
        const sq = await run('sq', [
          'verify',
          '--detached',
          signature,
          '--signer-cert',
          cert,
          message,
        ]);
        assert.match(sq.stderr, /1 good signature/);

        // Encrypted to the encryption subkey, decrypted by the card (PSO:DECIPHER, X25519).
        const secretFile = await home.file('secret.txt', 'quorum share\n');
        await home.gpg([
          '--trust-model',
          'always',
          '--recipient',
          `${plan.encrypt.toUpperCase()}!`,
          '--output',
          `${secretFile}.gpg`,
          '--encrypt',
          secretFile,
        ]);
        const { stdout: plain } = await home.gpg([
          ...loopback(USER_PIN),
          '--decrypt',
          `${secretFile}.gpg`,
        ]);
        assert.equal(plain, 'quorum share\n');

        // The card counted the signature.
        const { stdout: after } = await home.gpg(['--with-colons', '--card-status']);
        assert.match(after, /^sigcount:1:/m);
      } finally {
        await home.close();
        await unplug(host);
      }
    });
  }

  it(`card ${RSA_SERIAL}: an RSA-2048 signing subkey moved by Vigil signs through scdaemon`, async () => {
    const { privateKey: rsaKey } = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 2048,
      userIDs: [{ name: 'Vigil RSA Rehearsal', email: 'rsa-rehearsal@example.org' }],
      subkeys: [{ sign: true }],
      date: new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000),
      format: 'object',
    });
    const signing = rsaKey.subkeys[0]!.getFingerprint();
    const stateFile = join(dir, `card-${RSA_SERIAL}.json`);
    const card = await RehearsalYubiKey.create({ serial: RSA_SERIAL, stateFile });
    const session = await OpenPgpCard.open(new InProcessCardChannel(card));
    const moved = await moveSubkeysToCard(session, rsaKey, SecretBytes.fromText('12345678'), {
      sign: signing,
    });
    assert.deepEqual(moved, [{ slot: 'sign', fingerprint: signing }]);

    const host = await plugCard(pcscd, RSA_SERIAL, stateFile);
    const home = await cardHome(rsaKey.toPublic().armor());
    try {
      const { stdout: human } = await home.gpg(['--card-status']);
      assert.match(human, /^Key attributes \.+: rsa2048 rsa2048 rsa2048$/m);
      const { stdout: colons } = await home.gpg(['--with-colons', '--card-status']);
      assert.deepEqual(cardColons(colons).fingerprints, [signing, '', '']);
      const stub = (await home.listKeys(true)).find((k) => k.fingerprint.toLowerCase() === signing);
      assert.equal(stub?.token, `D2760001240103040006${RSA_SERIAL}0000`, 'stub on the card');

      // gpg sends the card a DigestInfo (PSO:CDS); the card pads it and signs (PKCS#1 v1.5).
      const { verified } = await cardSignature(home, signing, 'link.txt', 'in-toto link\n');
      assert.match(verified, /^\[GNUPG:\] GOODSIG /m);
      // VALIDSIG <fpr> <date> <ts> <expire> <version> <reserved> <pubkey algo 1 = RSA> …
      assert.match(
        verified,
        new RegExp(`^\\[GNUPG:\\] VALIDSIG ${signing.toUpperCase()} \\S+ \\d+ \\d+ 4 0 1 `, 'm'),
      );
      const { stdout: after } = await home.gpg(['--with-colons', '--card-status']);
      assert.match(after, /^sigcount:1:/m);
    } finally {
      await home.close();
      await unplug(host);
    }
  });
});
