// OpenPGP key lifecycle, Vigil (openpgp.js in process) against the same steps done with gpg in a
// temp GNUPGHOME: create primary + 3 subkeys, renew one subkey, and the three exports.
// Prints median milliseconds; asserts nothing. Run alone: node --import tsx test/bench/openpgp-lifecycle-bench.ts
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createPrimaryKey,
  encryptedBackup,
  minimalPublicKey,
  renewSubkey,
  secretSubkeysOnly,
} from '../../electron/core/openpgp/index.ts';
import { SecretBytes } from '../../shared/model/secret-bytes.ts';

const PASSPHRASE_TEXT = 'bench passphrase for the lifecycle';
const YEAR = 365 * 24 * 60 * 60;
const STEPS = ['create', 'renew', 'export public', 'export subkeys', 'export backup'] as const;
type Step = (typeof STEPS)[number];
type Timings = Record<Step, number[]>;

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

function emptyTimings(): Timings {
  return { create: [], renew: [], 'export public': [], 'export subkeys': [], 'export backup': [] };
}

async function timed<T>(times: number[], step: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const result = await step();
  times.push(performance.now() - t0);
  return result;
}

async function vigilRun(timings: Timings): Promise<void> {
  const passphrase = SecretBytes.fromText(PASSPHRASE_TEXT);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const key = await timed(timings.create, () =>
    createPrimaryKey({
      userId: 'Bench Key <bench@example.org>',
      expiresInSeconds: 2 * YEAR,
      subkeyExpiresInSeconds: { sign: YEAR, encrypt: YEAR, authenticate: YEAR },
      passphrase,
      now,
    }),
  );
  const signing = key.subkeys[0]?.getFingerprint() ?? '';
  const renewed = await timed(timings.renew, () =>
    renewSubkey(key, signing, {
      expiresInSeconds: 2 * YEAR,
      passphrase,
      now: new Date(now.getTime() + 1000),
    }),
  );
  await timed(timings['export public'], () => minimalPublicKey(renewed));
  await timed(timings['export subkeys'], () => secretSubkeysOnly(renewed, passphrase));
  await timed(timings['export backup'], () => encryptedBackup(renewed));
  passphrase.wipe();
}

function gpgRun(timings: Timings): void {
  const home = mkdtempSync(join(tmpdir(), 'vigil-bench-gnupg-'));
  chmodSync(home, 0o700);
  writeFileSync(join(home, 'gpg-agent.conf'), 'allow-loopback-pinentry\n');
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  const gpg = (args: string[]) =>
    execFileSync(
      'gpg',
      [
        '--batch',
        '--no-tty',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        PASSPHRASE_TEXT,
        ...args,
      ],
      { env, stdio: ['ignore', 'pipe', 'ignore'] },
    ).toString();
  const step = (times: number[], body: () => void) => {
    const t0 = performance.now();
    body();
    times.push(performance.now() - t0);
  };
  try {
    // The agent's start-up is not a lifecycle step; start it before the clock runs.
    execFileSync('gpgconf', ['--launch', 'gpg-agent'], { env });
    let primary = '';
    step(timings.create, () => {
      gpg(['--quick-gen-key', 'Bench Key <bench@example.org>', 'ed25519', 'cert', '2y']);
      primary = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--list-keys']))?.[1] ?? '';
      gpg(['--quick-add-key', primary, 'ed25519', 'sign', '1y']);
      gpg(['--quick-add-key', primary, 'cv25519', 'encr', '1y']);
      gpg(['--quick-add-key', primary, 'ed25519', 'auth', '1y']);
    });
    const listing = gpg(['--with-colons', '--list-keys', primary]);
    const signing = [...listing.matchAll(/^fpr:+([0-9A-F]{40}):/gm)][1]?.[1] ?? '';
    step(timings.renew, () => gpg(['--quick-set-expire', primary, '2y', signing]));
    step(timings['export public'], () =>
      gpg(['--armor', '--export-options', 'export-minimal', '--export', primary]),
    );
    step(timings['export subkeys'], () => gpg(['--armor', '--export-secret-subkeys', primary]));
    step(timings['export backup'], () => gpg(['--armor', '--export-secret-keys', primary]));
  } finally {
    execFileSync('gpgconf', ['--kill', 'all'], { env });
    rmSync(home, { recursive: true, force: true });
  }
}

export async function openpgpLifecycle(runs = 7): Promise<void> {
  const vigil = emptyTimings();
  const gnupg = emptyTimings();
  await vigilRun(emptyTimings()); // warm-up: module loading and JIT are not the lifecycle
  for (let i = 0; i < runs; i++) {
    await vigilRun(vigil);
    gpgRun(gnupg);
  }
  for (const step of STEPS) {
    console.log(
      `OpenPGP ${step} (median of ${runs}): Vigil ${median(vigil[step]).toFixed(1)} ms; gpg ${median(gnupg[step]).toFixed(1)} ms`,
    );
  }
}

if (process.argv[1] === import.meta.filename) await openpgpLifecycle();
